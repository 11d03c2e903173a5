/*
 * libFuzzer target: judging a CAPTCHA vendor's siteverify answer (the
 * network's bytes, read by formrelay-deliver).  The first byte picks the
 * vendor and the HTTP status class; the rest is the body.  Invariants:
 * a verdict is one of the three outcomes, a refusal names a CAPTCHA
 * reason, and the detail is a NUL-terminated string of its buffer.
 */
#include "fuzz_common.h"

#include "captcha.h"
#include "config.h"

static struct config cfg;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int statuses[] = {200, 200, 200, 204, 400, 503, 0, 302};
	struct captcha_verdict v;
	struct fr_error err;

	if (cfg.api_base == NULL) {
		static const char text[] =
		        "[http]\nallowed_origins = https://www.example.com\n"
		        "[antispam]\nrecaptcha_action = signup\n";
		if (config_parse_string(&cfg, text, sizeof(text) - 1, "fuzz",
		                        &err) != FR_OK)
			fuzz_fail("configuration");
	}
	if (size == 0)
		return 0;
	cfg.spam.captcha = (enum captcha_vendor)(1 + data[0] % 3);
	memset(&v, 0xa5, sizeof(v));
	captcha_judge(&cfg, statuses[(data[0] >> 2) & 7],
	              (const char *)data + 1, size - 1, &v);
	if (v.outcome != CAPTCHA_PASS && v.outcome != CAPTCHA_REFUSED &&
	    v.outcome != CAPTCHA_UNREACHABLE)
		fuzz_fail("no outcome");
	if (v.outcome == CAPTCHA_REFUSED &&
	    (v.reason < SPAM_CAPTCHA_INVALID || v.reason >= SPAM_REASONS))
		fuzz_fail("a refusal without a CAPTCHA reason");
	if (memchr(v.detail, '\0', sizeof(v.detail)) == NULL)
		fuzz_fail("detail not terminated");
	return 0;
}
