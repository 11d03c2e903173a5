/*
 * Spam outcomes (SPEC "Spam", [antispam]): why a submission was refused
 * or not forwarded, as counted in formrelay_spam_total{reason=…} and
 * shown by `formrelay status`, and the request path's own check of the
 * submitter's address.  CAPTCHA tokens are verified by
 * formrelay-deliver (captcha.h), not here: the request path stays free
 * of libcurl and of the vendor's latency.
 */
#ifndef FORMRELAY_SPAM_H
#define FORMRELAY_SPAM_H

#include "config.h"
#include "error.h"

struct domain_list;
struct json_object;
struct submission;

enum spam_reason {
	SPAM_HONEYPOT = 0,        /* a honeypot field was filled */
	SPAM_DISPOSABLE,          /* email at a disposable-mail domain */
	SPAM_DOUBLE_SUBMIT,       /* same content again within the window */
	SPAM_CAPTCHA_MISSING,     /* no token in the widget's field */
	SPAM_CAPTCHA_INVALID,     /* the vendor said no (invalid, reused,
	                             expired) */
	SPAM_CAPTCHA_SCORE,       /* reCAPTCHA v3 score under the minimum */
	SPAM_CAPTCHA_ACTION,      /* reCAPTCHA v3 action not the one expected */
	SPAM_CAPTCHA_HOSTNAME,    /* solved on a site not in allowed_origins */
	SPAM_CAPTCHA_UNREACHABLE, /* vendor unreachable, captcha_unreachable
	                             = closed */
	SPAM_CAPTCHA_UNKNOWN,     /* an earlier ask's answer was lost and the
	                             vendor now calls the token used:
	                             captcha_unreachable decides */
	SPAM_EMAIL_DOMAIN,        /* the email's domain has no MX, A or AAAA
	                             record (mx_check) */
	SPAM_REASONS
};

/* "honeypot", "disposable_email", … (the metric's label values). */
const char *spam_reason_name(enum spam_reason r);

/*
 * The junk-address check on a normalised email (NULL or "" passes): with
 * [antispam] disposable_domains on, an address at a listed domain (or a
 * subdomain of one) is refused: FR_EINVALID with err naming the field
 * "email" (code "disposable_email") and *reason set.  FR_OK otherwise,
 * also when list is NULL.
 */
int spam_check_email(const struct config *cfg, const struct domain_list *list,
                     const char *email, enum spam_reason *reason,
                     struct fr_error *err);

/* The longest token taken (Turnstile's are at most 2048 characters;
 * reCAPTCHA's run longer). */
#define SPAM_CAPTCHA_TOKEN_MAX 4096

/* The widget's form field holding the CAPTCHA token, e.g.
 * "cf-turnstile-response"; NULL for CAPTCHA_NONE. */
const char *spam_captcha_field(enum captcha_vendor v);

/* "submit:" and 32 hex digits: spam_submit_key's length, NUL included. */
#define SPAM_SUBMIT_KEY_SIZE 40

/*
 * The content key of a normalised submission for double submits: a
 * digest (SHA-256, first 128 bits, hex) of its userId, traits, event,
 * properties and form name, so the same form sent again (a double
 * click, a back-button resubmit) has the same key.  out holds at least
 * SPAM_SUBMIT_KEY_SIZE bytes.
 */
void spam_submit_key(const struct submission *sub, char *out);

/*
 * The same for a body of Pipelines calls (one call or {"batch": [...]})
 * posted on route (enum pipelines_route): a digest of each call's type,
 * userId, anonymousId, traits, event, properties, name, category and
 * groupId, so that a recipe's call posted twice (a double click) has
 * the same key.  0 (out untouched) when a call carries a messageId: the
 * client names its calls, and two names are two events, de-duplicated
 * by those names.  1 with out filled otherwise.
 */
int spam_calls_key(struct json_object *root, int route, char *out);

#endif
