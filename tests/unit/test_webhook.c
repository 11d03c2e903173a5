/* Unit tests for webhook: Standard Webhooks / Svix signatures. */
#include <stdlib.h>

#include "tap.h"
#include "webhook.h"

/*
 * The known answer from the Standard Webhooks reference libraries
 * (libraries/javascript/src/webhook.test.ts, "sign function works") and
 * Svix's "How to Verify" page; tests/sign_webhook.py checks the same.
 */
#define KAT_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define KAT_ID     "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define KAT_TS     "1614265330"
#define KAT_BODY   "{\"test\": 2432232314}"
#define KAT_B64    "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define KAT_SIG    "v1," KAT_B64
#define KAT_NOW    1614265330000LL

#define OTHER_SECRET "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXk="

static struct fr_error err;

/* Verify the KAT body with the given signature header at now. */
static int
verify(const char *secret, const char *id, const char *ts, const char *sig,
       const char *body, int64_t now)
{
	struct webhook_headers h = {id, ts, sig, NULL};

	fr_error_clear(&err);
	return webhook_verify(secret, &h, body, strlen(body), now, &err);
}

static int
kat(const char *sig)
{
	return verify(KAT_SECRET, KAT_ID, KAT_TS, sig, KAT_BODY, KAT_NOW);
}

static void
test_known_answer(void)
{
	char out[WEBHOOK_SIGNATURE_SIZE];

	is_int(webhook_sign(KAT_SECRET, KAT_ID, KAT_TS, KAT_BODY,
	                    strlen(KAT_BODY), out, sizeof(out)),
	       FR_OK, "sign the spec vector");
	is_str(out, KAT_SIG, "signature matches the spec vector");
	is_int(kat(KAT_SIG), FR_OK, "spec vector verifies");
	is_int(verify("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", KAT_ID, KAT_TS,
	              KAT_SIG, KAT_BODY, KAT_NOW),
	       FR_OK, "secret without the whsec_ prefix");
	is_int(verify(KAT_SECRET "\n", KAT_ID, KAT_TS, KAT_SIG, KAT_BODY,
	              KAT_NOW),
	       FR_OK, "secret with a trailing newline (read from a file)");
	is_int(webhook_sign(KAT_SECRET, KAT_ID, KAT_TS, KAT_BODY,
	                    strlen(KAT_BODY), out, WEBHOOK_SIGNATURE_SIZE - 1),
	       FR_ETOOLARGE, "sign refuses a short buffer");
}

static void
test_rotation_and_tampering(void)
{
	is_int(kat("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "
	           "v2," KAT_B64 " v1a," KAT_B64),
	       FR_EFORBIDDEN, "right MAC under v2/v1a labels is not v1");
	is_int(kat("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "
	           "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/"
	           "enGzPCXe5Bdq== " KAT_SIG
	           " v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="),
	       FR_OK, "rotation: one of several matches");
	is_int(kat("v1,bad  " KAT_SIG), FR_OK, "double space tolerated");
	is_int(verify(KAT_SECRET, KAT_ID, KAT_TS, KAT_SIG,
	              "{\"test\": 2432232315}", KAT_NOW),
	       FR_EFORBIDDEN, "tampered body refused");
	is_str(err.code, "bad_signature", "... as bad_signature");
	ok(strstr(err.message, "webhook-signature") != NULL,
	   "... message names webhook-signature: %s", err.message);
	ok(strstr(err.message, "MfKQ9r8") == NULL, "... never the secret");
	is_int(verify(KAT_SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJeK", KAT_TS,
	              KAT_SIG, KAT_BODY, KAT_NOW),
	       FR_EFORBIDDEN, "tampered id refused");
	is_int(verify(KAT_SECRET, KAT_ID, "1614265331", KAT_SIG, KAT_BODY,
	              KAT_NOW),
	       FR_EFORBIDDEN, "tampered timestamp refused");
	is_int(verify(OTHER_SECRET, KAT_ID, KAT_TS, KAT_SIG, KAT_BODY, KAT_NOW),
	       FR_EFORBIDDEN, "wrong secret refused");
	is_str(err.code, "bad_signature", "... as bad_signature");
}

