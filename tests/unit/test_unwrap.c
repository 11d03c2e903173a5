/*
 * Webhook unwrapping and builder fixtures end to end: each fixture under
 * tests/fixtures/{forms,webhooks}/ is a real body as the platform sends
 * it, with NAME.expect.json giving the content type and every expected
 * result (traits in full, userId, form name, context, source).  The body
 * goes through parse_body, unwrap_webhook and normalise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "config.h"
#include "fields.h"
#include "normalise.h"
#include "parse.h"
#include "tap.h"
#include "unwrap.h"

#include "norm_helpers.h"

static const struct {
	const char *dir, *name, *ext;
} fixtures[] = {
        {"webhooks", "typeform", "json"},
        {"webhooks", "tally", "json"},
        {"webhooks", "webflow", "json"},
        {"webhooks", "webflow_v1", "json"},
        {"webhooks", "embeddables", "json"},
        {"webhooks", "embeddables_flat", "json"},
        {"webhooks", "unbounce", "txt"},
        {"webhooks", "unbounce_json", "json"},
        {"webhooks", "unbounce_docs", "txt"},
        {"webhooks", "jotform", "multipart"},
        {"webhooks", "jotform_json", "json"},
        {"webhooks", "hubspot", "json"},
        {"webhooks", "typeform_docs", "json"},
        {"webhooks", "typeform_titles", "json"},
        {"webhooks", "tally_all", "json"},
        {"webhooks", "tally_docs", "json"},
        {"webhooks", "embeddables_svix", "json"},
        {"forms", "mailchimp", "txt"},
        {"forms", "contact_form_7", "multipart"},
        {"forms", "elementor", "txt"},
        {"forms", "wpforms", "txt"},
        {"forms", "gravity_forms", "txt"},
        {"forms", "hubspot", "txt"},
        {"forms", "webflow", "txt"},
        {"forms", "netlify", "txt"},
        {"forms", "formspree", "txt"},
        {"forms", "beacon", "json"},
};

static const char *const source_names[] = {
        "form",  "json",     "embeddables", "webflow", "typeform",
        "tally", "unbounce", "jotform",     "hubspot",
};

/* The whole file, NUL-terminated; *len its size.  NULL on error. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	long size;

	if (fp == NULL) {
		printf("# %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fseek(fp, 0, SEEK_END) == 0 && (size = ftell(fp)) >= 0 &&
	    fseek(fp, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1))) {
		*len = fread(buf, 1, (size_t)size, fp);
		buf[*len] = '\0';
	}
	fclose(fp);
	return buf;
}

static char *
fixture_path(const char *dir, const char *name, const char *ext)
{
	const char *src = getenv("FORMRELAY_SRCDIR");
	static char path[1024];

	snprintf(path, sizeof(path), "%s/tests/fixtures/%s/%s.%s",
	         src ? src : ".", dir, name, ext);
	return path;
}

/* A string member of the expectation, or NULL for null/absent. */
static const char *
want_string(struct json_object *want, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(want, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void
compare_object(struct json_object *got, struct json_object *want,
               const char *key, const char *title)
{
	struct json_object *w = NULL;

	if (!json_object_object_get_ex(want, key, &w))
		return; /* not asserted by this fixture */
	is_json(got,
	        json_object_is_type(w, json_type_null)
	                ? NULL
	                : json_object_to_json_string(w),
	        "%s: %s", title, key);
}

static void
compare(const struct fields *f, const struct submission *out,
        struct json_object *want, const char *title)
{
	struct json_object *w = NULL;

	if (want_string(want, "source") != NULL)
		is_str(source_names[f->source], want_string(want, "source"),
		       "%s: source", title);
	is_str(out->user_id, want_string(want, "user_id"), "%s: userId", title);
	is_str(out->form_name, want_string(want, "form_name"), "%s: form name",
	       title);
	compare_object(out->traits, want, "traits", title);
	compare_object(out->campaign, want, "campaign", title);
	compare_object(out->page, want, "page", title);
	compare_object(out->properties, want, "properties", title);
	if (json_object_object_get_ex(want, "ip", NULL))
		is_str(out->ip, want_string(want, "ip"), "%s: ip", title);
	if (json_object_object_get_ex(want, "user_agent", NULL))
		is_str(out->user_agent, want_string(want, "user_agent"),
		       "%s: userAgent", title);
	if (json_object_object_get_ex(want, "event", NULL))
		is_str(out->event, want_string(want, "event"), "%s: event",
		       title);
	if (json_object_object_get_ex(want, "next_url", NULL))
		is_str(out->next_url, want_string(want, "next_url"),
		       "%s: _next", title);
	if (json_object_object_get_ex(want, "event_id", NULL))
		is_str(f->event_id, want_string(want, "event_id"),
		       "%s: the platform's event id", title);
	if (json_object_object_get_ex(want, "submitted_ms", &w))
		is_int(f->submitted_ms, json_object_get_int64(w),
		       "%s: the platform's submitted time", title);
}

static void
add_config_aliases(struct config *cfg, struct json_object *want)
{
	struct json_object *aliases;

	if (!json_object_object_get_ex(want, "config_aliases", &aliases))
		return;
	json_object_object_foreach(aliases, trait, name)
	{
		test_config_add_alias(cfg, trait, json_object_get_string(name));
	}
}

static void
run_fixture(const char *dir, const char *name, const char *ext)
{
	struct config cfg;
	struct fields f;
	struct submission out;
	struct fr_error err;
	struct json_object *want;
	char title[128], *body, *expect;
	size_t len, elen;
	int rc;

	snprintf(title, sizeof(title), "%s/%s", dir, name);
	body = slurp(fixture_path(dir, name, ext), &len);
	expect = slurp(fixture_path(dir, name, "expect.json"), &elen);
	want = expect ? json_tokener_parse(expect) : NULL;
	if (!ok(body != NULL && want != NULL, "%s: fixture readable", title))
		goto out;
	test_config_init(&cfg);
	add_config_aliases(&cfg, want);
	fields_init(&f);
	fr_error_clear(&err);
	rc = parse_body(body, len, want_string(want, "content_type"), NULL, &f,
	                &err);
	if (rc == FR_OK)
		rc = unwrap_webhook_cfg(&f, NULL, &cfg, &err);
	if (rc == FR_OK)
		rc = normalise(&f, &cfg, &out, &err);
	is_int(rc, FR_OK, "%s: accepted", title);
	if (rc != FR_OK) {
		printf("#   %s: %s\n", err.code, err.message);
	} else {
		compare(&f, &out, want, title);
		check_idempotent(&out, &cfg, title);
		submission_free(&out);
	}
	fields_free(&f);
	test_config_release(&cfg);
out:
	json_object_put(want);
	free(body);
	free(expect);
}

/* Run text (a JSON body) through unwrap_webhook; return its status. */
static int
unwrap_text(const char *text, struct fields *f, struct fr_error *err)
{
	fields_from_json(f, text);
	return unwrap_webhook(f, NULL, err);
}

static void
test_shapes(void)
{
	struct fields f;
	struct fr_error err;

	is_int(unwrap_text("{\"email\":\"a@b.example\",\"data\":{\"x\":1}}", &f,
	                   &err),
	       FR_OK, "no known shape: left alone");
	ok(f.count == 2 && f.source == SOURCE_JSON && f.context == NULL,
	   "no known shape: fields unchanged");
	fields_free(&f);

	is_int(unwrap_text("{\"form_response\":\"nope\"}", &f, &err),
	       FR_EMALFORMED, "Typeform: a broken envelope is 400");
	ok(f.count == 1, "Typeform: on error the fields are as they were");
	fields_free(&f);

	is_int(unwrap_text("{\"form_response\":{\"answers\":{}}}", &f, &err),
	       FR_EMALFORMED, "Typeform: answers must be a list");
	fields_free(&f);

	is_int(unwrap_text("{\"data.json\":\"{not json\"}", &f, &err),
	       FR_EMALFORMED, "Unbounce: data.json text must be JSON");
	is_str(err.field, "data.json", "Unbounce: the error names data.json");
	fields_free(&f);

	is_int(unwrap_text("{\"rawRequest\":\"[1,2]\"}", &f, &err),
	       FR_EMALFORMED, "Jotform: rawRequest must be an object");
	fields_free(&f);

	is_int(unwrap_text("{\"eventType\":\"FORM_RESPONSE\",\"data\":{}}", &f,
	                   &err),
	       FR_EMALFORMED, "Tally: data.fields is required");
	fields_free(&f);

	is_int(unwrap_text("{\"fields\":[{\"name\":\"email\",\"value\":\"a@b."
	                   "example\"},{\"value\":1}]}",
	                   &f, &err),
	       FR_EMALFORMED, "HubSpot: every field needs a name");
	fields_free(&f);

	is_int(unwrap_text("{\"userData\":{\"email\":\"a@b.example\"}}", &f,
	                   &err),
	       FR_OK, "Embeddables without context");
	ok(f.count == 1 && f.source == SOURCE_EMBEDDABLES &&
	           f.context == NULL && f.root != NULL,
	   "Embeddables: userData only, root kept");
	fields_free(&f);
}

/* The name of field i, or NULL. */
static const char *
name_at(const struct fields *f, size_t i)
{
	return i < f->count ? f->items[i].name : NULL;
}

#define TF_AUTO_REF "3f2b6c1e-8d4a-4e7b-9c2d-1a5e6f7b8c9d"

static void
test_typeform_names(void)
{
	struct fields f;
	struct fr_error err;

	is_int(unwrap_text(
	               "{\"event_id\":\"e1\",\"form_response\":{"
	               "\"submitted_at\":\"2026-03-09T11:01:44.250+02:00\","
	               "\"definition\":{\"fields\":[{\"id\":\"a\",\"title\":"
	               "\"Where can we reach you?\",\"ref\":\"" TF_AUTO_REF
	               "\"},{\"id\":\"b\",\"title\":\"Supercalifragilistic"
	               "expialidocious-and-then-some-more-words here\"}]},"
	               "\"answers\":[{\"type\":\"text\",\"text\":\"Kim@X."
	               "example\",\"field\":{\"id\":\"a\"}},{\"type\":\"text\","
	               "\"text\":\"y\",\"field\":{\"id\":\"b\"}}]}}",
	               &f, &err),
	       FR_OK, "Typeform: accepted");
	is_str(name_at(&f, 0), "email",
	       "Typeform: a text answer that is an email, with no email "
	       "answer, is the email");
	is_str(name_at(&f, 1), "supercalifragilisticexpialidocious_and",
	       "Typeform: a long title cut at a word within 40 bytes");
	is_str(f.event_id, "e1", "Typeform: event_id");
	is_int(f.submitted_ms, 1773046904250LL,
	       "Typeform: submitted_at with an offset and milliseconds");
	fields_free(&f);

	is_int(unwrap_text(
	               "{\"form_response\":{\"answers\":[{\"type\":"
	               "\"text\",\"text\":\"a@b.example\",\"field\":{\"id\":"
	               "\"x\"}},{\"type\":\"email\",\"email\":\"c@d.example"
	               "\",\"field\":{\"id\":\"y\"}}]}}",
	               &f, &err),
	       FR_OK, "Typeform: text and email answers");
	is_str(name_at(&f, 0), "x",
	       "Typeform: with an email answer, a text one is not the email");
	is_str(name_at(&f, 1), "email", "Typeform: the email answer is");
	fields_free(&f);

	/* Accented titles: lower-cased, UTF-8 kept (docs/normalisation.md);
	 * French typography's no-break spaces and curly quotes separate. */
	is_int(unwrap_text(
	               "{\"form_response\":{\"definition\":{\"fields\":["
	               "{\"id\":\"a\",\"title\":\"Pr\u00e9nom ?\"},"
	               "{\"id\":\"b\",\"title\":\"PR\u00c9NOM D\u2019USAGE"
	               "\u00a0?\"},"
	               "{\"id\":\"c\",\"title\":\"\u00c9cole pr\u00e9f\u00e9r"
	               "\u00e9e\u202f?\"}]},\"answers\":["
	               "{\"type\":\"text\",\"text\":\"L\u00e9a\",\"field\":{"
	               "\"id\":\"a\"}},{\"type\":\"text\",\"text\":\"x\","
	               "\"field\":{\"id\":\"b\"}},{\"type\":\"text\","
	               "\"text\":\"y\",\"field\":{\"id\":\"c\"}}]}}",
	               &f, &err),
	       FR_OK, "Typeform: accented titles accepted");
	is_str(name_at(&f, 0), "pr\xc3\xa9nom", "Typeform: 'Pr\xc3\xa9nom ?'");
	is_str(name_at(&f, 1), "pr\xc3\xa9nom_d_usage",
	       "Typeform: capitals lower-cased, a curly apostrophe and a "
	       "no-break space separate");
	is_str(name_at(&f, 2),
	       "\xc3\xa9"
	       "cole_pr\xc3\xa9"
	       "f\xc3\xa9r\xc3\xa9"
	       "e",
	       "Typeform: a narrow no-break space separates");
	fields_free(&f);

	is_int(unwrap_text("{\"form_response\":{\"submitted_at\":\"2026-13-01T"
	                   "00:00:00Z\",\"answers\":[]}}",
	                   &f, &err),
	       FR_OK, "Typeform: a bad submitted_at is no error");
	is_int(f.submitted_ms, 0, "Typeform: ... and no time");
	fields_free(&f);
}

/* Run text through unwrap_webhook_hook for a route of platform p. */
static int
unwrap_for(enum hook_platform p, const char *text, struct fields *f,
           struct fr_error *err)
{
	static char name[] = "h";
	struct config_hook hook = {.name = name, .platform = p};

	fields_from_json(f, text);
	fr_error_clear(err);
	return unwrap_webhook_hook(f, NULL, NULL, &hook, err);
}

#define TF_BODY                                                                \
	"{\"event_id\":\"tf1\",\"form_response\":{\"answers\":[{\"type\":"     \
	"\"email\",\"email\":\"tf@x.example\",\"field\":{\"id\":\"e\"}}]},"    \
	"\"eventType\":\"X\",\"data\":{}}"
#define TALLY_BODY                                                             \
	"{\"eventId\":\"t1\",\"eventType\":\"FORM_RESPONSE\",\"data\":{"       \
	"\"formId\":\"f\",\"fields\":[{\"key\":\"k\",\"label\":\"Email\","     \
	"\"type\":\"INPUT_EMAIL\",\"value\":\"t@x.example\"}]},"               \
	"\"form_response\":{\"answers\":[]}}"

/* A hooks route reads its platform's payload, never another's by shape
 * (issue 19). */
static void
test_route_platform(void)
{
	struct fields f;
	struct fr_error err;

	is_int(unwrap_for(HOOK_TALLY, TF_BODY, &f, &err), FR_EINVALID,
	       "Tally route, a Typeform-shaped body: 422");
	is_str(err.code, "wrong_payload", "... wrong_payload");
	ok(strstr(err.message, "not a Tally webhook") != NULL,
	   "... the message names the platform (%s)", err.message);
	ok(f.source == SOURCE_JSON && f.count == 4 && f.event_id == NULL,
	   "... and the fields are as they were");
	fields_free(&f);

	is_int(unwrap_for(HOOK_TALLY, TALLY_BODY, &f, &err), FR_OK,
	       "Tally route: a Tally body with a form_response member too");
	ok(f.source == SOURCE_TALLY && f.event_id != NULL &&
	           strcmp(f.event_id, "t1") == 0,
	   "... is read as Tally, not Typeform");
	fields_free(&f);

	is_int(unwrap_text(TALLY_BODY, &f, &err), FR_OK,
	       "the main route guesses by shape");
	is_int(f.source, SOURCE_TYPEFORM, "... Typeform's first");
	fields_free(&f);

	is_int(unwrap_for(HOOK_TYPEFORM, TF_BODY, &f, &err), FR_OK,
	       "Typeform route: its own body");
	is_int(f.source, SOURCE_TYPEFORM, "... read as Typeform");
	fields_free(&f);

	is_int(unwrap_for(HOOK_WEBFLOW, "{\"email\":\"a@b.example\"}", &f,
	                  &err),
	       FR_EINVALID, "Webflow route, a flat JSON body: 422");
	fields_free(&f);
	is_int(unwrap_for(HOOK_JOTFORM, TALLY_BODY, &f, &err), FR_EINVALID,
	       "Jotform route, a Tally body: 422");
	fields_free(&f);
	is_int(unwrap_for(HOOK_UNBOUNCE, TF_BODY, &f, &err), FR_EINVALID,
	       "Unbounce route, a Typeform body: 422");
	fields_free(&f);

	is_int(unwrap_for(HOOK_STANDARD, "{\"email\":\"a@b.example\"}", &f,
	                  &err),
	       FR_OK, "standard route: flat JSON taken");
	fields_free(&f);
	is_int(unwrap_for(HOOK_HMAC, TALLY_BODY, &f, &err), FR_OK,
	       "hmac route: any known shape");
	fields_free(&f);
}

static void
test_tally_jotform_details(void)
{
	struct fields f;
	struct fr_error err;
	const char *s;

	is_int(unwrap_text(
	               "{\"eventType\":\"FORM_RESPONSE\",\"data\":{"
	               "\"fields\":[{\"label\":\"M\",\"type\":\"MATRIX\","
	               "\"value\":{\"r1\":[\"c1\",\"c2\"],\"r9\":[\"c1\"]},"
	               "\"rows\":[{\"id\":\"r1\",\"text\":\"Row\"}],"
	               "\"columns\":[{\"id\":\"c1\",\"text\":\"A\"},{\"id\":"
	               "\"c2\",\"text\":\"B\"}]}]}}",
	               &f, &err),
	       FR_OK, "Tally MATRIX: accepted");
	s = f.count ? json_object_to_json_string_ext(f.items[0].value,
	                                             JSON_C_TO_STRING_PLAIN)
	            : NULL;
	is_str(s, "{\"Row\":[\"A\",\"B\"],\"r9\":\"A\"}",
	       "Tally MATRIX: labels; several columns a list; an unknown row "
	       "keeps its id");
	fields_free(&f);

	is_int(unwrap_text("{\"submissionID\":\"77\",\"rawRequest\":\"{"
	                   "\\\"q1_consent\\\":\\\"{\\\\\\\"agreed\\\\\\\":"
	                   "\\\\\\\"yes"
	                   "\\\\\\\",\\\\\\\"meta\\\\\\\":{}}\\\","
	                   "\\\"q2_list\\\":\\\"[1,2]\\\"}\"}",
	                   &f, &err),
	       FR_OK, "Jotform widgets: accepted");
	is_str(name_at(&f, 0), "consent[agreed]",
	       "Jotform: a widget's JSON object becomes fields");
	is_str(name_at(&f, 1), "submissionID",
	       "Jotform: a JSON list of numbers is dropped, submissionID "
	       "kept");
	is_str(f.event_id, "77", "Jotform: submissionID is the event id");
	fields_free(&f);
}

static void
test_limits(void)
{
	struct parse_limits lim;
	struct fields f;
	struct fr_error err;
	char text[4096];
	size_t n = 0;
	int i;

	parse_limits_default(&lim);
	lim.max_fields = 5;
	n += (size_t)snprintf(text, sizeof(text), "{\"userData\":{");
	for (i = 0; i < 6; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		                      "%s\"f%d\":\"v\"", i ? "," : "", i);
	snprintf(text + n, sizeof(text) - n, "}}");
	fields_from_json(&f, text);
	is_int(unwrap_webhook(&f, &lim, &err), FR_ETOOLARGE,
	       "limits: too many unwrapped fields");
	fields_free(&f);

	parse_limits_default(&lim);
	lim.max_name = 10;
	fields_from_json(&f, "{\"fields\":[{\"name\":\"a very long label "
	                     "indeed\",\"value\":\"x\"}]}");
	is_int(unwrap_webhook(&f, &lim, &err), FR_OK,
	       "limits: a long name is cut, not refused");
	is_str(f.count ? f.items[0].name : NULL, "a very lon",
	       "limits: cut at max_name");
	fields_free(&f);
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		run_fixture(fixtures[i].dir, fixtures[i].name, fixtures[i].ext);
	test_shapes();
	test_typeform_names();
	test_route_platform();
	test_tally_jotform_details();
	test_limits();
	return done_testing();
}
