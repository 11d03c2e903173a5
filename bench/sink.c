/*
 * sink: a minimal, fast stand-in for the Customer.io Data Pipelines API,
 * for the benchmarks only.  tests/standin.py (the scripted stand-in of
 * the integration tests) keeps every request and message in memory and
 * spends a Python thread per connection; at tens of thousands of events
 * a second it would measure itself.  The sink still reads every request
 * whole and scans each body's structure (no tree), counting the events
 * of a /v1/batch body ("batch" array) or of a single call, and answers
 * 200 {"success":true} with keep-alive, as Customer.io does.
 *
 *   bench/sink --port-file FILE
 *   bench/sink --self-test      (checks the event count; bench/lib.sh
 *                                runs it before starting the sink)
 *
 * Binds 127.0.0.1 on an ephemeral port and writes it to FILE (FILE.tmp
 * renamed).  Control, never counted:
 *   GET  /_control/stats  {"requests","events","bytes","bad",
 *                          "connections" (that sent events),
 *                          "first_ms","last_ms",
 *                          "batch_sizes":{"<size>":<requests>,...}}
 *   POST /_control/reset  zero the counters
 * Only Content-Length bodies (libcurl and Node's fetch send them for a
 * known body); chunked requests get 411.  Exits on SIGTERM/SIGINT or
 * when its parent goes away.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <json-c/json.h>

#define MAX_REQUEST (8 * 1024 * 1024) /* headers + body, bytes */
#define MAX_HEADERS (64 * 1024)
#define HIST_SIZES  1001 /* batch sizes 0..1000 counted exactly */
#define READ_CHUNK  65536

struct stats {
	uint64_t requests, events, bytes, bad, connections;
	int64_t first_ms, last_ms;
	uint64_t sizes[HIST_SIZES]; /* requests by events carried */
};

struct conn {
	int fd;
	unsigned gen; /* the counting generation it was last counted in */
	char *buf;    /* owned; bytes read and not yet handled */
	size_t len, cap;
};

/* A parsed request head. */
struct head {
	char method[8];
	char path[256];
	size_t head_len; /* bytes up to and including the blank line */
	size_t body_len; /* Content-Length */
	int chunked;
	int close; /* Connection: close */
};

static struct stats stats;
/* Bumped by a reset: connections count once per generation, so that
 * "connections" tells how many the client used since the reset. */
static unsigned generation = 1;
static volatile sig_atomic_t stopping;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Write all of buf (the sockets are blocking); 0 or -1. */
static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
reply(int fd, int status, const char *reason, const char *body, int close)
{
	char head[256];
	size_t blen = strlen(body);
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %d %s\r\n"
	                 "Content-Type: application/json\r\n"
	                 "Content-Length: %zu\r\n"
	                 "%s\r\n",
	                 status, reason, blen,
	                 close ? "Connection: close\r\n" : "");

	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	if (write_all(fd, head, (size_t)n) || write_all(fd, body, blen))
		return -1;
	return 0;
}

/* The value of header name (lower case, with ':') in the head, or NULL. */
static const char *
header_value(const char *head, size_t len, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = memchr(head, '\n', len);

	while (p != NULL && (size_t)(p + 1 - head) + nlen < len) {
		p++;
		if (strncasecmp(p, name, nlen) == 0) {
			p += nlen;
			while (*p == ' ' || *p == '\t')
				p++;
			return p;
		}
		p = memchr(p, '\n', len - (size_t)(p - head));
	}
	return NULL;
}