static void
test_body_bytes(void)
{
	static const char body[] = "a\0b";
	char sig[WEBHOOK_SIGNATURE_SIZE];
	struct webhook_headers h = {KAT_ID, KAT_TS, sig, NULL};

	webhook_sign(KAT_SECRET, KAT_ID, KAT_TS, body, 3, sig, sizeof(sig));
	is_int(webhook_verify(KAT_SECRET, &h, body, 3, KAT_NOW, &err), FR_OK,
	       "body with a NUL byte: all len bytes signed");
	is_int(webhook_verify(KAT_SECRET, &h, body, 1, KAT_NOW, &err),
	       FR_EFORBIDDEN, "... and a truncated body refused");
	webhook_sign(KAT_SECRET, KAT_ID, KAT_TS, NULL, 0, sig, sizeof(sig));
	is_int(webhook_verify(KAT_SECRET, &h, NULL, 0, KAT_NOW, &err), FR_OK,
	       "empty body signs and verifies");
}

static void
test_timestamps(void)
{
	int64_t tol = WEBHOOK_TOLERANCE_MS;

	is_int(verify(KAT_SECRET, KAT_ID, KAT_TS, KAT_SIG, KAT_BODY,
	              KAT_NOW + tol),
	       FR_OK, "exactly 5 minutes old passes");
	is_int(verify(KAT_SECRET, KAT_ID, KAT_TS, KAT_SIG, KAT_BODY,
	              KAT_NOW + tol + 1000),
	       FR_EFORBIDDEN, "5 min 1 s old refused");
	is_str(err.code, "stale_timestamp", "... as stale_timestamp");
	ok(strstr(err.message, "301 s old") != NULL, "... saying how old: %s",
	   err.message);
	is_int(verify(KAT_SECRET, KAT_ID, KAT_TS, KAT_SIG, KAT_BODY,
	              KAT_NOW - tol),
	       FR_OK, "5 minutes ahead passes");
	is_int(verify(KAT_SECRET, KAT_ID, KAT_TS, KAT_SIG, KAT_BODY,
	              KAT_NOW - tol - 1000),
	       FR_EFORBIDDEN, "5 min 1 s in the future refused");
	is_str(err.code, "stale_timestamp", "... as stale_timestamp");
	ok(strstr(err.message, "future") != NULL, "... saying future: %s",
	   err.message);
	is_int(verify(KAT_SECRET, KAT_ID, "1614265330.5", KAT_SIG, KAT_BODY,
	              KAT_NOW),
	       FR_EFORBIDDEN, "fractional timestamp refused");
	is_str(err.code, "bad_header", "... as bad_header");
	is_int(verify(KAT_SECRET, KAT_ID, "hello", KAT_SIG, KAT_BODY, KAT_NOW),
	       FR_EFORBIDDEN, "word timestamp refused");
	is_int(verify(KAT_SECRET, KAT_ID, "-1614265330", KAT_SIG, KAT_BODY,
	              KAT_NOW),
	       FR_EFORBIDDEN, "negative timestamp refused");
	is_int(verify(KAT_SECRET, KAT_ID, "0000001614265330", KAT_SIG, KAT_BODY,
	              KAT_NOW),
	       FR_EFORBIDDEN, "16-digit timestamp refused");
	is_str(err.code, "bad_header", "... as bad_header");
}

