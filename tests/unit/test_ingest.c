/*
 * Unit tests of ingest: group commit from many threads into a real
 * SQLite spool, the delivery nudge per commit, expectations that are
 * settled, cancelled or never settled, and the CGI (thread-less) mode.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ingest.h"
#include "spool.h"
#include "util.h"

#include "tap.h"
#include "tmpdir.h"

#define THREADS    16
#define PER_THREAD 40
#define BODY       "{\"type\":\"identify\",\"userId\":\"e1\"}"

static char tmpdir[512];

/*
 * fsync and fdatasync are defined here, so SQLite's calls land in them:
 * while hold.block is set, each waits until it is cleared (a disk whose
 * fsync takes as long as a test wants).
 */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int block;   /* fsyncs wait while set */
	int waiting; /* fsyncs waiting now */
} hold = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static int
held_sync(int fd, long nr)
{
	pthread_mutex_lock(&hold.mu);
	hold.waiting++;
	pthread_cond_broadcast(&hold.cv);
	while (hold.block)
		pthread_cond_wait(&hold.cv, &hold.mu);
	hold.waiting--;
	pthread_mutex_unlock(&hold.mu);
	return (int)syscall(nr, fd);
}

int
fsync(int fd)
{
	return held_sync(fd, SYS_fsync);
}

int
fdatasync(int fd)
{
	return held_sync(fd, SYS_fdatasync);
}

/* Wait (10 s at most) until *flag, read under hold.mu, is nonzero. */
static int
hold_wait_for(const int *flag)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&hold.mu);
	while (*flag == 0 && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&hold.cv, &hold.mu, &until);
	rc = *flag != 0;
	pthread_mutex_unlock(&hold.mu);
	return rc;
}

static void
hold_set(int block)
{
	pthread_mutex_lock(&hold.mu);
	hold.block = block;
	pthread_cond_broadcast(&hold.cv);
	pthread_mutex_unlock(&hold.mu);
}

struct worker {
	struct ingest *in;
	int index;
	int failures;
	int expect; /* call ingest_expect before each append */
};

static int commits;

static void
count_commit(const void *arg)
{
	(void)arg;
	__atomic_add_fetch(&commits, 1, __ATOMIC_SEQ_CST);
}

static int
append_one_original(struct ingest *in, const char *id, const char *key,
                    int expect, char *original)
{
	struct spool_event ev = {id, BODY, strlen(BODY), NULL};
	struct fr_error err;

	fr_error_clear(&err);
	if (expect)
		ingest_expect(in);
	return ingest_append(in, &ev, 1, key, original, expect, &err);
}

static int
append_one(struct ingest *in, const char *id, const char *key, int expect)
{
	return append_one_original(in, id, key, expect, NULL);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	char id[UUID_STR_LEN];
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		snprintf(id, sizeof(id), "00000000-0000-4000-8000-%04d%08d",
		         w->index, i);
		if (append_one(w->in, id, NULL, w->expect) != FR_OK)
			w->failures++;
	}
	return NULL;
}

static int64_t
pending_in(const char *path)
{
	struct spool *sp;
	struct spool_stats st;
	struct fr_error err;
	int64_t n = -1;

	if (spool_open(path, &sp, &err) != FR_OK)
		return -1;
	if (spool_stats(sp, now_ms(), &st) == FR_OK)
		n = st.pending;
	spool_close(sp);
	return n;
}

static void
config_at(struct config *cfg, const char *name)
{
	char path[600];

	memset(cfg, 0, sizeof(*cfg));
	config_defaults(cfg);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	free(cfg->spool_path);
	cfg->spool_path = strdup(path);
}

/* An ingest on a fresh spool NAME; NULL (reported) when it cannot start,
 * and then cfg is already freed. */
static struct ingest *
ingest_at(struct config *cfg, const char *name, int threaded)
{
	struct ingest *in = NULL;
	struct fr_error err;

	config_at(cfg, name);
	if (!ok(ingest_start(cfg, threaded, &in, &err) == FR_OK,
	        "ingest starts on %s (threaded %d)", name, threaded)) {
		config_free(cfg);
		return NULL;
	}
	return in;
}

