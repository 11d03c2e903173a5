/*
 * FastCGI and CGI serving.  As in fcgiwrap and spawn-fcgi, SIGTERM is
 * caught without SA_RESTART; workers accept with FCGI_FAIL_ACCEPT_ON_INTR
 * so that a signal sent to each of them ends its accept() and the loop.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <fastcgi.h>
#include <fcgiapp.h>

#include "domainlist.h"
#include "fcgi_loop.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "request.h"
#include "deliver_child.h"
#include "spool.h"

#define MAX_THREADS 64

struct worker {
	pthread_t tid;
	int index;
	int listen_fd;
	int running;
	struct app app;
};

static volatile sig_atomic_t stopping;

static void
on_wake_signal(int sig)
{
	(void)sig; /* only here to interrupt accept(2) */
}

static long
fcgx_read(void *ctx, char *buf, size_t len)
{
	FCGX_Request *rq = ctx;
	int n = FCGX_GetStr(buf, len > 65536 ? 65536 : (int)len, rq->in);

	return n < 0 ? -1 : n;
}

static int
fcgx_write(void *ctx, const char *buf, size_t len)
{
	FCGX_Request *rq = ctx;

	return FCGX_PutStr(buf, (int)len, rq->out) == (int)len ? 0 : -1;
}

/*
 * FCGX_GetParam's search, with the first byte compared before the rest:
 * a submission looks up ~20 names among the ~30 lighttpd sends, and
 * FCGX_GetParam's strncmp on every pair was 2 % of our CPU under load.
 */
static const char *
fcgx_getenv(void *ctx, const char *name)
{
	FCGX_Request *rq = ctx;
	size_t len = strlen(name);
	char **p;

	if (rq->envp == NULL || len == 0)
		return NULL;
	for (p = rq->envp; *p != NULL; p++)
		if ((*p)[0] == name[0] && strncmp(*p, name, len) == 0 &&
		    (*p)[len] == '=')
			return *p + len + 1;
	return NULL;
}

/* Any budget at all: per address, or a webhook source's own. */
static int
rate_limited(const struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->hook_count; i++)
		if (cfg->hooks[i].rate_count > 0)
			return 1;
	return cfg->rate_limit_count > 0;
}

/*
 * A worker's view: the process's ingest, and its own handle on the
 * shared rate-limit file beside the spool (its own open file, so that
 * its lock excludes the other threads too).
 */
static int
app_open(struct app *app, const struct config *cfg, struct ingest *in,
         struct fr_error *err)
{
	char path[4096];

	memset(app, 0, sizeof(*app));
	app->cfg = cfg;
	app->ingest = in;
	parse_limits_default(&app->limits);
	if (cfg->spam.disposable_domains &&
	    domain_list_open(cfg->spam.disposable_domains_file,
	                     &app->disposable, err) != FR_OK)
		return -1;
	if (!rate_limited(cfg))
		return 0;
	/* With [http] rate_limit off, the file still holds the webhook
	 * sources' budgets; request.c then skips the per-address one. */
	snprintf(path, sizeof(path), "%s.ratelimit", cfg->spool_path);
	if (ratelimit_open(path,
	                   cfg->rate_limit_count ? cfg->rate_limit_count : 1,
	                   cfg->rate_limit_window_ms, &app->rl, err) != FR_OK) {
		domain_list_close(app->disposable);
		return -1;
	}
	return 0;
}

static void
app_close(struct app *app)
{
	ratelimit_close(app->rl);
	domain_list_close(app->disposable);
	memset(app, 0, sizeof(*app));
}

/*
 * libfcgi closes a connection the careful way: shutdown, then poll and
 * read until the server closes its end, so that unread input cannot
 * make the kernel reset the connection before the server has read the
 * reply.  When the whole input has been read there is nothing to reset:
 * a plain close spares three system calls and a wait on the server per
 * request.  (FCGX_Detach only marks the request for that plain close.)
 */
static void
close_fast_when_read(FCGX_Request *rq)
{
	if (rq->in != NULL && FCGX_HasSeenEOF(rq->in) == EOF)
		FCGX_Detach(rq);
}

/* One FastCGI request in hand; once deferred, the spool writer's. */
struct fcgi_conn {
	FCGX_Request rq; /* first: the io callbacks' ctx is either */
	struct http_io io;
};

/* The end of a request: the reply goes out, the connection closes. */
static void
conn_end(struct fcgi_conn *c)
{
	close_fast_when_read(&c->rq);
	FCGX_Finish_r(&c->rq);
}

/* The end of a deferred request, from the spool writer's thread. */
static void
conn_finish(void *ctx)
{
	conn_end(ctx);
	free(ctx);
}

/*
 * The server asked to keep the connection for its next request (nginx's
 * fastcgi_keep_conn, FCGI_KEEP_CONN).  libfcgi then leaves the socket
 * open after FCGX_Finish_r for FCGX_Accept_r to read the next request
 * from: only the thread that serves the connection can do that, so such
 * a request is not handed to the spool writer (this thread waits for its
 * commit, as CGI does).  libfcgi has no call for the flag it parsed from
 * FCGI_BEGIN_REQUEST, so this reads the field fcgiapp.h marks internal.
 */
