/*
 * HMAC signatures in one header, as most form platforms send them
 * (Standard Webhooks has its own module, webhook.h):
 *
 *   Typeform  Typeform-Signature: sha256=<base64 HMAC-SHA256(body)>
 *             (typeform.com/developers/webhooks/secure-your-webhooks/)
 *   Tally     Tally-Signature: <base64 HMAC-SHA256(body)>
 *             (tally.so/help/webhooks, "Add a signing secret")
 *   Webflow   x-webflow-signature: <hex HMAC-SHA256(ts ":" body)>,
 *             x-webflow-timestamp: ts in Unix milliseconds, 5 minutes
 *             (developers.webflow.com, "Verifying Requests"; webflow-api
 *             webhooks.verifySignature)
 *   hmac      any of these shapes, described by [webhook.NAME] keys:
 *             header, algorithm, encoding, prefix, timestamp_header and
 *             separator (GitHub: X-Hub-Signature-256, sha256, hex,
 *             "sha256="; Shopify: X-Shopify-Hmac-Sha256, sha256, base64)
 *
 * The key is the secret as written (its bytes, not decoded).  Several
 * secrets may be configured during a rotation: any one verifies.  A
 * header may list several signatures separated by ',' or spaces; any
 * one matching passes.  Comparisons are constant-time.
 */
#ifndef FORMRELAY_WEBHOOK_SIG_H
#define FORMRELAY_WEBHOOK_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

#define SIG_MAX_MAC      64   /* SHA-512 */
#define SIG_MAX_HEADER   4096 /* longer header values are refused */
#define SIG_TOLERANCE_MS (5 * 60 * 1000)
#define SIG_MAX_ENCODED  (SIG_MAX_MAC * 2 + 1) /* hex of SHA-512 + NUL */

/* Timestamp units: seconds, milliseconds, or told apart by size. */
enum sig_ts_unit { SIG_TS_SECONDS, SIG_TS_MILLIS, SIG_TS_AUTO };

/* One scheme; strings borrowed. */
struct sig_scheme {
	const char *header; /* the signature's header, for messages */
	const char *cgi;    /* its CGI name: HTTP_TYPEFORM_SIGNATURE */
	enum hook_algorithm algorithm;
	enum hook_encoding encoding;
	const char *prefix;    /* before the encoded MAC, or NULL */
	const char *ts_header; /* NULL: the body alone is signed */
	const char *ts_cgi;
	const char *separator; /* between timestamp and body */
	enum sig_ts_unit ts_unit;
	int64_t tolerance_ms; /* with a timestamp */
};

/*
 * The scheme of a source (HOOK_TYPEFORM, HOOK_TALLY, HOOK_WEBFLOW or
 * HOOK_HMAC; h's strings are borrowed).  cgi names are written into
 * the buffers (each of at least SIG_CGI_SIZE bytes).  0, or -1 for a
 * platform without one.
 */
#define SIG_CGI_SIZE 128
int sig_scheme_for(const struct config_hook *h, struct sig_scheme *s, char *cgi,
                   char *ts_cgi);

/* "X-Hub-Signature-256" -> "HTTP_X_HUB_SIGNATURE_256" (RFC 3875,
 * 4.1.18).  0, or -1 when it does not fit. */
int sig_cgi_name(const char *header, char *out, size_t size);

/*
 * Decode one signature entry value[0..len): the prefix (if any), then
 * hex (either case) or canonical padded base64 of exactly mac_len
 * bytes.  0, or -1 when it is anything else.
 */
int sig_decode_entry(const struct sig_scheme *s, const char *value, size_t len,
                     size_t mac_len, unsigned char *out);

/* A timestamp header: 1..15 decimal digits, in the scheme's unit, to
 * Unix milliseconds.  0 or -1. */
int sig_timestamp_ms(const struct sig_scheme *s, const char *ts, int64_t *ms);

/*
 * Verify a request: sig is the signature header's value, ts the
 * timestamp header's (NULL when absent; unused without ts_header).
 * FR_OK, or FR_EFORBIDDEN with err->code
 *   "missing_signature" - a header is absent or empty
 *   "bad_header"        - a malformed or too long header
 *   "stale_timestamp"   - outside the tolerance, past or future
 *   "bad_signature"     - no signature matches under any secret
 */
int sig_verify(const struct sig_scheme *s, const char *sig, const char *ts,
               char *const *secrets, size_t n_secrets, const char *body,
               size_t len, int64_t now_ms, struct fr_error *err);

/*
 * Sign as the sender would: prefix and encoded MAC into out (size at
 * least strlen(prefix) + SIG_MAX_ENCODED).  For tests and tools.
 * 0, or -1 when out is too small.
 */
int sig_sign(const struct sig_scheme *s, const char *secret, const char *ts,
             const char *body, size_t len, char *out, size_t size);

#endif