/* Many threads at once: every submission stored once, each transaction
 * nudges delivery once, and none is lost at the stop. */
static void
test_threads(int expect)
{
	struct worker w[THREADS];
	pthread_t tid[THREADS];
	struct config cfg;
	struct ingest *in;
	int i, started = 0, failures = 0;

	commits = 0;
	if ((in = ingest_at(&cfg, expect ? "threads-expect.db" : "threads.db",
	                    1)) == NULL)
		return;
	ingest_on_commit(in, count_commit, NULL);
	for (i = 0; i < THREADS; i++) {
		w[i] = (struct worker){in, i, 0, expect};
		if (pthread_create(&tid[i], NULL, worker_main, &w[i]) == 0)
			started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(tid[i], NULL);
		failures += w[i].failures;
	}
	ingest_stop(in);
	is_int(started, THREADS, "all threads started");
	is_int(failures, 0, "every append answered FR_OK");
	is_int(pending_in(cfg.spool_path), THREADS * PER_THREAD,
	       "every submission is in the spool, once");
	ok(commits >= 1 && commits <= THREADS * PER_THREAD,
	   "one nudge per transaction, at most one per submission (%d)",
	   commits);
	config_free(&cfg);
}

/* A key seen before is a duplicate, in the same process, and tells the
 * messageId first stored under it. */
static void
test_webhook_duplicate(void)
{
	char original[MESSAGE_ID_SIZE] = "x";
	struct config cfg;
	struct ingest *in;

	commits = 0;
	if ((in = ingest_at(&cfg, "webhook.db", 1)) == NULL)
		return;
	ingest_on_commit(in, count_commit, NULL);
	is_int(append_one_original(in, "00000000-0000-4000-8000-00000000000a",
	                           "webhook:msg_1", 1, original),
	       FR_OK, "a webhook's first delivery is stored");
	is_int(append_one_original(in, "00000000-0000-4000-8000-00000000000b",
	                           "webhook:msg_1", 1, original),
	       FR_EDUPLICATE, "its redelivery is a duplicate");
	is_str(original, "00000000-0000-4000-8000-00000000000a",
	       "answered with the first delivery's messageId");
	ingest_stop(in); /* joins the writer: its nudges are counted */
	is_int(commits, 1, "only the stored one nudges delivery");
	is_int(pending_in(cfg.spool_path), 1, "one event stored");
	config_free(&cfg);
}

/* An expectation nobody settles only delays commits (by at most a
 * couple of milliseconds); a cancelled one not at all. */
static void
test_unsettled_expectation(void)
{
	struct config cfg;
	struct ingest *in;

	commits = 0;
	if ((in = ingest_at(&cfg, "expect.db", 1)) == NULL)
		return;
	ingest_expect(in);
	ingest_expect_cancel(in);
	is_int(append_one(in, "00000000-0000-4000-8000-0000000000c1", NULL, 0),
	       FR_OK, "after a cancelled expectation: stored");
	ingest_expect(in); /* a request that never comes */
	is_int(append_one(in, "00000000-0000-4000-8000-0000000000c2", NULL, 0),
	       FR_OK, "with one never settled: still stored");
	is_int(append_one(in, "00000000-0000-4000-8000-0000000000c3", NULL, 1),
	       FR_OK, "and the next too");
	ingest_stop(in);
	is_int(pending_in(cfg.spool_path), 3, "three events stored");
	config_free(&cfg);
}

struct appender {
	struct ingest *in;
	char id[UUID_STR_LEN];
	int expect;
	int rc;
};

/* Append, settling an expectation appenders_start took (when expect). */
static void *
appender_main(void *arg)
{
	struct appender *a = arg;
	struct spool_event ev = {a->id, BODY, strlen(BODY)};
	struct fr_error err;

	fr_error_clear(&err);
	a->rc = ingest_append(a->in, &ev, 1, NULL, NULL, a->expect, &err);
	return NULL;
}

static void
appenders_start(struct appender *a, pthread_t *tid, int n, struct ingest *in,
                int first, int expect)
{
	int i;

	for (i = 0; i < n; i++) {
		a[i].in = in;
		a[i].expect = expect;
		snprintf(a[i].id, sizeof(a[i].id),
		         "00000000-0000-4000-8000-0000000001%02d", first + i);
		if (expect)
			ingest_expect(in);
	}
	for (i = 0; i < n; i++)
		pthread_create(&tid[i], NULL, appender_main, &a[i]);
}

