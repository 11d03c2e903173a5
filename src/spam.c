/* Spam outcomes and the request path's address check. */
#include <string.h>

#include "domainlist.h"
#include "spam.h"

static const char *const reason_names[SPAM_REASONS] = {
        [SPAM_HONEYPOT] = "honeypot",
        [SPAM_DISPOSABLE] = "disposable_email",
        [SPAM_DOUBLE_SUBMIT] = "double_submit",
        [SPAM_CAPTCHA_MISSING] = "captcha_missing",
        [SPAM_CAPTCHA_INVALID] = "captcha_invalid",
        [SPAM_CAPTCHA_SCORE] = "captcha_score",
        [SPAM_CAPTCHA_ACTION] = "captcha_action",
        [SPAM_CAPTCHA_HOSTNAME] = "captcha_hostname",
        [SPAM_CAPTCHA_UNREACHABLE] = "captcha_unreachable",
};

const char *
spam_reason_name(enum spam_reason r)
{
	return (unsigned)r < SPAM_REASONS ? reason_names[r] : "other";
}

int
spam_check_email(const struct config *cfg, const struct domain_list *list,
                 const char *email, enum spam_reason *reason,
                 struct fr_error *err)
{
	const char *at = email ? strrchr(email, '@') : NULL;

	if (!cfg->spam.disposable_domains || list == NULL || at == NULL ||
	    !domain_list_match(list, at + 1))
		return FR_OK;
	*reason = SPAM_DISPOSABLE;
	return fr_fail(err, FR_EINVALID, "disposable_email", "email",
	               "addresses at %.100s are disposable and not accepted; "
	               "please use an address you keep",
	               at + 1);
}