/* 1: a whole head parsed into h; 0: need more bytes; -1: bad request. */
static int
parse_head(const char *buf, size_t len, struct head *h)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	const char *v;

	if (end == NULL)
		return len > MAX_HEADERS ? -1 : 0;
	memset(h, 0, sizeof(*h));
	h->head_len = (size_t)(end - buf) + 4;
	if (sscanf(buf, "%7s %255s", h->method, h->path) != 2)
		return -1;
	v = header_value(buf, h->head_len, "content-length:");
	if (v != NULL)
		h->body_len = strtoul(v, NULL, 10);
	v = header_value(buf, h->head_len, "transfer-encoding:");
	h->chunked = v != NULL && strncasecmp(v, "chunked", 7) == 0;
	v = header_value(buf, h->head_len, "connection:");
	h->close = v != NULL && strncasecmp(v, "close", 5) == 0;
	if (h->body_len > MAX_REQUEST - h->head_len)
		return -1;
	return 1;
}

/*
 * Events in a body, from a structural scan that builds no tree: brackets
 * must balance, strings must end, and the body must be one object.  It
 * counts the values of a top-level "batch" array, or 1 for a single call
 * (a top-level "type"); -1 for anything else.  The sink stands in for a
 * remote service, so its CPU on the machine under test should be as
 * small as possible: a json-c tree of every body cost about 20 us an
 * event under the ingest load, nearly as much as formrelay-deliver.
 * The content of the calls is checked by tests/standin.py in the
 * integration tests.
 */
#define SCAN_DEPTH 64

struct scan {
	char stack[SCAN_DEPTH];
	size_t depth;
	int started;   /* the top-level object has begun */
	int key_next;  /* at depth 1: the next string is a key */
	int batch_key; /* the last top-level key was "batch" */
	int in_batch;  /* the top-level "batch" array is open */
	int item_open; /* it has a value since its '[' or last ',' */
	int has_type;  /* the top level has "type" */
	int has_batch; /* the top level has "batch": [...] */
	long items;    /* values of the batch array so far */
};

static int
is_space(char c)
{
	return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/* The index of the '"' ending the string that starts at body[i], or len. */
static size_t
string_end(const char *body, size_t i, size_t len)
{
	for (i++; i < len; i++) {
		if (body[i] == '\\')
			i++;
		else if (body[i] == '"')
			return i;
	}
	return len;
}

static void
scan_key(struct scan *sc, const char *key, size_t n)
{
	sc->batch_key = n == 5 && memcmp(key, "batch", 5) == 0;
	if (n == 4 && memcmp(key, "type", 4) == 0)
		sc->has_type = 1;
}

/* One bracket or comma; -1 when it does not fit. */
static int
scan_punct(struct scan *sc, char c)
{
	if (c == '{' || c == '[') {
		if (sc->depth == SCAN_DEPTH)
			return -1;
		if (c == '[' && sc->depth == 1 && sc->batch_key)
			sc->in_batch = sc->has_batch = 1;
		sc->stack[sc->depth++] = c;
		sc->key_next = sc->depth == 1;
	} else if (c == '}' || c == ']') {
		if (sc->depth == 0 ||
		    sc->stack[sc->depth - 1] != (c == '}' ? '{' : '['))
			return -1;
		if (--sc->depth == 1 && sc->in_batch) {
			sc->items += sc->item_open;
			sc->in_batch = 0;
		}
	} else if (c == ',') {
		sc->key_next = sc->depth == 1;
		if (sc->depth == 2 && sc->in_batch) {
			sc->items += sc->item_open;
			sc->item_open = 0;
		}
	}
	return 0;
}

static long
count_events(const char *body, size_t len)
{
	struct scan sc;
	size_t i, end;

	memset(&sc, 0, sizeof(sc));
	for (i = 0; i < len; i++) {
		if (is_space(body[i]))
			continue;
		if (sc.depth == 0 && (sc.started || body[i] != '{'))
			return -1; /* not one object */
		sc.started = 1;
		if (sc.in_batch && sc.depth == 2 && body[i] != ',' &&
		    body[i] != ']')
			sc.item_open = 1;
		if (body[i] != '"') {
			if (scan_punct(&sc, body[i]) != 0)
				return -1;
			continue;
		}
		if ((end = string_end(body, i, len)) == len)
			return -1;
		if (sc.depth == 1 && sc.key_next)
			scan_key(&sc, body + i + 1, end - i - 1);
		sc.key_next = 0;
		i = end;
	}
	if (sc.depth != 0)
		return -1;
	return sc.has_batch ? sc.items : sc.has_type ? 1 : -1;
}

/* sink --self-test: the scan against bodies with known answers. */
static int
self_test(void)
{
	static const struct {
		const char *body;
		long events;
	} t[] = {
	        {"{\"batch\":[]}", 0},
	        {"{\"batch\":[{\"a\":[1,2,{\"b\":\"]\"}]},{}]}", 2},
	        {" {\"batch\" : [ {\"x\":\"a\\\"],\"} , 3 , \"s,\" ] } ", 3},
	        {"{\"type\":\"identify\",\"traits\":{\"batch\":[1,2]}}", 1},
	        {"{\"x\":[1],\"batch\":[[1,2],[3]]}", 2},
	        {"{\"batch\":[1,2]", -1},
	        {"{\"batch\":[1,2]}}", -1},
	        {"{\"batch\":[1,2]}x", -1},
	        {"{\"batch\":[1,2]}{}", -1},
	        {"{\"batch\":[1,2)}", -1},
	        {"{\"batch\":{\"a\":[1,2]}}", -1},
	        {"{\"a\":\"unterminated}", -1},
	        {"{\"x\":1}", -1},
	        {"[1]", -1},
	};
	size_t i;
	int failed = 0;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		long n = count_events(t[i].body, strlen(t[i].body));

		if (n != t[i].events) {
			fprintf(stderr,
			        "sink: self-test %zu: %s: %ld, not %ld\n", i,
			        t[i].body, n, t[i].events);
			failed = 1;
		}
	}
	return failed;
}

