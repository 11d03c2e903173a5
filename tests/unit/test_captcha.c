/*
 * captcha: the vendors' answers as their documentation shows them,
 * judged (known answers), and the siteverify request body.
 */
#include <stdlib.h>
#include <string.h>

#include "captcha.h"
#include "config.h"
#include "tap.h"

static struct config cfg;

static void
setup(enum captcha_vendor v, const char *origin)
{
	struct fr_error err;
	char text[256];

	snprintf(text, sizeof(text),
	         "[http]\nallowed_origins = %s\n[antispam]\n"
	         "recaptcha_action = homepage\n",
	         origin);
	config_free(&cfg);
	if (config_parse_string(&cfg, text, strlen(text), "t", &err) != FR_OK)
		printf("# %s\n", err.message);
	cfg.spam.captcha = v;
}

static struct captcha_verdict
judge(int status, const char *body)
{
	struct captcha_verdict v;

	memset(&v, 0, sizeof(v));
	captcha_judge(&cfg, status, body, strlen(body), &v);
	return v;
}

/* Cloudflare's documented success and failure answers. */
static void
test_turnstile(void)
{
	struct captcha_verdict v;

	setup(CAPTCHA_TURNSTILE, "https://example.com");
	v = judge(200, "{\"success\":true,\"challenge_ts\":"
	               "\"2022-02-28T15:14:30.096Z\",\"hostname\":"
	               "\"example.com\",\"error-codes\":[],\"action\":"
	               "\"login\",\"cdata\":\"session_id-123456789\"}");
	is_int(v.outcome, CAPTCHA_PASS, "Turnstile success on our host: pass");
	v = judge(200, "{\"success\":false,\"hostname\":\"\","
	               "\"error-codes\":[\"invalid-input-response\"]}");
	ok(v.outcome == CAPTCHA_REFUSED && v.reason == SPAM_CAPTCHA_INVALID &&
	           strstr(v.detail, "invalid-input-response") != NULL,
	   "invalid-input-response: refused as captcha_invalid (%s)", v.detail);
	v = judge(200, "{\"success\":false,\"error-codes\":"
	               "[\"timeout-or-duplicate\"]}");
	is_int(v.reason, SPAM_CAPTCHA_INVALID,
	       "timeout-or-duplicate (reused "
	       "or expired): captcha_invalid");
	is_int(v.duplicate, 1, "and said to be already used");
	v = judge(200, "{\"success\":false,\"error-codes\":"
	               "[\"invalid-input-response\"]}");
	is_int(v.duplicate, 0, "invalid-input-response is not 'already used'");
	v = judge(200, "{\"success\":false,\"error-codes\":"
	               "[\"invalid-or-already-seen-response\"]}");
	ok(v.reason == SPAM_CAPTCHA_INVALID && v.duplicate,
	   "hCaptcha's invalid-or-already-seen-response: already used");
	v = judge(200, "{\"success\":true,\"hostname\":\"evil.example\"}");
	ok(v.outcome == CAPTCHA_REFUSED && v.reason == SPAM_CAPTCHA_HOSTNAME,
	   "another hostname: captcha_hostname");
	v = judge(200, "{\"success\":true}");
	is_int(v.reason, SPAM_CAPTCHA_HOSTNAME,
	       "no hostname while origins are set: refused");
	v = judge(200, "{\"success\":false,\"error-codes\":"
	               "[\"invalid-input-secret\"]}");
	is_int(v.outcome, CAPTCHA_UNREACHABLE,
	       "a wrong secret is ours, not the visitor's: ask again");
	v = judge(200, "{\"success\":false,\"error-codes\":"
	               "[\"internal-error\"]}");
	is_int(v.outcome, CAPTCHA_UNREACHABLE, "internal-error: ask again");
	is_int(judge(503, "").outcome, CAPTCHA_UNREACHABLE, "503: ask again");
	is_int(judge(0, "").outcome, CAPTCHA_UNREACHABLE, "no answer");
	is_int(judge(200, "<html>").outcome, CAPTCHA_UNREACHABLE,
	       "not JSON: ask again");
	is_int(judge(200, "{\"hostname\":\"example.com\"}").outcome,
	       CAPTCHA_UNREACHABLE, "no success member: ask again");
	is_int(judge(200, "[true]").outcome, CAPTCHA_UNREACHABLE,
	       "not an object");
	setup(CAPTCHA_TURNSTILE, "http://localhost:3000");
	is_int(judge(200, "{\"success\":true,\"hostname\":\"localhost\"}")
	               .outcome,
	       CAPTCHA_PASS, "an origin's port is not part of the hostname");
}

