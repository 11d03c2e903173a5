/*
 * Group commit (see ingest.h).  The queue is a singly linked list of
 * waiters, each allocated by ingest_append_async and freed by the writer
 * once its completion has run.  A blocking submitter (ingest_append)
 * sleeps on its own semaphore, posted by its completion: a commit wakes
 * exactly the submitters it stored, not every thread waiting for later
 * groups.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

/* At most this many submissions in one transaction. */
#define INGEST_MAX_GROUP 256
/* At most this many submissions in hand (queued, or in a
 * group not yet answered): past it, ingest_append_async waits, so that a
 * stalled disk holds a bounded number of requests (each keeps ~20 KB of
 * libfcgi's buffers) and the rest wait in the listening socket's queue,
 * as they did when each acceptor thread waited for its own commit. */
#define INGEST_MAX_OUTSTANDING INGEST_MAX_GROUP
/* How long a commit may wait for requests still being parsed (the idea
 * of PostgreSQL's commit_delay/commit_siblings): on a busy machine the
 * threads behind the first submitter need the CPU to reach the queue,
 * and one fsync for all of them costs less than one each. */
#define INGEST_GATHER_US 2000

struct waiter {
	struct spool_append append; /* what to store, and its result */
	char *original;             /* the caller's, or NULL */
	struct fr_error *err;
	ingest_done_fn on_done; /* called once its group is committed */
	void *on_done_arg;
	struct waiter *next;
};

struct ingest {
	struct spool *sp;
	pthread_mutex_t db; /* serialises use of sp */
	/* Reads for /healthz and /metrics, on a connection of their own:
	 * under in->db they waited for the commit in progress, its fsync
	 * included, and commits waited for their count(*) over a large
	 * backlog.  In WAL mode a reader and a writer do not wait for
	 * each other.  NULL without a writer thread (CGI): sp then. */
	struct spool *reader;
	pthread_mutex_t read; /* serialises use of reader */
	pthread_mutex_t lock; /* queue and flags */
	pthread_cond_t work;  /* the writer waits here */
	pthread_cond_t room;  /* for outstanding to drop */
	int outstanding;      /* submissions queued or not yet answered */
	int expected;         /* requests whose events may follow */
	int queued;           /* submissions waiting in the queue */
	int last_group;       /* submissions in the last group taken */
	int64_t gather_us;    /* INGEST_GATHER_US, or a test's */
	int gathering;        /* the writer waits for expected ones */
	void (*committed)(const void *arg);
	const void *committed_arg;
	struct waiter *head;
	struct waiter **tail;
	int threaded;
	int stopping;
	pthread_t writer;
	int64_t lock_wait_us; /* the current group's; under db */
	int failed;           /* an fsync failed, not recovered; under db */
};

/*
 * The group's fsync failed (spool.h, "When an fsync fails"): its
 * submissions are answered 503, and the handle is recovered (undo,
 * reopen, checkpoint) before anything else is stored; until that
 * succeeds every submission gets 503 (begin_group tries again).  With
 * in->db held.
 */
static void
fsync_failed(struct ingest *in, size_t n, const struct fr_error *cause)
{
	struct fr_error err;

	in->failed = 1;
	if (spool_recover(in->sp, &err) == FR_OK) {
		in->failed = 0;
		log_msg(LOG_ERROR,
		        "%s; the %zu submission(s) of that commit were "
		        "answered "
		        "503 and undone; the spool was reopened and its "
		        "write-ahead log checkpointed",
		        cause->message, n);
		return;
	}
	log_msg(LOG_ERROR,
	        "%s; the %zu submission(s) of that commit were answered 503 "
	        "and are undone before anything else is stored; cannot "
	        "recover the spool yet (%s): every submission gets 503 "
	        "until it can",
	        cause->message, n, err.message);
}

/* Before a group: a failed handle is recovered first (see
 * fsync_failed).  With in->db held. */
static void
recover_if_failed(struct ingest *in)
{
	struct fr_error err;

	if (!spool_failed(in->sp))
		return;
	if (spool_recover(in->sp, &err) != FR_OK)
		return; /* the group gets 503 with the cause */
	in->failed = 0;
	log_msg(LOG_WARN, "the spool was recovered after a failed fsync: "
	                  "submissions are stored again");
}

/* Store one group in the transaction begun (spool_append_begin) and
 * unlock in->db; every waiter gets its own result.  1 when something new
 * was stored (not only duplicates). */