static void
test_missing(void)
{
	struct webhook_headers h = {NULL, NULL, NULL, NULL};

	ok(!webhook_present(&h), "no headers: not present");
	h.timestamp = KAT_TS;
	ok(webhook_present(&h), "one header: present");
	is_int(verify(KAT_SECRET, NULL, KAT_TS, KAT_SIG, KAT_BODY, KAT_NOW),
	       FR_EFORBIDDEN, "missing id refused");
	is_str(err.code, "missing_header", "... as missing_header");
	ok(strstr(err.message, "webhook-id") != NULL, "... naming it: %s",
	   err.message);
	is_int(verify(KAT_SECRET, KAT_ID, NULL, KAT_SIG, KAT_BODY, KAT_NOW),
	       FR_EFORBIDDEN, "missing timestamp refused");
	ok(strstr(err.message, "webhook-timestamp") != NULL,
	   "... naming it: %s", err.message);
	is_int(verify(KAT_SECRET, KAT_ID, KAT_TS, NULL, KAT_BODY, KAT_NOW),
	       FR_EFORBIDDEN, "missing signature refused");
	ok(strstr(err.message, "webhook-signature") != NULL,
	   "... naming it: %s", err.message);
	is_int(verify(KAT_SECRET, KAT_ID, KAT_TS, "", KAT_BODY, KAT_NOW),
	       FR_EFORBIDDEN, "empty signature refused");
	is_str(err.code, "missing_header", "... as missing_header");
}

