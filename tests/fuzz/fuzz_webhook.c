/*
 * libFuzzer target: Standard Webhooks / Svix headers and base64.
 *
 * Input: four lines (secret, webhook-id, webhook-timestamp,
 * webhook-signature), then the body.  Checked after each input:
 *   - webhook_verify answers FR_OK, FR_EFORBIDDEN with one of its four
 *     codes, or FR_ECONFIG for the secret, always with a message;
 *   - a secret webhook_secret_check accepts is canonical base64 (RFC
 *     4648, 4, padded, zero pad bits) of 24..128 bytes: nettle decodes it
 *     and encodes the bytes back to the same text;
 *   - webhook_sign's signature is the HMAC-SHA256 of "id.ts.body" under
 *     those bytes, computed here with nettle, and webhook_verify accepts
 *     it, alone or after the fuzzed list (secret rotation);
 *   - the fuzzed list verifies only when it holds that exact signature
 *     as one of its space-separated entries.
 */
#include <nettle/base64.h>
#include <nettle/hmac.h>

#include "fuzz_common.h"
#include "webhook.h"

#define LINE_MAX_LEN 8192

struct input {
	char secret[LINE_MAX_LEN], id[LINE_MAX_LEN], ts[LINE_MAX_LEN];
	char sig[LINE_MAX_LEN];
	const char *body;
	size_t len;
};

static int
input_split(const uint8_t *data, size_t size, struct input *in)
{
	char *lines[4] = {in->secret, in->id, in->ts, in->sig};
	const char *rest = (const char *)data;
	size_t left = size, i;

	for (i = 0; i < 4; i++) {
		if (!fuzz_split_line((const uint8_t *)rest, left, lines[i],
		                     LINE_MAX_LEN, &rest, &left))
			return -1;
	}
	in->body = rest;
	in->len = left;
	return 0;
}

static void
check_status(int rc, const struct fr_error *err)
{
	static const char *const codes[] = {"missing_header", "bad_header",
	                                    "stale_timestamp", "bad_signature"};
	size_t i;

	if (rc == FR_OK)
		return;
	if (err->status != rc || err->message[0] == '\0')
		fuzz_fail("an error without its status or message");
	if (rc == FR_ECONFIG) {
		if (strcmp(err->code, "bad_secret") != 0)
			fuzz_fail("FR_ECONFIG that is not bad_secret");
		return;
	}
	if (rc != FR_EFORBIDDEN)
		fuzz_fail("unexpected status");
	for (i = 0; i < 4; i++)
		if (strcmp(err->code, codes[i]) == 0)
			return;
	fuzz_fail("FR_EFORBIDDEN with an unknown code");
}

/* The key bytes of an accepted secret, by nettle; their count. */
static size_t
key_by_nettle(const char *secret, uint8_t *key, size_t size)
{
	struct base64_decode_ctx ctx;
	char again[BASE64_ENCODE_LENGTH(256) + 8];
	const char *b64 = secret;
	size_t len, n = size;

	while (*b64 == ' ' || *b64 == '\t' || *b64 == '\r')
		b64++;
	if (strncmp(b64, "whsec_", 6) == 0)
		b64 += 6;
	len = strlen(b64);
	while (len > 0 && strchr(" \t\r", b64[len - 1]) != NULL)
		len--;
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &n, key, len, b64) ||
	    !base64_decode_final(&ctx))
		fuzz_fail("an accepted secret nettle cannot decode");
	if (n < 24 || n > 128 || BASE64_ENCODE_RAW_LENGTH(n) != len)
		fuzz_fail("an accepted secret of a wrong length");
	base64_encode_raw(again, n, key);
	if (memcmp(again, b64, len) != 0)
		fuzz_fail("an accepted secret that is not canonical base64");
	return n;
}

