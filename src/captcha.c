/*
 * CAPTCHA verification on the delivery side (include/captcha.h).  Linked
 * only into formrelay-deliver (it uses libcurl).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "captcha.h"
#include "log.h"
#include "metrics.h"
#include "spool.h"
#include "upstream.h"
#include "util.h"

#define TAKE_MAX       16   /* tokens settled in one round */
#define LEASE_MARGIN   5000 /* a lease outlasts an ask by this much */
#define BACKOFF_MIN_MS 1000 /* then 2 s, 4 s, ... */
#define BACKOFF_MAX_MS 30000
#define ANSWER_MAX     16384 /* bytes of the vendor's answer kept */
#define TIMEOUT_MAX_MS 10000

struct vendor {
	const char *name;
	const char *url;
	int64_t lifetime_ms;
};

/* Their documentation: endpoints and token lifetimes. */
static const struct vendor vendors[] = {
        [CAPTCHA_NONE] = {"none", NULL, 0},
        [CAPTCHA_TURNSTILE] = {"turnstile",
                               "https://challenges.cloudflare.com/turnstile/"
                               "v0/siteverify",
                               300000},
        [CAPTCHA_HCAPTCHA] = {"hcaptcha", "https://api.hcaptcha.com/siteverify",
                              120000},
        [CAPTCHA_RECAPTCHA] =
                {"recaptcha", "https://www.google.com/recaptcha/api/siteverify",
                 120000},
};

static const struct vendor *
vendor_of(enum captcha_vendor v)
{
	return &vendors[(unsigned)v <= CAPTCHA_RECAPTCHA ? v : CAPTCHA_NONE];
}

const char *
captcha_verify_url(const struct antispam_config *as)
{
	return as->captcha_verify_url ? as->captcha_verify_url
	                              : vendor_of(as->captcha)->url;
}

int64_t
captcha_retry_for_ms(const struct antispam_config *as)
{
	return as->captcha_retry_for_ms > 0
	               ? as->captcha_retry_for_ms
	               : vendor_of(as->captcha)->lifetime_ms;
}

/* ---- judging an answer ---- */

static void __attribute__((format(printf, 4, 5)))
verdict(struct captcha_verdict *v, enum captcha_outcome o, enum spam_reason r,
        const char *fmt, ...)
{
	va_list ap;

	v->outcome = o;
	v->reason = r;
	v->duplicate = 0;
	va_start(ap, fmt);
	vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
	va_end(ap);
}

/* The error-codes, comma-joined, into buf. */
static void
error_codes(struct json_object *o, char *buf, size_t size)
{
	struct json_object *codes, *c;
	size_t i, n, len = 0;

	buf[0] = '\0';
	if (!json_object_object_get_ex(o, "error-codes", &codes) ||
	    !json_object_is_type(codes, json_type_array))
		return;
	n = json_object_array_length(codes);
	for (i = 0; i < n && len + 1 < size; i++) {
		c = json_object_array_get_idx(codes, i);
		len += (size_t)snprintf(buf + len, size - len, "%s%.40s",
		                        i ? "," : "",
		                        json_object_get_string(c));
		if (len >= size)
			len = size - 1;
	}
}

/* Codes that name our side or the vendor's, not the visitor's token:
 * asking again later (after a fixed secret) may pass. */
static int
not_the_visitors(const char *codes)
{
	return strstr(codes, "input-secret") != NULL ||
	       strstr(codes, "internal-error") != NULL ||
	       strstr(codes, "sitekey-secret-mismatch") != NULL;
}

/* "Already used": Turnstile's and reCAPTCHA's timeout-or-duplicate,
 * hCaptcha's invalid-or-already-seen-response (and already-seen-response
 * in its older documentation).  Also said of an expired token. */
static int
already_used(const char *codes)
{
	return strstr(codes, "timeout-or-duplicate") != NULL ||
	       strstr(codes, "already-seen-response") != NULL;
}

static const char *
member_string(struct json_object *o, const char *key)
{
	struct json_object *m;

	if (!json_object_object_get_ex(o, key, &m) ||
	    !json_object_is_type(m, json_type_string))
		return NULL;
	return json_object_get_string(m);
}

/* Whether host is the host of one of the allowed origins
 * (scheme://host[:port]); any host when none are set. */
static int
hostname_allowed(const struct config_list *origins, const char *host)
{
	size_t i, n;
	const char *h, *end;

	if (origins->count == 0)
		return 1;
	if (host == NULL)
		return 0;
	for (i = 0; i < origins->count; i++) {
		h = strstr(origins->items[i], "://");
		if (h == NULL)
			continue;
		h += 3;
		end = h[0] == '[' ? strchr(h, ']') : strchr(h, ':');
		n = end ? (size_t)(end - h + (h[0] == '[')) : strlen(h);
		if (strlen(host) == n && strncasecmp(host, h, n) == 0)
			return 1;
	}
	return 0;
}

