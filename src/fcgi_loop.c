/*
 * FastCGI and CGI serving.  Each worker thread accepts through libfcgi
 * on the listening socket made non-blocking, and waits for connections
 * in epoll with an eventfd beside it: stopping writes the eventfd, so no
 * signal interrupts a worker's read(2) or write(2) of a request in hand
 * (libfcgi does not retry those on EINTR) unless its peer has stalled
 * for STOP_GRACE_S.  As in fcgiwrap and spawn-fcgi, the stop signals end
 * the loop; here the main thread takes them with sigtimedwait.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <fastcgi.h>
#include <fcgiapp.h>

#include "domainlist.h"
#include "fcgi_conn.h"
#include "fcgi_loop.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "request.h"
#include "deliver_child.h"
#include "spool.h"
#include "util.h"

#define MAX_THREADS 64
/* Back-off after an accept failed for want of a resource: doubling from
 * the first to the last, in milliseconds. */
#define BACKOFF_FIRST_MS 10
#define BACKOFF_MAX_MS   1000
/* How long a request in hand at a stop signal may take to finish. */
#define STOP_GRACE_S 10

struct worker {
	pthread_t tid;
	int index;
	int listen_fd;
	int wake_fd;  /* readable once stopping: the eventfd of all workers */
	int epoll_fd; /* listen_fd (EPOLLEXCLUSIVE) and wake_fd */
	int running;
	int failed; /* ended for an error the socket will not get over */
	struct app app;
};

static int stopping; /* atomic: set once, before wake_fd is written */

