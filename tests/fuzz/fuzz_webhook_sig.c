/*
 * libFuzzer target: the signature headers of webhook_sig.h (Typeform,
 * Tally, Webflow, generic HMAC) and the ?token= query of hooks.h.
 *
 * Input: one byte choosing the scheme, then "signature\ntimestamp\nbody"
 * (missing parts are absent headers).  Invariants: a decoded entry is
 * exactly the MAC's size; a refusal is FR_EFORBIDDEN with a code; and a
 * signature sig_sign made for the body always verifies.
 */
#include "fuzz_common.h"
#include "hooks.h"
#include "webhook_sig.h"

static const struct {
	enum hook_platform platform;
	enum hook_algorithm alg;
	enum hook_encoding enc;
	const char *prefix, *ts_header;
} schemes[] = {
        {HOOK_TYPEFORM, HOOK_SHA256, HOOK_HEX, NULL, NULL},
        {HOOK_TALLY, HOOK_SHA256, HOOK_HEX, NULL, NULL},
        {HOOK_WEBFLOW, HOOK_SHA256, HOOK_HEX, NULL, NULL},
        {HOOK_HMAC, HOOK_SHA1, HOOK_HEX, "sha1=", NULL},
        {HOOK_HMAC, HOOK_SHA512, HOOK_BASE64, NULL, "X-Ts"},
        {HOOK_HMAC, HOOK_SHA256, HOOK_BASE64, "v1=", "X-Ts"},
};

/* Split off the text up to '\n' (or the end) as a new string. */
static char *
take(const char **p, const char *end)
{
	const char *nl;
	char *s;

	if (*p >= end)
		return NULL;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	if (nl == NULL)
		nl = end;
	s = strndup(*p, (size_t)(nl - *p));
	*p = nl < end ? nl + 1 : end;
	return s;
}

static void
check_refusal(int rc, const struct fr_error *err)
{
	if (rc == FR_OK)
		return;
	if (rc != FR_EFORBIDDEN || err->status != rc || err->code[0] == '\0')
		fuzz_fail("a refusal is FR_EFORBIDDEN with a code");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1,
	           *end = (const char *)data + size;
	struct config_hook h;
	struct sig_scheme s;
	struct fr_error err;
	char cgi[SIG_CGI_SIZE], ts_cgi[SIG_CGI_SIZE], out[256], token[64];
	char *secrets[1] = {(char *)"fuzz-secret"};
	char *sig, *ts, *body;
	unsigned char mac[SIG_MAX_MAC];
	size_t k;

	if (size == 0)
		return 0;
	k = data[0] % (sizeof(schemes) / sizeof(schemes[0]));
	memset(&h, 0, sizeof(h));
	h.platform = schemes[k].platform;
	h.algorithm = schemes[k].alg;
	h.encoding = schemes[k].enc;
	h.prefix = (char *)schemes[k].prefix;
	h.timestamp_header = (char *)schemes[k].ts_header;
	h.header = (char *)"X-Sig";
	if (sig_scheme_for(&h, &s, cgi, ts_cgi) != 0)
		fuzz_fail("every listed scheme builds");
	sig = take(&p, end);
	ts = take(&p, end);
	body = take(&p, end);
	fr_error_clear(&err);
	check_refusal(sig_verify(&s, sig, ts, secrets, 1, body ? body : "",
	                         body ? strlen(body) : 0, 1700000000000LL,
	                         &err),
	              &err);
	if (sig != NULL)
		(void)sig_decode_entry(&s, sig, strlen(sig), 32, mac);
	(void)hooks_query_token(sig, token, sizeof(token));
	if (ts == NULL || sig_timestamp_ms(&s, ts, &(int64_t){0}) == 0) {
		if (sig_sign(&s, secrets[0], ts, body ? body : "",
		             body ? strlen(body) : 0, out, sizeof(out)) != 0)
			fuzz_fail("sign into 256 bytes");
		fr_error_clear(&err);
		if (s.ts_header == NULL &&
		    sig_verify(&s, out, ts, secrets, 1, body ? body : "",
		               body ? strlen(body) : 0, 0, &err) != FR_OK)
			fuzz_fail("what sig_sign makes verifies");
	}
	free(sig);
	free(ts);
	free(body);
	return 0;
}
