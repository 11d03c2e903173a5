/*
 * Webhook envelopes recognised by shape and unwrapped into form fields
 * (unwrap.h).  Each platform's shape follows its own documentation:
 *  - Typeform: developer.typeform.com/webhooks/example-payload/ (answers
 *    typed text/email/phone_number/number/boolean/choice/choices/date/
 *    url/file_url/payment, field.ref; hidden fields lower-cased);
 *  - Tally: tally.so/help/webhooks (data.fields of key/label/type/value,
 *    choice values as option ids with data.fields[].options {id,text});
 *  - Webflow: developers.webflow.com, form_submission event (v2
 *    triggerType/payload, v1 name/site/data/d/_id);
 *  - Unbounce: "Using a Webhook" (form post with page_url, page_name,
 *    page_id, variant and data.json/data.xml; every data.json value is a
 *    list; ip_address, page_uuid, time_submitted, date_submitted);
 *  - Jotform: webhook post with formID, submissionID, formTitle, ip,
 *    pretty and rawRequest (JSON text, q<N>_<name> keys, compound fields
 *    as objects: {"first","last"}, {"addr_line1",...}, {"full"});
 *  - HubSpot forms API v3: fields [{name, value}] and context {hutk,
 *    pageUri, pageName, ipAddress};
 *  - Embeddables: {"userData":{...},"context":{...}} from a custom-code
 *    action (context: entryId, pageUrl, ...).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aliases.h"
#include "unwrap.h"
#include "unwrap_internal.h"
#include "util.h"

struct json_object *
uw_member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

struct json_object *
uw_member_type(struct json_object *o, const char *key, json_type type)
{
	struct json_object *v = uw_member(o, key);

	return json_object_is_type(v, type) ? v : NULL;
}

/* The string value of o.key, or NULL. */
const char *
uw_string(struct json_object *o, const char *key)
{
	struct json_object *v = uw_member_type(o, key, json_type_string);

	return v ? json_object_get_string(v) : NULL;
}

int
uw_broken(struct unwrap *u, const char *what)
{
	return fr_fail(u->err, FR_EMALFORMED, "malformed", "",
	               "the %s webhook body is not as documented: %s", what,
	               "missing or mistyped members");
}