static int
is_stopping(void)
{
	return __atomic_load_n(&stopping, __ATOMIC_ACQUIRE);
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

/* What a worker does after an accept failed with err. */
enum accept_next {
	ACCEPT_WAIT,    /* nothing to accept: wait for a connection */
	ACCEPT_AGAIN,   /* that connection failed: accept the next one */
	ACCEPT_BACKOFF, /* out of a resource: wait a little, then again */
	ACCEPT_GIVE_UP, /* the socket is unusable: this worker ends */
};

/*
 * accept(2) on Linux: network errors pending on the new connection are
 * its own (retry at once); descriptors, buffers and memory run out for a
 * while (EMFILE, ENFILE, ENOBUFS, ENOMEM: back off and retry); a socket
 * that is not a listening one never becomes one.  Anything unknown is
 * retried with back-off: a process that stops accepting is an outage.
 */
static enum accept_next
accept_next(int err)
{
	switch (err) {
	case EAGAIN:
		return ACCEPT_WAIT;
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
	case EPERM: /* a firewall rule refused it */
	case ENETDOWN:
	case ENOPROTOOPT:
	case EHOSTDOWN:
	case ENONET:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case ECONNRESET:
	case ETIMEDOUT:
		return ACCEPT_AGAIN;
	case EBADF:
	case ENOTSOCK:
	case EINVAL:
	case EFAULT:
		return ACCEPT_GIVE_UP;
	default:
		return ACCEPT_BACKOFF;
	}
}

/*
 * The process's episode of failed accepts: logged when it starts and
 * when it ends, whichever threads meet it, never once per failure.
 */
static struct {
	int err;          /* the first failure's errno; 0: no episode */
	unsigned long n;  /* failures in this episode */
	int64_t since_ms; /* when it started */
	pthread_mutex_t mu;
} episode = {0, 0, 0, PTHREAD_MUTEX_INITIALIZER};

static void
episode_failure(int err)
{
	int first;

	pthread_mutex_lock(&episode.mu);
	first = episode.err == 0;
	if (first) {
		episode.err = err;
		episode.since_ms = now_ms();
	}
	episode.n++;
	pthread_mutex_unlock(&episode.mu);
	if (first)
		log_msg(LOG_ERROR,
		        "accept: %s: retrying with back-off up to %d ms",
		        strerror(err), BACKOFF_MAX_MS);
}

static void
episode_success(void)
{
	unsigned long n = 0;
	int64_t ms = 0;
	int err = 0;

	if (__atomic_load_n(&episode.err, __ATOMIC_RELAXED) == 0)
		return; /* the common case: no lock per request */
	pthread_mutex_lock(&episode.mu);
	if (episode.err != 0) {
		err = episode.err;
		n = episode.n;
		ms = now_ms() - episode.since_ms;
		episode.err = 0;
		episode.n = 0;
	}
	pthread_mutex_unlock(&episode.mu);
	if (err != 0)
		log_msg(LOG_WARN,
		        "accept: serving again after %lu failed accepts in "
		        "%lld ms (first: %s)",
		        n, (long long)ms, strerror(err));
}

/* Sleep up to ms, or until stopping.  0, or -1 when stopping. */
static int
nap(const struct worker *w, int ms)
{
	struct pollfd p = {w->wake_fd, POLLIN, 0};

	if (poll(&p, 1, ms) < 0 && errno != EINTR)
		return -1;
	return is_stopping() ? -1 : 0;
}

/* Wait until a connection may be there to accept, or stopping. */
static void
wait_for_connection(const struct worker *w)
{
	struct epoll_event ev;

	if (epoll_wait(w->epoll_fd, &ev, 1, -1) < 0 && errno != EINTR)
		(void)nap(w, BACKOFF_FIRST_MS); /* never spin */
}

/*
 * Accept and serve until stopping.  No accept mutex: with
 * EPOLLEXCLUSIVE, Linux wakes one waiting worker per connection.  A
 * connection the server keeps open (FCGI_KEEP_CONN) is read again by
 * FCGX_Accept_r before it accepts.  Returns 0, or -1 after an error
 * that no retry gets over (logged).
 */
static int
worker_loop(struct worker *w, struct fcgi_conn **cp)
{
	int rc, backoff = BACKOFF_FIRST_MS;

	while (!is_stopping()) {
		if (*cp == NULL && (*cp = fcgi_conn_new(w->listen_fd)) == NULL)
			rc = -ENOMEM;
		else
			rc = fcgi_conn_accept(*cp);
		if (rc == 0) {
			episode_success();
			backoff = BACKOFF_FIRST_MS;
			fcgi_conn_serve(&w->app, cp);
			continue;
		}
		switch (rc < -9000 ? ACCEPT_GIVE_UP : accept_next(-rc)) {
		case ACCEPT_WAIT:
			wait_for_connection(w);
			break;
		case ACCEPT_AGAIN:
			break;
		case ACCEPT_BACKOFF:
			episode_failure(-rc);
			if (nap(w, backoff) != 0)
				return 0;
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
			                                       : backoff * 2;
			break;
		case ACCEPT_GIVE_UP:
			log_msg(LOG_ERROR, "accept: %s: thread %d stops",
			        rc < -9000 ? "libfcgi not initialised"
			                   : strerror(-rc),
			        w->index);
			return -1;
		}
	}
	return 0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct fcgi_conn *c = NULL;

	if (worker_loop(w, &c) != 0)
		__atomic_store_n(&w->failed, 1, __ATOMIC_RELEASE);
	fcgi_conn_free(c);
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

/*
 * Non-blocking: an accept that finds nothing returns EAGAIN and the
 * worker waits in epoll, where stopping reaches it.  (The connections
 * accepted are blocking, as libfcgi reads them.)
 */
static int
listen_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
		fprintf(stderr, "formrelay: listening socket: %s\n",
		        strerror(errno));
		return -1;
	}
	return 0;
}

static void
on_cut_signal(int sig)
{
	(void)sig; /* only here to interrupt a read(2) or write(2) */
}

/* SIGUSR2 caught: with SA_RESTART it interrupts nothing (a stray one
 * neither kills the process nor fails a request); without, it cuts a
 * stalled request short (worker_cut). */
static int
cut_signal_set(int restart)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_cut_signal;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR2, &sa, NULL);
}