/* A CGI environment of name=value strings for webhook_headers_get. */
static const char *
env_get(const char *name, void *ctx)
{
	const char **env = ctx;
	size_t n = strlen(name);

	for (; *env != NULL; env++)
		if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static void
test_svix_twins(void)
{
	const char *svix[] = {"HTTP_SVIX_ID=" KAT_ID,
	                      "HTTP_SVIX_TIMESTAMP=" KAT_TS,
	                      "HTTP_SVIX_SIGNATURE=" KAT_SIG, NULL};
	const char *mixed[] = {"HTTP_WEBHOOK_ID=" KAT_ID,
	                       "HTTP_SVIX_TIMESTAMP=" KAT_TS,
	                       "HTTP_SVIX_SIGNATURE=" KAT_SIG, NULL};
	const char *none[] = {"HTTP_HOST=x", NULL};
	struct webhook_headers h;

	webhook_headers_get(&h, env_get, svix);
	is_str(h.id, KAT_ID, "svix-id read");
	is_str(h.prefix, "svix", "svix set chosen");
	is_int(webhook_verify(KAT_SECRET, &h, KAT_BODY, strlen(KAT_BODY),
	                      KAT_NOW, &err),
	       FR_OK, "svix- twins verify");
	webhook_headers_get(&h, env_get, mixed);
	is_str(h.prefix, "webhook", "any webhook- header picks that set");
	is_int(webhook_verify(KAT_SECRET, &h, KAT_BODY, strlen(KAT_BODY),
	                      KAT_NOW, &err),
	       FR_EFORBIDDEN, "sets are not mixed");
	ok(strstr(err.message, "webhook-timestamp") != NULL,
	   "... the missing one named: %s", err.message);
	webhook_headers_get(&h, env_get, svix);
	h.signature = NULL;
	webhook_verify(KAT_SECRET, &h, KAT_BODY, strlen(KAT_BODY), KAT_NOW,
	               &err);
	ok(strstr(err.message, "svix-signature") != NULL,
	   "svix header named as such: %s", err.message);
	webhook_headers_get(&h, env_get, none);
	ok(!webhook_present(&h), "no headers in the environment");
}

static void
test_malformed_signatures(void)
{
	is_int(kat("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE"),
	       FR_EFORBIDDEN, "unpadded base64 refused");
	is_int(kat("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF="),
	       FR_EFORBIDDEN, "non-canonical final bits refused");
	is_int(kat("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=="),
	       FR_EFORBIDDEN, "extra padding refused");
	is_int(kat("v1,g0hM9SsE+OTPJTGt/tmIKtSy\nZlE3uFJELVlNIOLJ1OE="),
	       FR_EFORBIDDEN, "embedded newline refused");
	is_int(kat("v1,g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE="),
	       FR_EFORBIDDEN, "base64url alphabet refused");
	is_int(kat("v1,dawfeoifkpqwoekfpqoekf"), FR_EFORBIDDEN,
	       "short garbage refused");
	is_int(kat("v1,g0hM9SsE"), FR_EFORBIDDEN, "truncated refused");
	is_int(kat("v1,"), FR_EFORBIDDEN, "empty v1 refused");
	is_int(kat("v1"), FR_EFORBIDDEN, "bare version refused");
	is_int(kat("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
	       FR_EFORBIDDEN, "no version refused");
	is_int(kat("V1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
	       FR_EFORBIDDEN, "version is case-sensitive");
	is_int(kat("v1,===="), FR_EFORBIDDEN, "all padding refused");
}

static void
test_overlong(void)
{
	char *big = malloc(WEBHOOK_MAX_SIGNATURE + 2);

	memset(big, 'A', WEBHOOK_MAX_SIGNATURE + 1);
	big[WEBHOOK_MAX_SIGNATURE + 1] = '\0';
	is_int(verify(KAT_SECRET, big, KAT_TS, KAT_SIG, KAT_BODY, KAT_NOW),
	       FR_EFORBIDDEN, "overlong id refused");
	is_str(err.code, "bad_header", "... as bad_header");
	big[WEBHOOK_MAX_ID] = '\0';
	is_int(verify(KAT_SECRET, big, KAT_TS, KAT_SIG, KAT_BODY, KAT_NOW),
	       FR_EFORBIDDEN,
	       "a 256-character id is checked (not refused "
	       "as too long)");
	is_str(err.code, "bad_signature", "... failing only the signature");
	big[WEBHOOK_MAX_ID] = 'A';
	memcpy(big, KAT_SIG " ", strlen(KAT_SIG) + 1);
	is_int(kat(big), FR_EFORBIDDEN, "overlong signature list refused");
	is_str(err.code, "bad_header", "... as bad_header");
	big[WEBHOOK_MAX_SIGNATURE] = '\0';
	is_int(kat(big), FR_OK, "4096-byte signature list is read");
	is_int(verify(KAT_SECRET, "msg.1", KAT_TS, KAT_SIG, KAT_BODY, KAT_NOW),
	       FR_EFORBIDDEN, "id with '.' refused");
	is_int(verify(KAT_SECRET, "msg 1", KAT_TS, KAT_SIG, KAT_BODY, KAT_NOW),
	       FR_EFORBIDDEN, "id with a space refused");
	is_str(err.code, "bad_header", "... as bad_header");
	free(big);
}

static void
test_secrets(void)
{
	is_int(webhook_secret_check(KAT_SECRET, &err), FR_OK, "KAT secret ok");
	is_int(webhook_secret_check(NULL, &err), FR_ECONFIG, "NULL secret");
	is_int(webhook_secret_check("whsec_", &err), FR_ECONFIG,
	       "empty secret");
	is_int(webhook_secret_check("whsec_!!!!", &err), FR_ECONFIG,
	       "non-base64 secret");
	is_int(webhook_secret_check("whsec_AAAA", &err), FR_ECONFIG,
	       "3-byte secret too short");
	ok(strstr(err.message, "3 bytes") != NULL, "... saying so: %s",
	   err.message);
	is_int(verify("whsec_!!!!", KAT_ID, KAT_TS, KAT_SIG, KAT_BODY, KAT_NOW),
	       FR_ECONFIG, "verify with a malformed secret: FR_ECONFIG");
	is_str(err.code, "bad_secret", "... as bad_secret");
}

int
main(void)
{
	test_known_answer();
	test_rotation_and_tampering();
	test_body_bytes();
	test_timestamps();
	test_missing();
	test_svix_twins();
	test_malformed_signatures();
	test_overlong();
	test_secrets();
	return done_testing();
}
