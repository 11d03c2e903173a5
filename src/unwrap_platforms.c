/*
 * One unwrapper per webhook platform (see the sources in unwrap.c).
 * Each has a shape test and an unwrap function, listed in uw_platforms.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "aliases.h"
#include "unwrap_internal.h"

static int
is_object(struct json_object *o)
{
	return json_object_is_type(o, json_type_object);
}

static struct json_object *
ref(struct json_object *v)
{
	return json_object_get(v);
}

/* The length of o when it is an array, else 0 (json-c asserts). */
static size_t
uw_length(struct json_object *o)
{
	return json_object_is_type(o, json_type_array)
	               ? json_object_array_length(o)
	               : 0;
}

/* ---- Tally ----------------------------------------------------------- */

static int
tally_match(const struct unwrap *u, struct json_object *root)
{
	struct json_object *data = uw_member(root, "data");
	const char *ev = uw_string(root, "eventType");

	(void)u;
	return (ev != NULL && strcmp(ev, "FORM_RESPONSE") == 0) ||
	       (uw_member_type(data, "fields", json_type_array) != NULL &&
	        uw_member(data, "formId") != NULL);
}

static const char *
tally_option(struct json_object *options, const char *id)
{
	struct json_object *o;
	const char *oid;
	size_t i;

	for (i = 0; i < uw_length(options); i++) {
		o = json_object_array_get_idx(options, i);
		oid = uw_string(o, "id");
		if (oid != NULL && strcmp(oid, id) == 0)
			return uw_string(o, "text");
	}
	return NULL;
}

/* Choice values are lists of option ids: map them to the option text;
 * a single choice becomes a string. */
static struct json_object *
tally_choices(struct json_object *v, struct json_object *options, int single)
{
	struct json_object *out, *e;
	const char *text;
	size_t i;

	if (single && uw_length(v) == 1) {
		e = json_object_array_get_idx(v, 0);
		text = json_object_is_type(e, json_type_string)
		               ? tally_option(options,
		                              json_object_get_string(e))
		               : NULL;
		return text ? json_object_new_string(text) : ref(e);
	}
	if ((out = json_object_new_array()) == NULL)
		return NULL;
	for (i = 0; i < uw_length(v); i++) {
		e = json_object_array_get_idx(v, i);
		text = json_object_is_type(e, json_type_string)
		               ? tally_option(options,
		                              json_object_get_string(e))
		               : NULL;
		json_object_array_add(out, text ? json_object_new_string(text)
		                                : ref(e));
	}
	return out;
}

/* The text of the {id, text} item of list with this id, or NULL. */
static const char *
tally_text(struct json_object *list, struct json_object *id)
{
	return json_object_is_type(id, json_type_string)
	               ? tally_option(list, json_object_get_string(id))
	               : NULL;
}

/* MATRIX: {row id: [column ids]} with rows[] and columns[] {id, text}
 * -> {row text: column text (or texts)}. */