/* reCAPTCHA v3: score and action (v2 answers carry neither). */
static int
recaptcha_v3_ok(const struct antispam_config *as, struct json_object *o,
                struct captcha_verdict *v)
{
	struct json_object *score;
	const char *action = member_string(o, "action");
	char buf[48];

	if (json_object_object_get_ex(o, "score", &score) &&
	    json_object_get_double(score) < as->recaptcha_min_score) {
		snprintf(buf, sizeof(buf), "%.2f",
		         json_object_get_double(score));
		verdict(v, CAPTCHA_REFUSED, SPAM_CAPTCHA_SCORE,
		        "score %s under recaptcha_min_score", buf);
		return 0;
	}
	if (as->recaptcha_action != NULL && action != NULL &&
	    strcmp(action, as->recaptcha_action) != 0) {
		verdict(v, CAPTCHA_REFUSED, SPAM_CAPTCHA_ACTION,
		        "action %.60s is not recaptcha_action", action);
		return 0;
	}
	return 1;
}

static void
judge_object(const struct config *cfg, struct json_object *o,
             struct captcha_verdict *v)
{
	struct json_object *success;
	const char *host = member_string(o, "hostname");
	char codes[100];

	error_codes(o, codes, sizeof(codes));
	if (!json_object_object_get_ex(o, "success", &success) ||
	    !json_object_is_type(success, json_type_boolean)) {
		verdict(v, CAPTCHA_UNREACHABLE, SPAM_REASONS,
		        "answer without success");
		return;
	}
	if (!json_object_get_boolean(success)) {
		if (not_the_visitors(codes)) {
			verdict(v, CAPTCHA_UNREACHABLE, SPAM_REASONS,
			        "vendor refused our request: %s", codes);
			return;
		}
		verdict(v, CAPTCHA_REFUSED, SPAM_CAPTCHA_INVALID,
		        "error-codes %s", codes[0] ? codes : "(none)");
		v->duplicate = already_used(codes);
		return;
	}
	if (cfg->spam.captcha == CAPTCHA_RECAPTCHA &&
	    !recaptcha_v3_ok(&cfg->spam, o, v))
		return;
	if (!hostname_allowed(&cfg->allowed_origins, host)) {
		verdict(v, CAPTCHA_REFUSED, SPAM_CAPTCHA_HOSTNAME,
		        "hostname %.60s is not in allowed_origins",
		        host ? host : "(none)");
		return;
	}
	verdict(v, CAPTCHA_PASS, SPAM_REASONS, "hostname %.60s",
	        host ? host : "(none)");
}

void
captcha_judge(const struct config *cfg, int http_status, const char *body,
              size_t len, struct captcha_verdict *v)
{
	struct json_tokener *tok;
	struct json_object *o = NULL;

	if (http_status < 200 || http_status > 299) {
		verdict(v, CAPTCHA_UNREACHABLE, SPAM_REASONS, "HTTP %d",
		        http_status);
		return;
	}
	tok = json_tokener_new();
	if (tok != NULL && len <= INT32_MAX)
		o = json_tokener_parse_ex(tok, body, (int)len);
	if (o != NULL && json_object_is_type(o, json_type_object))
		judge_object(cfg, o, v);
	else
		verdict(v, CAPTCHA_UNREACHABLE, SPAM_REASONS,
		        "answer is not a JSON object");
	json_object_put(o);
	json_tokener_free(tok);
}

/* ---- the request ---- */

/* Append s form-urlencoded (RFC 3986 unreserved kept). */
static size_t
put_encoded(char *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	unsigned char c;

	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	return n;
}

int
captcha_request_body(const char *secret, const char *token, const char *ip,
                     char **out, size_t *len)
{
	size_t cap = 3 * (strlen(secret) + strlen(token) + strlen(ip)) + 40;
	char *b = malloc(cap);
	size_t n = 0;

	if (b == NULL)
		return FR_ENOMEM;
	memcpy(b, "secret=", 7);
	n = 7 + put_encoded(b + 7, secret);
	memcpy(b + n, "&response=", 10);
	n += 10;
	n += put_encoded(b + n, token);
	if (*ip != '\0') {
		memcpy(b + n, "&remoteip=", 10);
		n += 10;
		n += put_encoded(b + n, ip);
	}
	b[n] = '\0';
	*out = b;
	*len = n;
	return FR_OK;
}

struct captcha {
	const struct config *cfg; /* borrowed */
	CURL *curl;
	struct curl_slist *headers;
	char answer[ANSWER_MAX + 1];
	size_t answer_len;
	char errbuf[CURL_ERROR_SIZE];
};

