/* Counters for /metrics.  Relaxed atomics: they are statistics. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "spam.h"

#define ADD(var, n) __atomic_add_fetch(&(var), (n), __ATOMIC_RELAXED)
#define GET(var)    __atomic_load_n(&(var), __ATOMIC_RELAXED)

/* Status classes kept apart: the codes formrelay answers with. */
static const int tracked_status[] = {200, 202, 204, 303, 400, 403, 404, 405,
                                     413, 415, 422, 429, 500, 502, 503};
#define NSTATUS (sizeof(tracked_status) / sizeof(tracked_status[0]))

/* Upstream latency buckets, in milliseconds. */
static const int64_t latency_le[] = {5,   10,   25,   50,   100,  250,
                                     500, 1000, 2500, 5000, 10000};
#define NBUCKET (sizeof(latency_le) / sizeof(latency_le[0]))

/* Spool commit buckets (lock wait, fsync), in microseconds: a disk's
 * fsync takes from tens of microseconds (a cache) to tens of
 * milliseconds (a busy or network disk). */
static const int64_t commit_le[] = {100,  250,  500,  750,   1000,   1500,
                                    2000, 3000, 5000, 10000, 100000, 1000000};
#define NCOMMIT (sizeof(commit_le) / sizeof(commit_le[0]))

/*
 * The counters live in a small file beside the spool, mapped shared, so
 * that every process of a deployment (FastCGI processes and their
 * delivery processes) adds to one set and any of them can report it.
 * Until metrics_open succeeds they are this process's own.
 */
#define METRICS_MAGIC 0x666d6d6574726963ULL /* "fmmetric" */

struct counters {
	uint64_t magic;
	uint64_t size;
	uint64_t requests[NSTATUS + 1]; /* last: any other status */
	uint64_t stored, delivered, retried, dead, batches;
	uint64_t previewed;
	uint64_t latency_bucket[NBUCKET];
	uint64_t latency_sum_ms;
	uint64_t commits, commit_submissions;
	uint64_t lock_wait_bucket[NCOMMIT], lock_wait_sum_us;
	uint64_t sync_bucket[NCOMMIT], sync_sum_us;
	uint64_t spam[SPAM_REASONS];
};

static struct counters local;
static struct counters *C = &local;

/*
 * A file of the wrong size or magic is reset, under an flock.  Its
 * blocks are allocated, not just sized: a store into a hole of a mapped
 * file on a full disk is SIGBUS, where an error here leaves the counters
 * this process's own.  posix_fallocate keeps what is there, so processes
 * opening the file together agree.
 */
static int
counters_map(int fd)
{
	struct counters *m;
	struct stat st;
	int rc;

	if (flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0)
		return -1;
	if ((size_t)st.st_size != sizeof(struct counters) && ftruncate(fd, 0))
		return -1;
	if ((rc = posix_fallocate(fd, 0, (off_t)sizeof(struct counters)))) {
		errno = rc;
		return -1;
	}
	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -1;
	if (m->magic != METRICS_MAGIC || m->size != sizeof(*m)) {
		memset(m, 0, sizeof(*m));
		m->magic = METRICS_MAGIC;
		m->size = sizeof(*m);
	}
	flock(fd, LOCK_UN);
	C = m;
	return 0;
}

int
metrics_open(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	int rc, saved;

	if (fd < 0)
		return -1;
	rc = counters_map(fd);
	saved = errno;
	close(fd); /* the mapping stays */
	errno = saved;
	return rc;
}

int
metrics_open_beside(const char *spool_path)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s.metrics", spool_path) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
	} else if (metrics_open(path) == 0) {
		return 0;
	}
	log_msg(LOG_WARN,
	        "metrics: %s.metrics: %s: counting in this process "
	        "only",
	        spool_path, strerror(errno));
	return -1;
}

void
metrics_request(int status)
{
	size_t i;

	for (i = 0; i < NSTATUS && tracked_status[i] != status; i++)
		;
	ADD(C->requests[i], 1);
}

void
metrics_stored(size_t events)
{
	ADD(C->stored, events);
}

void
metrics_previewed(size_t events)
{
	ADD(C->previewed, events);
}

void
metrics_delivery(size_t ok, size_t retry, size_t died)
{
	ADD(C->delivered, ok);
	ADD(C->retried, retry);
	ADD(C->dead, died);
}

