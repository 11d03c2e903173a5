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

#include <nettle/sha2.h>

#include "deliver.h"
#include "log.h"
#include "metrics.h"
#include "payload.h"
#include "preflight.h"
#include "spool.h"
#include "captcha.h"
#include "mailhost.h"
#include "upstream.h"
#include "util.h"

#define EXPIRE_EVERY_MS 5000
/* A request is not started with less than its timeout and this left of
 * the batch's lease (see keep_lease). */
#define LEASE_MARGIN_MS    1000
#define PAUSE_LOG_EVERY_MS 60000

struct deliverer {
	const struct config *cfg; /* borrowed */
	char *owner;
	struct spool *sp;
	struct upstream *up;
	struct captcha *captcha; /* held submissions' tokens */
	struct mailhost *mx;     /* mx_check on: emails' domains */
	int64_t hold_until;      /* no claims before this (after a RETRY) */
	int64_t next_expire;     /* spool_expire again at this time */
	int64_t pause_logged;    /* when the pause was last logged */
	int no_key_noted;        /* PREFLIGHT_STATE_NO_KEY set by this one */
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
	const struct spool_item *items; /* the whole batch */
	size_t n_items;
	int64_t lease_until; /* when the first of their leases ends */
};

/*
 * A deliverer with a key ends the "no key" report of one without.  Only
 * written when set, and best effort: a report is no reason not to
 * deliver (a full disk refuses the write, not the reads).
 */
static void
no_key_clear(struct deliverer *d)
{
	char buf[32];

	if (!preflight_no_key(d->cfg) &&
	    spool_state_get(d->sp, PREFLIGHT_STATE_NO_KEY, buf, sizeof(buf)) ==
	            FR_OK &&
	    buf[0] != '\0')
		spool_state_set(d->sp, PREFLIGHT_STATE_NO_KEY, "");
}

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
		no_key_clear(d);
	if (rc == FR_OK)
		rc = upstream_new(cfg, &d->up, err);
	if (rc == FR_OK)
		rc = captcha_new(cfg, &d->captcha, err);
	if (rc == FR_OK && cfg->spam.mx_check)
		rc = mailhost_new(cfg, &d->mx, err);
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
	mailhost_free(d->mx);
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

/*
 * Which key a pause was for, kept in the shared state so that a
 * restart can tell a fixed key from the refused one: SHA-256 over a
 * label and the key, in hex (a digest of a random key reveals nothing
 * of it; the key itself is never stored).  "" without a key.
 */