static int
commit_group(struct ingest *in, int begun, struct waiter *group)
{
	struct spool_append *items[INGEST_MAX_GROUP];
	struct fr_error err;
	struct waiter *w;
	size_t n = 0;
	int rc, stored = 0;

	for (w = group; w != NULL; w = w->next)
		items[n++] = &w->append;
	fr_error_clear(&err);
	rc = spool_append_finish(in->sp, begun, items, n, now_ms(), &err);
	if (rc == FR_OK)
		metrics_commit(n, in->lock_wait_us, spool_last_sync_us(in->sp));
	else if (spool_failed(in->sp) && !in->failed)
		fsync_failed(in, n, &err);
	pthread_mutex_unlock(&in->db);
	for (w = group; w != NULL; w = w->next) {
		if (rc != FR_OK)
			w->append.result = rc;
		if (w->append.result == FR_ESTORE && w->err != NULL)
			*w->err = err;
		if (w->original != NULL)
			strlcopy(w->original, w->append.original,
			         MESSAGE_ID_SIZE);
		stored |= w->append.result == FR_OK;
	}
	return stored;
}

/* Lock in->db and begin the group's transaction (how long that waited
 * for the write lock goes to /metrics with the commit). */
static int
begin_group(struct ingest *in)
{
	int64_t start;
	int begun;

	pthread_mutex_lock(&in->db);
	recover_if_failed(in);
	start = mono_us();
	begun = spool_append_begin(in->sp);
	in->lock_wait_us = mono_us() - start;
	return begun;
}

/* Run the completion of each waiter of a committed group, and make room
 * for as many more. */
static void
release_group(struct ingest *in, struct waiter *group)
{
	struct waiter *w, *next;
	int answered = 0;

	for (w = group; w != NULL; w = next) {
		next = w->next;
		w->on_done(w->on_done_arg, w->append.result);
		free(w);
		answered++;
	}
	pthread_mutex_lock(&in->lock);
	in->outstanding -= answered;
	pthread_cond_broadcast(&in->room);
	pthread_mutex_unlock(&in->lock);
}

/* Detach up to INGEST_MAX_GROUP waiters from the queue head. */
static struct waiter *
take_group(struct ingest *in)
{
	struct waiter *group = in->head, *w = group;
	size_t n = 1;

	while (w->next != NULL && n < INGEST_MAX_GROUP) {
		w = w->next;
		n++;
	}
	in->head = w->next;
	if (in->head == NULL)
		in->tail = &in->head;
	w->next = NULL;
	in->queued -= (int)n;
	in->last_group = (int)n;
	return group;
}

/*
 * With the lock held: 1 while the group should wait for more: expected
 * submissions may still join, or fewer are queued than the last group
 * held.  Under load, the submitters of one group come back with their
 * clients' next requests while it commits; committing the first of
 * them at once gave groups of 3 or 4, and a commit (BEGIN, the WAL's
 * pages, the fsync) costs about as much CPU as the parsing of 4
 * submissions.  A lone request (last group 1) never waits.
 */
static int
group_short(const struct ingest *in)
{
	return in->queued < INGEST_MAX_GROUP &&
	       (in->queued < in->last_group ||
	        __atomic_load_n(&in->expected, __ATOMIC_SEQ_CST) > 0);
}

/* With the lock held: wait (at most gather_us) while the group is short
 * (group_short). */
static void
gather_group(struct ingest *in)
{
	struct timespec until;

	if (in->stopping || !group_short(in))
		return;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(in->gather_us / 1000000);
	until.tv_nsec += (long)(in->gather_us % 1000000) * 1000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	__atomic_store_n(&in->gathering, 1, __ATOMIC_SEQ_CST);
	while (!in->stopping && group_short(in))
		if (pthread_cond_timedwait(&in->work, &in->lock, &until) ==
		    ETIMEDOUT)
			break;
	__atomic_store_n(&in->gathering, 0, __ATOMIC_RELEASE);
}