/* 1 when every appender stored. */
static int
appenders_join(struct appender *a, pthread_t *tid, int n)
{
	int i, stored = 0;

	for (i = 0; i < n; i++) {
		pthread_join(tid[i], NULL);
		stored += a[i].rc == FR_OK;
	}
	return stored == n;
}

/* Poll (10 s at most) until n submissions wait in the queue. */
static int
queued_reaches(struct ingest *in, int n)
{
	struct timespec step = {0, 1000000};
	int i;

	for (i = 0; i < 10000; i++) {
		if (ingest_queued(in) == n)
			return 1;
		nanosleep(&step, NULL);
	}
	return 0;
}

/*
 * Which submissions share a commit.  With an unbounded gather time (a
 * wrong wait would hang, and the alarm ends the test), counting commits
 * says which waited for which: a lone request is committed at once; four
 * expected ones go in one group; after that group, the writer holds
 * three submissions back until a fourth comes.
 */
static void
test_group_rules(void)
{
	struct appender a[4];
	pthread_t tid[4];
	struct config cfg;
	struct ingest *in;

	if ((in = ingest_at(&cfg, "groups.db", 1)) == NULL)
		return;
	ingest_on_commit(in, count_commit, NULL);
	ingest_set_gather_us(in, 3600 * 1000000LL);
	alarm(120);
	commits = 0;
	is_int(append_one(in, "00000000-0000-4000-8000-0000000000e1", NULL, 0),
	       FR_OK, "a lone submission is stored");
	is_int(append_one(in, "00000000-0000-4000-8000-0000000000e2", NULL, 0),
	       FR_OK, "and the next lone one, without waiting for company");
	is_int(commits, 2, "each in its own commit");
	appenders_start(a, tid, 4, in, 0, 1);
	ok(appenders_join(a, tid, 4), "four expected submissions stored");
	is_int(commits, 3, "in one commit");
	appenders_start(a, tid, 3, in, 10, 0);
	ok(queued_reaches(in, 3), "three more wait in the queue");
	is_int(commits, 3, "held back: fewer than the last group");
	is_int(append_one(in, "00000000-0000-4000-8000-0000000000e3", NULL, 0),
	       FR_OK, "a fourth is stored");
	ok(appenders_join(a, tid, 3), "and the three");
	is_int(commits, 4, "all four in one commit");
	alarm(0);
	ingest_stop(in);
	is_int(pending_in(cfg.spool_path), 10, "ten events stored");
	config_free(&cfg);
}

/* What an asynchronous append's completion saw. */
struct completion {
	int calls;
	int result;
	int in_writer;  /* not called from the submitting thread */
	int64_t stored; /* pending events in the spool at that moment */
	pthread_t submitter;
	const char *spool;
};

static void
note_completion(void *arg, int result)
{
	struct completion *c = arg;

	c->result = result;
	c->in_writer = !pthread_equal(pthread_self(), c->submitter);
	c->stored = pending_in(c->spool);
	__atomic_add_fetch(&c->calls, 1, __ATOMIC_SEQ_CST);
}

/* Poll (10 s at most) until c's completion has run. */
static int
completes(struct completion *c)
{
	struct timespec step = {0, 1000000};
	int i;

	for (i = 0; i < 10000; i++) {
		if (__atomic_load_n(&c->calls, __ATOMIC_SEQ_CST) > 0)
			return 1;
		nanosleep(&step, NULL);
	}
	return 0;
}

static int
append_async(struct ingest *in, const char *id, const char *webhook_id,
             struct spool_event *ev, struct fr_error *err, struct completion *c,
             const char *spool)
{
	*ev = (struct spool_event){id, BODY, strlen(BODY), NULL};
	fr_error_clear(err);
	memset(c, 0, sizeof(*c));
	c->submitter = pthread_self();
	c->spool = spool;
	return ingest_append_async(in, ev, 1, webhook_id, NULL, 0, err,
	                           note_completion, c);
}