/* "v1," and the base64 HMAC-SHA256 of id.ts.body under key. */
static void
expected_signature(const uint8_t *key, size_t klen, const struct input *in,
                   char out[WEBHOOK_SIGNATURE_SIZE])
{
	struct hmac_sha256_ctx ctx;
	uint8_t mac[SHA256_DIGEST_SIZE];

	hmac_sha256_set_key(&ctx, klen, key);
	hmac_sha256_update(&ctx, strlen(in->id), (const uint8_t *)in->id);
	hmac_sha256_update(&ctx, 1, (const uint8_t *)".");
	hmac_sha256_update(&ctx, strlen(in->ts), (const uint8_t *)in->ts);
	hmac_sha256_update(&ctx, 1, (const uint8_t *)".");
	hmac_sha256_update(&ctx, in->len, (const uint8_t *)in->body);
	hmac_sha256_digest(&ctx, sizeof(mac), mac);
	memcpy(out, "v1,", 3);
	base64_encode_raw(out + 3, sizeof(mac), mac);
	out[3 + BASE64_ENCODE_RAW_LENGTH(sizeof(mac))] = '\0';
}

/* 1 when want is one of list's space-separated entries. */
static int
has_entry(const char *list, const char *want)
{
	size_t n = strlen(want);
	const char *p;

	for (p = list; (p = strstr(p, want)) != NULL; p++)
		if ((p == list || p[-1] == ' ') &&
		    (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

/* 1 when err says the id or timestamp, not the signature, is refused. */
static int
headers_refused(const struct fr_error *err)
{
	return strcmp(err->code, "missing_header") == 0 ||
	       strcmp(err->code, "bad_header") == 0;
}

/* With a valid secret: what signing and verifying must agree on. */
static void
check_signatures(const struct input *in, int64_t now)
{
	struct webhook_headers h = {in->id, in->ts, NULL, NULL};
	char sig[WEBHOOK_SIGNATURE_SIZE], want[WEBHOOK_SIGNATURE_SIZE];
	char both[LINE_MAX_LEN + WEBHOOK_SIGNATURE_SIZE + 2];
	uint8_t key[256];
	struct fr_error err;
	size_t klen = key_by_nettle(in->secret, key, sizeof(key));
	int rc;

	if (webhook_sign(in->secret, in->id, in->ts, in->body, in->len, sig,
	                 sizeof(sig)) != FR_OK)
		fuzz_fail("webhook_sign refused an accepted secret");
	expected_signature(key, klen, in, want);
	if (strcmp(sig, want) != 0)
		fuzz_fail("webhook_sign differs from nettle's HMAC-SHA256");
	h.signature = sig;
	rc = webhook_verify(in->secret, &h, in->body, in->len, now, &err);
	if (rc != FR_OK && !headers_refused(&err))
		fuzz_fail("its own signature did not verify");
	if (rc != FR_OK)
		return; /* the id or timestamp is refused whatever is signed */
	h.signature = in->sig;
	rc = webhook_verify(in->secret, &h, in->body, in->len, now, &err);
	if (rc == FR_OK && !has_entry(in->sig, want))
		fuzz_fail("a signature list without the signature verified");
	if (rc != FR_OK && strcmp(err.code, "bad_signature") == 0 &&
	    has_entry(in->sig, want))
		fuzz_fail("the right signature in the list did not verify");
	if (in->sig[0] == '\0' ||
	    strlen(in->sig) + 1 + strlen(sig) > WEBHOOK_MAX_SIGNATURE)
		return;
	snprintf(both, sizeof(both), "%s %s", in->sig, sig);
	h.signature = both;
	if (webhook_verify(in->secret, &h, in->body, in->len, now, &err) !=
	    FR_OK)
		fuzz_fail("the right signature after others did not verify");
}

/* The timestamp in ms when it is up to 15 digits, else 0. */
static int64_t
now_of(const char *ts)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; ts[i] != '\0'; i++) {
		if (i >= 15 || ts[i] < '0' || ts[i] > '9')
			return 0;
		v = v * 10 + (ts[i] - '0');
	}
	return v * 1000;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct input in;
	struct webhook_headers h;
	struct fr_error err;
	int64_t now;
	int rc;

	if (input_split(data, size, &in) != 0)
		return 0;
	/* Now is the timestamp when it is one, so that signatures count. */
	now = now_of(in.ts);
	h = (struct webhook_headers){in.id[0] ? in.id : NULL,
	                             in.ts[0] ? in.ts : NULL,
	                             in.sig[0] ? in.sig : NULL, "svix"};
	fr_error_clear(&err);
	rc = webhook_verify(in.secret, &h, in.body, in.len, now, &err);
	check_status(rc, &err);
	fr_error_clear(&err);
	if (webhook_secret_check(in.secret, &err) == FR_OK)
		check_signatures(&in, now);
	return 0;
}
