/*
 * Pipelines calls from browsers: routes, recognition by shape, the
 * recipe's identify as Customer.io would have received it, track, page,
 * batches (all or nothing), client messageIds and timestamps, what is
 * dropped from context, unsupported types, and what counts as a key.
 * The timestamp parser itself (rfc3339_parse) is tested in test_util.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "pipelines.h"
#include "tap.h"
#include "util.h"

#include "norm_helpers.h"

/* 2026-03-01T12:00:00.123Z */
#define RECEIVED_MS 1772366400123LL

static const struct request_context client = {"203.0.113.7", "Header-UA/1",
                                              "https://referer.example/"};

/* The recipe's body, as the Embeddables action builds it. */
static const char recipe[] =
        "{\"type\":\"identify\",\"userId\":\"entry-42\","
        "\"traits\":{\"email\":\" Jane.Doe@Example.COM \",\"name\":\"Jane "
        "Doe\",\"first_name\":null,\"last_name\":null},"
        "\"context\":{\"page\":{\"url\":\"https://forms.example/"
        "quiz?utm_source=ads&utm_campaign=spring\",\"title\":\"Quiz\","
        "\"referrer\":\"https://search.example/\"},"
        "\"userAgent\":\"Mozilla/5.0 Test\",\"channel\":\"browser\"}}";

static struct json_object *
parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	if (o == NULL)
		printf("# cannot parse %s\n", text);
	return o;
}

/* Build text at route; the first call parsed into *call (owned). */
static int
build(const char *text, enum pipelines_route route, const struct config *cfg,
      struct pipelines_out *out, struct json_object **call,
      struct fr_error *err)
{
	struct json_object *root = parse(text);
	int rc;

	fr_error_clear(err);
	*call = NULL;
	rc = pipelines_build(root, route, cfg, &client, RECEIVED_MS, out, err);
	if (rc == FR_OK && out->n > 0)
		*call = parse(out->ev[0].json);
	json_object_put(root);
	return rc;
}

static struct json_object *
at(struct json_object *o, const char *path)
{
	char key[64];
	const char *dot;
	struct json_object *v = o;

	while (v != NULL && *path != '\0') {
		dot = strchr(path, '.');
		snprintf(key, sizeof(key), "%.*s",
		         (int)(dot ? dot - path : (long)strlen(path)), path);
		if (!json_object_object_get_ex(v, key, &v))
			return NULL;
		path = dot ? dot + 1 : "";
	}
	return v;
}

static const char *
str_at(struct json_object *o, const char *path)
{
	struct json_object *v = at(o, path);

	return json_object_is_type(v, json_type_string)
	               ? json_object_get_string(v)
	               : NULL;
}

static void
test_routes(void)
{
	is_int(pipelines_route_of("/formrelay"), PIPELINES_MOUNT, "the mount");
	is_int(pipelines_route_of("/formrelay/v1/track"), PIPELINES_TRACK,
	       "/v1/track");
	is_int(pipelines_route_of("/formrelay/v1/t?x=1"), PIPELINES_TRACK,
	       "/v1/t, query ignored");
	is_int(pipelines_route_of("/formrelay/v1/identify"), PIPELINES_IDENTIFY,
	       "/v1/identify");
	is_int(pipelines_route_of("/f/v1/i"), PIPELINES_IDENTIFY, "/v1/i");
	is_int(pipelines_route_of("/f/v1/p"), PIPELINES_PAGE, "/v1/p");
	is_int(pipelines_route_of("/f/v1/batch"), PIPELINES_BATCH, "/v1/batch");
	is_int(pipelines_route_of("/f/v1/b"), PIPELINES_BATCH, "/v1/b");
	is_int(pipelines_route_of("/f/v1/group"), PIPELINES_OTHER, "/v1/group");
	is_int(pipelines_route_of("/f/xv1/track"), PIPELINES_MOUNT,
	       "a path merely ending alike is not a route");
}

