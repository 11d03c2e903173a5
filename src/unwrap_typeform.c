/*
 * Typeform's form_response webhook (developer.typeform.com/webhooks/
 * example-payload/): answers typed text/email/phone_number/number/
 * boolean/choice/choices/date/url/file_url/payment, each naming its
 * field by id (and ref, not always); the definition holds the fields'
 * titles and refs; hidden fields arrive lower-cased; calculated.score
 * and variables[] carry the form's logic.
 *
 * A field's name, first that applies:
 *  1. its ref, or its id, when an alias ([fields] or the built-in table)
 *     names it, so that alias.first_name = <ref or id> works;
 *  2. a known trait its title asks for ("What is your first name?" ->
 *     first_name: the title's last words, up to three);
 *  3. its ref, unless Typeform generated it (a UUID or ULID);
 *  4. its title, in snake_case cut at a word to at most 40 bytes.
 * An email answer is the email; without one, a text answer that is one
 * valid email address is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aliases.h"
#include "normalise.h"
#include "unwrap_internal.h"
#include "utf8.h"
#include "util.h"

#define TITLE_NAME_MAX 40 /* bytes in a name made from a title */
#define TITLE_WORDS    32 /* words of a title considered */

static struct json_object *
ref(struct json_object *v)
{
	return json_object_get(v);
}

static size_t
length(struct json_object *o)
{
	return json_object_is_type(o, json_type_array)
	               ? json_object_array_length(o)
	               : 0;
}

int
uw_typeform_match(const struct unwrap *u, struct json_object *root)
{
	(void)u;
	return uw_member(root, "form_response") != NULL;
}

/* Refs Typeform generates itself (UUIDs, ULIDs) say nothing. */
static int
is_auto_ref(const char *r)
{
	size_t len, i;

	if (r == NULL || *r == '\0')
		return 1;
	len = strlen(r);
	for (i = 0; i < len; i++) {
		char c = r[i];
		if (len == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (c != '-')
				return 0;
		} else if (len == 36 && !strchr("0123456789abcdefABCDEF", c)) {
			return 0;
		} else if (len == 26 &&
		           !strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", c)) {
			return 0;
		}
	}
	return len == 36 || len == 26;
}

/* The definition's field with this id, or NULL. */
static struct json_object *
definition_field(struct json_object *definition, const char *id)
{
	struct json_object *fields, *fld;
	const char *fid;
	size_t i;

	fields = uw_member_type(definition, "fields", json_type_array);
	for (i = 0; id != NULL && i < length(fields); i++) {
		fld = json_object_array_get_idx(fields, i);
		fid = uw_string(fld, "id");
		if (fid != NULL && strcmp(fid, id) == 0)
			return fld;
	}
	return NULL;
}

/* A title's words (letters and digits, lower-cased by utf8_fold:
 * "Prénom ?" and "PRÉNOM ?" -> "prénom"; punctuation and Unicode spaces
 * such as French typography's no-break space before '?' separate;
 * {{piping}} skipped) into buf, NUL-separated; their starts in w. */
static size_t
title_words(const char *title, char *buf, size_t size, const char **w)
{
	size_t n = 0, o = 0, used, len, left = strlen(title);
	int in_word = 0, word;
	const char *p = title;
	char ch[4];

	for (; left > 0 && o + 5 < size; p += used, left -= used) {
		if (p[0] == '{' && p[1] == '{' && strstr(p, "}}") != NULL) {
			used = (size_t)(strstr(p, "}}") + 2 - p);
			word = 0;
		} else {
			used = utf8_fold(p, left, ch, &len, &word);
		}
		if (word) {
			if (!in_word) {
				if (n == TITLE_WORDS)
					break;
				w[n++] = buf + o;
				in_word = 1;
			}
			memcpy(buf + o, ch, len);
			o += len;
		} else if (in_word) {
			buf[o++] = '\0';
			in_word = 0;
		}
	}
	buf[o] = '\0';
	return n;
}

/* words[from..n) joined by '_' into out; its length. */
static size_t
join(const char **w, size_t from, size_t n, char *out, size_t size)
{
	size_t o = 0, i, len;

	out[0] = '\0';
	for (i = from; i < n; i++) {
		len = strlen(w[i]);
		if (o + len + 2 > size)
			break;
		if (o > 0)
			out[o++] = '_';
		memcpy(out + o, w[i], len);
		o += len;
		out[o] = '\0';
	}
	return o;
}