void
metrics_spam(int reason)
{
	if (reason >= 0 && reason < SPAM_REASONS)
		ADD(C->spam[reason], 1);
}

uint64_t
metrics_spam_count(int reason)
{
	return reason >= 0 && reason < SPAM_REASONS ? GET(C->spam[reason]) : 0;
}

/* One sample v (a negative one counts as 0) into a histogram with the
 * n upper bounds le; its count is the caller's. */
static void
observe(const int64_t *le, size_t n, uint64_t *bucket, uint64_t *sum, int64_t v)
{
	size_t i;

	if (v < 0)
		v = 0;
	ADD(*sum, (uint64_t)v);
	for (i = 0; i < n; i++)
		if (v <= le[i])
			ADD(bucket[i], 1);
}

void
metrics_upstream(int64_t elapsed_ms)
{
	ADD(C->batches, 1);
	observe(latency_le, NBUCKET, C->latency_bucket, &C->latency_sum_ms,
	        elapsed_ms);
}

void
metrics_commit(size_t submissions, int64_t lock_wait_us, int64_t sync_us)
{
	ADD(C->commits, 1);
	ADD(C->commit_submissions, submissions);
	observe(commit_le, NCOMMIT, C->lock_wait_bucket, &C->lock_wait_sum_us,
	        lock_wait_us);
	observe(commit_le, NCOMMIT, C->sync_bucket, &C->sync_sum_us, sync_us);
}

/* Append formatted text; remembers overflow in *len = size. */
static void __attribute__((format(printf, 4, 5)))
emit(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	*len = (n < 0 || (size_t)n >= size - *len) ? size : *len + (size_t)n;
}

static void
render_counters(char *buf, size_t size, size_t *len)
{
	size_t i;

	emit(buf, size, len,
	     "# HELP formrelay_requests_total Requests answered, by status.\n"
	     "# TYPE formrelay_requests_total counter\n");
	for (i = 0; i < NSTATUS; i++)
		emit(buf, size, len,
		     "formrelay_requests_total{status=\"%d\"} %llu\n",
		     tracked_status[i],
		     (unsigned long long)GET(C->requests[i]));
	emit(buf, size, len,
	     "formrelay_requests_total{status=\"other\"} %llu\n",
	     (unsigned long long)GET(C->requests[NSTATUS]));
	emit(buf, size, len,
	     "# HELP formrelay_events_stored_total Events committed to the "
	     "spool.\n"
	     "# TYPE formrelay_events_stored_total counter\n"
	     "formrelay_events_stored_total %llu\n"
	     "# HELP formrelay_events_delivered_total Events Customer.io "
	     "accepted.\n"
	     "# TYPE formrelay_events_delivered_total counter\n"
	     "formrelay_events_delivered_total %llu\n"
	     "# HELP formrelay_events_retried_total Events put back for a "
	     "later try.\n"
	     "# TYPE formrelay_events_retried_total counter\n"
	     "formrelay_events_retried_total %llu\n"
	     "# HELP formrelay_events_dead_total Events dead-lettered.\n"
	     "# TYPE formrelay_events_dead_total counter\n"
	     "formrelay_events_dead_total %llu\n"
	     "# HELP formrelay_events_previewed_total Events dry_run kept "
	     "as a preview instead of sending (never sent).\n"
	     "# TYPE formrelay_events_previewed_total counter\n"
	     "formrelay_events_previewed_total %llu\n",
	     (unsigned long long)GET(C->stored),
	     (unsigned long long)GET(C->delivered),
	     (unsigned long long)GET(C->retried),
	     (unsigned long long)GET(C->dead),
	     (unsigned long long)GET(C->previewed));
}

static void
render_spam(char *buf, size_t size, size_t *len)
{
	int r;

	emit(buf, size, len,
	     "# HELP formrelay_spam_total Submissions refused or not "
	     "forwarded as spam, by reason (captcha_unknown: a CAPTCHA "
	     "whose verdict was lost, as captcha_unreachable decides).\n"
	     "# TYPE formrelay_spam_total counter\n");
	for (r = 0; r < SPAM_REASONS; r++)
		emit(buf, size, len,
		     "formrelay_spam_total{reason=\"%s\"} %llu\n",
		     spam_reason_name((enum spam_reason)r),
		     (unsigned long long)GET(C->spam[r]));
}