static void
key_fingerprint(const char *key, char out[2 * SHA256_DIGEST_SIZE + 1])
{
	static const char label[] = "formrelay paused key\n";
	uint8_t digest[SHA256_DIGEST_SIZE];
	struct sha256_ctx ctx;
	size_t i;

	out[0] = '\0';
	if (key == NULL)
		return;
	sha256_init(&ctx);
	sha256_update(&ctx, sizeof(label) - 1, (const uint8_t *)label);
	sha256_update(&ctx, strlen(key), (const uint8_t *)key);
	sha256_digest(&ctx, sizeof(digest), digest);
	for (i = 0; i < sizeof(digest); i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
	explicit_bzero(&ctx, sizeof(ctx));
}

int
deliver_resume(struct deliverer *d)
{
	char was[2 * SHA256_DIGEST_SIZE + 1], now[2 * SHA256_DIGEST_SIZE + 1];

	if (spool_state_get(d->sp, "pause_key", was, sizeof(was)) != FR_OK)
		return FR_ESTORE;
	key_fingerprint(d->cfg->api_key, now);
	/* the pause stands until it ends, unless the key changed */
	if (was[0] == '\0' || strcmp(was, now) == 0)
		return FR_OK;
	if (spool_state_set(d->sp, "paused_until", "") != FR_OK ||
	    spool_state_set(d->sp, "pause_key", "") != FR_OK)
		return FR_ESTORE;
	log_msg(LOG_WARN, "the API key changed since Customer.io refused it: "
	                  "delivery resumes");
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
enum mark { MARK_ACK, MARK_RETRY, MARK_DEAD, MARK_PREVIEW };

static void
mark(struct job *j, const struct spool_item *items, size_t n, enum mark m,
     int64_t due, int status, const char *reason)
{
	int64_t *ids = ids_of(items, n);
	int rc = FR_ENOMEM;

	if (ids != NULL) {
		if (m == MARK_ACK)
			rc = spool_ack(j->d->sp, ids, n);
		else if (m == MARK_PREVIEW)
			rc = spool_preview(j->d->sp, ids, n, j->now);
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
	if (m == MARK_PREVIEW) {
		j->rep->previewed += n;
		metrics_previewed(n);
		return;
	}
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
	char key[2 * SHA256_DIGEST_SIZE + 1];

	j->halt = HALT_AUTH;
	strlcopy(j->reason, res->reason, sizeof(j->reason));
	key_fingerprint(j->d->cfg->api_key, key);
	state_set_int(j->d, "paused_until", j->now + DELIVER_PAUSE_MS);
	spool_state_set(j->d->sp, "pause_key", key);
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

/*
 * When the batch's lease ends: the claim's (now + lease), or earlier for
 * a handed event, whose lease began when it was stored.
 */
static int64_t
lease_end(const struct spool_batch *b, int64_t now, int64_t lease_ms)
{
	int64_t start = now;
	size_t i;

	for (i = 0; i < b->handed; i++)
		if (b->items[i].created_ms < start)
			start = b->items[i].created_ms;
	return start + lease_ms;
}

/*
 * Before each request: a batch refused with 400 is split and posted
 * again half by half (about 2 log2(n) requests for one bad event), and
 * each request may take timeout_ms; so when the lease would not outlast
 * this one, it is renewed for what the batch still holds.  Otherwise
 * another deliverer would claim the events when it ran out and send
 * them a second time.
 */
static void
keep_lease(struct job *j)
{
	const struct config *cfg = j->d->cfg;
	int64_t now = now_ms(), *ids;

	if (now + cfg->timeout_ms + LEASE_MARGIN_MS < j->lease_until)
		return;
	ids = ids_of(j->items, j->n_items);
	if (ids != NULL && spool_renew(j->d->sp, ids, j->n_items,
	                               now + cfg->lease_ms) == FR_OK)
		j->lease_until = now + cfg->lease_ms;
	else
		log_msg(LOG_WARN,
		        "cannot renew the lease of a batch of %zu "
		        "events: another process may send them again",
		        j->n_items);
	free(ids);
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
	keep_lease(j);
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

/* dry_run: log what would be sent, one line per event, and keep each
 * as a preview (formrelay list, show) instead of sending it. */
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
	mark(j, items, n, MARK_PREVIEW, 0, 0, NULL);
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

/* dry_run = no without a key: nothing is sent (it would only be refused,
 * and blamed on a wrong key); events wait, and status says why. */
static int
no_key(struct deliverer *d, int64_t now, struct deliver_report *rep)
{
	if (!preflight_no_key(d->cfg))
		return 0;
	rep->paused = rep->no_key = 1;
	if (!d->no_key_noted) {
		d->no_key_noted = 1;
		state_set_int(d, PREFLIGHT_STATE_NO_KEY, now);
	}
	if (d->pause_logged == 0 ||
	    now - d->pause_logged >= PAUSE_LOG_EVERY_MS) {
		d->pause_logged = now;
		log_msg(LOG_ERROR,
		        "delivery paused: %s (customerio.dry_run = no in %s); "
		        "submissions are kept until a key is set and "
		        "formrelay restarted",
		        PREFLIGHT_NO_KEY_REASON,
		        d->cfg->path ? d->cfg->path : "the configuration");
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
	j->items = b->items;
	j->n_items = b->count;
	j->lease_until = lease_end(b, now, d->cfg->lease_ms);
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
	struct spool_batch b = {NULL, 0, 0, 0};
	struct job j;
	int64_t due = INT64_MAX;
	size_t released = 0, dropped = 0;

	*more = 0;
	if (recover_if_failed(d) != FR_OK)
		return FR_ESTORE;
	if (no_key(d, now, rep) || paused(d, now, rep) || now < d->hold_until)
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
	if (mailhost_filter_batch(d->mx, d->sp, &b, now, &dropped) != FR_OK) {
		spool_batch_free(&b);
		return FR_ESTORE;
	}
	if (b.count == 0) {
		spool_batch_free(&b);
		*more = 1;
		return FR_OK;
	}
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

struct spool *
deliver_spool(struct deliverer *d)
{
	return d->sp;
}