/* A known trait the title's last one to three words name, into out. */
static int
title_trait(const struct unwrap *u, const char **w, size_t n, char *out,
            size_t size)
{
	size_t k;

	for (k = n > 3 ? n - 3 : 0; k < n; k++) {
		join(w, k, n, out, size);
		if (alias_lookup(out, u->cfg) != NULL)
			return 1;
	}
	return 0;
}

/* The title in snake_case, whole words up to TITLE_NAME_MAX bytes (a
 * first word longer than that cut at a character). */
static void
title_name(const char **w, size_t n, char *out, size_t size)
{
	size_t o = 0, i, len;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		len = strlen(w[i]);
		if (o + (o > 0) + len > TITLE_NAME_MAX || o + len + 2 > size)
			break;
		if (o > 0)
			out[o++] = '_';
		memcpy(out + o, w[i], len);
		o += len;
		out[o] = '\0';
	}
	if (o == 0 && n > 0) {
		len = strlen(w[0]);
		len = len > TITLE_NAME_MAX ? TITLE_NAME_MAX : len;
		while (len > 0 && ((unsigned char)w[0][len] & 0xc0) == 0x80)
			len--;
		snprintf(out, size, "%.*s", (int)len, w[0]);
	}
}

/* The answer's field name into out (see the top of the file). */
static void
answer_name(const struct unwrap *u, struct json_object *a,
            struct json_object *definition, char *out, size_t size)
{
	struct json_object *field = uw_member(a, "field");
	const char *id = uw_string(field, "id");
	struct json_object *def = definition_field(definition, id);
	const char *r = uw_string(field, "ref");
	const char *title = uw_string(def, "title"), *w[TITLE_WORDS];
	char words[512];
	size_t n = 0;

	if (r == NULL)
		r = uw_string(def, "ref");
	if ((r != NULL && *r != '\0' && alias_lookup(r, u->cfg) != NULL) ||
	    (id != NULL && u->cfg != NULL && alias_lookup(id, u->cfg))) {
		snprintf(out, size, "%s",
		         r != NULL && alias_lookup(r, u->cfg) ? r : id);
		return;
	}
	if (title != NULL)
		n = title_words(title, words, sizeof(words), w);
	if (n > 0 && title_trait(u, w, n, out, size))
		return;
	if (!is_auto_ref(r)) {
		snprintf(out, size, "%s", r);
		return;
	}
	if (n > 0)
		title_name(w, n, out, size);
	else
		snprintf(out, size, "%s",
		         id ? id
		            : (uw_string(a, "type") ? uw_string(a, "type")
		                                    : "answer"));
}

/* choices: the labels, and the "other" text when given. */
static struct json_object *
typeform_choices(struct json_object *c)
{
	struct json_object *labels, *out;
	const char *other = uw_string(c, "other");
	size_t i;

	labels = uw_member_type(c, "labels", json_type_array);
	if ((out = json_object_new_array()) == NULL)
		return NULL;
	for (i = 0; i < length(labels); i++)
		json_object_array_add(
		        out, ref(json_object_array_get_idx(labels, i)));
	if (other != NULL)
		json_object_array_add(out, json_object_new_string(other));
	return out;
}

/* The answer's value by its type; NULL for files and payments (card
 * data is never forwarded). */
static struct json_object *
typeform_value(struct json_object *a, const char *type)
{
	struct json_object *c;
	const char *s;

	if (strcmp(type, "choice") == 0) {
		c = uw_member(a, "choice");
		s = uw_string(c, "label");
		s = s ? s : uw_string(c, "other");
		return s ? json_object_new_string(s) : NULL;
	}
	if (strcmp(type, "choices") == 0)
		return typeform_choices(uw_member(a, "choices"));
	if (strcmp(type, "payment") == 0 || strcmp(type, "file_url") == 0 ||
	    strcmp(type, "multi_format") == 0)
		return NULL;
	return ref(uw_member(a, type));
}

