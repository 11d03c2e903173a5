/*
 * The delivery thread of formrelay-deliver (see deliver.h): it runs
 * deliver_round until nothing is due, then sleeps until a wake-up, the
 * next due time or a stop.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "deliver.h"
#include "log.h"
#include "spool.h"
#include "util.h"

/* The delivery thread of formrelay-deliver. */
struct deliver_thread {
	pthread_t thread;
	int stop;     /* atomic */
	int stop_fd;  /* eventfd: readable once stop is set */
	int wake_efd; /* eventfd: deliver_thread_wake */
	int wake_fd;  /* the stored-events pipe, or -1 (also after its EOF) */
	struct deliverer *d;
};

static int
thread_stopping(struct deliver_thread *t)
{
	return __atomic_load_n(&t->stop, __ATOMIC_ACQUIRE);
}

/* Read what woke us from the wake descriptors poll found readable; 1 when
 * it was a wake-up (not only the pipe's end). */
static int
take_wakes(struct deliver_thread *t, const struct pollfd *pfd, nfds_t n)
{
	char buf[256];
	nfds_t i;
	ssize_t r;
	int woken = 0;

	for (i = 0; i < n; i++) {
		if (pfd[i].fd < 0 || pfd[i].revents == 0)
			continue;
		r = read(pfd[i].fd, buf, sizeof(buf));
		if (r > 0)
			woken = 1;
		else if (r == 0 && pfd[i].fd == t->wake_fd)
			t->wake_fd = -1; /* every writer is gone */
	}
	return woken;
}

/* Whether the spool's own wake-up (PostgreSQL's NOTIFY, from any host)
 * came; drains it. */
static int
spool_woke(struct deliver_thread *t, const struct pollfd *pfd)
{
	return pfd->fd >= 0 && pfd->revents != 0 &&
	       spool_wake_drain(deliver_spool(t->d));
}

/* Sleep until wake_at (ms since the epoch) or a stop, and a wake when
 * wakeable (else a wake is left for the next sleep).  A wake is a write
 * to the eventfd or the pipe, or one the spool gives (spool_wake_fd). */
static void
thread_sleep(struct deliver_thread *t, int64_t wake_at, int wakeable)
{
	struct pollfd pfd[4] = {{t->stop_fd, POLLIN, 0},
	                        {t->wake_efd, POLLIN, 0},
	                        {t->wake_fd, POLLIN, 0},
	                        {-1, POLLIN, 0}};
	nfds_t n = wakeable ? 4 : 1;
	int64_t left;

	/* one that came during the last round's statements */
	if (wakeable && spool_wake_drain(deliver_spool(t->d)))
		return;
	while (!thread_stopping(t) && (left = wake_at - now_ms()) > 0) {
		pfd[2].fd = t->wake_fd;
		pfd[3].fd = wakeable ? spool_wake_fd(deliver_spool(t->d)) : -1;
		if (poll(pfd, n, left > INT_MAX ? INT_MAX : (int)left) > 0 &&
		    wakeable &&
		    (take_wakes(t, pfd + 1, 2) | spool_woke(t, &pfd[3])))
			return;
	}
}

/* When the next claim may start: later after a batch that was not
 * full (DELIVER_GATHER_MS), at once after a full one or none. */
static int64_t
gather_deadline(const struct deliver_report *rep)
{
	if (rep->claimed == 0 || rep->claimed >= DELIVER_MAX_EVENTS)
		return 0;
	return now_ms() + DELIVER_GATHER_MS;
}

static void *
thread_main(void *arg)
{
	struct deliver_thread *t = arg;
	struct deliver_report rep;
	int64_t gather_until = 0;
	int more, rc;

	while (!thread_stopping(t)) {
		do {
			thread_sleep(t, gather_until, 0);
			memset(&rep, 0, sizeof(rep));
			rc = deliver_round(t->d, now_ms(), &rep, &more);
			gather_until = gather_deadline(&rep);
		} while (rc == FR_OK && more && !thread_stopping(t));
		if (rc != FR_OK)
			log_msg(LOG_ERROR,
			        "delivery round failed: %s (%s); "
			        "trying again in %d ms",
			        fr_status_name(rc),
			        spool_last_error(deliver_spool(t->d))->message,
			        DELIVER_POLL_MS);
		thread_sleep(t,
		             rc == FR_OK ? deliver_next_wake(t->d, now_ms())
		                         : now_ms() + DELIVER_POLL_MS,
		             1);
	}
	return NULL;
}

