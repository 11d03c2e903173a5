/*
 * The payload builder: every key of the identify and track calls as
 * Customer.io Data Pipelines documents them, UUID v4 messageIds, the
 * timestamp format, the context rules, the 32 KB limit and the batch.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "normalise.h"
#include "payload.h"
#include "tap.h"
#include "util.h"

#include "norm_helpers.h"

/* 2026-03-01T12:00:00.123Z */
#define RECEIVED_MS 1772366400123LL

static int
is_uuid_v4(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!strchr("0123456789abcdef", s[i])) {
			return 0;
		}
	}
	return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

/* The sorted member names of o joined with ',', into buf. */
static const char *
keys_of(struct json_object *o, char *buf, size_t size)
{
	const char *names[32];
	size_t n = 0, i, j, off = 0;

	json_object_object_foreach(o, key, val)
	{
		(void)val;
		if (n < 32)
			names[n++] = key;
	}
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			const char *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	buf[0] = '\0';
	for (i = 0; i < n && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s",
		                        i ? "," : "", names[i]);
	return buf;
}

static struct json_object *
member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

static const char *
member_str(struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key);

	return v ? json_object_get_string(v) : NULL;
}

/* A submission as normalise would leave it. */
static void
make_submission(struct submission *sub, int with_event)
{
	memset(sub, 0, sizeof(*sub));
	sub->user_id = xstrdup("ent_42");
	sub->traits = json_tokener_parse(
	        "{\"email\":\"ada@example.org\",\"first_name\":\"Ada\","
	        "\"plan\":\"pro\",\"seats\":5,\"site\":\"https://a.example/"
	        "x\"}");
	if (with_event) {
		sub->event = xstrdup("Demo Requested");
		sub->properties = json_tokener_parse(
		        "{\"email\":\"ada@example.org\",\"first_name\":\"Ada\","
		        "\"plan\":\"pro\",\"seats\":5,\"form_name\":"
		        "\"Footer\"}");
		sub->form_name = xstrdup("Footer");
	}
}

static const struct request_context browser = {
        "203.0.113.9",
        "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        "https://www.example.com/lp/?utm_source=google&utm_campaign="
        "spring%20sale&x=1#form",
};

static void
test_identify_and_track(void)
{
	struct submission sub;
	struct built_event ev[2];
	struct fr_error err;
	struct json_object *id, *tr, *ctx;
	size_t n = 9;
	char keys[512];

	make_submission(&sub, 1);
	is_int(payload_build(&sub, &browser, RECEIVED_MS, ev, &n, &err), FR_OK,
	       "build: identify and track");
	is_int(n, 2, "build: two calls");
	id = json_tokener_parse(ev[0].json);
	tr = json_tokener_parse(ev[1].json);
	ok(id && tr, "build: both calls are JSON");
	is_int(ev[0].len, strlen(ev[0].json), "build: len is the text length");
	is_str(ev[0].type, "identify", "build: type of the first call");
	is_str(ev[1].type, "track", "build: type of the second call");
	is_str(keys_of(id, keys, sizeof(keys)),
	       "context,messageId,timestamp,traits,type,userId",
	       "identify: exactly the documented keys");
	is_str(member_str(id, "type"), "identify", "identify: type");
	is_str(member_str(id, "userId"), "ent_42", "identify: userId");
	is_json(member(id, "traits"), json_object_to_json_string(sub.traits),
	        "identify: traits");
	ok(is_uuid_v4(member_str(id, "messageId")), "identify: messageId is a "
	                                            "UUID v4");
	is_str(member_str(id, "messageId"), ev[0].message_id,
	       "identify: messageId as reported");
	is_str(member_str(id, "timestamp"), "2026-03-01T12:00:00.123Z",
	       "identify: RFC 3339 timestamp with milliseconds");
	ctx = member(id, "context");
	is_str(keys_of(ctx, keys, sizeof(keys)),
	       "campaign,ip,library,page,userAgent", "context: keys");
	is_str(member_str(ctx, "ip"), "203.0.113.9", "context: ip");
	is_str(member_str(ctx, "userAgent"), browser.user_agent,
	       "context: userAgent");
	is_json(member(ctx, "page"),
	        "{\"url\":\"https://www.example.com/lp/?utm_source=google&utm_"
	        "campaign=spring%20sale&x=1#form\",\"path\":\"/lp/\","
	        "\"search\":\"?utm_source=google&utm_campaign=spring%20sale&x="
	        "1\"}",
	        "context: page from the Referer");
	is_json(member(ctx, "campaign"),
	        "{\"source\":\"google\",\"name\":\"spring sale\"}",
	        "context: campaign from the page URL's utm_* parameters");
	is_json(member(ctx, "library"),
	        "{\"name\":\"formrelay\",\"version\":\"" PACKAGE_VERSION "\"}",
	        "context: library");
	ok(strstr(ev[0].json, "\\/") == NULL, "identify: slashes unescaped");
	ok(strchr(ev[0].json, '\n') == NULL, "identify: one line");

	is_str(keys_of(tr, keys, sizeof(keys)),
	       "context,event,messageId,properties,timestamp,type,userId",
	       "track: exactly the documented keys");
	is_str(member_str(tr, "type"), "track", "track: type");
	is_str(member_str(tr, "event"), "Demo Requested", "track: event");
	is_str(member_str(tr, "userId"), "ent_42", "track: userId");
	ok(is_uuid_v4(ev[1].message_id) &&
	           strcmp(ev[0].message_id, ev[1].message_id) != 0,
	   "track: its own messageId");
	is_str(member_str(tr, "timestamp"), "2026-03-01T12:00:00.123Z",
	       "track: the same timestamp");
	is_json(member(tr, "properties"),
	        "{\"email\":\"ada@example.org\",\"first_name\":\"Ada\","
	        "\"plan\":\"pro\",\"seats\":5,\"form_name\":\"Footer\","
	        "\"page_url\":\"https://www.example.com/lp/?utm_source=google&"
	        "utm_campaign=spring%20sale&x=1#form\"}",
	        "track: properties with the page URL");
	is_json(member(tr, "context"), json_object_to_json_string(ctx),
	        "track: the same context");
	ok(member(sub.properties, "page_url") == NULL,
	   "track: the submission is not modified");
	json_object_put(id);
	json_object_put(tr);
	built_events_free(ev, n);
	submission_free(&sub);
}

