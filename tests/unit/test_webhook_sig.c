/*
 * Unit tests for webhook_sig: Typeform, Tally, Webflow and generic HMAC
 * signature headers.
 *
 * Known answers: RFC 4231 test case 2 (HMAC-SHA-256 and -512) and RFC
 * 2202 test case 2 (HMAC-SHA-1) for the algorithms; for each platform,
 * what tests/webhooks/sign.mjs produced by the platform's own code
 * (webflow-api's webhooks.verifySignature accepted the Webflow one;
 * Typeform's and Tally's documented Node examples made theirs).
 */
#include <stdlib.h>

#include "tap.h"
#include "webhook_sig.h"

static struct fr_error err;

#define TF_SECRET "formrelay-typeform-secret"
#define TF_BODY   "{\"event_id\":\"01HXYZ\",\"event_type\":\"form_response\"}"
#define TF_SIG    "sha256=s47lyQ3DMWnQysuQM65Uy4RKIuvx6K5roJh29uEaNJ8="

#define TALLY_SECRET "formrelay-tally-secret"
#define TALLY_BODY   "{\"eventId\":\"a4cb511e\",\"eventType\":\"FORM_RESPONSE\"}"
#define TALLY_SIG    "EHIvBkC9OD7epe7SQYgTKXl3lFvqghfDJhF6HPOdsDY="

#define WF_SECRET "formrelay-webflow-secret"
#define WF_BODY   "{\"triggerType\":\"form_submission\"}"
#define WF_TS     "1663849649000"
#define WF_SIG                                                                 \
	"d10a204ff96f28d20fcef54ce2d759e75d4d8eb8db9ddca5c29f54e724f2b56e"
#define WF_NOW 1663849649000LL

/* Webflow's own example (developers.webflow.com "Verifying Requests",
 * https://developers.webflow.com/data/v1.0.0/docs/verifying-webhook-
 * signatures and https://docs.developers.webflow.com/data/reference/
 * request-signatures, looked up 2026-12-07): the request headers
 * "[X-Webflow-Timestamp, 1663849649733]" and "[X-Webflow-Signature,
 * db37faac...]", then Node code that signs Number(timestamp) + ":" +
 * JSON.stringify(body) with the app's client secret.  The page gives
 * neither the body nor the secret, so its signature cannot be
 * reproduced: no known answer there.  The answer above (WF_SIG) is
 * what webflow-api's own webhooks.verifySignature accepted. */
#define WF_DOC_TS "1663849649733"
#define WF_DOC_SIG                                                             \
	"db37faac5680c551e1860d6cf88c261565c25bdf0c8275d5d71f24ee079bb7ca"

#define JEFE_DATA "what do ya want for nothing?"

static struct config_hook hook;
static char cgi[SIG_CGI_SIZE], ts_cgi[SIG_CGI_SIZE];

static const struct sig_scheme *
scheme(enum hook_platform p)
{
	static struct sig_scheme s;

	hook.platform = p;
	if (sig_scheme_for(&hook, &s, cgi, ts_cgi) != 0)
		return NULL;
	return &s;
}

static int
verify1(const struct sig_scheme *s, const char *secret, const char *sig,
        const char *ts, const char *body, int64_t now)
{
	char *secrets[1];

	secrets[0] = (char *)secret;
	fr_error_clear(&err);
	return sig_verify(s, sig, ts, secrets, 1, body, strlen(body), now,
	                  &err);
}