static size_t
on_answer(char *data, size_t size, size_t nmemb, void *arg)
{
	struct captcha *c = arg;
	size_t n = size * nmemb, room = ANSWER_MAX - c->answer_len;
	size_t take = n < room ? n : room;

	memcpy(c->answer + c->answer_len, data, take);
	c->answer_len += take;
	c->answer[c->answer_len] = '\0';
	return n;
}

/* How long one ask may take: customerio.timeout_ms, at most 10 s. */
static long
ask_timeout_ms(const struct config *cfg)
{
	return cfg->timeout_ms < TIMEOUT_MAX_MS ? cfg->timeout_ms
	                                        : TIMEOUT_MAX_MS;
}

static int
captcha_setup(struct captcha *c, struct fr_error *err)
{
	int rc = upstream_handle_setup(c->curl, ask_timeout_ms(c->cfg),
	                               c->errbuf, err);

	if (rc != FR_OK)
		return rc;
	c->headers = curl_slist_append(NULL, "Accept: application/json");
	if (c->headers == NULL)
		return fr_fail(err, FR_ENOMEM, NULL, NULL, "out of memory");
	UPSTREAM_SETOPT(c->curl, CURLOPT_URL, captcha_verify_url(&c->cfg->spam),
	                err);
	UPSTREAM_SETOPT(c->curl, CURLOPT_HTTPHEADER, c->headers, err);
	UPSTREAM_SETOPT(c->curl, CURLOPT_WRITEFUNCTION, on_answer, err);
	UPSTREAM_SETOPT(c->curl, CURLOPT_WRITEDATA, c, err);
	return FR_OK;
}

int
captcha_new(const struct config *cfg, struct captcha **out,
            struct fr_error *err)
{
	struct captcha *c;
	int rc;

	*out = NULL;
	if (upstream_global_init() != FR_OK)
		return fr_fail(err, FR_EINTERNAL, NULL, NULL,
		               "libcurl could not be initialised");
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->curl = curl_easy_init()) == NULL) {
		free(c);
		return fr_fail(err, FR_ENOMEM, NULL, NULL,
		               "out of memory creating the CAPTCHA client");
	}
	c->cfg = cfg;
	if ((rc = captcha_setup(c, err)) != FR_OK) {
		captcha_free(c);
		return rc;
	}
	*out = c;
	return FR_OK;
}

void
captcha_free(struct captcha *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	free(c);
}

void
captcha_verify(struct captcha *c, const char *token, const char *ip,
               struct captcha_verdict *v)
{
	const char *secret = c->cfg->spam.captcha_secret;
	char *body = NULL;
	size_t len = 0;
	long status = 0;
	CURLcode rc;

