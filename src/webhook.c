/*
 * Standard Webhooks / Svix signatures: HMAC-SHA256 over
 * "{id}.{timestamp}.{body}" (see webhook.h for the references).
 */
#include <inttypes.h>
#include <string.h>

#include <nettle/base64.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>

#include "webhook.h"

#define SECRET_PREFIX "whsec_"
#define SECRET_MIN    24  /* spec: "At least 24 bytes" */
#define SECRET_MAX    128 /* spec says 64 at most; be lenient */
#define MAC_LEN       SHA256_DIGEST_SIZE
#define TS_MAX_DIGITS 15

_Static_assert(WEBHOOK_SIGNATURE_SIZE >=
                       sizeof("v1,") + BASE64_ENCODE_RAW_LENGTH(MAC_LEN),
               "a signature, its v1, prefix and NUL fit");

struct hmac_key {
	unsigned char b[SECRET_MAX];
	size_t len;
};

/* RFC 4648, 4: the standard alphabet; -1 for anything else. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode one quad; pad trailing '=' are allowed (and count as 0). */
static int
b64_quad(const char *s, size_t pad, unsigned v[4])
{
	size_t k;
	int x;

	for (k = 0; k < 4; k++) {
		if (k >= 4 - pad) {
			v[k] = 0;
			continue;
		}
		x = b64_value((unsigned char)s[k]);
		if (x < 0)
			return -1;
		v[k] = (unsigned)x;
	}
	/* RFC 4648, 3.5: bits after the last byte must be zero. */
	if ((pad == 1 && (v[2] & 3) != 0) || (pad == 2 && (v[1] & 15) != 0))
		return -1;
	return 0;
}

/*
 * Strict base64: padded, no whitespace, canonical.  Writes at most size
 * bytes; *n gets the decoded length.  0 or -1.  Nettle's base64 decoder
 * is not used: it skips whitespace and accepts unpadded and non-canonical
 * input (RFC 4648, 3.5 lets a decoder reject those; this one does).
 */