static void *
writer_main(void *arg)
{
	struct ingest *in = arg;
	struct waiter *group;
	int begun, stored;

	pthread_mutex_lock(&in->lock);
	for (;;) {
		while (in->head == NULL && !in->stopping)
			pthread_cond_wait(&in->work, &in->lock);
		if (in->head == NULL)
			break; /* stopping, and nothing left to commit */
		gather_group(in);
		pthread_mutex_unlock(&in->lock);
		/* The group is taken once the write lock is ours: what
		 * arrived while another process committed joins it. */
		begun = begin_group(in);
		pthread_mutex_lock(&in->lock);
		group = take_group(in);
		pthread_mutex_unlock(&in->lock);
		stored = commit_group(in, begun, group);
		/* delivery is nudged before anyone is answered */
		if (stored && in->committed != NULL)
			in->committed(in->committed_arg);
		release_group(in, group);
		pthread_mutex_lock(&in->lock);
	}
	pthread_mutex_unlock(&in->lock);
	return NULL;
}

int
ingest_start(const struct config *cfg, int threaded, struct ingest **out,
             struct fr_error *err)
{
	struct ingest *in = calloc(1, sizeof(*in));
	pthread_condattr_t ca;

	*out = NULL;
	if (in == NULL)
		return fr_fail(err, FR_ESTORE, "out_of_memory", NULL,
		               "out of memory");
	if (spool_open_config(cfg, &in->sp, err) != FR_OK) {
		free(in);
		return FR_ESTORE;
	}
	if (threaded && spool_open_config(cfg, &in->reader, err) != FR_OK) {
		spool_close(in->sp);
		free(in);
		return FR_ESTORE;
	}
	pthread_mutex_init(&in->db, NULL);
	pthread_mutex_init(&in->read, NULL);
	pthread_mutex_init(&in->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&in->work, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&in->room, NULL);
	in->tail = &in->head;
	in->gather_us = INGEST_GATHER_US;
	in->threaded = threaded;
	if (threaded && pthread_create(&in->writer, NULL, writer_main, in)) {
		in->threaded = 0;
		ingest_stop(in);
		return fr_fail(err, FR_ESTORE, "cannot_store", NULL,
		               "cannot start the spool writer thread");
	}
	*out = in;
	return FR_OK;
}

static void
waiter_fill(struct waiter *w, const struct spool_event *evs, size_t n,
            const char *dedup_key, char *original, struct fr_error *err,
            const struct ingest_extra *x)
{
	memset(w, 0, sizeof(*w));
	w->append.evs = evs;
	w->append.n = n;
	w->append.dedup_key = dedup_key;
	if (x != NULL) {
		w->append.dedup_window_ms = x->dedup_window_ms;
		w->append.hold = x->hold;
	}
	w->original = original;
	w->err = err;
}

/* The caller's ingest_expect, when it has one, is settled. */
static void
settle_expectation(struct ingest *in, int expected)
{
	if (expected)
		__atomic_sub_fetch(&in->expected, 1, __ATOMIC_SEQ_CST);
}

/* A blocking submitter's wait (ingest_append). */
struct append_wait {
	sem_t done;
	int result;
};

static void
append_done(void *arg, int result)
{
	struct append_wait *aw = arg;

	aw->result = result;
	sem_post(&aw->done); /* aw is gone once posted */
}

int
ingest_append(struct ingest *in, const struct spool_event *evs, size_t n,
              const char *dedup_key, char *original, int expected,
              struct fr_error *err)
{
	return ingest_append_x(in, evs, n, dedup_key, original, NULL, expected,
	                       err);
}

int
ingest_append_x(struct ingest *in, const struct spool_event *evs, size_t n,
                const char *dedup_key, char *original,
                const struct ingest_extra *x, int expected,
                struct fr_error *err)
{
	struct append_wait aw;
	struct waiter w;
	int rc;

	if (!in->threaded) {
		waiter_fill(&w, evs, n, dedup_key, original, err, x);
		settle_expectation(in, expected);
		commit_group(in, begin_group(in), &w);
		if (w.append.result == FR_OK && in->committed != NULL)
			in->committed(in->committed_arg);
		return w.append.result;
	}
	if (sem_init(&aw.done, 0, 0) != 0)
		return fr_fail(err, FR_ESTORE, "cannot_store", NULL,
		               "cannot wait for the spool writer");
	rc = ingest_append_async_x(in, evs, n, dedup_key, original, x, expected,
	                           err, append_done, &aw);
	if (rc == FR_OK) {
		while (sem_wait(&aw.done) != 0)
			; /* EINTR: the stop signal; the commit ends the wait */
		rc = aw.result;
	}
	sem_destroy(&aw.done);
	return rc;
}