static int
conn_keeps_open(const FCGX_Request *rq)
{
	return rq->keepConnection;
}

/*
 * Accept the next connection ourselves and give it to FCGX_Accept_r,
 * which reads from an open ipcFd instead of accepting.  libfcgi's own
 * accept follows each AF_UNIX accept(2) with a poll(2) for readability:
 * a third system call on every request (1.4 % of the machine's CPU under
 * load) to spare the rare server that connects and sends nothing, which
 * FCGX_Accept_r handles anyway (it closes such a connection and accepts
 * again).  keepConnection set stops FCGX_Accept_r's opening
 * FCGX_Finish_r from closing the fd; the request's FCGI_BEGIN_REQUEST
 * then sets it as the server asks.  Returns 0, or -errno as
 * FCGX_Accept_r does.  A connection the server keeps open (ipcFd still
 * set) is read again, not replaced.
 */
static int
conn_accept(struct fcgi_conn *c)
{
	int fd;

	if (c->rq.ipcFd < 0) {
		fd = accept4(c->rq.listen_sock, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return -errno;
		c->rq.ipcFd = fd;
		c->rq.keepConnection = 1;
	}
	return FCGX_Accept_r(&c->rq);
}

/* A request to accept into; owned by the caller until deferred. */
static struct fcgi_conn *
conn_new(int listen_fd)
{
	struct fcgi_conn *c = malloc(sizeof(*c));

	if (c == NULL ||
	    FCGX_InitRequest(&c->rq, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR)) {
		free(c);
		return NULL;
	}
	/* finish: set for each request accepted (conn_keeps_open) */
	c->io = (struct http_io){fcgx_read, fcgx_write, fcgx_getenv, c, NULL};
	return c;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct fcgi_conn *c = NULL;
	int rc;

	while (!stopping) {
		if (c == NULL && (c = conn_new(w->listen_fd)) == NULL) {
			log_msg(LOG_ERROR, "out of memory for a request: "
			                   "this thread stops accepting");
			break;
		}
		/* No accept mutex: Linux wakes one accept(2) per connection,
		 * and a lock would also serialise reading the parameters. */
		rc = stopping ? -1 : conn_accept(c);
		if (rc == -EINTR || rc == -ECONNABORTED)
			continue; /* the loop condition decides */
		if (rc < 0)
			break;
		c->io.finish = conn_keeps_open(&c->rq) ? NULL : conn_finish;
		/* A stored submission is answered by the spool writer once
		 * committed: this thread accepts the next request meanwhile. */
		if (request_handle(&w->app, &c->io) == REQUEST_DEFERRED) {
			c = NULL;
			continue;
		}
		conn_end(c);
	}
	if (c != NULL) {
		FCGX_Free(&c->rq, 0);
		free(c);
	}
	__atomic_store_n(&w->running, 0, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * The listening socket: --listen, else a systemd socket (LISTEN_FDS,
 * sd_listen_fds(3): fd 3), else fd 0 as lighttpd, spawn-fcgi and
 * mod_fcgid pass it.
 */
static int
systemd_socket_given(void)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");

	return fds != NULL && pid != NULL && atoi(fds) >= 1 &&
	       (pid_t)atol(pid) == getpid();
}

static int
listen_socket(const struct serve_options *opt)
{
	int fd;

	if (opt->listen != NULL) {
		fd = FCGX_OpenSocket(opt->listen, 128);
		if (fd < 0)
			fprintf(stderr, "formrelay: listen %s: %s\n",
			        opt->listen,
			        errno ? strerror(errno) : "cannot open socket");
		return fd;
	}
	if (systemd_socket_given())
		return 3;
	return FCGI_LISTENSOCK_FILENO;
}

static int
signals_setup(sigset_t *stopset)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_wake_signal; /* no SA_RESTART: accept() returns */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(stopset);
	sigaddset(stopset, SIGTERM);
	sigaddset(stopset, SIGINT);
	sigaddset(stopset, SIGHUP);
	/* Only the main thread takes stop signals (sigtimedwait). */
	return pthread_sigmask(SIG_BLOCK, stopset, NULL);
}

static int
workers_start(struct worker *w, int n, int fd, const struct config *cfg,
              struct ingest *in)
{
	struct fr_error err;
	int i;

	for (i = 0; i < n; i++) {
		w[i].index = i;
		w[i].listen_fd = fd;
		if (app_open(&w[i].app, cfg, in, &err) != 0) {
			fprintf(stderr, "formrelay: %s\n", err.message);
			return i;
		}
		w[i].running = 1;
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0) {
			app_close(&w[i].app);
			w[i].running = 0;
			return i;
		}
	}
	return n;
}

static int
workers_alive(const struct worker *w, int n)
{
	int i, alive = 0;

	for (i = 0; i < n; i++)
		alive += __atomic_load_n(&w[i].running, __ATOMIC_ACQUIRE);
	return alive;
}