/* A histogram whose bounds and sum are counted in 1/per_second of a
 * second and shown in seconds, the sum with digits decimals. */
struct histogram {
	const char *name, *help;
	const int64_t *le;
	size_t n;
	double per_second;
	int digits;
	const uint64_t *bucket, *sum, *count;
};

static void
render_histogram(char *buf, size_t size, size_t *len, const struct histogram *h)
{
	size_t i;

	emit(buf, size, len, "# HELP %s %s\n# TYPE %s histogram\n", h->name,
	     h->help, h->name);
	for (i = 0; i < h->n; i++)
		emit(buf, size, len, "%s_bucket{le=\"%g\"} %llu\n", h->name,
		     (double)h->le[i] / h->per_second,
		     (unsigned long long)GET(h->bucket[i]));
	emit(buf, size, len,
	     "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.*f\n%s_count %llu\n",
	     h->name, (unsigned long long)GET(*h->count), h->name, h->digits,
	     (double)GET(*h->sum) / h->per_second, h->name,
	     (unsigned long long)GET(*h->count));
}

static void
render_latency(char *buf, size_t size, size_t *len)
{
	const struct histogram h = {
	        .name = "formrelay_upstream_seconds",
	        .help = "Customer.io batch POST latency.",
	        .le = latency_le,
	        .n = NBUCKET,
	        .per_second = 1e3,
	        .digits = 3,
	        .bucket = C->latency_bucket,
	        .sum = &C->latency_sum_ms,
	        .count = &C->batches,
	};

	render_histogram(buf, size, len, &h);
}

/* Lock wait and fsync of each group commit, in microseconds. */
static void
render_commit_histogram(char *buf, size_t size, size_t *len, const char *name,
                        const char *help, const uint64_t *bucket,
                        const uint64_t *sum)
{
	const struct histogram h = {
	        .name = name,
	        .help = help,
	        .le = commit_le,
	        .n = NCOMMIT,
	        .per_second = 1e6,
	        .digits = 6,
	        .bucket = bucket,
	        .sum = sum,
	        .count = &C->commits,
	};

	render_histogram(buf, size, len, &h);
}

static void
render_commits(char *buf, size_t size, size_t *len)
{
	emit(buf, size, len,
	     "# HELP formrelay_spool_commit_submissions_total Submissions "
	     "stored by group commits (one fsync each: see "
	     "formrelay_spool_sync_seconds_count).\n"
	     "# TYPE formrelay_spool_commit_submissions_total counter\n"
	     "formrelay_spool_commit_submissions_total %llu\n",
	     (unsigned long long)GET(C->commit_submissions));
	render_commit_histogram(buf, size, len,
	                        "formrelay_spool_lock_wait_seconds",
	                        "Wait for the spool's write lock before a "
	                        "group commit.",
	                        C->lock_wait_bucket, &C->lock_wait_sum_us);
	render_commit_histogram(buf, size, len, "formrelay_spool_sync_seconds",
	                        "fsync of the write-ahead log after a group "
	                        "commit.",
	                        C->sync_bucket, &C->sync_sum_us);
}

long
metrics_render(char *buf, size_t size, const struct spool_stats *st,
               int64_t now)
{
	size_t len = 0;

	render_counters(buf, size, &len);
	render_spam(buf, size, &len);
	render_latency(buf, size, &len);
	render_commits(buf, size, &len);
	if (st != NULL)
		emit(buf, size, &len,
		     "# HELP formrelay_spool_events Events in the spool, by "
		     "state.\n"
		     "# TYPE formrelay_spool_events gauge\n"
		     "formrelay_spool_events{state=\"pending\"} %lld\n"
		     "formrelay_spool_events{state=\"inflight\"} %lld\n"
		     "formrelay_spool_events{state=\"dead\"} %lld\n"
		     "# HELP formrelay_spool_oldest_pending_seconds Age of the "
		     "oldest pending event.\n"
		     "# TYPE formrelay_spool_oldest_pending_seconds gauge\n"
		     "formrelay_spool_oldest_pending_seconds %.3f\n",
		     (long long)st->pending, (long long)st->inflight,
		     (long long)st->dead,
		     st->oldest_pending_ms > 0
		             ? (double)(now - st->oldest_pending_ms) / 1000.0
		             : 0.0);
	return len >= size ? -1 : (long)len;
}