/* Length of name cut to at most max bytes on a UTF-8 boundary. */
static size_t
cut_name(const char *name, size_t max)
{
	size_t len = strlen(name);

	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)name[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/* Append name = v (a new reference, consumed). */
int
uw_add(struct unwrap *u, const char *name, struct json_object *v)
{
	size_t len;

	if (v == NULL)
		return FR_OK;
	if (u->nf.count >= u->lim->max_fields) {
		json_object_put(v);
		return fr_fail(u->err, FR_ETOOLARGE, "too_many_fields", "",
		               "the webhook carries more than %zu fields",
		               u->lim->max_fields);
	}
	if (json_object_is_type(v, json_type_string) &&
	    (size_t)json_object_get_string_len(v) > u->lim->max_value) {
		json_object_put(v);
		return fr_fail(u->err, FR_ETOOLARGE, "too_large", name,
		               "field '%.60s' is longer than %zu bytes", name,
		               u->lim->max_value);
	}
	len = cut_name(name, u->lim->max_name);
	if (len == 0) {
		json_object_put(v);
		return FR_OK;
	}
	return fields_add(&u->nf, name, len, v, 0);
}

int
uw_add_string(struct unwrap *u, const char *name, const char *s)
{
	return s ? uw_add(u, name, json_object_new_string(s)) : FR_OK;
}

/* Set u->nf.context[key] to the string v once. */
int
uw_context(struct unwrap *u, const char *key, struct json_object *v)
{
	struct json_object *s;

	if (!json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0)
		return FR_OK;
	if (u->nf.context == NULL &&
	    (u->nf.context = json_object_new_object()) == NULL)
		return FR_ENOMEM;
	if (json_object_object_get_ex(u->nf.context, key, NULL))
		return FR_OK;
	if ((s = json_object_get(v)) == NULL ||
	    json_object_object_add(u->nf.context, key, s)) {
		json_object_put(s);
		return FR_ENOMEM;
	}
	return FR_OK;
}

int
uw_form_name(struct unwrap *u, const char *name)
{
	if (name == NULL || *name == '\0' || u->nf.form_name != NULL)
		return FR_OK;
	return (u->nf.form_name = xstrdup(name)) ? FR_OK : FR_ENOMEM;
}

/*
 * A typed email (phone) field is named "email" ("phone") unless its own
 * name already aliases there, so that a question titled "Where can we
 * reach you?" still fills the email trait.  Only the first one.
 */
const char *
uw_typed_name(struct unwrap *u, const char *name, const char *trait)
{
	int *seen =
	        strcmp(trait, "email") == 0 ? &u->have_email : &u->have_phone;
	const char *alias = alias_lookup(name, NULL);

	if (*seen)
		return name;
	*seen = 1;
	if (alias != NULL && strcmp(alias, trait) == 0)
		return name;
	return trait;
}

int
uw_event_id(struct unwrap *u, struct json_object *v)
{
	char buf[64];
	const char *s = buf;

	if (u->nf.event_id != NULL)
		return FR_OK;
	if (json_object_is_type(v, json_type_string))
		s = json_object_get_string(v);
	else if (json_object_is_type(v, json_type_int))
		snprintf(buf, sizeof(buf), "%" PRId64,
		         json_object_get_int64(v));
	else
		return FR_OK;
	if (*s == '\0' || strlen(s) > 200)
		return FR_OK;
	return (u->nf.event_id = xstrdup(s)) ? FR_OK : FR_ENOMEM;
}

void
uw_submitted(struct unwrap *u, const char *text)
{
	int64_t ms;

	if (u->nf.submitted_ms == 0 && rfc3339_parse(text, &ms) == 0 && ms > 0)
		u->nf.submitted_ms = ms;
}

/* Parse JSON text nested in a field or member (Unbounce data.json,
 * Jotform rawRequest): an object, within lim's depth. */
int
uw_parse_nested(struct unwrap *u, const char *what, const char *text,
                struct json_object **out)
{
	struct json_tokener *tok;
	size_t len;

	*out = NULL;
	if (text == NULL)
		return fr_fail(u->err, FR_EMALFORMED, "malformed", what,
		               "%s is not a JSON object", what);
	len = strlen(text);
	tok = json_tokener_new_ex((int)u->lim->max_depth + 1);
	if (tok == NULL)
		return FR_ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	*out = json_tokener_parse_ex(tok, text, (int)len);
	if (*out != NULL && (json_tokener_get_parse_end(tok) != len ||
	                     !json_object_is_type(*out, json_type_object))) {
		json_object_put(*out);
		*out = NULL;
	}
	json_tokener_free(tok);
	if (*out == NULL)
		return fr_fail(u->err, FR_EMALFORMED, "malformed", what,
		               "%s is not a JSON object", what);
	return FR_OK;
}

/* Move the unwrapped fields into f, keeping f->root. */
static void
replace_fields(struct fields *f, struct unwrap *u, enum fields_source src)
{
	struct json_object *root = f->root;

	f->root = NULL;
	fields_free(f);
	*f = u->nf;
	f->root = root;
	f->source = src;
	fields_init(&u->nf);
}

int
unwrap_webhook(struct fields *f, const struct parse_limits *lim,
               struct fr_error *err)
{
	return unwrap_webhook_cfg(f, lim, NULL, err);
}

/* The unwrappers' source for a hooks route's platform, or SOURCE_FORM
 * for the schemes many senders share (standard, hmac): any shape. */
static enum fields_source
platform_source(const struct config_hook *hook)
{
	if (hook == NULL)
		return SOURCE_FORM;
	switch (hook->platform) {
	case HOOK_TYPEFORM:
		return SOURCE_TYPEFORM;
	case HOOK_TALLY:
		return SOURCE_TALLY;
	case HOOK_WEBFLOW:
		return SOURCE_WEBFLOW;
	case HOOK_JOTFORM:
		return SOURCE_JOTFORM;
	case HOOK_UNBOUNCE:
		return SOURCE_UNBOUNCE;
	default:
		return SOURCE_FORM;
	}
}

/* The first unwrapper (of source want, or any when want is SOURCE_FORM)
 * whose shape root has, or NULL. */
static const struct uw_platform *
find_unwrapper(const struct unwrap *u, struct json_object *root,
               enum fields_source want)
{
	size_t i;

	for (i = 0; i < uw_platform_count; i++)
		if ((want == SOURCE_FORM || uw_platforms[i].source == want) &&
		    uw_platforms[i].match(u, root))
			return &uw_platforms[i];
	return NULL;
}

static const char *
source_platform_name(enum fields_source src)
{
	size_t i;

	for (i = 0; i < uw_platform_count; i++)
		if (uw_platforms[i].source == src)
			return uw_platforms[i].name;
	return "?";
}

int
unwrap_webhook_cfg(struct fields *f, const struct parse_limits *lim,
                   const struct config *cfg, struct fr_error *err)
{
	return unwrap_webhook_hook(f, lim, cfg, NULL, err);
}

int
unwrap_webhook_hook(struct fields *f, const struct parse_limits *lim,
                    const struct config *cfg, const struct config_hook *hook,
                    struct fr_error *err)
{
	struct parse_limits deflim;
	const struct uw_platform *p;
	enum fields_source want = platform_source(hook);
	struct unwrap u;
	struct json_object *root;
	int rc;

	if (lim == NULL) {
		parse_limits_default(&deflim);
		lim = &deflim;
	}
	memset(&u, 0, sizeof(u));
	fields_init(&u.nf);
	u.in = f;
	u.lim = lim;
	u.cfg = cfg;
	u.err = err;
	root = json_object_is_type(f->root, json_type_object) ? f->root : NULL;
	p = find_unwrapper(&u, root, want);
	if (p == NULL && want != SOURCE_FORM)
		return fr_fail(err, FR_EINVALID, "wrong_payload", "",
		               "webhook.%s has platform = %s: this body is "
		               "not a %s webhook",
		               hook->name,
		               config_hook_platform_name(hook->platform),
		               source_platform_name(want));
	if (p == NULL)
		return FR_OK;
	rc = p->unwrap(&u, root);
	if (rc == FR_OK)
		replace_fields(f, &u, p->source);
	else if (rc == FR_ENOMEM)
		fr_fail(err, rc, "out_of_memory", "", "out of memory");
	fields_free(&u.nf);
	return rc;
}
