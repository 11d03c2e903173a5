/*
 * Delivery: claim due events from the spool, post them to /v1/batch and
 * record the outcome.  Outcomes follow nullmailer/postfix: success (ack),
 * temporary failure (back to pending with doubling, jittered delay and
 * Retry-After honoured), permanent failure (dead letter with the reason),
 * plus auth failure, which pauses every process without touching events.
 * A batch refused with 400/413/422 is split in halves until the refused
 * event is alone, so one bad event never holds back the others
 * ("better to deliver twice than to lose mail": acks happen only after
 * a 2xx, so a crash in between means a second delivery, never a loss).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "deliver.h"
#include "log.h"
#include "metrics.h"
#include "payload.h"
#include "spool.h"
#include "captcha.h"
#include "upstream.h"
#include "util.h"

#define EXPIRE_EVERY_MS    5000
#define PAUSE_LOG_EVERY_MS 60000

struct deliverer {
	const struct config *cfg; /* borrowed */
	char *owner;
	struct spool *sp;
	struct upstream *up;
	struct captcha *captcha; /* held submissions' tokens */
	int64_t hold_until;      /* no claims before this (after a RETRY) */
	int64_t next_expire;     /* spool_expire again at this time */
	int64_t pause_logged;    /* when the pause was last logged */
};

/* What stops the rest of a split batch from being posted. */
enum halt { HALT_NONE = 0, HALT_RETRY, HALT_AUTH };

/* One claimed batch being delivered (possibly in halves). */
struct job {
	struct deliverer *d;
	int64_t now;
	struct deliver_report *rep;
	enum halt halt;
	int64_t retry_due; /* with HALT_RETRY: when the rest is due */
	char reason[256];  /* with a halt: why */
	int store_failed;
};

int
deliverer_new(const struct config *cfg, const char *owner,
              struct deliverer **out, struct fr_error *err)
{
	struct deliverer *d = calloc(1, sizeof(*d));
	int rc;

	*out = NULL;
	if (d == NULL || (d->owner = xstrdup(owner)) == NULL) {
		free(d);
		return fr_fail(err, FR_ENOMEM, NULL, NULL,
		               "out of memory creating the deliverer");
	}
	d->cfg = cfg;
	rc = spool_open_config(cfg, &d->sp, err);
	if (rc == FR_OK)
		rc = spool_for_delivery(d->sp, err);
	if (rc == FR_OK)
		rc = upstream_new(cfg, &d->up, err);
	if (rc == FR_OK)
		rc = captcha_new(cfg, &d->captcha, err);
	if (rc != FR_OK) {
		deliverer_free(d);
		return rc;
	}
	*out = d;
	return FR_OK;
}

void
deliverer_free(struct deliverer *d)
{
	if (d == NULL)
		return;
	if (d->sp != NULL) {
		spool_release(d->sp, d->owner);
		spool_close(d->sp);
	}
	upstream_free(d->up);
	captcha_free(d->captcha);
	free(d->owner);
	free(d);
}

/* Uniform in [0, n] from the kernel's CSPRNG; 0 if it fails (no
 * jitter). */
static uint64_t
random_upto(uint64_t n)
{
	uint64_t r = 0;

	if (n == 0 || random_bytes(&r, sizeof(r)) != 0)
		return 0;
	return r % (n + 1);
}

/* "Full jitter" (AWS Architecture Blog, Exponential Backoff and
 * Jitter), kept above min so that a retry never comes at once. */
int64_t
deliver_backoff_ms(int attempt, int64_t min_ms, int64_t max_ms)
{
	int64_t cap = min_ms > 0 ? min_ms : 1;
	int i;

	if (max_ms < cap)
		max_ms = cap;
	for (i = 1; i < attempt && cap < max_ms; i++)
		cap = cap > max_ms / 2 ? max_ms : cap * 2;
	if (cap > max_ms)
		cap = max_ms;
	return cap <= min_ms
	               ? cap
	               : min_ms +
	                         (int64_t)random_upto((uint64_t)(cap - min_ms));
}