static int
b64_decode(const char *s, size_t len, unsigned char *out, size_t size,
           size_t *n)
{
	size_t i, pad = 0, o = 0;
	unsigned v[4];
	unsigned char bytes[3];

	if (len == 0 || len % 4 != 0)
		return -1;
	pad = (s[len - 1] == '=') + (s[len - 1] == '=' && s[len - 2] == '=');
	*n = len / 4 * 3 - pad;
	if (*n > size)
		return -1;
	for (i = 0; i < len; i += 4) {
		if (b64_quad(s + i, i + 4 == len ? pad : 0, v) != 0)
			return -1;
		bytes[0] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		bytes[1] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		bytes[2] = (unsigned char)((v[2] & 3) << 6 | v[3]);
		memcpy(out + o, bytes, *n - o < 3 ? *n - o : 3);
		o += 3;
	}
	return 0;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* "whsec_<base64>" (prefix optional, whitespace around it ignored). */
static int
secret_decode(const char *secret, struct hmac_key *key, struct fr_error *err)
{
	size_t len;

	if (secret == NULL)
		return fr_fail(err, FR_ECONFIG, "bad_secret", NULL,
		               "webhook secret is not set");
	while (is_space(*secret))
		secret++;
	len = strlen(secret);
	while (len > 0 && is_space(secret[len - 1]))
		len--;
	if (len >= strlen(SECRET_PREFIX) &&
	    memcmp(secret, SECRET_PREFIX, strlen(SECRET_PREFIX)) == 0) {
		secret += strlen(SECRET_PREFIX);
		len -= strlen(SECRET_PREFIX);
	}
	if (b64_decode(secret, len, key->b, sizeof(key->b), &key->len) != 0)
		return fr_fail(err, FR_ECONFIG, "bad_secret", NULL,
		               "webhook secret is not whsec_ followed by "
		               "base64 of at most %d bytes",
		               SECRET_MAX);
	if (key->len < SECRET_MIN)
		return fr_fail(err, FR_ECONFIG, "bad_secret", NULL,
		               "webhook secret is %zu bytes, fewer than the "
		               "%d that Standard Webhooks requires",
		               key->len, SECRET_MIN);
	return FR_OK;
}

int
webhook_secret_check(const char *secret, struct fr_error *err)
{
	struct hmac_key key;
	int rc = secret_decode(secret, &key, err);

	explicit_bzero(&key, sizeof(key));
	return rc;
}

/*
 * HMAC-SHA256(key, id "." ts "." body) without copying the body (RFC
 * 2104).  Nettle's HMAC cannot fail; the context holds the key's inner
 * and outer pads, so it is wiped afterwards like the key itself.
 */
static void
signed_content_mac(const struct hmac_key *key, const char *id, const char *ts,
                   const char *body, size_t len, unsigned char mac[MAC_LEN])
{
	struct hmac_sha256_ctx ctx;

	hmac_sha256_set_key(&ctx, key->len, key->b);
	hmac_sha256_update(&ctx, strlen(id), (const uint8_t *)id);
	hmac_sha256_update(&ctx, 1, (const uint8_t *)".");
	hmac_sha256_update(&ctx, strlen(ts), (const uint8_t *)ts);
	hmac_sha256_update(&ctx, 1, (const uint8_t *)".");
	if (len > 0)
		hmac_sha256_update(&ctx, len, (const uint8_t *)body);
	hmac_sha256_digest(&ctx, MAC_LEN, mac);
	explicit_bzero(&ctx, sizeof(ctx));
}

int
webhook_sign(const char *secret, const char *id, const char *ts,
             const char *body, size_t len, char *out, size_t size)
{
	struct hmac_key key;
	unsigned char mac[MAC_LEN];
	int rc;

	if (size < WEBHOOK_SIGNATURE_SIZE)
		return FR_ETOOLARGE;
	rc = secret_decode(secret, &key, NULL);
	if (rc == FR_OK) {
		signed_content_mac(&key, id, ts, body, len, mac);
		memcpy(out, "v1,", 3);
		/* RFC 4648, 4, padded: exactly 44 characters, no NUL. */
		base64_encode_raw(out + 3, MAC_LEN, mac);
		out[3 + BASE64_ENCODE_RAW_LENGTH(MAC_LEN)] = '\0';
	}
	explicit_bzero(&key, sizeof(key));
	explicit_bzero(mac, sizeof(mac));
	return rc;
}

void
webhook_headers_get(struct webhook_headers *h, webhook_getter get, void *ctx)
{
	h->id = get("HTTP_WEBHOOK_ID", ctx);
	h->timestamp = get("HTTP_WEBHOOK_TIMESTAMP", ctx);
	h->signature = get("HTTP_WEBHOOK_SIGNATURE", ctx);
	h->prefix = "webhook";
	if (webhook_present(h))
		return;
	h->id = get("HTTP_SVIX_ID", ctx);
	h->timestamp = get("HTTP_SVIX_TIMESTAMP", ctx);
	h->signature = get("HTTP_SVIX_SIGNATURE", ctx);
	h->prefix = "svix";
}

int
webhook_present(const struct webhook_headers *h)
{
	return h->id != NULL || h->timestamp != NULL || h->signature != NULL;
}

static const char *
prefix_of(const struct webhook_headers *h)
{
	return h->prefix != NULL ? h->prefix : "webhook";
}

static int
missing(const struct webhook_headers *h, const char *name, struct fr_error *err)
{
	return fr_fail(err, FR_EFORBIDDEN, "missing_header", NULL,
	               "signed webhook without a %s-%s header", prefix_of(h),
	               name);
}

/*
 * An id is printable ASCII without '.': the spec asks that ids carry no
 * full stop, since "{id}.{timestamp}.{body}" must split one way only.
 */
static int
id_ok(const char *id)
{
	size_t i;

	for (i = 0; id[i] != '\0'; i++)
		if (i >= WEBHOOK_MAX_ID || id[i] <= ' ' || id[i] > '~' ||
		    id[i] == '.')
			return 0;
	return 1;
}

/* Unix seconds: 1..15 digits, nothing else. */
static int
ts_parse(const char *ts, int64_t *secs)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; ts[i] != '\0'; i++) {
		if (i >= TS_MAX_DIGITS || ts[i] < '0' || ts[i] > '9')
			return -1;
		v = v * 10 + (ts[i] - '0');
	}
	*secs = v;
	return 0;
}