static void
test_typeform(void)
{
	const struct sig_scheme *s = scheme(HOOK_TYPEFORM);
	char out[256];

	is_str(cgi, "HTTP_TYPEFORM_SIGNATURE", "Typeform: its CGI header");
	is_int(verify1(s, TF_SECRET, TF_SIG, NULL, TF_BODY, 0), FR_OK,
	       "Typeform: the documented scheme's signature verifies");
	is_int(sig_sign(s, TF_SECRET, NULL, TF_BODY, strlen(TF_BODY), out,
	                sizeof(out)),
	       0, "Typeform: sign");
	is_str(out, TF_SIG, "Typeform: sign gives the same answer");
	is_int(verify1(s, TF_SECRET, TF_SIG, NULL,
	               "{\"event_id\":\"01HXYZ\",\"event_type\":\"x\"}", 0),
	       FR_EFORBIDDEN, "Typeform: another body is refused");
	is_str(err.code, "bad_signature", "... as bad_signature");
	is_int(verify1(s, TF_SECRET, TF_SIG + 7, NULL, TF_BODY, 0),
	       FR_EFORBIDDEN, "Typeform: without sha256= refused");
	is_int(verify1(s, "another", TF_SIG, NULL, TF_BODY, 0), FR_EFORBIDDEN,
	       "Typeform: another secret refused");
	is_int(verify1(s, TF_SECRET, NULL, NULL, TF_BODY, 0), FR_EFORBIDDEN,
	       "Typeform: no header refused");
	is_str(err.code, "missing_signature", "... as missing_signature");
}

/* Webflow's documented headers are of the form the scheme reads. */
static void
test_webflow_docs(void)
{
	const struct sig_scheme *s = scheme(HOOK_WEBFLOW);
	unsigned char mac[32];
	int64_t ms = 0;

	is_int(sig_timestamp_ms(s, WF_DOC_TS, &ms), 0,
	       "Webflow docs: their timestamp header parses");
	is_int(ms, 1663849649733LL, "... as Unix milliseconds");
	is_int(sig_decode_entry(s, WF_DOC_SIG, strlen(WF_DOC_SIG), sizeof(mac),
	                        mac),
	       0, "Webflow docs: their signature is a 32-byte hex HMAC");
	ok(mac[0] == 0xdb && mac[31] == 0xca, "... decoded whole");
	is_int(verify1(s, WF_SECRET, WF_DOC_SIG, WF_DOC_TS, WF_BODY,
	               1663849649733LL + 1000),
	       FR_EFORBIDDEN,
	       "Webflow docs: their headers, a body and secret of ours");
	is_str(err.code, "bad_signature",
	       "... are checked as a signature (not a bad_header)");
	is_int(verify1(s, WF_SECRET, WF_DOC_SIG, WF_DOC_TS, WF_BODY,
	               1663849649733LL + 10 * 60 * 1000),
	       FR_EFORBIDDEN, "Webflow docs: ten minutes later");
	is_str(err.code, "stale_timestamp",
	       "... stale, as the docs' 5-minute rule says");
}

static void
test_tally(void)
{
	const struct sig_scheme *s = scheme(HOOK_TALLY);

	is_str(cgi, "HTTP_TALLY_SIGNATURE", "Tally: its CGI header");
	is_int(verify1(s, TALLY_SECRET, TALLY_SIG, NULL, TALLY_BODY, 0), FR_OK,
	       "Tally: the documented scheme's signature verifies");
	is_int(verify1(s, TALLY_SECRET,
	               "EHIvBkC9OD7epe7SQYgTKXl3lFvqghfDJhF6HPOdsDY", NULL,
	               TALLY_BODY, 0),
	       FR_EFORBIDDEN, "Tally: unpadded base64 refused");
	is_int(verify1(s, TALLY_SECRET,
	               "EHIvBkC9OD7epe7SQYgTKXl3lFvqghfDJhF6HPOdsDZ=", NULL,
	               TALLY_BODY, 0),
	       FR_EFORBIDDEN, "Tally: non-canonical base64 refused");
	is_int(verify1(s, TALLY_SECRET, "x " TALLY_SIG, NULL, TALLY_BODY, 0),
	       FR_OK, "Tally: one good entry in a list passes");
}