static int64_t
state_get_int(struct deliverer *d, const char *key)
{
	char buf[32];

	if (spool_state_get(d->sp, key, buf, sizeof(buf)) != FR_OK)
		return 0;
	return strtoll(buf, NULL, 10);
}

static void
state_set_int(struct deliverer *d, const char *key, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	spool_state_set(d->sp, key, buf);
}

int
deliver_resume(struct deliverer *d)
{
	if (spool_state_set(d->sp, "paused_until", "") != FR_OK)
		return FR_ESTORE;
	return spool_state_set(d->sp, "pause_reason", "");
}

/* One logfmt line per POST: what was sent and what came of it. */
static void
log_batch(size_t n, const struct upstream_result *res, const char *outcome,
          int attempt)
{
	enum log_level lvl = res->cls == UPSTREAM_OK ? LOG_INFO : LOG_WARN;
	struct logline l;

	if (!log_enabled(lvl))
		return;
	logline_start(&l, lvl);
	logline_str(&l, "msg", "deliver");
	logline_int(&l, "events", (int64_t)n);
	logline_int(&l, "status", res->http_status);
	logline_str(&l, "outcome", outcome);
	logline_int(&l, "elapsed_ms", res->elapsed_ms);
	logline_int(&l, "attempt", attempt);
	if (res->cls != UPSTREAM_OK)
		logline_str(&l, "reason", res->reason);
	logline_emit(&l);
}

/* Highest attempt number in items, counting this one. */
static int
attempt_of(const struct spool_item *items, size_t n)
{
	int a = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (items[i].attempts > a)
			a = items[i].attempts;
	return a + 1;
}

static int64_t *
ids_of(const struct spool_item *items, size_t n)
{
	int64_t *ids = malloc(n * sizeof(*ids));
	size_t i;

	if (ids != NULL)
		for (i = 0; i < n; i++)
			ids[i] = items[i].id;
	return ids;
}

/* The /v1/batch body for items; *body owned by the caller. */
static int
batch_body(const struct spool_item *items, size_t n, char **body, size_t *len)
{
	const char **texts = malloc(n * sizeof(*texts));
	size_t *lens = malloc(n * sizeof(*lens));
	size_t i;
	int rc = FR_ENOMEM;

	if (texts != NULL && lens != NULL) {
		for (i = 0; i < n; i++) {
			texts[i] = items[i].body;
			lens[i] = items[i].len;
		}
		rc = payload_batch(texts, lens, n, body, len);
	}
	free(texts);
	free(lens);
	return rc;
}

/* Apply one spool transition to items; remembers a store failure. */
enum mark { MARK_ACK, MARK_RETRY, MARK_DEAD };

static void
mark(struct job *j, const struct spool_item *items, size_t n, enum mark m,
     int64_t due, int status, const char *reason)
{
	int64_t *ids = ids_of(items, n);
	int rc = FR_ENOMEM;

	if (ids != NULL) {
		if (m == MARK_ACK)
			rc = spool_ack(j->d->sp, ids, n);
		else if (m == MARK_RETRY)
			rc = spool_retry_later(j->d->sp, ids, n, due, reason);
		else
			rc = spool_dead_letter(j->d->sp, ids, n, status, reason,
			                       j->now);
	}
	free(ids);
	if (rc != FR_OK) {
		j->store_failed = 1;
		log_msg(LOG_ERROR, "spool update for %zu events failed (%s)", n,
		        fr_status_name(rc));
		return;
	}
	if ((size_t)spool_changes(j->d->sp) < n)
		log_msg(LOG_WARN,
		        "%zu of %zu events were claimed by another holder "
		        "after "
		        "this lease (lease_ms %" PRId64
		        ") ran out; they may be sent twice",
		        n - (size_t)spool_changes(j->d->sp), n,
		        j->d->cfg->lease_ms);
	if (m == MARK_ACK)
		j->rep->delivered += n;
	else if (m == MARK_RETRY)
		j->rep->retried += n;
	else
		j->rep->dead += n;
	metrics_delivery(m == MARK_ACK ? n : 0, m == MARK_RETRY ? n : 0,
	                 m == MARK_DEAD ? n : 0);
}

