/*
 * Normalisation: names, values, canonical traits, reserved and denied
 * fields, the userId and the track event.  Table-driven: each case is a
 * list of form (or JSON) fields and the traits expected in full.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aliases.h"
#include "config.h"
#include "fields.h"
#include "normalise.h"
#include "tap.h"

#include "norm_helpers.h"

struct form_case {
	const char *title;
	const char *pairs[64];   /* name, value, ..., NULL */
	const char *want_traits; /* JSON text, or NULL when an error */
	const char *want_user_id;
	const char *want_error; /* err.code */
};

static const struct form_case form_cases[] = {
        {"Mailchimp embed",
         {"EMAIL",
          " Jane.Doe@Example.COM ",
          "FNAME",
          "Jane",
          "LNAME",
          "Doe",
          "PHONE",
          "+1 (555) 010-9999",
          "ADDRESS[addr1]",
          "1 Main St",
          "ADDRESS[addr2]",
          "",
          "ADDRESS[city]",
          "Springfield",
          "ADDRESS[state]",
          "IL",
          "ADDRESS[zip]",
          "02134",
          "ADDRESS[country]",
          "US",
          "MMERGE6",
          "Gold",
          "b_62607cf7c4829eff92f2773b1_2f8f17bcdf",
          "",
          "subscribe",
          "Subscribe",
          NULL},
         "{\"email\":\"jane.doe@example.com\",\"first_name\":\"Jane\","
         "\"last_name\":\"Doe\",\"phone\":\"+15550109999\",\"address\":\"1 "
         "Main "
         "St\",\"city\":\"Springfield\",\"state\":\"IL\",\"postal_code\":"
         "\"02134\",\"country\":\"US\",\"mmerge6\":\"Gold\",\"name\":\"Jane "
         "Doe\"}",
         "jane.doe@example.com",
         NULL},
        {"Contact Form 7",
         {"_wpcf7", "42", "_wpcf7_version", "5.9", "_wpcf7_unit_tag",
          "wpcf7-f42-p7-o1", "your-name", "Mary Ann van der Berg", "your-email",
          "mary@example.nl", "your-subject", "Hello", "your-message",
          "Line one\r\nLine two", "_wpcf7_recaptcha_response", "03AGdBq2",
          NULL},
         "{\"name\":\"Mary Ann van der Berg\",\"email\":\"mary@example.nl\","
         "\"subject\":\"Hello\",\"message\":\"Line one\\r\\nLine two\","
         "\"first_name\":\"Mary\",\"last_name\":\"Ann van der Berg\"}",
         "mary@example.nl",
         NULL},
        {"Elementor",
         {"post_id",
          "12",
          "form_id",
          "3f1c2a1",
          "referer_title",
          "Pricing",
          "queried_id",
          "12",
          "form_fields[name]",
          "Zoë Ångström",
          "form_fields[email]",
          "zoe@example.se",
          "form_fields[message]",
          "Hej",
          "form_fields[newsletter]",
          "on",
          "action",
          "elementor_pro_forms_send_form",
          "referrer",
          "https://www.example.com/pricing/",
          NULL},
         "{\"name\":\"Zoë Ångström\",\"email\":\"zoe@example.se\",\"message\":"
         "\"Hej\",\"newsletter\":true,\"first_name\":\"Zoë\",\"last_name\":"
         "\"Ångström\"}",
         "zoe@example.se",
         NULL},
        {"WPForms name sub-keys",
         {"wpforms[fields][1][first]",
          "Ada",
          "wpforms[fields][1][last]",
          "Lovelace",
          "wpforms[fields][2]",
          "ada@example.org",
          "wpforms[fields][3][]",
          "Math",
          "wpforms[fields][3][]",
          "Poetry",
          "wpforms[id]",
          "77",
          "wpforms[author]",
          "1",
          "wpforms[token]",
          "abc",
          "wpforms[submit]",
          "wpforms-submit",
          "page_title",
          "Contact",
          "page_url",
          "https://www.example.com/contact/",
          "page_id",
          "9",
          "url_referer",
          "https://www.google.com/",
          "entry_id",
          "E-1",
          NULL},
         "{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\","
         "\"wpforms_fields_2\":\"ada@example.org\",\"wpforms_fields_3\":"
         "[\"Math\",\"Poetry\"],\"entry_id\":\"E-1\",\"name\":\"Ada "
         "Lovelace\"}",
         "E-1",
         NULL},
        {"Gravity Forms",
         {"input_1.3", "Grace", "input_1.6", "Hopper", "input_2", "x",
          "is_submit_1", "1", "gform_submit", "1", "gform_unique_id", "",
          "state_1", "WyJbXSIsIjZiZ", "gform_target_page_number_1", "0",
          "email", "grace@navy.mil", NULL},
         "{\"first_name\":\"Grace\",\"last_name\":\"Hopper\",\"input_2\":\"x\","
         "\"email\":\"grace@navy.mil\",\"name\":\"Grace Hopper\"}",
         "grace@navy.mil",
         NULL},
        {"HubSpot names",
         {"email",
          "ceo@acme.example",
          "firstname",
          "Wile",
          "lastname",
          "Coyote",
          "jobtitle",
          "Genius",
          "company",
          "Acme",
          "website",
          "https://acme.example",
          "zip",
          "85001",
          "mobilephone",
          "555 0100",
          "lifecyclestage",
          "lead",
          "hs_context",
          "{\"hutk\":\"60c2ccdfe4892f0fa0593940b12c11aa\",\"pageUrl\":"
          "\"https://acme.example/demo\",\"pageName\":\"Demo\"}",
          NULL},
         "{\"email\":\"ceo@acme.example\",\"first_name\":\"Wile\","
         "\"last_name\":\"Coyote\",\"title\":\"Genius\",\"company\":\"Acme\","
         "\"website\":\"https://acme.example\",\"postal_code\":\"85001\","
         "\"phone\":\"5550100\",\"lifecyclestage\":\"lead\",\"name\":\"Wile "
         "Coyote\"}",
         "ceo@acme.example",
         NULL},
        {"Webflow labels, repeats, camelCase, utm",
         {"Name", "Li Wei", "Email 2", "li@example.cn", "Favourite Colour",
          "blue", "Favourite Colour", "green", "howDidYouHear", "Friend",
          "utm_source", "newsletter", "utm_campaign", "spring", "utmMedium",
          "email", "zip code", "02134", NULL},
         "{\"name\":\"Li Wei\",\"email\":\"li@example.cn\","
         "\"favourite_colour\":[\"blue\",\"green\"],\"how_did_you_hear\":"
         "\"Friend\",\"postal_code\":\"02134\",\"first_name\":\"Li\","
         "\"last_name\":\"Wei\"}",
         "li@example.cn",
         NULL},
        {"a repeat appends, another field for the same trait is ignored",
         {"company", "Acme", "email", "a@b.example", "colour", "red", "Email 2",
          "c@d.example", "colour", "blue", "colour[]", "green", NULL},
         "{\"company\":\"Acme\",\"email\":\"a@b.example\","
         "\"colour\":[\"red\",\"blue\",\"green\"]}",
         "a@b.example",
         NULL},
        {"deny list and reserved",
         {"email",
          "a@b.example",
          "password",
          "hunter2",
          "Confirm-Password",
          "hunter2",
          "card_number",
          "4111111111111111",
          "cvv",
          "123",
          "SSN",
          "078-05-1120",
          "g-recaptcha-response",
          "03AGdBq2",
          "h-captcha-response",
          "P0_eyJ",
          "cf-turnstile-response",
          "0.x",
          "csrf_token",
          "t",
          "_token",
          "t",
          "authenticity_token",
          "t",
          "__RequestVerificationToken",
          "t",
          "csrfmiddlewaretoken",
          "t",
          "_subject",
          "New lead",
          "_cc",
          "x@y.example",
          "_next",
          "https://www.example.com/thanks",
          "_form",
          "Footer",
          "traits[plan]",
          "pro",
          "plan_password",
          "x",
          NULL},
         "{\"email\":\"a@b.example\",\"plan\":\"pro\"}",
         "a@b.example",
         NULL},
        {"submit buttons and Akismet's field are not traits",
         {"email", "a@b.example", "submit", "Send", "ak_js", "1732870000",
          "plan", "pro", NULL},
         "{\"email\":\"a@b.example\",\"plan\":\"pro\"}",
         "a@b.example",
         NULL},
        {"_replyto is an email",
         {"_replyto", "Reply@Example.com", "message", "hi", NULL},
         "{\"email\":\"reply@example.com\",\"message\":\"hi\"}",
         "reply@example.com",
         NULL},
        {"invalid email",
         {"email", "not an email", "name", "X", NULL},
         NULL,
         NULL,
         "invalid_email"},
        {"no id and no email", {"name", "X", NULL}, NULL, NULL, "missing_id"},
        {"nothing to send",
         {"email", "", "_next", "/x", "g-recaptcha-response", "t", NULL},
         NULL,
         NULL,
         "nothing_to_send"},
        {"index brackets join one list",
         {"email", "x@y.example", "interests[0]", "a", "interests[1]", "b",
          "group[3][1]", "1", "group[3][4]", "4", NULL},
         "{\"email\":\"x@y.example\",\"interests\":[\"a\",\"b\"],"
         "\"group\":[\"1\",\"4\"]}",
         "x@y.example",
         NULL},
        {"special names are checked after snake_case too",
         {"email", "x@y.example", "page,Title", "Home", "Bot Field", "",
          "Subscribe", "Subscribe", "ak.js", "1", NULL},
         "{\"email\":\"x@y.example\"}",
         "x@y.example",
         NULL},
        {"id field matched like an alias",
         {"EntryID", "e-42", "email", "x@y.example", NULL},
         "{\"entry_id\":\"e-42\",\"email\":\"x@y.example\"}",
         "e-42",
         NULL},
};