static void
test_webflow(void)
{
	const struct sig_scheme *s = scheme(HOOK_WEBFLOW);

	is_str(cgi, "HTTP_X_WEBFLOW_SIGNATURE", "Webflow: signature header");
	is_str(ts_cgi, "HTTP_X_WEBFLOW_TIMESTAMP", "Webflow: timestamp header");
	is_int(verify1(s, WF_SECRET, WF_SIG, WF_TS, WF_BODY, WF_NOW), FR_OK,
	       "Webflow: webflow-api's accepted signature verifies");
	is_int(verify1(s, WF_SECRET,
	               "D10A204FF96F28D20FCEF54CE2D759E75D4D8EB8DB9DDCA5C29F54E"
	               "724F2B56E",
	               WF_TS, WF_BODY, WF_NOW),
	       FR_OK, "Webflow: upper-case hex too");
	is_int(verify1(s, WF_SECRET, WF_SIG, WF_TS, WF_BODY,
	               WF_NOW + 5 * 60 * 1000),
	       FR_OK, "Webflow: 5 minutes old passes");
	is_int(verify1(s, WF_SECRET, WF_SIG, WF_TS, WF_BODY,
	               WF_NOW + 5 * 60 * 1000 + 1),
	       FR_EFORBIDDEN, "Webflow: older than 5 minutes refused");
	is_str(err.code, "stale_timestamp", "... as stale_timestamp");
	is_int(verify1(s, WF_SECRET, WF_SIG, WF_TS, WF_BODY,
	               WF_NOW - 5 * 60 * 1000 - 1),
	       FR_EFORBIDDEN, "Webflow: over 5 minutes ahead refused");
	is_int(verify1(s, WF_SECRET, WF_SIG, "1663849649001", WF_BODY, WF_NOW),
	       FR_EFORBIDDEN, "Webflow: the timestamp is signed too");
	is_str(err.code, "bad_signature", "... as bad_signature");
	is_int(verify1(s, WF_SECRET, WF_SIG, NULL, WF_BODY, WF_NOW),
	       FR_EFORBIDDEN, "Webflow: no timestamp refused");
	is_str(err.code, "missing_signature", "... as missing_signature");
	is_int(verify1(s, WF_SECRET, WF_SIG, "16638496490x0", WF_BODY, WF_NOW),
	       FR_EFORBIDDEN, "Webflow: a timestamp not in digits refused");
	is_str(err.code, "bad_header", "... as bad_header");
}

static void
set_hmac(const char *header, enum hook_algorithm alg, enum hook_encoding enc,
         const char *prefix, const char *ts_header, const char *sep)
{
	hook.header = (char *)header;
	hook.algorithm = alg;
	hook.encoding = enc;
	hook.prefix = (char *)prefix;
	hook.timestamp_header = (char *)ts_header;
	hook.separator = (char *)sep;
}

static void
test_hmac_algorithms(void)
{
	const struct sig_scheme *s;

	set_hmac("X-Hub-Signature-256", HOOK_SHA256, HOOK_HEX, "sha256=", NULL,
	         NULL);
	s = scheme(HOOK_HMAC);
	is_str(cgi, "HTTP_X_HUB_SIGNATURE_256", "hmac: the header's CGI name");
	is_int(verify1(s, "Jefe",
	               "sha256=5bdcc146bf60754e6a042426089575c75a003f089d27398"
	               "39dec58b964ec3843",
	               NULL, JEFE_DATA, 0),
	       FR_OK, "hmac sha256 hex: RFC 4231 case 2");
	set_hmac("X-Sig", HOOK_SHA512, HOOK_HEX, NULL, NULL, NULL);
	s = scheme(HOOK_HMAC);
	is_int(verify1(s, "Jefe",
	               "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270c"
	               "d7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a"
	               "6b4b636e070a38bce737",
	               NULL, JEFE_DATA, 0),
	       FR_OK, "hmac sha512 hex: RFC 4231 case 2");
	set_hmac("X-Sig", HOOK_SHA1, HOOK_HEX, "sha1=", NULL, NULL);
	s = scheme(HOOK_HMAC);
	is_int(verify1(s, "Jefe",
	               "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", NULL,
	               JEFE_DATA, 0),
	       FR_OK, "hmac sha1 hex: RFC 2202 case 2");
	set_hmac("X-Shopify-Hmac-Sha256", HOOK_SHA256, HOOK_BASE64, NULL, NULL,
	         NULL);
	s = scheme(HOOK_HMAC);
	is_int(verify1(s, "Jefe",
	               "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=", NULL,
	               JEFE_DATA, 0),
	       FR_OK, "hmac sha256 base64: RFC 4231 case 2");
	is_int(verify1(s, "Jefe",
	               "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=", NULL,
	               JEFE_DATA "!", 0),
	       FR_EFORBIDDEN, "hmac: another body refused");
}