static void
halt_retry(struct job *j, int64_t due, const char *reason)
{
	j->halt = HALT_RETRY;
	j->retry_due = due;
	strlcopy(j->reason, reason, sizeof(j->reason));
	if (due > j->d->hold_until)
		j->d->hold_until = due;
	spool_state_set(j->d->sp, "last_error", reason);
	state_set_int(j->d, "last_error_ms", j->now);
}

/* 408/429/5xx/transport: back off, honouring Retry-After (RFC 9110,
 * 10.2.3) when the service asks for longer. */
static void
on_retry(struct job *j, const struct spool_item *items, size_t n,
         const struct upstream_result *res)
{
	const struct config *cfg = j->d->cfg;
	int64_t wait = deliver_backoff_ms(attempt_of(items, n),
	                                  cfg->retry_min_ms, cfg->retry_max_ms);

	if (res->retry_after_ms > wait)
		wait = res->retry_after_ms;
	halt_retry(j, j->now + wait, res->reason);
	mark(j, items, n, MARK_RETRY, j->retry_due, res->http_status,
	     res->reason);
}

/* 401/403: the key is wrong; nothing is the events' fault.  Pause every
 * process (shared state); the claims are released by the caller. */
static void
on_auth(struct job *j, const struct upstream_result *res)
{
	j->halt = HALT_AUTH;
	strlcopy(j->reason, res->reason, sizeof(j->reason));
	state_set_int(j->d, "paused_until", j->now + DELIVER_PAUSE_MS);
	spool_state_set(j->d->sp, "pause_reason", res->reason);
	spool_state_set(j->d->sp, "last_error", res->reason);
	state_set_int(j->d, "last_error_ms", j->now);
	j->rep->paused = 1;
	j->d->pause_logged = j->now;
	log_msg(LOG_ERROR,
	        "Customer.io refused the API key (%s); delivery paused for "
	        "%d s, nothing dead-lettered",
	        res->reason, DELIVER_PAUSE_MS / 1000);
}

/* Statuses that may be one event's fault: split the batch to find it. */
static int
splittable(int http_status)
{
	return http_status == 400 || http_status == 413 || http_status == 422;
}

static void post_items(struct job *j, struct spool_item *items, size_t n);

static void
on_permanent(struct job *j, struct spool_item *items, size_t n,
             const struct upstream_result *res)
{
	if (n > 1 && splittable(res->http_status)) {
		post_items(j, items, n / 2);
		post_items(j, items + n / 2, n - n / 2);
		return;
	}
	mark(j, items, n, MARK_DEAD, 0, res->http_status, res->reason);
}

static const char *
outcome_name(const struct upstream_result *res, size_t n)
{
	switch (res->cls) {
	case UPSTREAM_OK:
		return "ok";
	case UPSTREAM_RETRY:
		return "retry";
	case UPSTREAM_AUTH:
		return "paused";
	default:
		return n > 1 && splittable(res->http_status) ? "split" : "dead";
	}
}

/* Post items[0..n) as one batch and record the outcome (recursing into
 * halves for a refused batch). */
static void
post_items(struct job *j, struct spool_item *items, size_t n)
{
	struct upstream_result res;
	char *body = NULL;
	size_t len = 0;

	if (n == 0 || j->halt == HALT_AUTH)
		return; /* AUTH: the caller releases every claim */
	if (j->halt == HALT_RETRY) {
		mark(j, items, n, MARK_RETRY, j->retry_due, 0, j->reason);
		return;
	}
	if (batch_body(items, n, &body, &len) != FR_OK) {
		halt_retry(j, j->now + j->d->cfg->retry_min_ms,
		           "out of memory building the batch");
		mark(j, items, n, MARK_RETRY, j->retry_due, 0, j->reason);
		return;
	}
	upstream_post(j->d->up, "/batch", body, len, &res);
	metrics_upstream(res.elapsed_ms);
	free(body);
	j->rep->batches++;
	log_batch(n, &res, outcome_name(&res, n), attempt_of(items, n));
	if (res.cls == UPSTREAM_OK) {
		mark(j, items, n, MARK_ACK, 0, 0, NULL);
		state_set_int(j->d, "last_success_ms", j->now);
	} else if (res.cls == UPSTREAM_RETRY) {
		on_retry(j, items, n, &res);
	} else if (res.cls == UPSTREAM_AUTH) {
		on_auth(j, &res);
	} else {
		on_permanent(j, items, n, &res);
	}
}

