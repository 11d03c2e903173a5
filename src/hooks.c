/*
 * Webhook sources: routes and the proof each requires (hooks.h).
 */
#include <stdio.h>
#include <string.h>

#include <nettle/memops.h>
#include <nettle/sha2.h>

#include "hooks.h"
#include "ratelimit.h"
#include "util.h"
#include "webhook_sig.h"

#define TOKEN_MAX 512

int
hooks_route(const char *uri, const char **name, size_t *len)
{
	static const char seg[] = "/hooks/";
	size_t n, i;
	const char *end;

	if (uri == NULL)
		return 0;
	n = strcspn(uri, "?#");
	end = uri + n;
	for (i = n; i > 0 && uri[i - 1] != '/'; i--)
		;
	if (i == n || i < sizeof(seg) - 1 ||
	    memcmp(uri + i - (sizeof(seg) - 1), seg, sizeof(seg) - 1) != 0)
		return 0;
	*name = uri + i;
	*len = (size_t)(end - *name);
	return 1;
}

int
hooks_query_token(const char *query, char *buf, size_t size)
{
	const char *p = query, *amp;
	size_t n;

	while (p != NULL && *p != '\0') {
		amp = strchr(p, '&');
		n = amp ? (size_t)(amp - p) : strcspn(p, "#");
		if (n > 6 && memcmp(p, "token=", 6) == 0)
			return percent_decode(p + 6, n - 6, buf, size, NULL);
		p = amp ? amp + 1 : NULL;
	}
	return -1;
}

/* Equal without telling how much matched: SHA-256 both, compare the
 * digests in constant time (their lengths then leak nothing either). */
static int
token_equal(const char *a, const char *b)
{
	struct sha256_ctx c;
	unsigned char da[SHA256_DIGEST_SIZE], db[SHA256_DIGEST_SIZE];
	int eq;

	sha256_init(&c);
	sha256_update(&c, strlen(a), (const uint8_t *)a);
	sha256_digest(&c, sizeof(da), da);
	sha256_update(&c, strlen(b), (const uint8_t *)b);
	sha256_digest(&c, sizeof(db), db);
	eq = memeql_sec(da, db, sizeof(da));
	explicit_bzero(da, sizeof(da));
	explicit_bzero(db, sizeof(db));
	return eq;
}

static int
check_token(const struct config_hook *h, const char *query,
            struct fr_error *err)
{
	char token[TOKEN_MAX];
	size_t i;
	int ok = 0;

	if (hooks_query_token(query, token, sizeof(token)) != 0 ||
	    token[0] == '\0')
		return fr_fail(err, FR_EFORBIDDEN, "missing_token", NULL,
		               "this hook needs ?token=<the value of "
		               "webhook.%s.token_file> in its URL",
		               h->name);
	for (i = 0; i < h->token_count; i++)
		ok |= token_equal(token, h->tokens[i]);
	explicit_bzero(token, sizeof(token));
	if (!ok)
		return fr_fail(err, FR_EFORBIDDEN, "bad_token", NULL,
		               "the URL's token is not this hook's");
	return FR_OK;
}

/* Standard Webhooks: the webhook-* (or svix-*) headers, any secret. */
static int
check_standard(const struct config_hook *h, webhook_getter get, void *ctx,
               const char *body, size_t len, int64_t now,
               struct hook_proof *out, struct fr_error *err)
{
	struct webhook_headers wh;
	size_t i;
	int rc = FR_OK;

	webhook_headers_get(&wh, get, ctx);
	if (!webhook_present(&wh))
		return fr_fail(err, FR_EFORBIDDEN, "missing_signature", NULL,
		               "this hook needs a signed request: no "
		               "webhook-signature (or svix-signature) header");
	for (i = 0; i < h->secret_count; i++) {
		rc = webhook_verify(h->secrets[i], &wh, body, len, now, err);
		if (rc == FR_OK || strcmp(err->code, "bad_signature") != 0)
			break;
	}
	if (rc == FR_OK)
		strlcopy(out->event_id, wh.id, sizeof(out->event_id));
	return rc;
}

static int
check_signature(const struct config_hook *h, webhook_getter get, void *ctx,
                const char *body, size_t len, int64_t now,
                struct hook_proof *out, struct fr_error *err)
{
	struct sig_scheme s;
	char cgi[SIG_CGI_SIZE], ts_cgi[SIG_CGI_SIZE];

	if (h->secret_count == 0)
		return FR_OK;
	if (h->platform == HOOK_STANDARD)
		return check_standard(h, get, ctx, body, len, now, out, err);
	if (sig_scheme_for(h, &s, cgi, ts_cgi) != 0)
		return fr_fail(err, FR_EINTERNAL, "internal_error", NULL,
		               "webhook.%s has no signature scheme", h->name);
	return sig_verify(&s, get(s.cgi, ctx),
	                  s.ts_header ? get(s.ts_cgi, ctx) : NULL, h->secrets,
	                  h->secret_count, body, len, now, err);
}

int
hooks_verify(const struct config_hook *h, webhook_getter get, void *ctx,
             const char *query, const char *body, size_t len, int64_t now_ms,
             struct hook_proof *out, struct fr_error *err)
{
	int rc;

	out->event_id[0] = '\0';
	if (h->token_count > 0 && (rc = check_token(h, query, err)) != FR_OK)
		return rc;
	return check_signature(h, get, ctx, body, len, now_ms, out, err);
}

int
hooks_rate(struct ratelimit *rl, const struct config_hook *h, int64_t now_ms,
           int64_t *retry_after_ms)
{
	char key[CONFIG_MAX_HOOK_ID + 8];

	snprintf(key, sizeof(key), "hook:%s", h->name);
	return ratelimit_check_budget(rl, key, h->rate_count, h->rate_window_ms,
	                              now_ms, retry_after_ms);
}

int
hooks_dedup_key(const struct config_hook *h, const struct hook_proof *p,
                const struct fields *f, char *key, size_t size)
{
	const char *id = p->event_id;
	int n;

	if (id[0] == '\0' && f != NULL && f->event_id != NULL)
		id = f->event_id;
	if (id[0] == '\0')
		return -1;
	n = snprintf(key, size, "hook:%s:%s", h->name, id);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
hooks_server_source(enum fields_source src)
{
	return src == SOURCE_TYPEFORM || src == SOURCE_TALLY ||
	       src == SOURCE_WEBFLOW || src == SOURCE_UNBOUNCE ||
	       src == SOURCE_JOTFORM;
}

int
hooks_envelope_source(enum fields_source src)
{
	return src != SOURCE_FORM && src != SOURCE_JSON;
}

const char *
hooks_log_uri(const char *uri, char *buf, size_t size)
{
	const char *q = uri ? strchr(uri, '?') : NULL, *t = q;
	size_t head, tail;

	while (t != NULL && strncmp(t + 1, "token=", 6) != 0)
		t = strchr(t + 1, '&');
	if (t == NULL)
		return uri;
	head = (size_t)(t - uri) + 7;
	tail = strcspn(t + 7, "&#");
	snprintf(buf, size, "%.*s********%s", (int)head, uri, t + 7 + tail);
	return buf;
}