/* Presence and shape of the three headers. */
static int
headers_check(const struct webhook_headers *h, int64_t *secs,
              struct fr_error *err)
{
	if (h->id == NULL || h->id[0] == '\0')
		return missing(h, "id", err);
	if (h->timestamp == NULL || h->timestamp[0] == '\0')
		return missing(h, "timestamp", err);
	if (h->signature == NULL || h->signature[0] == '\0')
		return missing(h, "signature", err);
	if (!id_ok(h->id))
		return fr_fail(err, FR_EFORBIDDEN, "bad_header", NULL,
		               "%s-id is not up to %d printable characters "
		               "without '.'",
		               prefix_of(h), WEBHOOK_MAX_ID);
	if (ts_parse(h->timestamp, secs) != 0)
		return fr_fail(err, FR_EFORBIDDEN, "bad_header", NULL,
		               "%s-timestamp is not Unix seconds",
		               prefix_of(h));
	if (strnlen(h->signature, WEBHOOK_MAX_SIGNATURE + 1) >
	    WEBHOOK_MAX_SIGNATURE)
		return fr_fail(err, FR_EFORBIDDEN, "bad_header", NULL,
		               "%s-signature is longer than %d bytes",
		               prefix_of(h), WEBHOOK_MAX_SIGNATURE);
	return FR_OK;
}

/* Standard Webhooks, "Verifying signatures": reject replays. */
static int
timestamp_check(const struct webhook_headers *h, int64_t secs, int64_t now,
                int64_t tolerance_ms, struct fr_error *err)
{
	int64_t skew_ms = now - secs * 1000;

	if (skew_ms > tolerance_ms)
		return fr_fail(err, FR_EFORBIDDEN, "stale_timestamp", NULL,
		               "%s-timestamp is %" PRId64 " s old, more than "
		               "the %" PRId64 " s allowed",
		               prefix_of(h), skew_ms / 1000,
		               tolerance_ms / 1000);
	if (-skew_ms > tolerance_ms)
		return fr_fail(err, FR_EFORBIDDEN, "stale_timestamp", NULL,
		               "%s-timestamp is %" PRId64 " s in the future, "
		               "more than the %" PRId64 " s allowed",
		               prefix_of(h), -skew_ms / 1000,
		               tolerance_ms / 1000);
	return FR_OK;
}

/* 1 when the entry s[0..len) is "v1,<base64>" equal to mac. */
static int
entry_matches(const char *s, size_t len, const unsigned char mac[MAC_LEN])
{
	unsigned char sig[MAC_LEN];
	size_t n;

	if (len < 3 || memcmp(s, "v1,", 3) != 0)
		return 0;
	if (b64_decode(s + 3, len - 3, sig, sizeof(sig), &n) != 0 ||
	    n != MAC_LEN)
		return 0;
	/* Constant time, or a timing oracle forges signatures. */
	return memeql_sec(sig, mac, MAC_LEN);
}

/* Any entry of the space-separated list matches (secret rotation). */
static int
any_signature_matches(const char *list, const unsigned char mac[MAC_LEN])
{
	const char *p = list, *end;
	int matched = 0;

	while (*p != '\0') {
		end = strchr(p, ' ');
		if (end == NULL)
			end = p + strlen(p);
		matched |= entry_matches(p, (size_t)(end - p), mac);
		p = *end == ' ' ? end + 1 : end;
	}
	return matched;
}

int
webhook_verify_tolerance(const char *secret, const struct webhook_headers *h,
                         const char *body, size_t len, int64_t now,
                         int64_t tolerance_ms, struct fr_error *err)
{
	struct hmac_key key;
	unsigned char mac[MAC_LEN];
	int64_t secs = 0;
	int rc;

	rc = secret_decode(secret, &key, err);
	if (rc == FR_OK)
		rc = headers_check(h, &secs, err);
	if (rc == FR_OK)
		rc = timestamp_check(h, secs, now, tolerance_ms, err);
	if (rc == FR_OK)
		signed_content_mac(&key, h->id, h->timestamp, body, len, mac);
	if (rc == FR_OK && !any_signature_matches(h->signature, mac))
		rc = fr_fail(err, FR_EFORBIDDEN, "bad_signature", NULL,
		             "no v1 signature in %s-signature matches the "
		             "body and the configured secret",
		             prefix_of(h));
	explicit_bzero(&key, sizeof(key));
	explicit_bzero(mac, sizeof(mac));
	return rc;
}

int
webhook_verify(const char *secret, const struct webhook_headers *h,
               const char *body, size_t len, int64_t now, struct fr_error *err)
{
	return webhook_verify_tolerance(secret, h, body, len, now,
	                                WEBHOOK_TOLERANCE_MS, err);
}