static void
test_wanted(void)
{
	static const struct {
		const char *body;
		int wanted;
		const char *what;
	} cases[] = {
	        {"{\"type\":\"identify\",\"userId\":\"u\"}", 1, "an identify"},
	        {"{\"type\":\"track\",\"event\":\"e\"}", 1, "a track"},
	        {"{\"type\":\"group\",\"userId\":\"u\"}", 1,
	         "a group (refused later)"},
	        {"{\"batch\":[{\"type\":\"page\"}]}", 1, "a batch"},
	        {"{\"type\":\"contact\",\"email\":\"a@b.example\"}", 0,
	         "a form field named type"},
	        {"{\"type\":\"identify\",\"email\":\"a@b.example\"}", 0,
	         "a type without any call member"},
	        {"{\"batch\":[{\"email\":\"a@b.example\"}]}", 0,
	         "a batch field of form rows"},
	        {"{\"userData\":{\"entryId\":\"x\"}}", 0,
	         "an Embeddables hook"},
	};
	struct json_object *o;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o = parse(cases[i].body);
		is_int(pipelines_wanted(o, PIPELINES_MOUNT), cases[i].wanted,
		       "at the mount: %s", cases[i].what);
		json_object_put(o);
	}
	o = parse("{\"email\":\"a@b.example\"}");
	ok(pipelines_wanted(o, PIPELINES_TRACK),
	   "under /v1/ every body is taken as calls");
	json_object_put(o);
}

/* The recipe's identify, posted to /v1/track: an identify whose traits
 * are the traits, normalised, and whose context is the page. */
static void
test_recipe(const struct config *cfg)
{
	struct pipelines_out out;
	struct json_object *c;
	struct fr_error err;

	is_int(build(recipe, PIPELINES_TRACK, cfg, &out, &c, &err), FR_OK,
	       "the recipe's body at /v1/track");
	is_int(out.n, 1, "one call");
	is_str(str_at(c, "type"), "identify", "the body's type wins");
	is_str(str_at(c, "userId"), "entry-42", "userId kept");
	is_str(str_at(c, "traits.email"), "jane.doe@example.com",
	       "email trimmed and lower-cased");
	is_str(str_at(c, "traits.first_name"), "Jane", "name split");
	is_str(str_at(c, "traits.last_name"), "Doe", "into last_name");
	ok(at(c, "traits.type") == NULL && at(c, "traits.traits") == NULL &&
	           at(c, "traits.context") == NULL,
	   "no envelope among the traits");
	is_str(str_at(c, "context.page.url"),
	       "https://forms.example/quiz?utm_source=ads&utm_campaign=spring",
	       "page url in context");
	is_str(str_at(c, "context.page.title"), "Quiz", "page title");
	is_str(str_at(c, "context.page.referrer"), "https://search.example/",
	       "page referrer");
	is_str(str_at(c, "context.page.path"), "/quiz", "path from the url");
	is_str(str_at(c, "context.campaign.name"), "spring",
	       "utm_campaign from the url");
	is_str(str_at(c, "context.userAgent"), "Mozilla/5.0 Test",
	       "the browser's userAgent");
	is_str(str_at(c, "context.channel"), "browser", "channel kept");
	is_str(str_at(c, "context.ip"), "203.0.113.7", "ip is the client's");
	is_str(out.email, "jane.doe@example.com", "email noted for the log");
	is_int(strlen(str_at(c, "messageId") ? str_at(c, "messageId") : ""), 36,
	       "a messageId of our own (none was sent)");
	is_str(str_at(c, "timestamp"), "2026-03-01T12:00:00.123Z",
	       "receipt time (none was sent)");
	is_str(out.ev[0].dedup_key, "", "nothing to de-duplicate by");
	json_object_put(c);
	pipelines_out_free(&out);
}