/* A text answer that is one valid email address. */
static int
is_email_text(struct json_object *a, const char *type)
{
	const char *s = strcmp(type, "text") == 0 ? uw_string(a, "text") : NULL;
	char buf[256];

	return s != NULL && strchr(s, ' ') == NULL &&
	       normalise_email(s, buf, sizeof(buf)) == 0;
}

static int
typeform_answer(struct unwrap *u, struct json_object *a,
                struct json_object *definition, long *email_at)
{
	const char *type = uw_string(a, "type");
	const char *name;
	char buf[256];

	if (type == NULL)
		return FR_OK;
	answer_name(u, a, definition, buf, sizeof(buf));
	name = buf;
	if (strcmp(type, "email") == 0)
		name = uw_typed_name(u, name, "email");
	else if (strcmp(type, "phone_number") == 0)
		name = uw_typed_name(u, name, "phone");
	else if (*email_at < 0 && is_email_text(a, type) &&
	         alias_lookup(name, u->cfg) == NULL)
		*email_at = (long)u->nf.count;
	return uw_add(u, name, typeform_value(a, type));
}

/* Without an email answer, the text answer holding one is the email. */
static int
email_by_value(struct unwrap *u, long at)
{
	char *name;
	size_t i;

	if (at < 0 || u->have_email || (size_t)at >= u->nf.count)
		return FR_OK;
	for (i = 0; i < u->nf.count; i++) {
		const char *t = alias_lookup(u->nf.items[i].name, u->cfg);

		if (t != NULL && strcmp(t, "email") == 0)
			return FR_OK;
	}
	if ((name = xstrdup("email")) == NULL)
		return FR_ENOMEM;
	free(u->nf.items[at].name);
	u->nf.items[at].name = name;
	return FR_OK;
}

/* calculated.score as "score"; variables[] as "variable_<key>" (the
 * "score" variable is calculated.score again). */
static int
typeform_logic(struct unwrap *u, struct json_object *fr)
{
	struct json_object *score =
	        uw_member(uw_member(fr, "calculated"), "score");
	struct json_object *vars = uw_member(fr, "variables"), *v;
	const char *key, *type;
	char name[128];
	size_t i;
	int rc = FR_OK;

	if (score != NULL)
		rc = uw_add(u, "score", ref(score));
	for (i = 0; rc == FR_OK && i < length(vars); i++) {
		v = json_object_array_get_idx(vars, i);
		key = uw_string(v, "key");
		type = uw_string(v, "type");
		if (key == NULL || type == NULL ||
		    (score != NULL && strcmp(key, "score") == 0))
			continue;
		snprintf(name, sizeof(name), "variable_%s", key);
		rc = uw_add(u, name, ref(uw_member(v, type)));
	}
	return rc;
}

static int
typeform_hidden(struct unwrap *u, struct json_object *fr)
{
	struct json_object *hidden =
	        uw_member_type(fr, "hidden", json_type_object);
	int rc = FR_OK;

	/* Hidden fields arrive with lower-cased names (entryId: entryid). */
	if (hidden != NULL) {
		json_object_object_foreach(hidden, key, val)
		{
			if (rc == FR_OK)
				rc = uw_add(u, key, ref(val));
		}
	}
	return rc;
}

int
uw_typeform_unwrap(struct unwrap *u, struct json_object *root)
{
	struct json_object *fr, *answers, *def;
	long email_at = -1;
	size_t i;
	int rc = FR_OK;

	fr = uw_member_type(root, "form_response", json_type_object);
	answers = uw_member(fr, "answers");
	if (fr == NULL ||
	    (answers != NULL && !json_object_is_type(answers, json_type_array)))
		return uw_broken(u, "Typeform");
	def = uw_member_type(fr, "definition", json_type_object);
	for (i = 0; rc == FR_OK && i < length(answers); i++)
		rc = typeform_answer(u, json_object_array_get_idx(answers, i),
		                     def, &email_at);
	if (rc == FR_OK)
		rc = email_by_value(u, email_at);
	if (rc == FR_OK)
		rc = typeform_hidden(u, fr);
	if (rc == FR_OK)
		rc = typeform_logic(u, fr);
	if (rc == FR_OK)
		rc = uw_form_name(u, uw_string(def, "title"));
	if (rc == FR_OK)
		rc = uw_event_id(u, uw_member(root, "event_id"));
	uw_submitted(u, uw_string(fr, "submitted_at"));
	return rc;
}
