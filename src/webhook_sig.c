/*
 * HMAC signatures in one header (webhook_sig.h has the platforms and
 * their references).
 */
#include <inttypes.h>
#include <string.h>

#include <nettle/base64.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>

#include "webhook_sig.h"

#define TS_MAX_DIGITS 15
/* Below this a Unix time is in seconds (year 5138), above it in ms. */
#define TS_AUTO_MS 100000000000LL

/* HMAC of [ts sep] body under secret; *len gets the MAC's length. */
struct mac_ctx {
	union {
		struct hmac_sha256_ctx s256;
		struct hmac_sha512_ctx s512;
		struct hmac_sha1_ctx s1;
	} u;
	enum hook_algorithm alg;
};

static size_t
mac_size(enum hook_algorithm alg)
{
	return alg == HOOK_SHA512 ? SHA512_DIGEST_SIZE
	       : alg == HOOK_SHA1 ? SHA1_DIGEST_SIZE
	                          : SHA256_DIGEST_SIZE;
}

static void
mac_update(struct mac_ctx *c, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (c->alg == HOOK_SHA512)
		hmac_sha512_update(&c->u.s512, n, p);
	else if (c->alg == HOOK_SHA1)
		hmac_sha1_update(&c->u.s1, n, p);
	else
		hmac_sha256_update(&c->u.s256, n, p);
}

static void
compute_mac(const struct sig_scheme *s, const char *secret, const char *ts,
            const char *body, size_t len, unsigned char *mac)
{
	struct mac_ctx c;
	size_t klen = strlen(secret), n = mac_size(s->algorithm);
	const uint8_t *key = (const uint8_t *)secret;

	c.alg = s->algorithm;
	if (c.alg == HOOK_SHA512)
		hmac_sha512_set_key(&c.u.s512, klen, key);
	else if (c.alg == HOOK_SHA1)
		hmac_sha1_set_key(&c.u.s1, klen, key);
	else
		hmac_sha256_set_key(&c.u.s256, klen, key);
	if (s->ts_header != NULL && ts != NULL) {
		mac_update(&c, ts, strlen(ts));
		mac_update(&c, s->separator, strlen(s->separator));
	}
	mac_update(&c, body, len);
	if (c.alg == HOOK_SHA512)
		hmac_sha512_digest(&c.u.s512, n, mac);
	else if (c.alg == HOOK_SHA1)
		hmac_sha1_digest(&c.u.s1, n, mac);
	else
		hmac_sha256_digest(&c.u.s256, n, mac);
	explicit_bzero(&c, sizeof(c));
}

int
sig_cgi_name(const char *header, char *out, size_t size)
{
	size_t i, n = strlen("HTTP_");

	if (size < n + strlen(header) + 1)
		return -1;
	memcpy(out, "HTTP_", n);
	for (i = 0; header[i] != '\0'; i++) {
		char c = header[i];

		out[n + i] = c == '-'                 ? '_'
		             : (c >= 'a' && c <= 'z') ? (char)(c - 32)
		                                      : c;
	}
	out[n + i] = '\0';
	return 0;
}

