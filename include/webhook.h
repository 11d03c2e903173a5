/*
 * Standard Webhooks / Svix signature verification (SPEC "Requests";
 * https://www.standardwebhooks.com, spec/standard-webhooks.md
 * "Signature scheme" and "Verifying signatures"; Svix "Verifying
 * Webhooks Manually").
 *
 * The signed content is "{id}.{timestamp}.{body}", the MAC HMAC-SHA256
 * keyed by the base64-decoded part of the secret after "whsec_", and the
 * signature header a space-separated list of "v1,<base64>" entries (more
 * than one during secret rotation; any match passes, other versions such
 * as "v1a" are ignored).  The timestamp (Unix seconds) must be within a
 * tolerance of now either way, against replays.
 */
#ifndef FORMRELAY_WEBHOOK_H
#define FORMRELAY_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define WEBHOOK_TOLERANCE_MS (5 * 60 * 1000) /* Svix: 5 minutes */

/* "v1," + base64 of 32 bytes (44) + NUL. */
#define WEBHOOK_SIGNATURE_SIZE 48

/* Longest header values accepted; longer ones are refused unread. */
#define WEBHOOK_MAX_ID        256
#define WEBHOOK_MAX_SIGNATURE 4096

/* Header values as received, borrowed; NULL when absent.  prefix
 * ("webhook" or "svix", NULL meaning "webhook") only names the headers
 * in error messages. */
struct webhook_headers {
	const char *id;
	const char *timestamp;
	const char *signature;
	const char *prefix;
};

/*
 * Look the headers up through get(name, ctx), which returns a borrowed
 * value or NULL; names are CGI meta-variables (RFC 3875, 4.1.18), e.g.
 * "HTTP_WEBHOOK_ID".  The webhook- set wins when any of it is present,
 * else the svix- set; sets are never mixed.
 */
typedef const char *(*webhook_getter)(const char *name, void *ctx);
void webhook_headers_get(struct webhook_headers *h, webhook_getter get,
                         void *ctx);

/* 1 when any of the three headers is set (the request claims to be a
 * signed webhook and must then verify), else 0. */
int webhook_present(const struct webhook_headers *h);

/*
 * Check a secret ("whsec_<base64>"; the prefix may be omitted, as the
 * reference libraries allow) at start-up.  FR_OK, or FR_ECONFIG with a
 * message saying what is wrong (never the secret itself).
 */
int webhook_secret_check(const char *secret, struct fr_error *err);

/*
 * Verify body[0..len) against h with the default 5-minute tolerance.
 * now_ms is the wall clock (util.h now_ms()).  Returns FR_OK, or
 * FR_EFORBIDDEN with err->code one of
 *   "missing_header"  - a header is absent or empty (the message names it)
 *   "bad_header"      - an id or timestamp that is malformed or too long
 *   "stale_timestamp" - outside the tolerance (past or future)
 *   "bad_signature"   - no v1 signature matches
 * or FR_ECONFIG for a malformed secret.
 */
int webhook_verify(const char *secret, const struct webhook_headers *h,
                   const char *body, size_t len, int64_t now_ms,
                   struct fr_error *err);

/* webhook_verify with an explicit tolerance in milliseconds. */
int webhook_verify_tolerance(const char *secret,
                             const struct webhook_headers *h, const char *body,
                             size_t len, int64_t now_ms, int64_t tolerance_ms,
                             struct fr_error *err);

/*
 * Sign as a sender would: write "v1,<base64>" into out of size bytes
 * (WEBHOOK_SIGNATURE_SIZE suffices).  For tests and tools.  FR_OK,
 * FR_ECONFIG for a malformed secret, FR_ETOOLARGE when out is too small.
 */
int webhook_sign(const char *secret, const char *id, const char *ts,
                 const char *body, size_t len, char *out, size_t size);

#endif