static int
signals_setup(sigset_t *stopset)
{
	if (cut_signal_set(1) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(stopset);
	sigaddset(stopset, SIGTERM);
	sigaddset(stopset, SIGINT);
	sigaddset(stopset, SIGHUP);
	/* Only the main thread takes stop signals (sigtimedwait). */
	return pthread_sigmask(SIG_BLOCK, stopset, NULL);
}

/* The worker's epoll set: the listening socket, one waiter woken per
 * connection (EPOLLEXCLUSIVE), and the wake eventfd, every waiter. */
static int
worker_epoll(struct worker *w)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	if ((w->epoll_fd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -1;
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.fd = w->listen_fd;
	if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, w->listen_fd, &ev) != 0)
		return -1;
	ev.events = EPOLLIN;
	ev.data.fd = w->wake_fd;
	return epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, w->wake_fd, &ev);
}

static void
worker_release(struct worker *w)
{
	app_close(&w->app);
	if (w->epoll_fd >= 0)
		close(w->epoll_fd);
	w->epoll_fd = -1;
}

static int
worker_start(struct worker *w, const struct config *cfg, struct ingest *in)
{
	struct fr_error err;

	if (worker_epoll(w) != 0) {
		fprintf(stderr, "formrelay: epoll: %s\n", strerror(errno));
		worker_release(w);
		return -1;
	}
	if (app_open(&w->app, cfg, in, &err) != 0) {
		fprintf(stderr, "formrelay: %s\n", err.message);
		worker_release(w);
		return -1;
	}
	w->running = 1;
	if (pthread_create(&w->tid, NULL, worker_main, w) != 0) {
		fprintf(stderr, "formrelay: cannot start a thread\n");
		w->running = 0;
		worker_release(w);
		return -1;
	}
	return 0;
}