/* "hostname:pid:index", unique per delivery thread on this host. */
static void
thread_owner(char *buf, size_t size)
{
	static unsigned next_index;
	unsigned index = __atomic_fetch_add(&next_index, 1, __ATOMIC_SEQ_CST);
	char host[128];

	if (gethostname(host, sizeof(host)) != 0)
		strlcopy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(buf, size, "%s:%ld:%u", host, (long)getpid(), index);
}

static int
thread_fds_open(struct deliver_thread *t, int wake_fd)
{
	t->wake_fd = wake_fd;
	t->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	t->wake_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return t->stop_fd >= 0 && t->wake_efd >= 0 ? 0 : -1;
}

static void
thread_fds_close(struct deliver_thread *t)
{
	if (t->stop_fd >= 0)
		close(t->stop_fd);
	if (t->wake_efd >= 0)
		close(t->wake_efd);
}

/* Make an eventfd readable (it counts; it cannot fill up in practice). */
static void
eventfd_post(int fd)
{
	uint64_t one = 1;
	ssize_t r = write(fd, &one, sizeof(one));

	(void)r;
}

/* The thread blocks every signal, so SIGTERM reaches the accept loop. */
static int
thread_spawn(struct deliver_thread *t)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&t->thread, NULL, thread_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int
deliver_thread_start(const struct config *cfg, int wake_fd,
                     const char *handed_token, struct deliver_thread **out,
                     struct fr_error *err)
{
	struct deliver_thread *t = calloc(1, sizeof(*t));
	char owner[256];
	int rc;

	*out = NULL;
	if (t == NULL)
		return fr_fail(err, FR_ENOMEM, NULL, NULL,
		               "out of memory starting delivery");
	t->stop_fd = t->wake_efd = -1;
	thread_owner(owner, sizeof(owner));
	rc = deliverer_new(cfg, owner, &t->d, err);
	if (rc == FR_OK && handed_token != NULL &&
	    spool_take_handed(deliver_spool(t->d), handed_token) != 0)
		rc = fr_fail(err, FR_ECONFIG, NULL, NULL,
		             "--take-handed: a token of 1 to %d bytes",
		             UUID_STR_LEN - 1);
	if (rc == FR_OK && deliver_resume(t->d) != FR_OK)
		rc = fr_fail(err, FR_ESTORE, NULL, NULL,
		             "cannot clear the delivery pause in %s",
		             cfg->spool_path);
	if (rc == FR_OK && thread_fds_open(t, wake_fd) != 0)
		rc = fr_fail(err, FR_EINTERNAL, NULL, NULL,
		             "cannot create the delivery thread's eventfd: %s",
		             strerror(errno));
	else if (rc == FR_OK && (rc = thread_spawn(t)) != 0)
		rc = fr_fail(err, FR_EINTERNAL, NULL, NULL,
		             "cannot start the delivery thread: %s",
		             strerror(rc));
	if (rc != FR_OK) {
		thread_fds_close(t);
		deliverer_free(t->d);
		free(t);
		return rc;
	}
	*out = t;
	return FR_OK;
}

void
deliver_thread_wake(struct deliver_thread *t)
{
	if (t != NULL)
		eventfd_post(t->wake_efd);
}

void
deliver_thread_stop(struct deliver_thread *t)
{
	if (t == NULL)
		return;
	__atomic_store_n(&t->stop, 1, __ATOMIC_RELEASE);
	eventfd_post(t->stop_fd);
	pthread_join(t->thread, NULL);
	thread_fds_close(t);
	deliverer_free(t->d); /* releases its claims */
	free(t);
}