	v->left = 0;
	if (captcha_request_body(secret ? secret : "", token, ip, &body,
	                         &len) != FR_OK) {
		verdict(v, CAPTCHA_UNREACHABLE, SPAM_REASONS, "out of memory");
		return;
	}
	c->answer_len = 0;
	c->answer[0] = '\0';
	c->errbuf[0] = '\0';
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)len);
	rc = curl_easy_perform(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
	explicit_bzero(body, len);
	free(body);
	if (rc != CURLE_OK) {
		verdict(v, CAPTCHA_UNREACHABLE, SPAM_REASONS, "%.150s",
		        c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
		/* no connection: the token never left */
		v->left = rc != CURLE_COULDNT_CONNECT &&
		          rc != CURLE_COULDNT_RESOLVE_HOST &&
		          rc != CURLE_COULDNT_RESOLVE_PROXY;
		return;
	}
	v->left = 1;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	captcha_judge(c->cfg, (int)status, c->answer, c->answer_len, v);
}

/* ---- settling held submissions ---- */

static void
log_outcome(const struct spool_verify_item *it, const char *vendor,
            const char *outcome, const struct captcha_verdict *v)
{
	struct logline l;

	logline_start(&l, v->outcome == CAPTCHA_PASS ? LOG_INFO : LOG_WARN);
	logline_str(&l, "captcha", vendor);
	logline_str(&l, "outcome", outcome);
	if (v->reason != SPAM_REASONS)
		logline_str(&l, "spam", spam_reason_name(v->reason));
	logline_int(&l, "first_event", it->first_event);
	logline_int(&l, "events", it->events);
	logline_str(&l, "client", it->ip);
	logline_int(&l, "tries", it->tries + 1);
	logline_str(&l, "detail", v->detail);
	logline_emit(&l);
}

/* captcha_unreachable decides: forwarded unverified, or dropped. */
static int
settle_by_policy(struct captcha *c, struct spool *sp,
                 const struct spool_verify_item *it, int64_t now,
                 struct captcha_verdict *v, size_t *released)
{
	const char *vendor = vendor_of(c->cfg->spam.captcha)->name;

	if (c->cfg->spam.captcha_fail_open) {
		log_outcome(it, vendor, "unverified_forwarded", v);
		++*released;
		return spool_verify_settle(sp, it, SPOOL_VERDICT_PASS, now, 0);
	}
	v->outcome = CAPTCHA_REFUSED;
	log_outcome(it, vendor, "refused", v);
	return spool_verify_settle(sp, it, SPOOL_VERDICT_DROP, now, 0);
}

/* An unreachable vendor: again later, or captcha_unreachable decides. */
static int
settle_unreachable(struct captcha *c, struct spool *sp,
                   const struct spool_verify_item *it, int64_t now,
                   struct captcha_verdict *v, size_t *released)
{
	const struct antispam_config *as = &c->cfg->spam;
	int64_t backoff = BACKOFF_MIN_MS << (it->tries < 5 ? it->tries : 5);
	struct spool_verify_item again = *it;

	if (now < it->created_ms + captcha_retry_for_ms(as)) {
		log_outcome(it, vendor_of(as->captcha)->name, "retry", v);
		/* asked and not judged: the vendor may have used the token */
		again.sent = it->sent || v->left;
		return spool_verify_settle(sp, &again, SPOOL_VERDICT_RETRY, now,
		                           now + (backoff < BACKOFF_MAX_MS
		                                          ? backoff
		                                          : BACKOFF_MAX_MS));
	}
	if (!as->captcha_fail_open) {
		v->reason = SPAM_CAPTCHA_UNREACHABLE;
		metrics_spam(SPAM_CAPTCHA_UNREACHABLE);
	}
	return settle_by_policy(c, sp, it, now, v, released);
}

/*
 * "Already used" for a token asked about before whose answer was lost
 * (or was no verdict): the vendor may have used it on that ask, so this
 * says nothing of the visitor.  captcha_unreachable decides; counted as
 * captcha_unknown whichever way it goes.
 */
static int
settle_unknown(struct captcha *c, struct spool *sp,
               const struct spool_verify_item *it, int64_t now,
               struct captcha_verdict *v, size_t *released)
{
	v->reason = SPAM_CAPTCHA_UNKNOWN;
	snprintf(v->detail, sizeof(v->detail),
	         "an earlier ask's answer was lost; now: already used");
	metrics_spam(SPAM_CAPTCHA_UNKNOWN);
	return settle_by_policy(c, sp, it, now, v, released);
}

static int
settle_one(struct captcha *c, struct spool *sp,
           const struct spool_verify_item *it, int64_t now, size_t *released)
{
	const char *vendor = vendor_of(c->cfg->spam.captcha)->name;
	struct captcha_verdict v;

	if (c->cfg->spam.captcha == CAPTCHA_NONE) {
		/* turned off while these waited: deliver them */
		++*released;
		return spool_verify_settle(sp, it, SPOOL_VERDICT_PASS, now, 0);
	}
	/* durably before the token leaves: see settle_unknown */
	if (spool_verify_settle(sp, it, SPOOL_VERDICT_SENT, now, 0) != FR_OK)
		return FR_ESTORE;
	captcha_verify(c, it->token, it->ip, &v);
	now = now_ms();
	if (v.outcome == CAPTCHA_UNREACHABLE)
		return settle_unreachable(c, sp, it, now, &v, released);
	if (v.outcome == CAPTCHA_REFUSED && v.duplicate && it->sent)
		return settle_unknown(c, sp, it, now, &v, released);
	log_outcome(it, vendor, v.outcome == CAPTCHA_PASS ? "pass" : "refused",
	            &v);
	if (v.outcome == CAPTCHA_PASS) {
		++*released;
		return spool_verify_settle(sp, it, SPOOL_VERDICT_PASS, now, 0);
	}
	metrics_spam(v.reason);
	return spool_verify_settle(sp, it, SPOOL_VERDICT_DROP, now, 0);
}

/* One token at a time, each leased for one ask: a deliverer killed
 * mid-ask holds up only that token, and only for one lease. */
int
captcha_settle_due(struct captcha *c, struct spool *sp, int64_t now,
                   size_t *released)
{
	struct spool_verify_item *item = NULL;
	int64_t lease = ask_timeout_ms(c->cfg) + LEASE_MARGIN;
	size_t i, n = 1;
	int rc = FR_OK;

	*released = 0;
	for (i = 0; rc == FR_OK && n == 1 && i < TAKE_MAX; i++) {
		rc = spool_verify_take(sp, now, lease, 1, &item, &n);
		if (rc == FR_OK && n == 1)
			rc = settle_one(c, sp, item, now_ms(), released);
		spool_verify_free(item, n);
		item = NULL;
		now = now_ms();
	}
	return rc;
}