/* Google's documented v3 answer: success, score, action, hostname. */
static void
test_recaptcha(void)
{
	struct captcha_verdict v;

	setup(CAPTCHA_RECAPTCHA, "https://www.example.com");
	v = judge(200, "{\"success\":true,\"score\":0.9,\"action\":"
	               "\"homepage\",\"challenge_ts\":\"2026-01-01T00:00:00Z\","
	               "\"hostname\":\"www.example.com\"}");
	is_int(v.outcome, CAPTCHA_PASS, "v3: good score, expected action");
	v = judge(200, "{\"success\":true,\"score\":0.3,\"action\":"
	               "\"homepage\",\"hostname\":\"www.example.com\"}");
	ok(v.reason == SPAM_CAPTCHA_SCORE && strstr(v.detail, "0.30"),
	   "v3: score 0.3 under 0.5: captcha_score (%s)", v.detail);
	v = judge(200, "{\"success\":true,\"score\":0.5,\"action\":"
	               "\"homepage\",\"hostname\":\"www.example.com\"}");
	is_int(v.outcome, CAPTCHA_PASS, "v3: exactly the minimum passes");
	v = judge(200, "{\"success\":true,\"score\":0.9,\"action\":\"login\","
	               "\"hostname\":\"www.example.com\"}");
	is_int(v.reason, SPAM_CAPTCHA_ACTION, "v3: another action refused");
	v = judge(200, "{\"success\":true,\"challenge_ts\":"
	               "\"2026-01-01T00:00:00Z\",\"hostname\":"
	               "\"www.example.com\"}");
	is_int(v.outcome, CAPTCHA_PASS, "v2: no score, no action: pass");
}

static void
test_body(void)
{
	char *body = NULL;
	size_t len = 0;

	captcha_request_body("0x4AA&secret", "P1_ey+J/=", "2001:db8::1", &body,
	                     &len);
	is_str(body,
	       "secret=0x4AA%26secret&response=P1_ey%2BJ%2F%3D"
	       "&remoteip=2001%3Adb8%3A%3A1",
	       "secret, response and remoteip, form-urlencoded");
	is_int(len, strlen(body), "its length");
	free(body);
	captcha_request_body("s", "t", "", &body, &len);
	is_str(body, "secret=s&response=t", "no remoteip when unknown");
	free(body);
}

static void
test_defaults(void)
{
	struct antispam_config as = {0};
	char url[] = "http://127.0.0.1:9/sv";

	as.captcha = CAPTCHA_TURNSTILE;
	is_str(captcha_verify_url(&as),
	       "https://challenges.cloudflare.com/turnstile/v0/siteverify",
	       "Turnstile's siteverify");
	is_int(captcha_retry_for_ms(&as), 300000, "Turnstile tokens: 300 s");
	as.captcha = CAPTCHA_HCAPTCHA;
	is_str(captcha_verify_url(&as), "https://api.hcaptcha.com/siteverify",
	       "hCaptcha's siteverify");
	as.captcha = CAPTCHA_RECAPTCHA;
	is_str(captcha_verify_url(&as),
	       "https://www.google.com/recaptcha/api/siteverify",
	       "reCAPTCHA's siteverify");
	is_int(captcha_retry_for_ms(&as), 120000, "reCAPTCHA tokens: 2 min");
	as.captcha_retry_for_ms = 5000;
	is_int(captcha_retry_for_ms(&as), 5000, "captcha_retry_for wins");
	as.captcha_verify_url = url;
	is_str(captcha_verify_url(&as), "http://127.0.0.1:9/sv",
	       "captcha_verify_url wins");
}

int
main(void)
{
	test_turnstile();
	test_recaptcha();
	test_body();
	test_defaults();
	config_free(&cfg);
	return done_testing();
}