static void
check_form_case(const struct form_case *c, const struct config *cfg)
{
	struct fields f;
	struct submission out;
	struct fr_error err;
	int rc;

	fields_from_pairs(&f, c->pairs, FIELD_FORM);
	fr_error_clear(&err);
	rc = normalise(&f, cfg, &out, &err);
	if (c->want_error != NULL) {
		is_int(rc, FR_EINVALID, "%s: rejected", c->title);
		is_str(err.code, c->want_error, "%s: error code", c->title);
	} else {
		is_int(rc, FR_OK, "%s: accepted (%s)", c->title, err.message);
		if (rc == FR_OK) {
			is_json(out.traits, c->want_traits, "%s: traits",
			        c->title);
			is_str(out.user_id, c->want_user_id, "%s: userId",
			       c->title);
			check_idempotent(&out, cfg, c->title);
		}
	}
	submission_free(&out);
	fields_free(&f);
}

static void
test_reserved_and_context(const struct config *cfg)
{
	static const char *pairs[] = {
	        "email",
	        "a@b.example",
	        "_next",
	        "https://www.example.com/ok",
	        "_event",
	        "Demo Requested",
	        "_form",
	        "Footer",
	        "utm_source",
	        "google",
	        "utm_medium",
	        "cpc",
	        "utm_campaign",
	        "brand",
	        "utm_term",
	        "formrelay",
	        "utm_content",
	        "ad1",
	        "page_url",
	        "https://www.example.com/lp?utm_source=google",
	        "pageTitle",
	        "Landing",
	        NULL};
	struct fields f;
	struct submission out;
	struct fr_error err;

	fields_from_pairs(&f, pairs, FIELD_FORM);
	is_int(normalise(&f, cfg, &out, &err), FR_OK, "reserved: accepted");
	is_str(out.next_url, "https://www.example.com/ok", "reserved: _next");
	is_str(out.event, "Demo Requested", "reserved: _event");
	is_str(out.form_name, "Footer", "reserved: _form");
	is_json(out.traits, "{\"email\":\"a@b.example\"}",
	        "reserved: utm_* and page fields are not traits");
	is_json(out.campaign,
	        "{\"source\":\"google\",\"medium\":\"cpc\",\"name\":\"brand\","
	        "\"term\":\"formrelay\",\"content\":\"ad1\"}",
	        "reserved: campaign");
	is_json(out.page,
	        "{\"url\":\"https://www.example.com/lp?utm_source=google\","
	        "\"title\":\"Landing\"}",
	        "reserved: page");
	is_json(out.properties,
	        "{\"email\":\"a@b.example\",\"form_name\":\"Footer\","
	        "\"page_url\":\"https://www.example.com/"
	        "lp?utm_source=google\"}",
	        "reserved: track properties");
	submission_free(&out);
	fields_free(&f);
}