int
ingest_append_async(struct ingest *in, const struct spool_event *evs, size_t n,
                    const char *dedup_key, char *original, int expected,
                    struct fr_error *err, ingest_done_fn done, void *arg)
{
	return ingest_append_async_x(in, evs, n, dedup_key, original, NULL,
	                             expected, err, done, arg);
}

int
ingest_append_async_x(struct ingest *in, const struct spool_event *evs,
                      size_t n, const char *dedup_key, char *original,
                      const struct ingest_extra *x, int expected,
                      struct fr_error *err, ingest_done_fn done, void *arg)
{
	struct waiter *w;

	if (!in->threaded)
		return FR_EINTERNAL;
	if ((w = malloc(sizeof(*w))) == NULL)
		return fr_fail(err, FR_ENOMEM, "out_of_memory", NULL,
		               "out of memory queueing for the spool writer");
	waiter_fill(w, evs, n, dedup_key, original, err, x);
	w->on_done = done;
	w->on_done_arg = arg;
	pthread_mutex_lock(&in->lock);
	while (in->outstanding >= INGEST_MAX_OUTSTANDING)
		pthread_cond_wait(&in->room, &in->lock);
	in->outstanding++;
	*in->tail = w;
	in->tail = &w->next;
	in->queued++;
	settle_expectation(in, expected);
	if (!in->gathering || !group_short(in))
		pthread_cond_signal(&in->work);
	pthread_mutex_unlock(&in->lock);
	return FR_OK;
}

void
ingest_expect(struct ingest *in)
{
	__atomic_add_fetch(&in->expected, 1, __ATOMIC_ACQ_REL);
}

void
ingest_expect_cancel(struct ingest *in)
{
	__atomic_sub_fetch(&in->expected, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&in->gathering, __ATOMIC_SEQ_CST))
		return;
	pthread_mutex_lock(&in->lock);
	if (in->gathering && !group_short(in))
		pthread_cond_signal(&in->work);
	pthread_mutex_unlock(&in->lock);
}

int
ingest_queued(struct ingest *in)
{
	int n;

	pthread_mutex_lock(&in->lock);
	n = in->queued;
	pthread_mutex_unlock(&in->lock);
	return n;
}

void
ingest_set_gather_us(struct ingest *in, int64_t us)
{
	pthread_mutex_lock(&in->lock);
	in->gather_us = us;
	pthread_mutex_unlock(&in->lock);
}

void
ingest_on_commit(struct ingest *in, void (*fn)(const void *arg),
                 const void *arg)
{
	in->committed = fn;
	in->committed_arg = arg;
}

int
ingest_hand_appends(struct ingest *in, const char *token, int64_t lease_ms)
{
	int rc;

	pthread_mutex_lock(&in->db);
	rc = spool_hand_appends(in->sp, token, lease_ms);
	pthread_mutex_unlock(&in->db);
	return rc;
}

/* The handle for reads and its lock (see struct ingest, reader). */
static struct spool *
read_begin(struct ingest *in)
{
	pthread_mutex_t *m = in->reader != NULL ? &in->read : &in->db;

	pthread_mutex_lock(m);
	return in->reader != NULL ? in->reader : in->sp;
}

static void
read_end(struct ingest *in)
{
	pthread_mutex_unlock(in->reader != NULL ? &in->read : &in->db);
}

int
ingest_stats(struct ingest *in, int64_t now, struct spool_stats *st)
{
	int rc = spool_stats(read_begin(in), now, st);

	read_end(in);
	return rc;
}

int
ingest_state_get(struct ingest *in, const char *key, char *buf, size_t size)
{
	int rc = spool_state_get(read_begin(in), key, buf, size);

	read_end(in);
	return rc;
}

void
ingest_stop(struct ingest *in)
{
	if (in == NULL)
		return;
	if (in->threaded) {
		pthread_mutex_lock(&in->lock);
		in->stopping = 1;
		pthread_cond_signal(&in->work);
		pthread_mutex_unlock(&in->lock);
		pthread_join(in->writer, NULL);
	}
	spool_close(in->sp);
	spool_close(in->reader);
	pthread_cond_destroy(&in->room);
	pthread_cond_destroy(&in->work);
	pthread_mutex_destroy(&in->lock);
	pthread_mutex_destroy(&in->db);
	pthread_mutex_destroy(&in->read);
	free(in);
}