/* A JSON string's contents that look like an address: x@y.z. */
static int
looks_like_email(const char *s, size_t n)
{
	const char *at = memchr(s, '@', n);
	size_t i;

	if (at == NULL || at == s || n > 254)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] == ' ' || s[i] == '\\' || s[i] == '"')
			return 0;
	return memchr(at, '.', n - (size_t)(at - s)) != NULL;
}

/* Copy JSON text into out (size bytes, NUL-terminated, truncated),
 * masking every string value that looks like an email address. */
static void
mask_json_emails(const char *s, size_t len, char *out, size_t size)
{
	size_t i = 0, o = 0, j;
	char addr[256], masked[260];

	while (i < len && o + 1 < size) {
		if (s[i] != '"') {
			out[o++] = s[i++];
			continue;
		}
		for (j = i + 1; j < len && s[j] != '"'; j++)
			if (s[j] == '\\')
				j++;
		if (j < len && looks_like_email(s + i + 1, j - i - 1)) {
			snprintf(addr, sizeof(addr), "%.*s", (int)(j - i - 1),
			         s + i + 1);
			mask_email(addr, masked, sizeof(masked));
			o += (size_t)snprintf(out + o, size - o, "\"%s\"",
			                      masked);
			if (o >= size)
				o = size - 1;
			i = j + 1;
		} else {
			out[o++] = s[i++];
		}
	}
	out[o] = '\0';
}

/* dry_run: log what would be sent, one line per event, and ack. */
static void
dry_run_batch(struct job *j, struct spool_item *items, size_t n)
{
	char payload[1800];
	struct logline l;
	size_t i;

	for (i = 0; i < n && log_enabled(LOG_INFO); i++) {
		if (j->d->cfg->log_emails)
			snprintf(payload, sizeof(payload), "%.*s",
			         (int)items[i].len, items[i].body);
		else
			mask_json_emails(items[i].body, items[i].len, payload,
			                 sizeof(payload));
		logline_start(&l, LOG_INFO);
		logline_str(&l, "msg", "dry run: not sent");
		logline_str(&l, "message_id", items[i].message_id);
		logline_str(&l, "payload", payload);
		logline_emit(&l);
	}
	mark(j, items, n, MARK_ACK, 0, 0, NULL);
}

/* The shared pause: 1 while another process (or this one) saw a 401. */
static int
paused(struct deliverer *d, int64_t now, struct deliver_report *rep)
{
	char reason[256];
	int64_t until = state_get_int(d, "paused_until");

	if (until <= now)
		return 0;
	rep->paused = 1;
	if (d->pause_logged == 0 ||
	    now - d->pause_logged >= PAUSE_LOG_EVERY_MS) {
		d->pause_logged = now;
		if (spool_state_get(d->sp, "pause_reason", reason,
		                    sizeof(reason)) != FR_OK)
			reason[0] = '\0';
		log_msg(LOG_WARN,
		        "delivery paused for %" PRId64
		        " s more: Customer.io refused the API key (%s)",
		        (until - now + 999) / 1000, reason);
	}
	return 1;
}

static int
expire_old(struct deliverer *d, int64_t now, struct deliver_report *rep)
{
	int64_t count = 0;

	if (d->cfg->max_age_ms <= 0 || now < d->next_expire)
		return FR_OK;
	d->next_expire = now + EXPIRE_EVERY_MS;
	if (spool_expire(d->sp, now, d->cfg->max_age_ms, &count) != FR_OK)
		return FR_ESTORE;
	if (count > 0) {
		rep->dead += (size_t)count;
		log_msg(LOG_WARN,
		        "%" PRId64 " events dead-lettered: undelivered after "
		        "max_age %" PRId64 " s",
		        count, d->cfg->max_age_ms / 1000);
	}
	return FR_OK;
}