static void
test_honeypots(const struct config *cfg)
{
	static const char *gotcha[] = {"email",      "a@b.example", "_gotcha",
	                               "I am a bot", "_next",       "/thanks",
	                               NULL};
	static const char *mc[] = {"EMAIL", "a@b.example",
	                           "b_62607cf7c4829eff92f2773b1_2f8f17bcdf",
	                           "x", NULL};
	static const char *netlify[] = {"email", "a@b.example", "bot-field",
	                                "http://spam.example", NULL};
	static const char *custom[] = {"email", "a@b.example", "fax_number",
	                               "1", NULL};
	const char *const *cases[] = {gotcha, mc, netlify, custom};
	const char *titles[] = {"_gotcha", "Mailchimp b_", "bot-field",
	                        "configured"};
	struct fields f;
	struct submission out;
	struct fr_error err;
	size_t i;

	for (i = 0; i < 4; i++) {
		fields_from_pairs(&f, cases[i], FIELD_FORM);
		is_int(normalise(&f, cfg, &out, &err), FR_OK,
		       "honeypot %s: success", titles[i]);
		ok(out.honeypot == 1 && out.traits == NULL &&
		           out.user_id == NULL,
		   "honeypot %s: forwards nothing", titles[i]);
		if (i == 0)
			is_str(out.next_url, "/thanks",
			       "honeypot keeps the redirect");
		submission_free(&out);
		fields_free(&f);
	}
}