/* What a browser must not steer: context.ip, integrations, library,
 * a writeKey, _metadata. */
static void
test_dropped(const struct config *cfg)
{
	static const char body[] =
	        "{\"type\":\"track\",\"userId\":\"u1\",\"event\":\"Signed Up\","
	        "\"properties\":{\"plan\":\"pro\",\"password\":\"hunter2\"},"
	        "\"integrations\":{\"All\":false,\"Webhook\":true},"
	        "\"writeKey\":\"not-a-key\",\"_metadata\":{\"bundled\":[]},"
	        "\"sentAt\":\"2026-03-01T12:00:00.000Z\","
	        "\"context\":{\"ip\":\"6.6.6.6\",\"library\":{\"name\":\"x\"},"
	        "\"traits\":{\"email\":\"t@x.example\"},\"locale\":\"en-GB\","
	        "\"timezone\":\"Europe/London\",\"amp\":{\"id\":\"a\"}}}";
	struct pipelines_out out;
	struct json_object *c;
	struct fr_error err;

	is_int(build(body, PIPELINES_MOUNT, cfg, &out, &c, &err), FR_OK,
	       "a track at the mount");
	is_str(str_at(c, "type"), "track", "a track stays a track");
	is_str(str_at(c, "event"), "Signed Up", "its event");
	is_str(str_at(c, "properties.plan"), "pro", "its properties");
	ok(at(c, "properties.password") == NULL,
	   "properties go through the deny list");
	ok(at(c, "integrations") == NULL, "integrations dropped");
	ok(at(c, "writeKey") == NULL && at(c, "_metadata") == NULL &&
	           at(c, "sentAt") == NULL,
	   "writeKey, _metadata, sentAt dropped");
	is_str(str_at(c, "context.ip"), "203.0.113.7",
	       "the body's context.ip is not taken");
	is_str(str_at(c, "context.library.name"), "formrelay",
	       "library is formrelay's");
	ok(at(c, "context.traits") == NULL && at(c, "context.amp") == NULL,
	   "other context members dropped");
	is_str(str_at(c, "context.locale"), "en-GB", "locale kept");
	is_str(str_at(c, "context.timezone"), "Europe/London", "timezone kept");
	is_str(str_at(c, "context.userAgent"), "Header-UA/1",
	       "userAgent from the request when the body has none");
	ok(!out.secret_in_body, "a writeKey like that is no secret");
	json_object_put(c);
	pipelines_out_free(&out);
}

static void
test_page_and_ids(const struct config *cfg)
{
	static const char body[] =
	        "{\"type\":\"page\",\"anonymousId\":\"anon-1\","
	        "\"name\":\"Pricing\",\"messageId\":\"ajs-next-"
	        "0123456789abcdef0123456789abcdef\","
	        "\"timestamp\":\"2026-03-01T10:00:00.500+01:00\","
	        "\"properties\":{\"name\":\"Pricing\",\"url\":\"https://"
	        "x.example/pricing\",\"title\":\"Pricing - "
	        "X\",\"plan\":\"b\"}}";
	struct pipelines_out out;
	struct json_object *c;
	struct fr_error err;

	is_int(build(body, PIPELINES_MOUNT, cfg, &out, &c, &err), FR_OK,
	       "a page with only an anonymousId");
	is_str(str_at(c, "anonymousId"), "anon-1", "forwarded with it");
	ok(at(c, "userId") == NULL, "and no userId");
	is_str(str_at(c, "name"), "Pricing", "the page's name");
	is_str(str_at(c, "properties.url"), "https://x.example/pricing",
	       "page properties as they are: url is no website");
	is_str(str_at(c, "properties.name"), "Pricing",
	       "name is no person's name");
	ok(at(c, "properties.first_name") == NULL, "and is not split");
	is_str(str_at(c, "messageId"),
	       "ajs-next-0123456789abcdef0123456789abcdef",
	       "the client's messageId kept");
	is_str(out.ev[0].dedup_key,
	       "msg:ajs-next-0123456789abcdef0123456789abcdef",
	       "and de-duplicated by");
	is_str(str_at(c, "timestamp"), "2026-03-01T09:00:00.500Z",
	       "a client timestamp within a day kept (in UTC)");
	json_object_put(c);
	pipelines_out_free(&out);
}