/*
 * ingest_append_async: the completion runs once, in the writer thread,
 * after the commit (the event is already in the spool when it runs);
 * a duplicate webhook completes with FR_EDUPLICATE; what is still
 * queued at ingest_stop (held by an expectation nobody settles, with
 * an hour to wait) is committed and completed then; without a writer
 * thread it refuses (FR_EINTERNAL) and never calls back.
 */
static void
test_async(void)
{
	struct completion c[3];
	struct spool_event ev[3];
	struct fr_error err[3];
	struct config cfg;
	struct ingest *in;

	if ((in = ingest_at(&cfg, "async.db", 1)) == NULL)
		return;
	is_int(append_async(in, "00000000-0000-4000-8000-0000000000f1", "w_1",
	                    &ev[0], &err[0], &c[0], cfg.spool_path),
	       FR_OK, "an asynchronous append is queued");
	ok(completes(&c[0]), "and completed without waiting for anyone");
	ingest_set_gather_us(in, 3600 * 1000000LL);
	ingest_expect(in); /* never settled: the next ones wait */
	is_int(append_async(in, "00000000-0000-4000-8000-0000000000f2", "w_1",
	                    &ev[1], &err[1], &c[1], cfg.spool_path),
	       FR_OK, "a second, with the same webhook id");
	is_int(append_async(in, "00000000-0000-4000-8000-0000000000f3", NULL,
	                    &ev[2], &err[2], &c[2], cfg.spool_path),
	       FR_OK, "a third");
	ok(queued_reaches(in, 2), "both wait in the queue");
	ok(__atomic_load_n(&c[1].calls, __ATOMIC_SEQ_CST) == 0 &&
	           __atomic_load_n(&c[2].calls, __ATOMIC_SEQ_CST) == 0,
	   "not completed yet");
	ingest_stop(in); /* commits what is queued, joins the writer */
	ok(c[0].calls == 1 && c[1].calls == 1 && c[2].calls == 1,
	   "each completion ran once (%d %d %d)", c[0].calls, c[1].calls,
	   c[2].calls);
	ok(c[0].result == FR_OK && c[2].result == FR_OK,
	   "stored ones complete with FR_OK");
	is_int(c[1].result, FR_EDUPLICATE, "the duplicate with FR_EDUPLICATE");
	ok(c[0].in_writer && c[1].in_writer && c[2].in_writer,
	   "all from the writer thread");
	ok(c[0].stored == 1 && c[2].stored == 2,
	   "after their commit (%lld, %lld events in the spool)",
	   (long long)c[0].stored, (long long)c[2].stored);
	is_int(pending_in(cfg.spool_path), 2, "two events stored");
	config_free(&cfg);

	if ((in = ingest_at(&cfg, "async-cgi.db", 0)) == NULL)
		return;
	is_int(append_async(in, "00000000-0000-4000-8000-0000000000f4", NULL,
	                    &ev[0], &err[0], &c[0], cfg.spool_path),
	       FR_EINTERNAL, "without a writer thread: refused");
	ingest_stop(in);
	is_int(c[0].calls, 0, "and no completion");
	is_int(pending_in(cfg.spool_path), 0, "nothing stored");
	config_free(&cfg);
}

static int answered;

static void
count_answer(void *arg, int result)
{
	(void)arg;
	(void)result;
	__atomic_add_fetch(&answered, 1, __ATOMIC_SEQ_CST);
}

/*
 * At most 256 asynchronous submissions in hand.  An expectation nobody
 * settles holds the writer until 256 are queued (a full group); the
 * 257th append must wait until they are answered, so that appended -
 * answered never passes 256.  The 44 after them are answered at the
 * stop.
 */