/*
 * More fields than normalise's trait-name cache holds (64), with names
 * long enough to fill its 2 KB first: every trait is still the one
 * normalise_name gives, and a honeypot past the cache still counts.
 */
static void
test_many_fields(const struct config *cfg)
{
	enum { N = 89 };
	static char names[N][64], values[N][8];
	const char *pairs[2 * (N + 2) + 1];
	char want[NORMALISE_MAX_KEY + 64];
	struct json_object *v;
	struct submission out;
	struct fr_error err;
	struct fields f;
	size_t i, k = 0, wrong = 0;

	pairs[k++] = "email";
	pairs[k++] = "a@b.example";
	for (i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]),
		         "someLongCamelCaseFieldName%02zuWithPadding", i);
		snprintf(values[i], sizeof(values[i]), "v%02zu", i);
		pairs[k++] = names[i];
		pairs[k++] = values[i];
	}
	pairs[k] = NULL;
	fields_from_pairs(&f, pairs, FIELD_FORM);
	is_int(normalise(&f, cfg, &out, &err), FR_OK, "89 long names: success");
	for (i = 0; out.traits != NULL && i < N; i++)
		if (normalise_name(names[i], cfg, want, sizeof(want)) != 0 ||
		    !json_object_object_get_ex(out.traits, want, &v) ||
		    strcmp(json_object_get_string(v), values[i]) != 0)
			wrong++;
	ok(out.traits != NULL && wrong == 0,
	   "89 long names: each trait is normalise_name's (%zu wrong)", wrong);
	submission_free(&out);
	fields_free(&f);
	pairs[k++] = "bot-field";
	pairs[k++] = "http://spam.example";
	pairs[k] = NULL;
	fields_from_pairs(&f, pairs, FIELD_FORM);
	is_int(normalise(&f, cfg, &out, &err), FR_OK, "honeypot 91st: success");
	ok(out.honeypot == 1 && out.traits == NULL,
	   "a honeypot past the first 64 fields forwards nothing");
	submission_free(&out);
	fields_free(&f);
}

