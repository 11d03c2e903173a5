/*
 * Normalisation: parsed (and unwrapped) fields -> identify traits, the
 * userId and the track event (SPEC "Normalisation" and "Requests";
 * docs/normalisation.md).  What is context rather than traits (builders'
 * hidden fields, page data, utm_*, the envelope's visitor) is taken in
 * normalise_context.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aliases.h"
#include "normalise.h"
#include "normalise_internal.h"
#include "util.h"

static int value_convert(struct norm *n, const char *field,
                         struct json_object *v, unsigned flags, size_t depth,
                         struct json_object **res);

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	       c == '\v';
}

/* The trimmed string value of v, or NULL when v is not a non-empty
 * string.  Points into v. */
const char *
norm_string_of(struct json_object *v, size_t *len)
{
	const char *s;
	size_t l;

	if (!json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	while (is_space((unsigned char)*s))
		s++;
	l = strlen(s);
	while (l > 0 && is_space((unsigned char)s[l - 1]))
		l--;
	if (len != NULL)
		*len = l;
	return l > 0 ? s : NULL;
}

static int
is_empty(struct json_object *v)
{
	if (v == NULL)
		return 1;
	switch (json_object_get_type(v)) {
	case json_type_null:
		return 1;
	case json_type_string:
		return norm_string_of(v, NULL) == NULL;
	case json_type_array:
		return json_object_array_length(v) == 0;
	case json_type_object:
		return json_object_object_length(v) == 0;
	default:
		return 0;
	}
}

/* ---- trait names ------------------------------------------------------ */

#define TRAIT_NAME_SIZE (NORMALISE_MAX_KEY + 64)
/* What the cache holds: the first fields' names, up to a few KB.  It lives
 * on the stack: a heap block of this size costs more than it saves. */
#define TRAIT_CACHE_FIELDS 64
#define TRAIT_CACHE_BYTES  2048

/* Each field's trait name, worked out once (normalise_name folds and looks
 * the name up several times) for both the honeypot check and the traits. */
struct trait_names {
	signed char state[TRAIT_CACHE_FIELDS]; /* 0: not yet, 1: cached,
	                                          -1: no trait name */
	uint16_t at[TRAIT_CACHE_FIELDS];       /* offset in buf */
	size_t used;
	char buf[TRAIT_CACHE_BYTES];
};

/* normalise_name of field i (named name) into buf of TRAIT_NAME_SIZE. */
static int
trait_name_of(struct trait_names *t, size_t i, const char *name,
              const struct config *cfg, char *buf)
{
	size_t len;
	int rc;

	if (i < TRAIT_CACHE_FIELDS && t->state[i] != 0) {
		if (t->state[i] < 0)
			return -1;
		memcpy(buf, t->buf + t->at[i], strlen(t->buf + t->at[i]) + 1);
		return 0;
	}
	rc = normalise_name(name, cfg, buf, TRAIT_NAME_SIZE);
	if (i >= TRAIT_CACHE_FIELDS)
		return rc;
	if (rc < 0) {
		t->state[i] = -1;
		return rc;
	}
	len = strlen(buf) + 1;
	if (len <= TRAIT_CACHE_BYTES - t->used) {
		memcpy(t->buf + t->used, buf, len);
		t->at[i] = (uint16_t)t->used;
		t->used += len;
		t->state[i] = 1;
	}
	return 0;
}

/* ---- honeypots and reserved fields ---------------------------------- */

static int
honeypot_filled(const struct fields *in, const struct config *cfg,
                struct trait_names *names)
{
	char trait[TRAIT_NAME_SIZE];
	const char *name;
	size_t i;

	for (i = 0; i < in->count; i++) {
		name = in->items[i].name;
		if (is_empty(in->items[i].value))
			continue;
		/* a trait spelt as its field ("email") was asked already */
		if (alias_is_honeypot(name, cfg) ||
		    (trait_name_of(names, i, name, cfg, trait) == 0 &&
		     strcmp(trait, name) != 0 && alias_is_honeypot(trait, cfg)))
			return 1;
	}
	return 0;
}

static int add_trait(struct norm *n, const char *trait, const char *field,
                     struct json_object *v, unsigned flags);

/* SPEC "Requests": _next, _event, _form; _replyto is an email; every
 * other field starting with '_' is dropped (_subject, _cc, _wpcf7...). */
static int
take_reserved(struct norm *n, const struct field *f)
{
	if (strcmp(f->name, "_next") == 0)
		return norm_set_string_once(&n->out->next_url, f->value);
	if (strcmp(f->name, "_event") == 0)
		return norm_set_string_once(&n->out->event, f->value);
	if (strcmp(f->name, "_form") == 0)
		return norm_set_string_once(&n->out->form_name, f->value);
	if (alias_name_eq(f->name, "_replyto"))
		return add_trait(n, "email", f->name, f->value, f->flags);
	return FR_OK;
}

/* ---- values ---------------------------------------------------------- */

static int
too_large(struct norm *n, const char *field, const char *what)
{
	return fr_fail(n->err, FR_ETOOLARGE, "too_large", field,
	               "field '%.60s' is too large: %s", field, what);
}

static int
convert_string(struct norm *n, const char *field, struct json_object *v,
               unsigned flags, struct json_object **res)
{
	size_t len;
	const char *s = norm_string_of(v, &len);

	*res = NULL;
	if (s == NULL)
		return FR_OK;
	if (len > NORMALISE_MAX_STRING)
		return too_large(n, field, "a value over 8192 bytes");
	/* An HTML checkbox without a value attribute submits "on"
	 * (HTML Living Standard, 4.10.5.1.15). */
	if ((flags & FIELD_FORM) && len == 2 && memcmp(s, "on", 2) == 0)
		*res = json_object_new_boolean(1);
	else if (s == json_object_get_string(v) && s[len] == '\0')
		*res = json_object_get(v);
	else
		*res = json_object_new_string_len(s, (int)len);
	return *res ? FR_OK : FR_ENOMEM;
}

static int
convert_array(struct norm *n, const char *field, struct json_object *v,
              unsigned flags, size_t depth, struct json_object **res)
{
	size_t i, len = json_object_array_length(v);
	struct json_object *a, *e;
	int rc;

	*res = NULL;
	if (len > NORMALISE_MAX_ELEMENTS)
		return too_large(n, field, "more than 100 elements");
	if ((a = json_object_new_array()) == NULL)
		return FR_ENOMEM;
	for (i = 0; i < len; i++) {
		rc = value_convert(n, field, json_object_array_get_idx(v, i),
		                   flags, depth + 1, &e);
		if (rc == FR_OK && e != NULL && json_object_array_add(a, e))
			rc = FR_ENOMEM, json_object_put(e);
		if (rc != FR_OK) {
			json_object_put(a);
			return rc;
		}
	}
	if (json_object_array_length(a) == 0)
		json_object_put(a);
	else
		*res = a;
	return FR_OK;
}

static int
convert_object(struct norm *n, const char *field, struct json_object *v,
               size_t depth, struct json_object **res)
{
	struct json_object *o, *e;
	int rc = FR_OK;

	*res = NULL;
	if ((size_t)json_object_object_length(v) > NORMALISE_MAX_ELEMENTS)
		return too_large(n, field, "more than 100 members");
	if ((o = json_object_new_object()) == NULL)
		return FR_ENOMEM;
	json_object_object_foreach(v, key, val)
	{
		if (alias_is_denied(key, n->cfg))
			continue;
		if (strlen(key) > NORMALISE_MAX_KEY)
			rc = too_large(n, field,
			               "a member name over 150 bytes");
		if (rc == FR_OK)
			rc = value_convert(n, field, val, 0, depth + 1, &e);
		if (rc == FR_OK && e != NULL &&
		    json_object_object_add(o, key, e))
			rc = FR_ENOMEM, json_object_put(e);
		if (rc != FR_OK) {
			json_object_put(o);
			return rc;
		}
	}
	if (json_object_object_length(o) == 0)
		json_object_put(o);
	else
		*res = o;
	return FR_OK;
}

/*
 * The value to forward for v: strings trimmed ("on" -> true for form
 * checkboxes), empties dropped (*res NULL), JSON types kept, nesting and
 * sizes bounded.
 */
static int
value_convert(struct norm *n, const char *field, struct json_object *v,
              unsigned flags, size_t depth, struct json_object **res)
{
	*res = NULL;
	if (depth > NORMALISE_MAX_DEPTH)
		return too_large(n, field, "nested more than 4 levels");
	switch (json_object_get_type(v)) {
	case json_type_null:
		return FR_OK;
	case json_type_string:
		return convert_string(n, field, v, flags, res);
	case json_type_array:
		return convert_array(n, field, v, flags, depth, res);
	case json_type_object:
		return convert_object(n, field, v, depth, res);
	default:
		*res = json_object_get(v);
		return FR_OK;
	}
}

/* ---- traits ---------------------------------------------------------- */

/* Append v (or its elements) to the array *slot, making one of a scalar. */
static int
append_repeat(struct json_object *traits, const char *trait,
              struct json_object *old, struct json_object *v)
{
	struct json_object *a = old;
	size_t i;

	if (!json_object_is_type(old, json_type_array)) {
		if ((a = json_object_new_array()) == NULL)
			return FR_ENOMEM;
		json_object_array_add(a, json_object_get(old));
		if (json_object_object_add(traits, trait, a)) {
			json_object_put(a);
			return FR_ENOMEM;
		}
	}
	if (!json_object_is_type(v, json_type_array))
		return json_object_array_add(a, json_object_get(v)) ? FR_ENOMEM
		                                                    : FR_OK;
	for (i = 0; i < json_object_array_length(v); i++)
		if (json_object_array_add(
		            a,
		            json_object_get(json_object_array_get_idx(v, i))))
			return FR_ENOMEM;
	return FR_OK;
}

/* Length of name without trailing index brackets: "interests[]",
 * "interests[2]" and "group[12345][1]" repeat "interests" and "group". */
static size_t
base_len(const char *name)
{
	size_t len = strlen(name), i;

	while (len > 2 && name[len - 1] == ']') {
		for (i = len - 1;
		     i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9'; i--)
			;
		if (i == 0 || name[i - 1] != '[')
			break;
		len = i - 1;
	}
	return len;
}

/* The field that set trait (in n->traits), or NULL. */
static const char *
origin_of(const struct norm *n, const char *trait)
{
	size_t k = 0;

	json_object_object_foreach(n->traits, key, val)
	{
		(void)val;
		if (strcmp(key, trait) == 0)
			return k < NORMALISE_MAX_TRAITS ? n->origin[k] : NULL;
		k++;
	}
	return NULL;
}

static int
same_field(const char *a, const char *b)
{
	size_t la;

	if (a == NULL || b == NULL)
		return 0;
	la = base_len(a);
	return la == base_len(b) && strncmp(a, b, la) == 0;
}

/*
 * Add the converted value of v as trait.  The same field repeated makes
 * an array; a second field aliasing to the same trait ("email" and
 * "Email 2") is ignored: the first non-empty one wins.
 */
static int
add_trait(struct norm *n, const char *trait, const char *field,
          struct json_object *v, unsigned flags)
{
	struct json_object *conv, *old;
	size_t count;
	int rc;

	if (strlen(trait) > NORMALISE_MAX_KEY)
		return too_large(n, field, "a name over 150 bytes");
	if ((rc = value_convert(n, field, v, flags, 0, &conv)) != FR_OK)
		return rc;
	if (conv == NULL)
		return FR_OK;
	if (json_object_object_get_ex(n->traits, trait, &old)) {
		if (same_field(origin_of(n, trait), field))
			rc = append_repeat(n->traits, trait, old, conv);
		json_object_put(conv);
		return rc;
	}
	if (json_object_object_add(n->traits, trait, conv)) {
		json_object_put(conv);
		return FR_ENOMEM;
	}
	count = (size_t)json_object_object_length(n->traits);
	if (count > NORMALISE_MAX_TRAITS)
		return fr_fail(n->err, FR_ETOOLARGE, "too_many_fields", field,
		               "more than %d fields to forward",
		               NORMALISE_MAX_TRAITS);
	n->origin[count - 1] = field;
	return FR_OK;
}

/*
 * Fields that are not traits: Netlify's form-name, honeypots, the deny
 * list, builders' envelope fields and page data.  Returns 1 (with *rc)
 * when name is one of them.
 */
static int
take_special(struct norm *n, const char *name, const struct field *f, int *rc)
{
	struct alias_key key; /* name folded once for every question */

	*rc = FR_OK;
	alias_key_init(&key, name);
	if (alias_key_eq(&key, "form-name")) {
		*rc = norm_set_string_once(&n->out->form_name, f->value);
		return 1;
	}
	if (alias_key_is_honeypot(&key, n->cfg) ||
	    alias_key_is_denied(&key, n->cfg))
		return 1;
	return norm_take_envelope(n, name, f, rc) ||
	       norm_take_page_field(n, &key, f, rc);
}

/*
 * One field.  The special names are checked on the field's name and on
 * its trait name, so that a trait is never a name that would be treated
 * otherwise when normalised again ("page,Title" -> page_title).
 */
static int
take_field(struct norm *n, const struct field *f, size_t index)
{
	char trait[TRAIT_NAME_SIZE];
	int rc = FR_OK;

	if (f->name[0] == '_')
		return take_reserved(n, f);
	if (take_special(n, f->name, f, &rc))
		return rc;
	if (trait_name_of(n->names, index, f->name, n->cfg, trait) < 0)
		return strlen(f->name) > NORMALISE_MAX_KEY
		               ? too_large(n, f->name, "a name over 150 bytes")
		               : FR_OK;
	if (strncmp(trait, "utm_", 4) == 0)
		return norm_take_campaign(n, trait, f->value);
	if (strcmp(trait, f->name) != 0 && take_special(n, trait, f, &rc))
		return rc;
	return add_trait(n, trait, f->name, f->value, f->flags);
}

/* ---- track event ----------------------------------------------------- */

/* _event or [identity] event: the properties are the form name, the page
 * URL and the normalised fields. */
static int
make_event(struct norm *n)
{
	struct submission *out = n->out;
	struct json_object *props = NULL, *url;

	if (out->event == NULL && n->cfg->event != NULL &&
	    *n->cfg->event != '\0' &&
	    (out->event = xstrdup(n->cfg->event)) == NULL)
		return FR_ENOMEM;
	if (out->event == NULL)
		return FR_OK;
	if (json_object_deep_copy(n->traits, &props, NULL) != 0)
		return FR_ENOMEM;
	out->properties = props;
	if (out->form_name != NULL &&
	    norm_replace_string(props, "form_name", out->form_name) != FR_OK)
		return FR_ENOMEM;
	if (n->page != NULL &&
	    json_object_object_get_ex(n->page, "url", &url) &&
	    norm_replace_string(props, "page_url", json_object_get_string(url)))
		return FR_ENOMEM;
	return FR_OK;
}

/* ---- entry points ---------------------------------------------------- */

static int
normalise_fields(struct norm *n, const struct fields *in)
{
	size_t i;
	int rc = FR_OK;

	norm_detect_builders(n, in);
	for (i = 0; rc == FR_OK && i < in->count; i++)
		rc = take_field(n, &in->items[i], i);
	if (rc == FR_OK)
		rc = norm_take_context(n, in);
	if (rc == FR_OK && n->out->form_name == NULL && in->form_name != NULL &&
	    (n->out->form_name = xstrdup(in->form_name)) == NULL)
		rc = FR_ENOMEM;
	if (rc != FR_OK)
		return rc;
	if (n->members_only)
		return norm_finish_traits(n->traits, n->err);
	if (json_object_object_length(n->traits) == 0)
		return fr_fail(n->err, FR_EINVALID, "nothing_to_send", "",
		               "the submission has no fields to forward");
	if ((rc = norm_finish_traits(n->traits, n->err)) != FR_OK ||
	    (rc = normalise_user_id(n->traits, n->cfg, &n->out->user_id,
	                            n->err)) != FR_OK)
		return rc;
	return make_event(n);
}

static int
normalise_as(const struct fields *in, const struct config *cfg,
             int members_only, struct submission *out, struct fr_error *err)
{
	struct trait_names names;
	struct norm n = {.cfg = cfg,
	                 .out = out,
	                 .err = err,
	                 .names = &names,
	                 .members_only = members_only};
	int rc;

	memset(names.state, 0, sizeof(names.state));
	names.used = 0;
	memset(out, 0, sizeof(*out));
	if (honeypot_filled(in, cfg, &names)) {
		/* Answer a bot as a person: the same redirect, nothing sent. */
		const struct field *next = fields_find(in, "_next");
		out->honeypot = 1;
		if (next != NULL &&
		    norm_set_string_once(&out->next_url, next->value))
			return fr_fail(err, FR_ENOMEM, "out_of_memory", "",
			               "out of memory");
		return FR_OK;
	}
	n.traits = json_object_new_object();
	rc = n.traits != NULL ? normalise_fields(&n, in) : FR_ENOMEM;
	if (rc == FR_ENOMEM)
		fr_fail(err, FR_ENOMEM, "out_of_memory", "", "out of memory");
	if (rc != FR_OK) {
		json_object_put(n.traits);
		json_object_put(n.page);
		json_object_put(n.campaign);
		submission_free(out);
		return rc;
	}
	out->traits = n.traits;
	out->page = n.page;
	out->campaign = n.campaign;
	return FR_OK;
}

int
normalise(const struct fields *in, const struct config *cfg,
          struct submission *out, struct fr_error *err)
{
	return normalise_as(in, cfg, 0, out, err);
}

int
normalise_members(const struct fields *in, const struct config *cfg,
                  struct submission *out, struct fr_error *err)
{
	return normalise_as(in, cfg, 1, out, err);
}

void
submission_free(struct submission *out)
{
	if (out == NULL)
		return;
	free(out->user_id);
	json_object_put(out->traits);
	free(out->event);
	json_object_put(out->properties);
	free(out->form_name);
	free(out->next_url);
	json_object_put(out->page);
	json_object_put(out->campaign);
	free(out->ip);
	free(out->user_agent);
	memset(out, 0, sizeof(*out));
}