static void
count_request(struct conn *c, const char *body, size_t len)
{
	long n = count_events(body, len);
	int64_t now = now_ms();

	if (c->gen != generation) {
		c->gen = generation;
		stats.connections++;
	}
	if (stats.requests == 0)
		stats.first_ms = now;
	stats.last_ms = now;
	stats.requests++;
	stats.bytes += len;
	if (n < 0) {
		stats.bad++;
		return;
	}
	stats.events += (uint64_t)n;
	stats.sizes[n < HIST_SIZES ? n : HIST_SIZES - 1]++;
}

static struct json_object *
stats_json(void)
{
	struct json_object *o = json_object_new_object();
	struct json_object *sizes = json_object_new_object();
	char key[24];

	json_object_object_add(o, "requests",
	                       json_object_new_int64((int64_t)stats.requests));
	json_object_object_add(o, "events",
	                       json_object_new_int64((int64_t)stats.events));
	json_object_object_add(o, "bytes",
	                       json_object_new_int64((int64_t)stats.bytes));
	json_object_object_add(o, "bad",
	                       json_object_new_int64((int64_t)stats.bad));
	json_object_object_add(
	        o, "connections",
	        json_object_new_int64((int64_t)stats.connections));
	json_object_object_add(o, "first_ms",
	                       json_object_new_int64(stats.first_ms));
	json_object_object_add(o, "last_ms",
	                       json_object_new_int64(stats.last_ms));
	for (size_t i = 0; i < HIST_SIZES; i++) {
		if (stats.sizes[i] == 0)
			continue;
		snprintf(key, sizeof(key), "%zu", i);
		json_object_object_add(
		        sizes, key,
		        json_object_new_int64((int64_t)stats.sizes[i]));
	}
	json_object_object_add(o, "batch_sizes", sizes);
	return o;
}