static void
test_json_types(const struct config *cfg)
{
	struct fields f;
	struct submission out;
	struct fr_error err;

	fields_from_json(&f, "{\"entryId\":\"ent_1\",\"email\":\"J@X.IO\","
	                     "\"age\":42,\"vip\":true,\"score\":1.5,"
	                     "\"zip\":\"02134\",\"consent\":\"on\","
	                     "\"tags\":[\"a\",\"\",null],\"empty\":[\"\"],"
	                     "\"address\":{\"line1\":\"x\",\"pin\":\"1\"},"
	                     "\"nothing\":null,\"blank\":\"  \"}");
	is_int(normalise(&f, cfg, &out, &err), FR_OK, "json: accepted");
	is_json(out.traits,
	        "{\"entry_id\":\"ent_1\",\"email\":\"j@x.io\",\"age\":42,"
	        "\"vip\":true,\"score\":1.5,\"postal_code\":\"02134\","
	        "\"consent\":\"on\",\"tags\":[\"a\"],"
	        "\"address\":{\"line1\":\"x\"}}",
	        "json: types kept, empties and denied members dropped");
	is_str(out.user_id, "ent_1", "json: entryId is the userId");
	check_idempotent(&out, cfg, "json");
	submission_free(&out);
	fields_free(&f);
}

static void
test_missing_id_reject(struct config *cfg)
{
	static const char *pairs[] = {"email", "a@b.example", NULL};
	struct fields f;
	struct submission out;
	struct fr_error err;

	cfg->missing_id_reject = 1;
	fields_from_pairs(&f, pairs, FIELD_FORM);
	is_int(normalise(&f, cfg, &out, &err), FR_EINVALID,
	       "reject: no id is 422");
	is_str(err.code, "missing_id", "reject: code");
	ok(out.traits == NULL && out.user_id == NULL, "reject: out is empty");
	fields_free(&f);
	cfg->missing_id_reject = 0;
}

static void
test_limits(const struct config *cfg)
{
	struct fields f;
	struct submission out;
	struct fr_error err;
	char name[32], *big;
	int i;

	fields_init(&f);
	fields_add_string(&f, "email", 5, "a@b.example", 11, FIELD_FORM);
	for (i = 0; i < NORMALISE_MAX_TRAITS; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		fields_add_string(&f, name, strlen(name), "v", 1, FIELD_FORM);
	}
	is_int(normalise(&f, cfg, &out, &err), FR_ETOOLARGE,
	       "limits: too many fields");
	fields_free(&f);

	big = malloc(NORMALISE_MAX_STRING + 2);
	memset(big, 'x', NORMALISE_MAX_STRING + 1);
	big[NORMALISE_MAX_STRING + 1] = '\0';
	fields_init(&f);
	fields_add_string(&f, "email", 5, "a@b.example", 11, FIELD_FORM);
	fields_add_string(&f, "message", 7, big, strlen(big), FIELD_FORM);
	is_int(normalise(&f, cfg, &out, &err), FR_ETOOLARGE,
	       "limits: long value");
	is_str(err.field, "message", "limits: the field is named");
	fields_free(&f);
	free(big);

	fields_from_json(&f, "{\"email\":\"a@b.example\",\"deep\":"
	                     "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}}}}");
	is_int(normalise(&f, cfg, &out, &err), FR_ETOOLARGE, "limits: nesting");
	fields_free(&f);
}