static void
test_skewed_time(const struct config *cfg)
{
	static const char body[] =
	        "{\"type\":\"track\",\"userId\":\"u\",\"event\":\"e\","
	        "\"timestamp\":\"2026-02-27T12:00:00.000Z\","
	        "\"messageId\":\"bad id with spaces\"}";
	struct pipelines_out out;
	struct json_object *c;
	struct fr_error err;

	is_int(build(body, PIPELINES_MOUNT, cfg, &out, &c, &err), FR_OK,
	       "a call two days old");
	is_str(str_at(c, "timestamp"), "2026-03-01T12:00:00.123Z",
	       "a timestamp past a day becomes receipt time");
	ok(str_at(c, "messageId") != NULL &&
	           strcmp(str_at(c, "messageId"), "bad id with spaces") != 0,
	   "an ill-formed messageId is replaced");
	is_str(out.ev[0].dedup_key, "", "and not de-duplicated by");
	json_object_put(c);
	pipelines_out_free(&out);
}

static void
test_batch(const struct config *cfg)
{
	static const char good[] =
	        "{\"batch\":[{\"type\":\"identify\",\"userId\":\"b1\","
	        "\"traits\":{\"Email\":\"B1@X.example\"}},"
	        "{\"type\":\"track\",\"userId\":\"b1\",\"event\":\"Bought\"},"
	        "{\"type\":\"page\",\"userId\":\"b1\"}],"
	        "\"writeKey\":\"k\"}";
	static const char bad[] =
	        "{\"batch\":[{\"type\":\"identify\",\"userId\":\"b1\"},"
	        "{\"type\":\"track\",\"userId\":\"b1\"}]}";
	struct pipelines_out out;
	struct json_object *c;
	struct fr_error err;

	is_int(build(good, PIPELINES_BATCH, cfg, &out, &c, &err), FR_OK,
	       "a batch of three");
	is_int(out.n, 3, "three calls");
	is_str(str_at(c, "traits.email"), "b1@x.example",
	       "each call's traits normalised");
	json_object_put(c);
	pipelines_out_free(&out);
	is_int(build(bad, PIPELINES_BATCH, cfg, &out, &c, &err), FR_EMALFORMED,
	       "a batch with a track without event");
	is_str(err.code, "missing_event", "names the cause");
	is_int(out.n, 0, "nothing of it is kept");
	is_int(build("{\"batch\":[]}", PIPELINES_BATCH, cfg, &out, &c, &err),
	       FR_EINVALID, "an empty batch: 422");
	is_int(build("{\"type\":\"page\"}", PIPELINES_BATCH, cfg, &out, &c,
	             &err),
	       FR_EMALFORMED, "a call at /v1/batch: 400");
}