static int
handle_control(int fd, const struct head *h)
{
	if (strcmp(h->method, "GET") == 0 &&
	    strcmp(h->path, "/_control/stats") == 0) {
		struct json_object *o = stats_json();
		int rc = reply(fd, 200, "OK",
		               json_object_to_json_string_ext(
		                       o, JSON_C_TO_STRING_PLAIN),
		               h->close);

		json_object_put(o);
		return rc;
	}
	if (strcmp(h->method, "POST") == 0 &&
	    strcmp(h->path, "/_control/reset") == 0) {
		memset(&stats, 0, sizeof(stats));
		generation++;
		return reply(fd, 200, "OK", "{\"ok\":true}", h->close);
	}
	return reply(fd, 404, "Not Found", "{\"error\":\"no such control\"}",
	             h->close);
}

/* Handle every complete request in c's buffer.  -1: close it. */
static int
handle_buffered(struct conn *c)
{
	struct head h;
	int r;

	while ((r = parse_head(c->buf, c->len, &h)) == 1) {
		size_t total = h.head_len + h.body_len;

		if (h.chunked) {
			reply(c->fd, 411, "Length Required",
			      "{\"error\":\"send Content-Length\"}", 1);
			return -1;
		}
		if (c->len < total)
			return 0;
		if (strncmp(h.path, "/_control/", 10) == 0)
			r = handle_control(c->fd, &h);
		else {
			count_request(c, c->buf + h.head_len, h.body_len);
			r = reply(c->fd, 200, "OK", "{\"success\":true}",
			          h.close);
		}
		memmove(c->buf, c->buf + total, c->len - total);
		c->len -= total;
		if (r != 0 || h.close)
			return -1;
	}
	if (r < 0)
		reply(c->fd, 400, "Bad Request", "{\"error\":\"bad request\"}",
		      1);
	return r < 0 ? -1 : 0;
}

/* Read what is there into c; -1 on EOF, error or an oversized request. */
static int
conn_read(struct conn *c)
{
	ssize_t n;

	if (c->cap - c->len < READ_CHUNK) {
		size_t cap = c->cap ? c->cap * 2 : 2 * READ_CHUNK;
		char *p;

		if (cap > MAX_REQUEST + READ_CHUNK)
			return -1;
		p = realloc(c->buf, cap);
		if (p == NULL)
			return -1;
		c->buf = p;
		c->cap = cap;
	}
	n = read(c->fd, c->buf + c->len, c->cap - c->len);
	if (n <= 0)
		return n < 0 && errno == EINTR ? 0 : -1;
	c->len += (size_t)n;
	return handle_buffered(c);
}

static void
conn_close(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->buf);
	free(c);
}

static void
conn_accept(int ep, int lfd)
{
	int fd = accept(lfd, NULL, NULL);
	int one = 1;
	struct conn *c;
	struct epoll_event ev = {.events = EPOLLIN};

	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		close(fd);
		free(c);
		return;
	}
}

static int
listen_loopback(uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 512) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
		perror("sink: listen on 127.0.0.1");
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static int
write_port_file(const char *path, uint16_t port)
{
	char tmp[4096];
	FILE *fp;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	fp = fopen(tmp, "w");
	if (fp == NULL || fprintf(fp, "%u\n", (unsigned)port) < 0 ||
	    fclose(fp) != 0 || rename(tmp, path) != 0) {
		perror("sink: port file");
		return -1;
	}
	return 0;
}

static void
serve(int ep, int lfd)
{
	struct epoll_event evs[64];
	pid_t parent = getppid();

	while (!stopping && getppid() == parent) {
		int n = epoll_wait(ep, evs, 64, 500);

		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				conn_accept(ep, lfd);
			else if (conn_read(evs[i].data.ptr) != 0)
				conn_close(ep, evs[i].data.ptr);
		}
	}
}

int
main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	uint16_t port;
	int lfd, ep;

	if (argc == 2 && strcmp(argv[1], "--self-test") == 0)
		return self_test();
	if (argc != 3 || strcmp(argv[1], "--port-file") != 0) {
		fputs("usage: sink --port-file FILE | --self-test\n", stderr);
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_loopback(&port);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (lfd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0 ||
	    write_port_file(argv[2], port) != 0)
		return 1;
	serve(ep, lfd);
	return 0;
}