static void
test_async_bound(void)
{
	static char ids[300][UUID_STR_LEN];
	static struct spool_event ev[300];
	struct fr_error err;
	struct config cfg;
	struct ingest *in;
	int i, most = 0, failed = 0, ahead;

	if ((in = ingest_at(&cfg, "bound.db", 1)) == NULL)
		return;
	answered = 0;
	ingest_set_gather_us(in, 3600 * 1000000LL);
	ingest_expect(in);
	for (i = 0; i < 300; i++) {
		snprintf(ids[i], sizeof(ids[i]),
		         "00000000-0000-4000-8000-%012d", 1000 + i);
		ev[i] = (struct spool_event){ids[i], BODY, strlen(BODY)};
		fr_error_clear(&err);
		if (ingest_append_async(in, &ev[i], 1, NULL, NULL, 0, &err,
		                        count_answer, NULL) != FR_OK)
			failed++;
		ahead = i + 1 - __atomic_load_n(&answered, __ATOMIC_SEQ_CST);
		if (ahead > most)
			most = ahead;
	}
	is_int(failed, 0, "300 asynchronous appends queued");
	ok(most <= 256, "never more than 256 in hand (at most %d)", most);
	ingest_stop(in);
	is_int(answered, 300, "all answered by the stop");
	is_int(pending_in(cfg.spool_path), 300, "300 events stored");
	config_free(&cfg);
}

/* CGI: no writer thread; the caller commits. */
static void
test_unthreaded(void)
{
	struct config cfg;
	struct ingest *in;

	commits = 0;
	if ((in = ingest_at(&cfg, "cgi.db", 0)) == NULL)
		return;
	is_int(append_one(in, "00000000-0000-4000-8000-0000000000d1", NULL, 1),
	       FR_OK, "unthreaded append stores");
	ingest_stop(in);
	is_int(pending_in(cfg.spool_path), 1, "the event is in the spool");
	config_free(&cfg);
}

/* A spool that cannot be opened: FR_ESTORE naming the cause. */
static void
test_no_spool(void)
{
	struct config cfg;
	struct ingest *in = NULL;
	struct fr_error err;

	config_at(&cfg, "missing-dir/spool.db");
	fr_error_clear(&err);
	is_int(ingest_start(&cfg, 1, &in, &err), FR_ESTORE,
	       "a spool in a missing directory: FR_ESTORE");
	ok(in == NULL, "and no ingest handed out");
	ok(err.message[0] != '\0', "the error names the cause: %s",
	   err.message);
	config_free(&cfg);
}

struct reading {
	struct ingest *in;
	int rc;
	int done; /* under hold.mu */
};

/* What /healthz reads. */
static void *
reader_main(void *arg)
{
	struct reading *r = arg;
	struct spool_stats st;
	char buf[64];

	r->rc = ingest_stats(r->in, now_ms(), &st);
	if (r->rc == FR_OK)
		r->rc = ingest_state_get(r->in, "paused_until", buf,
		                         sizeof(buf));
	pthread_mutex_lock(&hold.mu);
	r->done = 1;
	pthread_cond_broadcast(&hold.cv);
	pthread_mutex_unlock(&hold.mu);
	return NULL;
}

/* /healthz's reads do not wait for a commit in progress (here, one
 * whose fsync does not return until the test says so). */
static void
test_reads_off_commit_path(void)
{
	struct config cfg;
	struct ingest *in = ingest_at(&cfg, "reads.db", 1);
	struct reading r = {in, -1, 0};
	struct appender a[1];
	pthread_t tid[1], rt;

	if (in == NULL)
		return;
	hold_set(1);
	appenders_start(a, tid, 1, in, 0, 0);
	ok(hold_wait_for(&hold.waiting), "a commit waits for its fsync");
	pthread_create(&rt, NULL, reader_main, &r);
	ok(hold_wait_for(&r.done),
	   "stats and state are read meanwhile, without waiting for it");
	hold_set(0);
	ok(appenders_join(a, tid, 1), "the commit ends once fsync returns");
	pthread_join(rt, NULL);
	is_int(r.rc, FR_OK, "the reads succeeded");
	ingest_stop(in);
	config_free(&cfg);
}

int
main(void)
{
	if (tmpdir_make(tmpdir, sizeof(tmpdir), "test_ingest") != 0) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_threads(0);
	test_threads(1);
	test_webhook_duplicate();
	test_unsettled_expectation();
	test_group_rules();
	test_async();
	test_async_bound();
	test_unthreaded();
	test_no_spool();
	test_reads_off_commit_path();
	tmpdir_remove(tmpdir);
	return done_testing();
}