static void
test_body_context_wins(void)
{
	struct submission sub;
	struct built_event ev[2];
	struct fr_error err;
	struct json_object *id, *ctx;
	size_t n;

	make_submission(&sub, 0);
	sub.page = json_tokener_parse(
	        "{\"url\":\"https://quiz.example.com/start?utm_source=fb\","
	        "\"title\":\"Find your plan\",\"referrer\":"
	        "\"https://www.facebook.com/\"}");
	sub.campaign = json_tokener_parse("{\"source\":\"newsletter\"}");
	sub.ip = xstrdup("198.51.100.7");
	sub.user_agent = xstrdup("Mozilla/5.0 (iPhone)");
	is_int(payload_build(&sub, &browser, RECEIVED_MS, ev, &n, &err), FR_OK,
	       "body context: built");
	is_int(n, 1, "body context: identify only without an event");
	id = json_tokener_parse(ev[0].json);
	ctx = member(id, "context");
	is_str(member_str(ctx, "ip"), "198.51.100.7",
	       "body context: the webhook's visitor ip wins");
	is_str(member_str(ctx, "userAgent"), "Mozilla/5.0 (iPhone)",
	       "body context: the webhook's userAgent wins");
	is_json(member(ctx, "page"),
	        "{\"url\":\"https://quiz.example.com/start?utm_source=fb\","
	        "\"path\":\"/start\",\"search\":\"?utm_source=fb\","
	        "\"referrer\":\"https://www.facebook.com/\","
	        "\"title\":\"Find your plan\"}",
	        "body context: page url and title from the body");
	is_json(member(ctx, "campaign"), "{\"source\":\"newsletter\"}",
	        "body context: utm_* fields win over the URL");
	json_object_put(id);
	built_events_free(ev, n);
	submission_free(&sub);
}

static void
test_no_request_context(void)
{
	struct submission sub;
	struct built_event ev[2];
	struct fr_error err;
	struct json_object *id;
	size_t n;

	make_submission(&sub, 0);
	is_int(payload_build(&sub, NULL, RECEIVED_MS, ev, &n, &err), FR_OK,
	       "no request context: built");
	id = json_tokener_parse(ev[0].json);
	is_json(member(id, "context"),
	        "{\"library\":{\"name\":\"formrelay\",\"version\":"
	        "\"" PACKAGE_VERSION "\"}}",
	        "no request context: only the library");
	json_object_put(id);
	built_events_free(ev, n);
	submission_free(&sub);
}

static void
test_size_limit(void)
{
	struct submission sub;
	struct built_event ev[2];
	struct fr_error err;
	char *big = malloc(8001), key[16];
	size_t n = 7;
	int i;

	memset(big, 'x', 8000);
	big[8000] = '\0';
	make_submission(&sub, 0);
	for (i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "note%d", i);
		json_object_object_add(sub.traits, key,
		                       json_object_new_string(big));
	}
	fr_error_clear(&err);
	is_int(payload_build(&sub, &browser, RECEIVED_MS, ev, &n, &err),
	       FR_ETOOLARGE, "limit: a 40 KB identify is refused");
	ok(strstr(err.message, "identify event is 40") != NULL &&
	           strstr(err.message, "Customer.io accepts at most 32768"),
	   "limit: the message names the cause (%s)", err.message);
	ok(n == 0 && ev[0].json == NULL && ev[1].json == NULL,
	   "limit: nothing is returned");
	submission_free(&sub);

	make_submission(&sub, 1);
	json_object_object_add(sub.properties, "blob",
	                       json_object_new_string(big));
	for (i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "p%d", i);
		json_object_object_add(sub.properties, key,
		                       json_object_new_string(big));
	}
	is_int(payload_build(&sub, &browser, RECEIVED_MS, ev, &n, &err),
	       FR_ETOOLARGE, "limit: a large track is refused too");
	ok(strstr(err.message, "track event is") != NULL,
	   "limit: the track is named");
	ok(n == 0 && ev[0].json == NULL, "limit: the identify is released");
	submission_free(&sub);
	free(big);
}

