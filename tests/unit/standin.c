/* Test helper: the stand-in Customer.io as a child process. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "standin.h"

int
test_tmpdir(char *buf, size_t size)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(buf, size, "%s/formrelay-test.XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	return mkdtemp(buf) ? 0 : -1;
}

void
test_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* python3 somewhere on PATH? */
static int
have_python3(void)
{
	const char *path = getenv("PATH");
	char buf[1024], dir[512];
	const char *p = path ? path : "/usr/bin:/bin";

	while (*p) {
		size_t n = strcspn(p, ":");
		snprintf(dir, sizeof(dir), "%.*s", (int)n, p);
		snprintf(buf, sizeof(buf), "%s/python3", dir[0] ? dir : ".");
		if (access(buf, X_OK) == 0)
			return 1;
		p += n;
		if (*p == ':')
			p++;
	}
	return 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Poll for the port file; the child may also die (bad script). */
static int
wait_for_port(struct standin *s, const char *port_file)
{
	int i, status;
	FILE *fp;

	for (i = 0; i < 1000; i++) { /* 10 s */
		fp = fopen(port_file, "r");
		if (fp != NULL) {
			int ok = fscanf(fp, "%d", &s->port) == 1;
			fclose(fp);
			if (ok)
				return 0;
		}
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			fprintf(stderr, "# standin exited early (status %d)\n",
			        status);
			s->pid = 0;
			return -1;
		}
		sleep_ms(10);
	}
	fprintf(stderr, "# standin did not write %s in 10 s\n", port_file);
	return -1;
}

static pid_t
spawn(const char *script, const char *port_file)
{
	pid_t pid = fork();

	if (pid == 0) {
		execlp("python3", "python3", script, "--port-file", port_file,
		       "--max-lifetime", "600", (char *)NULL);
		_exit(127);
	}
	return pid;
}

int
standin_start(struct standin *s)
{
	const char *src = getenv("FORMRELAY_SRCDIR");
	char script[512], port_file[512];

	memset(s, 0, sizeof(*s));
	snprintf(script, sizeof(script), "%s/tests/standin.py",
	         src && *src ? src : ".");
	if (!have_python3() || access(script, R_OK) != 0)
		return 77;
	if (test_tmpdir(s->dir, sizeof(s->dir)) != 0)
		return -1;
	snprintf(port_file, sizeof(port_file), "%s/port", s->dir);
	s->pid = spawn(script, port_file);
	if (s->pid < 0 || wait_for_port(s, port_file) != 0) {
		standin_stop(s);
		return -1;
	}
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d/v1", s->port);
	return 0;
}

void
standin_stop(struct standin *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
	if (s->dir[0] != '\0') {
		test_rmdir(s->dir);
		s->dir[0] = '\0';
	}
}

struct grow {
	char *buf;
	size_t len;
};

static size_t
collect(char *data, size_t size, size_t nmemb, void *arg)
{
	struct grow *g = arg;
	size_t n = size * nmemb;
	char *p = realloc(g->buf, g->len + n + 1);

	if (p == NULL)
		return 0;
	memcpy(p + g->len, data, n);
	g->buf = p;
	g->len += n;
	g->buf[g->len] = '\0';
	return n;
}

/* One control request; the reply body in *out (caller frees) if wanted. */
static int
control(struct standin *s, const char *what, const char *post, char **out)
{
	struct grow g = {NULL, 0};
	char url[128];
	long status = 0;
	CURL *c = curl_easy_init();
	CURLcode rc;

	if (c == NULL)
		return -1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/_control/%s", s->port,
	         what);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &g);
	if (post != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK || status != 200) {
		fprintf(stderr, "# standin %s: %s (HTTP %ld) %s\n", what,
		        curl_easy_strerror(rc), status, g.buf ? g.buf : "");
		free(g.buf);
		return -1;
	}
	if (out != NULL)
		*out = g.buf;
	else
		free(g.buf);
	return 0;
}

int
standin_script(struct standin *s, const char *json)
{
	return control(s, "script", json, NULL);
}

int
standin_reset(struct standin *s)
{
	return control(s, "reset", "", NULL);
}

struct json_object *
standin_get(struct standin *s, const char *what)
{
	char *text = NULL;
	struct json_object *o;

	if (control(s, what, NULL, &text) != 0)
		return NULL;
	o = json_tokener_parse(text);
	free(text);
	return o;
}

/* A loopback port with nothing listening: bind an ephemeral port, then
 * close it. */
int
standin_dead_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}