static struct json_object *
tally_matrix(struct json_object *fld, struct json_object *v)
{
	struct json_object *rows = uw_member(fld, "rows");
	struct json_object *cols = uw_member(fld, "columns"), *out, *cell;
	const char *row, *col;
	size_t i;

	if (!is_object(v) || (out = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_foreach(v, rid, sel)
	{
		struct json_object *rid_s = json_object_new_string(rid);

		row = tally_text(rows, rid_s);
		json_object_put(rid_s);
		if (uw_length(sel) == 1) {
			col = tally_text(cols,
			                 json_object_array_get_idx(sel, 0));
			cell = col ? json_object_new_string(col) : NULL;
		} else {
			cell = json_object_new_array();
			for (i = 0; cell != NULL && i < uw_length(sel); i++) {
				col = tally_text(
				        cols,
				        json_object_array_get_idx(sel, i));
				if (col != NULL)
					json_object_array_add(
					        cell,
					        json_object_new_string(col));
			}
		}
		if (cell != NULL)
			json_object_object_add(out, row ? row : rid, cell);
	}
	return out;
}

static int
tally_field(struct unwrap *u, struct json_object *fld)
{
	const char *type = uw_string(fld, "type");
	const char *name = uw_string(fld, "label");
	struct json_object *v = uw_member(fld, "value");
	struct json_object *options;

	if (type == NULL || v == NULL)
		return FR_OK;
	if (!strcmp(type, "FILE_UPLOAD") || !strcmp(type, "SIGNATURE") ||
	    !strcmp(type, "PAYMENT"))
		return FR_OK;
	/* Checkboxes come twice: the list of ids, then one boolean per
	 * option labelled "Question (Option)"; the list is enough. */
	if (!strcmp(type, "CHECKBOXES") &&
	    json_object_is_type(v, json_type_boolean))
		return FR_OK;
	if (name == NULL || *name == '\0')
		name = uw_string(fld, "key");
	if (name == NULL)
		return FR_OK;
	if (!strcmp(type, "MATRIX"))
		return uw_add(u, name, tally_matrix(fld, v));
	if (!strcmp(type, "INPUT_EMAIL"))
		name = uw_typed_name(u, name, "email");
	else if (!strcmp(type, "INPUT_PHONE_NUMBER"))
		name = uw_typed_name(u, name, "phone");
	options = uw_member_type(fld, "options", json_type_array);
	if (options != NULL && json_object_is_type(v, json_type_array))
		return uw_add(u, name,
		              tally_choices(v, options,
		                            !strcmp(type, "MULTIPLE_CHOICE") ||
		                                    !strcmp(type, "DROPDOWN")));
	return uw_add(u, name, ref(v));
}

static int
tally_unwrap(struct unwrap *u, struct json_object *root)
{
	struct json_object *data =
	        uw_member_type(root, "data", json_type_object);
	struct json_object *fields;
	size_t i;
	int rc = FR_OK;

	fields = uw_member_type(data, "fields", json_type_array);
	if (fields == NULL)
		return uw_broken(u, "Tally");
	for (i = 0; rc == FR_OK && i < uw_length(fields); i++)
		rc = tally_field(u, json_object_array_get_idx(fields, i));
	if (rc == FR_OK)
		rc = uw_form_name(u, uw_string(data, "formName"));
	if (rc == FR_OK)
		rc = uw_event_id(u, uw_member(root, "eventId"));
	uw_submitted(u, uw_string(data, "createdAt"));
	uw_submitted(u, uw_string(root, "createdAt"));
	return rc;
}

/* ---- Webflow --------------------------------------------------------- */

static int
webflow_match(const struct unwrap *u, struct json_object *root)
{
	const char *trigger = uw_string(root, "triggerType");
	struct json_object *payload = uw_member(root, "payload");

	(void)u;
	if (trigger != NULL && strcmp(trigger, "form_submission") == 0)
		return 1;
	if (uw_member_type(payload, "data", json_type_object) != NULL &&
	    uw_string(payload, "name") != NULL)
		return 1;
	/* v1: {"name","site","data","d","_id"} */
	return uw_member_type(root, "data", json_type_object) != NULL &&
	       uw_string(root, "site") != NULL &&
	       uw_string(root, "_id") != NULL;
}

static int
webflow_unwrap(struct unwrap *u, struct json_object *root)
{
	struct json_object *p =
	        uw_member_type(root, "payload", json_type_object);
	struct json_object *data;
	int rc = FR_OK;

	p = p ? p : root;
	if ((data = uw_member_type(p, "data", json_type_object)) == NULL)
		return uw_broken(u, "Webflow");
	json_object_object_foreach(data, key, val)
	{
		if (rc == FR_OK)
			rc = uw_add(u, key, ref(val));
	}
	if (rc == FR_OK)
		rc = uw_context(u, "path", uw_member(p, "publishedPath"));
	if (rc == FR_OK)
		rc = uw_context(u, "url", uw_member(p, "pageUrl"));
	if (rc == FR_OK)
		rc = uw_form_name(u, uw_string(p, "name"));
	/* v2: payload.id and submittedAt; v1: _id and d */
	if (rc == FR_OK)
		rc = uw_event_id(u, uw_member(p, p == root ? "_id" : "id"));
	uw_submitted(u, uw_string(p, p == root ? "d" : "submittedAt"));
	return rc;
}

/* ---- Embeddables ----------------------------------------------------- */

static int
embeddables_match(const struct unwrap *u, struct json_object *root)
{
	(void)u;
	return uw_member_type(root, "userData", json_type_object) != NULL;
}

/* Embeddables' context keys -> our context keys. */
static const struct {
	const char *name, *key;
} context_map[] = {
        {"pageUrl", "url"},         {"url", "url"},
        {"pageTitle", "title"},     {"title", "title"},
        {"referrer", "referrer"},   {"referer", "referrer"},
        {"path", "path"},           {"pathname", "path"},
        {"userAgent", "userAgent"}, {"ip", "ip"},
};

static int
embeddables_context(struct unwrap *u, struct json_object *ctx)
{
	size_t i;
	int rc = FR_OK;

	json_object_object_foreach(ctx, key, val)
	{
		for (i = 0; rc == FR_OK &&
		            i < sizeof(context_map) / sizeof(context_map[0]);
		     i++)
			if (alias_name_eq(key, context_map[i].name))
				rc = uw_context(u, context_map[i].key, val);
	}
	return rc;
}

/* The context's entryId keys the identify (SPEC: "keyed by the
 * submission's entryId") when userData lacks one. */
static int
embeddables_entry_id(struct unwrap *u, struct json_object *ud,
                     struct json_object *ctx)
{
	json_object_object_foreach(ud, ukey, uval)
	{
		(void)uval;
		if (alias_name_eq(ukey, "entryId"))
			return FR_OK;
	}
	json_object_object_foreach(ctx, key, val)
	{
		if (alias_name_eq(key, "entryId") &&
		    !json_object_is_type(val, json_type_null))
			return uw_add(u, "entryId", ref(val));
	}
	return FR_OK;
}

static int
embeddables_unwrap(struct unwrap *u, struct json_object *root)
{
	static const char *const names[] = {"flowName", "embeddableName",
	                                    "flowId", "embeddableId"};
	struct json_object *ud, *ctx;
	size_t i;
	int rc = FR_OK;

	ud = uw_member_type(root, "userData", json_type_object);
	ctx = uw_member_type(root, "context", json_type_object);
	json_object_object_foreach(ud, key, val)
	{
		if (rc == FR_OK)
			rc = uw_add(u, key, ref(val));
	}
	if (ctx == NULL || rc != FR_OK)
		return rc;
	if ((rc = embeddables_entry_id(u, ud, ctx)) != FR_OK ||
	    (rc = embeddables_context(u, ctx)) != FR_OK)
		return rc;
	json_object_object_foreach(ctx, ckey, cval)
	{
		for (i = 0; rc == FR_OK && i < 4; i++)
			if (alias_name_eq(ckey, names[i]) &&
			    json_object_is_type(cval, json_type_string))
				rc = uw_form_name(u,
				                  json_object_get_string(cval));
	}
	return rc;
}

/* ---- Embeddables through Svix: {"type", "data": {...}} --------------- */

static int
envelope_match(const struct unwrap *u, struct json_object *root)
{
	(void)u;
	return uw_string(root, "type") != NULL &&
	       uw_member_type(root, "data", json_type_object) != NULL;
}

/* data's members: the page and visitor keys go to the context, the
 * flow's name to the form name, the rest are fields. */
static int
envelope_member(struct unwrap *u, const char *key, struct json_object *val)
{
	size_t i;

	if (is_object(val) && alias_name_eq(key, "context"))
		return embeddables_context(u, val);
	if (alias_name_eq(key, "flowName") ||
	    alias_name_eq(key, "embeddableName"))
		return uw_form_name(u, json_object_get_string(val));
	for (i = 0; i < sizeof(context_map) / sizeof(context_map[0]); i++)
		if (alias_name_eq(key, context_map[i].name))
			return uw_context(u, context_map[i].key, val);
	return uw_add(u, key, ref(val));
}

static int
envelope_unwrap(struct unwrap *u, struct json_object *root)
{
	struct json_object *data = uw_member(root, "data");
	int rc = FR_OK;

	if (uw_member_type(data, "userData", json_type_object) != NULL)
		rc = embeddables_unwrap(u, data);
	else {
		json_object_object_foreach(data, key, val)
		{
			if (rc == FR_OK)
				rc = envelope_member(u, key, val);
		}
	}
	if (rc == FR_OK)
		rc = uw_event_id(u, uw_member(root, "id"));
	uw_submitted(u, uw_string(data, "completedAt"));
	uw_submitted(u, uw_string(data, "submittedAt"));
	uw_submitted(u, uw_string(data, "createdAt"));
	uw_submitted(u, uw_string(root, "timestamp"));
	return rc;
}

/* ---- Unbounce -------------------------------------------------------- */

/* Set context key to the string s (copied) when s is not NULL. */
static int
context_string(struct unwrap *u, const char *key, const char *s)
{
	struct json_object *v;
	int rc;

	if (s == NULL)
		return FR_OK;
	if ((v = json_object_new_string(s)) == NULL)
		return FR_ENOMEM;
	rc = uw_context(u, key, v);
	json_object_put(v);
	return rc;
}

/* A string form field (Unbounce and Jotform post form-encoded). */
static const char *
form_string(const struct unwrap *u, const char *name)
{
	const struct field *f = u->in ? fields_find(u->in, name) : NULL;

	return f && json_object_is_type(f->value, json_type_string)
	               ? json_object_get_string(f->value)
	               : NULL;
}

static struct json_object *
unbounce_data(struct json_object *root)
{
	struct json_object *dj = uw_member(root, "data.json");

	if (dj == NULL)
		dj = uw_member_type(uw_member(root, "data"), "json",
		                    json_type_object);
	return dj;
}

static int
unbounce_match(const struct unwrap *u, struct json_object *root)
{
	return unbounce_data(root) != NULL ||
	       form_string(u, "data.json") != NULL;
}

/* Every data.json value is a list: one element is the value. */
static struct json_object *
unbounce_value(struct json_object *v)
{
	if (!json_object_is_type(v, json_type_array))
		return ref(v);
	if (uw_length(v) == 1)
		return ref(json_object_array_get_idx(v, 0));
	return uw_length(v) ? ref(v) : NULL;
}

static int
unbounce_member(struct unwrap *u, const char *key, struct json_object *v)
{
	static const char *const skip[] = {"page_uuid", "variant", "page_id",
	                                   "time_submitted", "date_submitted"};
	struct json_object *one = unbounce_value(v);
	int rc = FR_OK;
	size_t i;

	for (i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (strcmp(key, skip[i]) == 0)
			goto done;
	if (strcmp(key, "ip_address") == 0)
		rc = uw_context(u, "ip", one);
	else if (strcmp(key, "page_url") == 0)
		rc = uw_context(u, "url", one);
	else if (strcmp(key, "page_name") == 0)
		rc = uw_form_name(u, json_object_get_string(one));
	else
		return uw_add(u, key, one);
done:
	json_object_put(one);
	return rc;
}

/* date_submitted "2014-07-14" and time_submitted "08:15 PM UTC". */
static void
unbounce_submitted(struct unwrap *u, struct json_object *dj)
{
	struct json_object *d = unbounce_value(uw_member(dj, "date_submitted"));
	struct json_object *t = unbounce_value(uw_member(dj, "time_submitted"));
	const char *ds = json_object_get_string(d), *ts;
	char iso[32], ampm[3] = "";
	int h = 0, m = 0;

	ts = json_object_is_type(t, json_type_string)
	             ? json_object_get_string(t)
	             : "";
	if (json_object_is_type(d, json_type_string) && strlen(ds) == 10 &&
	    sscanf(ts, "%2d:%2d %2[APM] UTC", &h, &m, ampm) == 3 && h >= 1 &&
	    h <= 12 && m >= 0 && m < 60) {
		h = h % 12 + (ampm[0] == 'P' ? 12 : 0);
		snprintf(iso, sizeof(iso), "%.10sT%02d:%02d:00Z", ds, h, m);
		uw_submitted(u, iso);
	}
	json_object_put(d);
	json_object_put(t);
}

static int
unbounce_unwrap(struct unwrap *u, struct json_object *root)
{
	struct json_object *dj = unbounce_data(root), *parsed = NULL;
	const char *text = form_string(u, "data.json");
	int rc = FR_OK;

	if (dj == NULL || json_object_is_type(dj, json_type_string)) {
		text = dj ? json_object_get_string(dj) : text;
		if ((rc = uw_parse_nested(u, "data.json", text, &parsed)))
			return rc;
		dj = parsed;
	}
	if (!is_object(dj))
		return uw_broken(u, "Unbounce");
	json_object_object_foreach(dj, key, val)
	{
		if (rc == FR_OK)
			rc = unbounce_member(u, key, val);
	}
	unbounce_submitted(u, dj);
	json_object_put(parsed);
	if (rc == FR_OK)
		rc = context_string(u, "url", form_string(u, "page_url"));
	if (rc == FR_OK)
		rc = uw_form_name(u, form_string(u, "page_name"));
	return rc;
}

/* ---- Jotform --------------------------------------------------------- */

static const char *
jotform_raw(const struct unwrap *u, struct json_object *root)
{
	const char *raw = uw_string(root, "rawRequest");

	return raw ? raw : form_string(u, "rawRequest");
}

static int
jotform_match(const struct unwrap *u, struct json_object *root)
{
	return jotform_raw(u, root) != NULL;
}

/* q<N>_<name> -> <name>; other keys (slug, path, event_id, temp_upload,
 * jsExecutionTracker, ...) are Jotform's own. */
static const char *
jotform_name(const char *key)
{
	const char *p = key + 1;

	if (key[0] != 'q' || *p < '0' || *p > '9')
		return NULL;
	while (*p >= '0' && *p <= '9')
		p++;
	return (*p == '_' && p[1] != '\0') ? p + 1 : NULL;
}

/* {"month","day","year"} -> "YYYY-MM-DD" when all are given. */
static int
jotform_date(struct unwrap *u, const char *name, struct json_object *v)
{
	const char *y = uw_string(v, "year"), *m = uw_string(v, "month");
	const char *d = uw_string(v, "day");
	char buf[64];

	if (!y || !m || !d || !*y || !*m || !*d)
		return FR_OK;
	snprintf(buf, sizeof(buf), "%s-%s%s-%s%s", y, strlen(m) < 2 ? "0" : "",
	         m, strlen(d) < 2 ? "0" : "", d);
	return uw_add_string(u, name, buf);
}

/* Compound fields: {"full"} (phone), dates, else name[sub] fields that
 * normalisation resolves (name[first] -> first_name). */
static int
jotform_object(struct unwrap *u, const char *name, struct json_object *v)
{
	char sub[256];
	int rc = FR_OK;

	if (uw_string(v, "full") != NULL)
		return uw_add_string(u, name, uw_string(v, "full"));
	if (uw_member(v, "year") != NULL && uw_member(v, "month") != NULL)
		return jotform_date(u, name, v);
	json_object_object_foreach(v, key, val)
	{
		if (rc != FR_OK || !json_object_is_type(val, json_type_string))
			continue;
		snprintf(sub, sizeof(sub), "%s[%s]", name, key);
		rc = uw_add(u, sub, ref(val));
	}
	return rc;
}

/* A widget's value is JSON text: an object's scalar members become
 * name[key] fields, a list of strings a list; anything else is dropped,
 * never forwarded as JSON text. */
static int
jotform_widget(struct unwrap *u, const char *name, const char *text)
{
	struct json_object *v = json_tokener_parse(text);
	int rc = FR_OK;
	char sub[256];
	size_t i;

	if (is_object(v)) {
		json_object_object_foreach(v, key, val)
		{
			if (rc != FR_OK || is_object(val) ||
			    json_object_is_type(val, json_type_array) ||
			    json_object_is_type(val, json_type_null))
				continue;
			snprintf(sub, sizeof(sub), "%s[%s]", name, key);
			rc = uw_add(u, sub, ref(val));
		}
	} else if (json_object_is_type(v, json_type_array)) {
		for (i = 0; i < uw_length(v); i++)
			if (!json_object_is_type(
			            json_object_array_get_idx(v, i),
			            json_type_string))
				break;
		if (i == uw_length(v) && i > 0)
			rc = uw_add(u, name, ref(v));
	}
	json_object_put(v);
	return rc;
}

/* One q<N>_<name> answer. */
static int
jotform_answer(struct unwrap *u, const char *name, struct json_object *val)
{
	const char *s = json_object_get_string(val);

	if (is_object(val))
		return jotform_object(u, name, val);
	if (!json_object_is_type(val, json_type_string))
		return uw_add(u, name, ref(val));
	if (strncmp(s, "data:", 5) == 0) /* a signature */
		return FR_OK;
	if (*s == '{' || *s == '[')
		return jotform_widget(u, name, s);
	return uw_add(u, name, ref(val));
}

/* rawRequest.submitDate: when the visitor submitted, in milliseconds
 * since the epoch as a decimal string ("1772558985692"). */
static void
jotform_submitted(struct unwrap *u, struct json_object *raw)
{
	const char *s = uw_string(raw, "submitDate");
	int64_t ms = 0;
	size_t i;

	if (s == NULL || u->nf.submitted_ms != 0)
		return;
	for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 15; i++)
		ms = ms * 10 + (s[i] - '0');
	if (s[i] == '\0' && i >= 10 && ms > 0)
		u->nf.submitted_ms = ms;
}

/* submissionID: the event id, and a field that id_fields may name. */
static int
jotform_submission(struct unwrap *u, struct json_object *root)
{
	struct json_object *id = uw_member(root, "submissionID"), *made = NULL;
	const char *s;
	int rc;

	if (id == NULL && (s = form_string(u, "submissionID")) != NULL)
		id = made = json_object_new_string(s);
	rc = uw_event_id(u, id);
	if (rc == FR_OK && id != NULL)
		rc = uw_add(u, "submissionID", ref(id));
	json_object_put(made);
	return rc;
}

static int
jotform_unwrap(struct unwrap *u, struct json_object *root)
{
	struct json_object *raw;
	const char *name, *s;
	int rc;

	if ((rc = uw_parse_nested(u, "rawRequest", jotform_raw(u, root), &raw)))
		return rc;
	json_object_object_foreach(raw, key, val)
	{
		if (rc != FR_OK || (name = jotform_name(key)) == NULL)
			continue;
		rc = jotform_answer(u, name, val);
	}
	jotform_submitted(u, raw);
	json_object_put(raw);
	if (rc == FR_OK)
		rc = jotform_submission(u, root);
	s = uw_string(root, "formTitle");
	if (rc == FR_OK)
		rc = uw_form_name(u, s ? s : form_string(u, "formTitle"));
	s = uw_string(root, "ip");
	if (rc == FR_OK)
		rc = context_string(u, "ip", s ? s : form_string(u, "ip"));
	return rc;
}

/* ---- HubSpot-style field lists -------------------------------------- */

static int
hubspot_match(const struct unwrap *u, struct json_object *root)
{
	struct json_object *fields =
	        uw_member_type(root, "fields", json_type_array);
	struct json_object *first;

	(void)u;
	if (fields == NULL || uw_length(fields) == 0)
		return 0;
	first = json_object_array_get_idx(fields, 0);
	return uw_string(first, "name") != NULL &&
	       uw_member(first, "value") != NULL;
}

static int
hubspot_unwrap(struct unwrap *u, struct json_object *root)
{
	struct json_object *fields = uw_member(root, "fields"), *fld;
	struct json_object *ctx =
	        uw_member_type(root, "context", json_type_object);
	size_t i;
	int rc = FR_OK;

	for (i = 0; rc == FR_OK && i < uw_length(fields); i++) {
		fld = json_object_array_get_idx(fields, i);
		if (uw_string(fld, "name") == NULL)
			return uw_broken(u, "HubSpot");
		rc = uw_add(u, uw_string(fld, "name"),
		            ref(uw_member(fld, "value")));
	}
	if (rc == FR_OK)
		rc = uw_context(u, "url", uw_member(ctx, "pageUri"));
	if (rc == FR_OK)
		rc = uw_context(u, "title", uw_member(ctx, "pageName"));
	if (rc == FR_OK)
		rc = uw_context(u, "ip", uw_member(ctx, "ipAddress"));
	return rc;
}

const struct uw_platform uw_platforms[] = {
        {"Typeform", SOURCE_TYPEFORM, uw_typeform_match, uw_typeform_unwrap},
        {"Tally", SOURCE_TALLY, tally_match, tally_unwrap},
        {"Webflow", SOURCE_WEBFLOW, webflow_match, webflow_unwrap},
        {"Embeddables", SOURCE_EMBEDDABLES, embeddables_match,
         embeddables_unwrap},
        {"Embeddables", SOURCE_EMBEDDABLES, envelope_match, envelope_unwrap},
        {"Unbounce", SOURCE_UNBOUNCE, unbounce_match, unbounce_unwrap},
        {"Jotform", SOURCE_JOTFORM, jotform_match, jotform_unwrap},
        {"HubSpot", SOURCE_HUBSPOT, hubspot_match, hubspot_unwrap},
};

const size_t uw_platform_count = sizeof(uw_platforms) / sizeof(uw_platforms[0]);
