/* Spam outcomes and the request path's address check. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <nettle/sha2.h>

#include "domainlist.h"
#include "normalise.h"
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
        [SPAM_CAPTCHA_UNKNOWN] = "captcha_unknown",
        [SPAM_EMAIL_DOMAIN] = "email_domain",
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

/* One part of the key, with its length first so that no two different
 * submissions run together into the same bytes. */
static void
key_part(struct sha256_ctx *c, const char *s)
{
	uint8_t len[8];
	size_t n = s ? strlen(s) : 0, i;

	for (i = 0; i < 8; i++)
		len[i] = (uint8_t)((uint64_t)n >> (8 * i));
	sha256_update(c, sizeof(len), len);
	sha256_update(c, n, (const uint8_t *)(s ? s : ""));
}

static const char *
json_text(struct json_object *o)
{
	return o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)
	         : NULL;
}

/* "submit:" and the digest's first 128 bits in hex. */
static void
key_finish(struct sha256_ctx *c, char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t d[SHA256_DIGEST_SIZE];
	size_t i;

	sha256_digest(c, sizeof(d), d);
	memcpy(out, "submit:", 7);
	for (i = 0; i < 16; i++) {
		out[7 + 2 * i] = hex[d[i] >> 4];
		out[8 + 2 * i] = hex[d[i] & 15];
	}
	out[39] = '\0';
}

void
spam_submit_key(const struct submission *sub, char *out)
{
	struct sha256_ctx c;

	sha256_init(&c);
	key_part(&c, sub->user_id);
	key_part(&c, json_text(sub->traits));
	key_part(&c, sub->event);
	key_part(&c, json_text(sub->properties));
	key_part(&c, sub->form_name);
	key_finish(&c, out);
}

/* One call's content into c; 0 when it names itself (a messageId). */
static int
call_part(struct sha256_ctx *c, struct json_object *call)
{
	static const char *const content[] = {
	        "type",       "userId", "anonymousId", "traits", "event",
	        "properties", "name",   "category",    "groupId"};
	struct json_object *m;
	size_t i;

	if (!json_object_is_type(call, json_type_object) ||
	    json_object_object_get_ex(call, "messageId", NULL))
		return 0;
	for (i = 0; i < sizeof(content) / sizeof(content[0]); i++) {
		m = NULL;
		json_object_object_get_ex(call, content[i], &m);
		key_part(c, json_text(m));
	}
	return 1;
}

int
spam_calls_key(struct json_object *root, int route, char *out)
{
	struct json_object *batch = NULL;
	struct sha256_ctx c;
	char r[16];
	size_t i, n;

	sha256_init(&c);
	snprintf(r, sizeof(r), "%d", route);
	key_part(&c, r);
	if (!json_object_object_get_ex(root, "batch", &batch) ||
	    !json_object_is_type(batch, json_type_array)) {
		if (!call_part(&c, root))
			return 0;
	} else {
		n = json_object_array_length(batch);
		for (i = 0; i < n; i++)
			if (!call_part(&c, json_object_array_get_idx(batch, i)))
				return 0;
	}
	key_finish(&c, out);
	return 1;
}

const char *
spam_captcha_field(enum captcha_vendor v)
{
	switch (v) {
	case CAPTCHA_TURNSTILE:
		return "cf-turnstile-response";
	case CAPTCHA_HCAPTCHA:
		return "h-captcha-response";
	case CAPTCHA_RECAPTCHA:
		return "g-recaptcha-response";
	default:
		return NULL;
	}
}