static void
test_errors(void)
{
	struct submission sub;
	struct built_event ev[2];
	struct fr_error err;
	size_t n = 3;

	memset(&sub, 0, sizeof(sub));
	sub.honeypot = 1;
	is_int(payload_build(&sub, &browser, RECEIVED_MS, ev, &n, &err),
	       FR_EINTERNAL, "no userId: a bug, not a payload");
	is_int(n, 0, "no userId: count 0");
}

static void
test_batch(void)
{
	const char *events[] = {"{\"type\":\"identify\"}",
	                        "{\"type\":\"track\"}"};
	size_t lens[] = {19, 16}, len;
	char *body;
	struct json_object *o;

	is_int(payload_batch(events, lens, 2, &body, &len), FR_OK,
	       "batch: built");
	is_str(body,
	       "{\"batch\":[{\"type\":\"identify\"},{\"type\":\"track\"}]}",
	       "batch: the stored texts, joined");
	is_int(len, strlen(body), "batch: length");
	o = json_tokener_parse(body);
	ok(o && json_object_array_length(member(o, "batch")) == 2,
	   "batch: valid JSON with two calls");
	json_object_put(o);
	free(body);
	is_int(payload_batch(events, lens, 0, &body, &len), FR_OK,
	       "batch: empty");
	is_str(body, "{\"batch\":[]}", "batch: empty list");
	free(body);
}

/* A fixture all the way: normalise, then build. */
static void
test_from_fields(void)
{
	static const char *pairs[] = {
	        "email",      "Ana@Example.com",
	        "name",       "Ana Lima",
	        "_event",     "Signed Up",
	        "utm_source", "ads",
	        "page_url",   "https://www.example.com/signup",
	        NULL};
	struct config cfg;
	struct fields f;
	struct submission sub;
	struct built_event ev[2];
	struct fr_error err;
	struct json_object *tr;
	size_t n;

	test_config_init(&cfg);
	fields_from_pairs(&f, pairs, FIELD_FORM);
	is_int(normalise(&f, &cfg, &sub, &err), FR_OK,
	       "end to end: normalised");
	is_int(payload_build(&sub, &browser, RECEIVED_MS, ev, &n, &err), FR_OK,
	       "end to end: built");
	tr = n == 2 ? json_tokener_parse(ev[1].json) : NULL;
	is_json(member(tr, "properties"),
	        "{\"email\":\"ana@example.com\",\"name\":\"Ana Lima\","
	        "\"first_name\":\"Ana\",\"last_name\":\"Lima\",\"page_url\":"
	        "\"https://www.example.com/signup\"}",
	        "end to end: track properties");
	is_json(member(member(tr, "context"), "campaign"),
	        "{\"source\":\"ads\"}", "end to end: campaign");
	json_object_put(tr);
	built_events_free(ev, n);
	submission_free(&sub);
	fields_free(&f);
	test_config_release(&cfg);
}

/* The pool uuid_v4 draws from: refilled without repeats, and never
 * shared with a forked child. */
static void
test_uuid_pool(void)
{
	char a[UUID_STR_LEN], b[UUID_STR_LEN], (*many)[UUID_STR_LEN];
	int fds[2], i, distinct = 1, wellformed = 1, status = 0;
	pid_t pid;

	many = calloc(1000, sizeof(*many));
	for (i = 0; many != NULL && i < 1000; i++) {
		wellformed &= uuid_v4(many[i]) == 0 && is_uuid_v4(many[i]);
		if (i > 0)
			distinct &= strcmp(many[i], many[i - 1]) != 0;
	}
	ok(many != NULL && wellformed && distinct,
	   "1000 UUIDs in a row, across pool refills: each well formed and "
	   "unlike the one before");
	free(many);
	uuid_v4(a); /* the pool is partly used now */
	if (pipe(fds) != 0 || (pid = fork()) < 0) {
		ok(0, "pipe and fork for the UUID test");
		return;
	}
	if (pid == 0) {
		uuid_v4(b);
		_exit(write(fds[1], b, sizeof(b)) == sizeof(b) ? 0 : 1);
	}
	close(fds[1]);
	uuid_v4(a);
	memset(b, 0, sizeof(b));
	i = (int)read(fds[0], b, sizeof(b));
	close(fds[0]);
	waitpid(pid, &status, 0);
	ok(i == (int)sizeof(b) && is_uuid_v4(b) && strcmp(a, b) != 0,
	   "a forked child's next UUID is not its parent's next (%s, %s)", a,
	   b);
}

int
main(void)
{
	test_identify_and_track();
	test_body_context_wins();
	test_no_request_context();
	test_size_limit();
	test_errors();
	test_batch();
	test_from_fields();
	test_uuid_pool();
	return done_testing();
}