/* Interrupt every accept() until each worker has seen `stopping`. */
static void
workers_stop(struct worker *w, int n)
{
	struct timespec pause = {0, 20 * 1000 * 1000};
	int i;

	stopping = 1;
	FCGX_ShutdownPending();
	while (workers_alive(w, n) > 0) {
		for (i = 0; i < n; i++)
			if (__atomic_load_n(&w[i].running, __ATOMIC_ACQUIRE))
				pthread_kill(w[i].tid, SIGUSR2);
		nanosleep(&pause, NULL);
	}
	for (i = 0; i < n; i++) {
		pthread_join(w[i].tid, NULL);
		app_close(&w[i].app);
	}
}

static void
wake_delivery(const void *dc)
{
	deliver_child_wake(dc);
}

/* Wait for a stop signal, or for every worker to have ended; keep the
 * delivery process running meanwhile. */
static int
wait_for_stop(const sigset_t *stopset, struct worker *w, int n,
              struct deliver_child *dc)
{
	struct timespec tick = {0, 500 * 1000 * 1000};
	int sig;

	for (;;) {
		sig = sigtimedwait(stopset, NULL, &tick);
		if (sig > 0)
			return sig;
		if (workers_alive(w, n) == 0)
			return 0;
		deliver_child_check(dc);
	}
}

int
serve_fastcgi(const struct config *cfg, const struct serve_options *opt)
{
	struct worker w[MAX_THREADS];
	struct deliver_child dc = {0, -1, -1, NULL, NULL, 0};
	char token[UUID_STR_LEN];
	struct ingest *in = NULL;
	struct fr_error err;
	sigset_t stopset;
	int fd, n = opt->threads, started, sig;

	memset(w, 0, sizeof(w));
	/* libfcgi mallocs 8 KB stream buffers per request; with fastbins
	 * on, each such malloc first consolidates every small free chunk
	 * (malloc_consolidate was a tenth of our CPU under load). */
	mallopt(M_MXFAST, 0);
	/* An arena per thread would cost more memory than it saves time. */
	mallopt(M_ARENA_MAX, 2);
	if (n < 1 || n > MAX_THREADS)
		n = n < 1 ? 1 : MAX_THREADS;
	if (FCGX_Init() != 0 || signals_setup(&stopset) != 0) {
		fprintf(stderr, "formrelay: cannot initialise FastCGI\n");
		return 1;
	}
	if ((fd = listen_socket(opt)) < 0)
		return 1;
	if (ingest_start(cfg, 1, &in, &err) != FR_OK) {
		fprintf(stderr, "formrelay: spool: %s\n", err.message);
		return 1;
	}
	metrics_open_beside(cfg->spool_path);
	dc.listen_fd = fd;
	dc.config = cfg->path;
	/* Stored events go to our own delivery process without a claim;
	 * with no token they are stored plainly pending. */
	if (uuid_v4(token) == 0 &&
	    ingest_hand_appends(in, token, cfg->lease_ms) == 0)
		dc.handed_token = token;
	if (deliver_child_start(&dc) != 0)
		fprintf(stderr, "formrelay: delivery process not started; "
		                "retrying\n");
	ingest_on_commit(in, wake_delivery, &dc);
	started = workers_start(w, n, fd, cfg, in);
	if (started == n)
		log_msg(LOG_INFO, "serving FastCGI with %d threads%s", started,
		        cfg->dry_run ? " (dry_run: nothing is sent)" : "");
	sig = started == n ? wait_for_stop(&stopset, w, started, &dc) : 0;
	if (sig > 0)
		log_msg(LOG_INFO, "signal %d: finishing requests in hand", sig);
	workers_stop(w, started);
	ingest_stop(in);
	deliver_child_stop(&dc);
	log_msg(LOG_INFO, "stopped");
	return started == n ? 0 : 1;
}

int
serve_is_cgi(void)
{
	return !systemd_socket_given() && FCGX_IsCGI();
}

/* CGI: the body is stdin, the response stdout (RFC 3875, 4.2 and 6). */
static long
cgi_read(void *ctx, char *buf, size_t len)
{
	size_t n = fread(buf, 1, len, stdin);

	(void)ctx;
	return (n == 0 && ferror(stdin)) ? -1 : (long)n;
}

static int
cgi_write(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	return fwrite(buf, 1, len, stdout) == len ? 0 : -1;
}

static const char *
cgi_getenv(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

/* CGI: answer and exit; delivery is `formrelay flush` from cron. */
int
serve_cgi(const struct config *cfg)
{
	struct http_io io = {cgi_read, cgi_write, cgi_getenv, NULL};
	struct ingest *in = NULL;
	struct app app;
	struct fr_error err;
	int rc;

	metrics_open_beside(cfg->spool_path);
	if (ingest_start(cfg, 0, &in, &err) != FR_OK ||
	    app_open(&app, cfg, in, &err) != 0) {
		/* Still answer the server: a 503 naming the cause. */
		struct reply r = {&io, REPLY_JSON, NULL, 0};
		reply_error(&r, &err, 0);
		fprintf(stderr, "formrelay: %s\n", err.message);
		ingest_stop(in);
		return 1;
	}
	rc = request_handle(&app, &io);
	fflush(stdout);
	app_close(&app);
	ingest_stop(in);
	return rc == 0 ? 0 : 1;
}