static void
test_values(void)
{
	static const struct {
		const char *in, *want;
	} emails[] = {
	        {" Jane@Example.COM ", "jane@example.com"},
	        {"a.b+tag@sub.example.co.uk", "a.b+tag@sub.example.co.uk"},
	        {"user@bücher.de", "user@bücher.de"},
	        {"ünï@exämple.de", "ünï@exämple.de"},
	        {"a@b", NULL},
	        {"a@@b.example", NULL},
	        {"a@b@c.example", NULL},
	        {"@b.example", NULL},
	        {"a b@c.example", NULL},
	        {"a@-b.example", NULL},
	        {"a@b-.example", NULL},
	        {"a@b..example", NULL},
	        {".a@b.example", NULL},
	        {"a..b@c.example", NULL},
	        {"a@b_c.example", NULL},
	        {"", NULL},
	        {"0123456789012345678901234567890123456789012345678901234567890"
	         "1"
	         "234@x.example",
	         NULL},
	};
	static const struct {
		const char *in, *want;
	} phones[] = {
	        {"+1 (555) 010-9999", "+15550109999"},
	        {"  020 7946 0018 ", "02079460018"},
	        {"+44.20.7946.0018", "+442079460018"},
	        {"555-1234 ext. 5", "555-1234 ext. 5"},
	        {"+", "+"},
	};
	static const struct {
		const char *in, *want;
	} names[] = {
	        {"FNAME", "first_name"},
	        {"firstName", "first_name"},
	        {"First Name", "first_name"},
	        {"traits[plan]", "plan"},
	        {"form_fields[email]", "email"},
	        {"ADDRESS[zip]", "postal_code"},
	        {"user[address][city]", "city"},
	        {"traits[company][name]", "company"},
	        {"interests[]", "interests"},
	        {"interests[0]", "interests"},
	        {"wpforms[fields][7]", "wpforms_fields_7"},
	        {"HTTPServerName", "http_server_name"},
	        {"utmSource", "utm_source"},
	        {"What's your name?", "what_s_your_name"},
	        {"Prénom", "prénom"},
	        {"PRÉNOM", "prénom"},
	        {"Prénom\xc2\xa0:", "prénom"},
	        {"Your école’s name", "your_école_s_name"},
	        {"e/mail", "email"},
	        {"a[b", "a_b"},
	        {"MMERGE3", "mmerge3"},
	        {"input_1.3", "first_name"},
	        {"input_1_3", "first_name"},
	};
	char buf[256];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(emails) / sizeof(emails[0]); i++) {
		rc = normalise_email(emails[i].in, buf, sizeof(buf));
		if (emails[i].want == NULL)
			is_int(rc, -1, "email '%s' rejected", emails[i].in);
		else
			is_str(rc == 0 ? buf : NULL, emails[i].want,
			       "email '%s'", emails[i].in);
	}
	for (i = 0; i < sizeof(phones) / sizeof(phones[0]); i++) {
		rc = normalise_phone(phones[i].in, buf, sizeof(buf));
		is_str(rc == 0 ? buf : NULL, phones[i].want, "phone '%s'",
		       phones[i].in);
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		rc = normalise_name(names[i].in, NULL, buf, sizeof(buf));
		is_str(rc == 0 ? buf : NULL, names[i].want, "name '%s'",
		       names[i].in);
	}
}

static void
test_config_aliases(struct config *cfg)
{
	static const char *pairs[] = {"wpforms[fields][2]",
	                              "ada@example.org",
	                              "q_company",
	                              "Analytical",
	                              "Work-Email",
	                              "second@example.org",
	                              "Internal Notes",
	                              "vip",
	                              "access_token",
	                              "eyJhbGciOi",
	                              NULL};
	struct fields f;
	struct submission out;
	struct fr_error err;

	fields_from_pairs(&f, pairs, FIELD_FORM);
	is_int(normalise(&f, cfg, &out, &err), FR_OK, "config aliases");
	is_json(out.traits,
	        "{\"email\":\"ada@example.org\",\"company\":\"Analytical\"}",
	        "config aliases: alias.email = wpforms[fields][2], "
	        "alias.company = q_company; the first email wins; "
	        "drop = internal_notes; credentials denied");
	submission_free(&out);
	fields_free(&f);
}

int
main(void)
{
	struct config cfg;
	size_t i;

	test_config_init(&cfg);
	test_values();
	for (i = 0; i < sizeof(form_cases) / sizeof(form_cases[0]); i++)
		check_form_case(&form_cases[i], &cfg);
	test_reserved_and_context(&cfg);
	test_honeypots(&cfg);
	test_many_fields(&cfg);
	test_json_types(&cfg);
	test_missing_id_reject(&cfg);
	test_limits(&cfg);
	test_config_add_alias(&cfg, "email", "wpforms[fields][2]");
	test_config_add_alias(&cfg, "company", "q_company");
	cfg.drop.items[cfg.drop.count++] = xstrdup("internal_notes");
	test_config_aliases(&cfg);
	test_config_release(&cfg);
	return done_testing();
}