static void
test_refused(const struct config *cfg)
{
	struct pipelines_out out;
	struct json_object *c;
	struct fr_error err;

	is_int(build("{\"type\":\"group\",\"userId\":\"u\",\"groupId\":\"g\"}",
	             PIPELINES_MOUNT, cfg, &out, &c, &err),
	       FR_EMALFORMED, "group: 400");
	is_str(err.code, "unsupported_type", "unsupported_type");
	ok(strstr(err.message, "identify, track and page") != NULL,
	   "says what is taken: %s", err.message);
	is_int(build("{\"userId\":\"u\"}", PIPELINES_OTHER, cfg, &out, &c,
	             &err),
	       FR_EMALFORMED, "at /v1/alias without a type: 400");
	is_str(err.code, "unsupported_type", "unsupported_type too");
	is_int(build("{\"type\":\"identify\",\"anonymousId\":\"a\","
	             "\"traits\":{\"plan\":\"x\"}}",
	             PIPELINES_MOUNT, cfg, &out, &c, &err),
	       FR_EINVALID, "an identify with neither id nor email");
	is_str(err.code, "missing_id", "is 422 missing_id");
	is_int(build("{\"type\":\"identify\",\"traits\":{\"email\":"
	             "\"a@b.example\"}}",
	             PIPELINES_IDENTIFY, cfg, &out, &c, &err),
	       FR_OK, "an identify with only an email");
	is_str(str_at(c, "userId"), "a@b.example", "keyed by it (missing_id)");
	json_object_put(c);
	pipelines_out_free(&out);
	is_int(build("{\"type\":\"track\",\"event\":\"e\"}", PIPELINES_MOUNT,
	             cfg, &out, &c, &err),
	       FR_EINVALID, "a track with no id at all: 422");
	is_int(build("{\"type\":\"identify\",\"userId\":\"u\","
	             "\"traits\":{\"email\":\"nope\"}}",
	             PIPELINES_MOUNT, cfg, &out, &c, &err),
	       FR_EINVALID, "a bad email: 422");
	is_str(err.code, "invalid_email", "invalid_email");
	is_int(build("{\"type\":\"identify\",\"userId\":\"u\","
	             "\"traits\":{\"email\":\"a@b.example\","
	             "\"fax_number\":\"1\"}}",
	             PIPELINES_MOUNT, cfg, &out, &c, &err),
	       FR_OK, "a honeypot among the traits");
	ok(out.honeypot && out.n == 0, "answered, nothing kept");
}

static void
test_too_large(const struct config *cfg)
{
	size_t size = 40000, i;
	char *body = malloc(size), *p = body;

	p += snprintf(p, size,
	              "{\"type\":\"identify\",\"userId\":\"u\","
	              "\"traits\":{");
	for (i = 0; i < 6; i++)
		p += snprintf(p, size - (size_t)(p - body),
		              "%s\"t%zu\":\"%06000d\"", i ? "," : "", i, 0);
	snprintf(p, size - (size_t)(p - body), "}}");
	{
		struct pipelines_out out;
		struct json_object *c;
		struct fr_error err;

		is_int(build(body, PIPELINES_MOUNT, cfg, &out, &c, &err),
		       FR_ETOOLARGE, "a call over 32 KB: 413");
	}
	free(body);
}

static void
test_secrets(void)
{
	ok(!pipelines_secret_like(
	           "{{YOUR_COMPANY_NAME---customerio---api_key}}"),
	   "the recipe's placeholder is no key");
	ok(!pipelines_secret_like(NULL) && !pipelines_secret_like(""),
	   "nothing is no key");
	ok(!pipelines_secret_like("<api key>"), "<api key>");
	ok(!pipelines_secret_like("YOUR_API_KEY_0123456789"), "YOUR_API_KEY");
	ok(pipelines_secret_like("a1b2c3d4e5f6a7b8c9d0"),
	   "a bare 20-character token looks like a key");
	ok(pipelines_secret_like("Basic YTFiMmMzZDRlNWY2YTdiODpx"),
	   "Basic credentials look like one");
	ok(!pipelines_secret_like("Bearer short1"), "a short token does not");
	ok(!pipelines_secret_like("formrelay-example-writekey"),
	   "words without a digit do not");
}

int
main(void)
{
	struct config cfg;

	test_config_init(&cfg);
	test_routes();
	test_wanted();
	test_recipe(&cfg);
	test_dropped(&cfg);
	test_page_and_ids(&cfg);
	test_skewed_time(&cfg);
	test_batch(&cfg);
	test_refused(&cfg);
	test_too_large(&cfg);
	test_secrets();
	test_config_release(&cfg);
	return done_testing();
}