int
sig_scheme_for(const struct config_hook *h, struct sig_scheme *s, char *cgi,
               char *ts_cgi)
{
	memset(s, 0, sizeof(*s));
	s->tolerance_ms = SIG_TOLERANCE_MS;
	s->separator = ".";
	s->cgi = cgi;
	s->ts_cgi = ts_cgi;
	switch (h->platform) {
	case HOOK_TYPEFORM:
		s->header = "Typeform-Signature";
		s->encoding = HOOK_BASE64;
		s->prefix = "sha256=";
		break;
	case HOOK_TALLY:
		s->header = "Tally-Signature";
		s->encoding = HOOK_BASE64;
		break;
	case HOOK_WEBFLOW:
		s->header = "x-webflow-signature";
		s->ts_header = "x-webflow-timestamp";
		s->separator = ":";
		s->ts_unit = SIG_TS_MILLIS;
		break;
	case HOOK_HMAC:
		s->header = h->header;
		s->algorithm = h->algorithm;
		s->encoding = h->encoding;
		s->prefix = h->prefix;
		s->ts_header = h->timestamp_header;
		s->separator = h->separator ? h->separator : ".";
		s->ts_unit = SIG_TS_AUTO;
		break;
	default:
		return -1;
	}
	if (s->header == NULL || sig_cgi_name(s->header, cgi, SIG_CGI_SIZE))
		return -1;
	if (s->ts_header != NULL &&
	    sig_cgi_name(s->ts_header, ts_cgi, SIG_CGI_SIZE))
		return -1;
	return 0;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
hex_decode(const char *v, size_t len, size_t mac_len, unsigned char *out)
{
	size_t i;
	int hi, lo;

	if (len != mac_len * 2)
		return -1;
	for (i = 0; i < mac_len; i++) {
		hi = hex_digit(v[2 * i]);
		lo = hex_digit(v[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* Canonical padded base64 (RFC 4648, 4) of exactly mac_len bytes: the
 * length is fixed, and what nettle decodes must encode back to v, which
 * rules out whitespace, missing padding and stray low bits. */
static int
b64_decode(const char *v, size_t len, size_t mac_len, unsigned char *out)
{
	struct base64_decode_ctx ctx;
	uint8_t buf[BASE64_DECODE_LENGTH(
	        BASE64_ENCODE_RAW_LENGTH(SIG_MAX_MAC))];
	char again[BASE64_ENCODE_RAW_LENGTH(SIG_MAX_MAC)];
	size_t n = sizeof(buf);

	if (len != (size_t)BASE64_ENCODE_RAW_LENGTH(mac_len))
		return -1;
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &n, buf, len, v) ||
	    !base64_decode_final(&ctx) || n != mac_len)
		return -1;
	base64_encode_raw(again, mac_len, buf);
	if (memcmp(again, v, len) != 0)
		return -1;
	memcpy(out, buf, mac_len);
	return 0;
}

int
sig_decode_entry(const struct sig_scheme *s, const char *value, size_t len,
                 size_t mac_len, unsigned char *out)
{
	size_t plen = s->prefix ? strlen(s->prefix) : 0;

	if (mac_len > SIG_MAX_MAC || len < plen ||
	    (plen > 0 && memcmp(value, s->prefix, plen) != 0))
		return -1;
	value += plen;
	len -= plen;
	if (s->encoding == HOOK_BASE64)
		return b64_decode(value, len, mac_len, out);
	return hex_decode(value, len, mac_len, out);
}

int
sig_timestamp_ms(const struct sig_scheme *s, const char *ts, int64_t *ms)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; ts[i] != '\0'; i++) {
		if (i >= TS_MAX_DIGITS || ts[i] < '0' || ts[i] > '9')
			return -1;
		v = v * 10 + (ts[i] - '0');
	}
	if (i == 0)
		return -1;
	if (s->ts_unit == SIG_TS_SECONDS ||
	    (s->ts_unit == SIG_TS_AUTO && v < TS_AUTO_MS))
		v *= 1000;
	*ms = v;
	return 0;
}

/* Any entry of the list (',' or white space between) matches mac. */
static int
any_entry_matches(const struct sig_scheme *s, const char *list,
                  const unsigned char *mac, size_t mac_len)
{
	static const char seps[] = ", \t";
	unsigned char sig[SIG_MAX_MAC];
	const char *p = list;
	size_t n;
	int matched = 0;

	while (*p != '\0') {
		p += strspn(p, seps);
		n = strcspn(p, seps);
		if (n > 0 && sig_decode_entry(s, p, n, mac_len, sig) == 0)
			matched |= memeql_sec(sig, mac, mac_len);
		p += n;
	}
	return matched;
}

static int
missing(const char *header, struct fr_error *err)
{
	return fr_fail(err, FR_EFORBIDDEN, "missing_signature", NULL,
	               "this hook needs a signed request: no %s header",
	               header);
}

/* The timestamp header's shape and age. */
static int
timestamp_check(const struct sig_scheme *s, const char *ts, int64_t now,
                struct fr_error *err)
{
	int64_t ms = 0, skew;

	if (ts == NULL || *ts == '\0')
		return missing(s->ts_header, err);
	if (sig_timestamp_ms(s, ts, &ms) != 0)
		return fr_fail(err, FR_EFORBIDDEN, "bad_header", NULL,
		               "%s is not a Unix time in digits", s->ts_header);
	skew = now - ms;
	if (skew > s->tolerance_ms || -skew > s->tolerance_ms)
		return fr_fail(err, FR_EFORBIDDEN, "stale_timestamp", NULL,
		               "%s is %" PRId64 " s %s, more than the %" PRId64
		               " s allowed",
		               s->ts_header, (skew < 0 ? -skew : skew) / 1000,
		               skew < 0 ? "in the future" : "old",
		               s->tolerance_ms / 1000);
	return FR_OK;
}

int
sig_verify(const struct sig_scheme *s, const char *sig, const char *ts,
           char *const *secrets, size_t n_secrets, const char *body, size_t len,
           int64_t now_ms, struct fr_error *err)
{
	unsigned char mac[SIG_MAX_MAC];
	size_t i, mac_len = mac_size(s->algorithm);
	int matched = 0, rc;

	if (sig == NULL || *sig == '\0')
		return missing(s->header, err);
	if (strnlen(sig, SIG_MAX_HEADER + 1) > SIG_MAX_HEADER ||
	    (ts != NULL && strnlen(ts, SIG_MAX_HEADER + 1) > SIG_MAX_HEADER))
		return fr_fail(err, FR_EFORBIDDEN, "bad_header", NULL,
		               "%s is longer than %d bytes", s->header,
		               SIG_MAX_HEADER);
	if (s->ts_header != NULL &&
	    (rc = timestamp_check(s, ts, now_ms, err)) != FR_OK)
		return rc;
	for (i = 0; i < n_secrets; i++) {
		compute_mac(s, secrets[i], ts, body, len, mac);
		matched |= any_entry_matches(s, sig, mac, mac_len);
	}
	explicit_bzero(mac, sizeof(mac));
	if (!matched)
		return fr_fail(err, FR_EFORBIDDEN, "bad_signature", NULL,
		               "%s does not match the body and the "
		               "configured secret",
		               s->header);
	return FR_OK;
}

int
sig_sign(const struct sig_scheme *s, const char *secret, const char *ts,
         const char *body, size_t len, char *out, size_t size)
{
	unsigned char mac[SIG_MAX_MAC];
	size_t i, plen = s->prefix ? strlen(s->prefix) : 0;
	size_t mac_len = mac_size(s->algorithm);
	static const char hex[] = "0123456789abcdef";

	if (size < plen + SIG_MAX_ENCODED)
		return -1;
	compute_mac(s, secret, ts, body, len, mac);
	memcpy(out, s->prefix ? s->prefix : "", plen);
	if (s->encoding == HOOK_BASE64) {
		base64_encode_raw(out + plen, mac_len, mac);
		out[plen + BASE64_ENCODE_RAW_LENGTH(mac_len)] = '\0';
	} else {
		for (i = 0; i < mac_len; i++) {
			out[plen + 2 * i] = hex[mac[i] >> 4];
			out[plen + 2 * i + 1] = hex[mac[i] & 15];
		}
		out[plen + 2 * mac_len] = '\0';
	}
	explicit_bzero(mac, sizeof(mac));
	return 0;
}