/* Start n workers; returns how many started. */
static int
workers_start(struct worker *w, int n, int fd, int wake_fd,
              const struct config *cfg, struct ingest *in)
{
	int i;

	for (i = 0; i < n; i++) {
		w[i].index = i;
		w[i].listen_fd = fd;
		w[i].wake_fd = wake_fd;
		w[i].epoll_fd = -1;
		if (worker_start(&w[i], cfg, in) != 0)
			return i;
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

/*
 * A worker still in its request STOP_GRACE_S after the stop waits on a
 * peer that sends or reads nothing: only now is a signal sent, without
 * SA_RESTART, so that its read(2) or write(2) fails and it ends.
 * Repeated, since a signal caught between system calls interrupts none.
 */
static void
worker_cut(struct worker *w)
{
	struct timespec pause = {0, 20 * 1000 * 1000};

	log_msg(LOG_WARN,
	        "thread %d: its request is stalled %d s after the stop "
	        "signal: cutting it short",
	        w->index, STOP_GRACE_S);
	cut_signal_set(0);
	while (pthread_tryjoin_np(w->tid, NULL) == EBUSY) {
		pthread_kill(w->tid, SIGUSR2);
		nanosleep(&pause, NULL);
	}
}

/* Wake every worker and wait for each to finish its request in hand. */
static void
workers_stop(struct worker *w, int n, int wake_fd)
{
	struct timespec deadline;
	uint64_t one = 1;
	int i;

	__atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
	/* An eventfd's counter only fails to take 1 at 2^64 - 2. */
	if (write(wake_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		log_msg(LOG_ERROR, "cannot wake the workers: %s",
		        strerror(errno));
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += STOP_GRACE_S;
	for (i = 0; i < n; i++) {
		if (pthread_timedjoin_np(w[i].tid, NULL, &deadline) != 0)
			worker_cut(&w[i]);
		worker_release(&w[i]);
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

/* The delivery process, and the spool's commits waking it. */
static void
delivery_start(struct deliver_child *dc, struct ingest *in,
               const struct config *cfg, int fd, char *token)
{
	dc->listen_fd = fd;
	dc->config = cfg->path;
	/* Stored events go to our own delivery process without a claim;
	 * with no token they are stored plainly pending. */
	if (uuid_v4(token) == 0 &&
	    ingest_hand_appends(in, token, cfg->lease_ms) == 0)
		dc->handed_token = token;
	deliver_child_start(dc); /* retried by deliver_child_check */
	ingest_on_commit(in, wake_delivery, dc);
}

/*
 * Serve until a stop signal (0), or until no worker can accept any more
 * (1: logged, so that a supervisor restarts the process).
 */
static int
serve_workers(const struct config *cfg, struct ingest *in, int fd, int n,
              struct deliver_child *dc)
{
	struct worker w[MAX_THREADS];
	sigset_t stopset;
	int wake_fd, started, sig = 0;

	memset(w, 0, sizeof(w));
	if (signals_setup(&stopset) != 0 ||
	    (wake_fd = eventfd(0, EFD_CLOEXEC)) < 0) {
		fprintf(stderr, "formrelay: cannot set up: %s\n",
		        strerror(errno));
		return 1;
	}
	started = workers_start(w, n, fd, wake_fd, cfg, in);
	if (started == n) {
		log_msg(LOG_INFO, "serving FastCGI with %d threads%s", n,
		        cfg->dry_run ? " (dry_run: nothing is sent)" : "");
		sig = wait_for_stop(&stopset, w, n, dc);
		if (sig > 0)
			log_msg(LOG_INFO,
			        "signal %d: finishing requests in hand", sig);
		else
			log_msg(LOG_ERROR, "no thread can accept connections "
			                   "any more: exiting with status 1");
	}
	workers_stop(w, started, wake_fd);
	close(wake_fd);
	return sig > 0 ? 0 : 1;
}

int
serve_fastcgi(const struct config *cfg, const struct serve_options *opt)
{
	struct deliver_child dc = {0, -1, -1, NULL, NULL, 0, 0};
	char token[UUID_STR_LEN];
	struct ingest *in = NULL;
	struct fr_error err;
	int fd, n = opt->threads, rc;

	/* libfcgi mallocs 8 KB stream buffers per request; with fastbins
	 * on, each such malloc first consolidates every small free chunk
	 * (malloc_consolidate was a tenth of our CPU under load). */
	mallopt(M_MXFAST, 0);
	/* An arena per thread would cost more memory than it saves time. */
	mallopt(M_ARENA_MAX, 2);
	if (n < 1 || n > MAX_THREADS)
		n = n < 1 ? 1 : MAX_THREADS;
	if (FCGX_Init() != 0) {
		fprintf(stderr, "formrelay: cannot initialise FastCGI\n");
		return 1;
	}
	if ((fd = listen_socket(opt)) < 0 || listen_nonblocking(fd) != 0)
		return 1;
	if (ingest_start(cfg, 1, &in, &err) != FR_OK) {
		fprintf(stderr, "formrelay: spool: %s\n", err.message);
		return 1;
	}
	metrics_open_beside(cfg->spool_path);
	delivery_start(&dc, in, cfg, fd, token);
	rc = serve_workers(cfg, in, fd, n, &dc);
	ingest_stop(in);
	deliver_child_stop(&dc);
	log_msg(LOG_INFO, "stopped");
	return rc;
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

static void
note_stored(const void *arg)
{
	*(int *)arg = 1; /* single-threaded: CGI */
}

/*
 * CGI delivers at once: once the reply is out, a detached
 * formrelay-deliver --flush sends what is due (deliver_child.h), within
 * three times the Customer.io timeout; `formrelay flush` from a timer
 * stays the backstop (a failed send is retried by it, or by the next
 * submission's flush).
 */
static void
deliver_now(const struct config *cfg)
{
	char lock[4096];
	unsigned seconds = (unsigned)(cfg->timeout_ms / 1000) * 3 + 5;

	if (cfg->path == NULL ||
	    (size_t)snprintf(lock, sizeof(lock), "%s.flush", cfg->spool_path) >=
	            sizeof(lock))
		return;
	deliver_detached_flush(cfg->path, lock, seconds);
}

/* CGI: answer, exit, and leave delivery to a detached process. */
int
serve_cgi(const struct config *cfg)
{
	struct http_io io = {cgi_read, cgi_write, cgi_getenv, NULL};
	struct ingest *in = NULL;
	struct app app;
	struct fr_error err;
	int rc, stored = 0;

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
	ingest_on_commit(in, note_stored, &stored);
	rc = request_handle(&app, &io);
	fflush(stdout);
	app_close(&app);
	ingest_stop(in);
	if (stored)
		deliver_now(cfg);
	return rc == 0 ? 0 : 1;
}