static void
run_batch(struct deliverer *d, int64_t now, struct deliver_report *rep,
          struct spool_batch *b, struct job *j)
{
	memset(j, 0, sizeof(*j));
	j->d = d;
	j->now = now;
	j->rep = rep;
	if (d->cfg->dry_run)
		dry_run_batch(j, b->items, b->count);
	else
		post_items(j, b->items, b->count);
	if (j->halt == HALT_AUTH && spool_release(d->sp, d->owner) != FR_OK)
		j->store_failed = 1;
}

/* A checkpoint's fsync failed on the delivery handle (spool.h, "When an
 * fsync fails"): reopen it before anything else. */
static int
recover_if_failed(struct deliverer *d)
{
	struct fr_error err;

	if (!spool_failed(d->sp))
		return FR_OK;
	if (spool_recover(d->sp, &err) != FR_OK) {
		log_msg(LOG_ERROR, "%s", err.message);
		return FR_ESTORE;
	}
	log_msg(LOG_WARN, "the spool was reopened after a failed fsync");
	return FR_OK;
}

int
deliver_round(struct deliverer *d, int64_t now, struct deliver_report *rep,
              int *more)
{
	struct spool_batch b = {NULL, 0};
	struct job j;
	int64_t due = INT64_MAX;
	size_t released = 0;

	*more = 0;
	if (recover_if_failed(d) != FR_OK)
		return FR_ESTORE;
	if (paused(d, now, rep) || now < d->hold_until)
		return FR_OK;
	if (expire_old(d, now, rep) != FR_OK ||
	    captcha_settle_due(d->captcha, d->sp, now, &released) != FR_OK)
		return FR_ESTORE;
	if (released > 0) /* they are due from now */
		now = now_ms();
	if (spool_claim(d->sp, d->owner, now, d->cfg->lease_ms,
	                DELIVER_MAX_EVENTS, DELIVER_MAX_BYTES, &b) != FR_OK)
		return FR_ESTORE;
	if (b.count == 0) {
		spool_batch_free(&b);
		return FR_OK;
	}
	rep->claimed += b.count;
	run_batch(d, now, rep, &b, &j);
	spool_batch_free(&b);
	if (j.store_failed)
		return FR_ESTORE;
	if (j.halt == HALT_NONE && spool_next_due(d->sp, &due) == FR_OK)
		*more = due <= now || b.more_handed;
	return FR_OK;
}

int
deliver_flush(struct deliverer *d, struct deliver_report *rep)
{
	int more = 1, rc = FR_OK;

	while (more && rc == FR_OK)
		rc = deliver_round(d, now_ms(), rep, &more);
	return rc;
}

int64_t
deliver_next_wake(struct deliverer *d, int64_t now)
{
	int64_t poll = now + DELIVER_POLL_MS;
	int64_t until = state_get_int(d, "paused_until");
	int64_t due = INT64_MAX;

	if (until > now)
		return until < poll ? until : poll;
	if (d->hold_until > now)
		return d->hold_until < poll ? d->hold_until : poll;
	if (spool_next_due(d->sp, &due) != FR_OK)
		return poll;
	if (due < now)
		return now;
	return due < poll ? due : poll;
}

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
	return pfd->fd >= 0 && pfd->revents != 0 && spool_wake_drain(t->d->sp);
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
	if (wakeable && spool_wake_drain(t->d->sp))
		return;
	while (!thread_stopping(t) && (left = wake_at - now_ms()) > 0) {
		pfd[2].fd = t->wake_fd;
		pfd[3].fd = wakeable ? spool_wake_fd(t->d->sp) : -1;
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
			        spool_last_error(t->d->sp)->message,
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
	    spool_take_handed(t->d->sp, handed_token) != 0)
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