static void
test_hmac_timestamp(void)
{
	const struct sig_scheme *s;
	char sig[256];

	set_hmac("X-Signature", HOOK_SHA256, HOOK_HEX, "v0=", "X-Timestamp",
	         ":");
	s = scheme(HOOK_HMAC);
	is_int(sig_sign(s, "k", "1700000000", "{}", 2, sig, sizeof(sig)), 0,
	       "hmac with timestamp: sign");
	is_int(verify1(s, "k", sig, "1700000000", "{}", 1700000000000LL), FR_OK,
	       "hmac with a timestamp in seconds verifies");
	is_int(verify1(s, "k", sig, "1700000000", "{}", 1700000301000LL),
	       FR_EFORBIDDEN, "hmac: 301 s old refused");
	is_str(err.code, "stale_timestamp", "... as stale_timestamp");
	is_int(verify1(s, "k", sig, "1700000001", "{}", 1700000000000LL),
	       FR_EFORBIDDEN, "hmac: the timestamp is signed");
	is_int(sig_sign(s, "k", "1700000000000", "{}", 2, sig, sizeof(sig)), 0,
	       "hmac with a timestamp in ms: sign");
	is_int(verify1(s, "k", sig, "1700000000000", "{}", 1700000000000LL),
	       FR_OK, "hmac with a timestamp in milliseconds verifies");
}

static void
test_rotation(void)
{
	const struct sig_scheme *s = scheme(HOOK_TYPEFORM);
	char *secrets[2] = {(char *)"the-new-one", (char *)TF_SECRET};

	fr_error_clear(&err);
	is_int(sig_verify(s, TF_SIG, NULL, secrets, 2, TF_BODY, strlen(TF_BODY),
	                  0, &err),
	       FR_OK, "rotation: the old secret still verifies");
	is_int(sig_verify(s, TF_SIG, NULL, secrets, 1, TF_BODY, strlen(TF_BODY),
	                  0, &err),
	       FR_EFORBIDDEN, "rotation: without it, refused");
}

static void
test_decode(void)
{
	const struct sig_scheme *s = scheme(HOOK_TALLY);
	unsigned char mac[SIG_MAX_MAC];
	char big[SIG_MAX_HEADER + 2];

	is_int(sig_decode_entry(s, TALLY_SIG, strlen(TALLY_SIG), 32, mac), 0,
	       "decode: base64 of 32 bytes");
	is_int(sig_decode_entry(s, TALLY_SIG, strlen(TALLY_SIG) - 1, 32, mac),
	       -1, "decode: a cut value refused");
	is_int(sig_decode_entry(s, "", 0, 32, mac), -1, "decode: empty");
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	is_int(verify1(s, TALLY_SECRET, big, NULL, TALLY_BODY, 0),
	       FR_EFORBIDDEN, "verify: a header over 4096 bytes refused");
	is_str(err.code, "bad_header", "... as bad_header");
	is_int(sig_cgi_name("x-very-long", cgi, 8), -1,
	       "cgi name: too long for the buffer");
}

int
main(void)
{
	test_typeform();
	test_tally();
	test_webflow();
	test_webflow_docs();
	test_hmac_algorithms();
	test_hmac_timestamp();
	test_rotation();
	test_decode();
	return done_testing();
}
