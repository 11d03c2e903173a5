/*
 * libFuzzer target: a JSON body through the whole pipeline with the
 * default configuration: parse_json, unwrap_webhook, normalise,
 * payload_build.  Checks what the rest of formrelay relies on: a success
 * has a non-empty userId and a traits object within the limits, the
 * calls are JSON under 32 KB that json-c would have written byte for byte
 * the same (the payload builder writes them itself, see jsonw.h), and
 * normalising the traits again changes nothing; a failure explains itself and
 * leaves nothing behind.
 */
#include "fuzz_common.h"

#include "config.h"
#include "normalise.h"
#include "payload.h"
#include "unwrap.h"

static void
check_calls(const struct built_event *ev, size_t n)
{
	struct json_object *o;
	size_t i;

	for (i = 0; i < n; i++) {
		if (ev[i].len > PAYLOAD_MAX_EVENT ||
		    strlen(ev[i].json) != ev[i].len)
			fuzz_fail("call over 32 KB or with a NUL");
		if ((o = json_tokener_parse(ev[i].json)) == NULL)
			fuzz_fail("call is not JSON");
		if (strcmp(json_object_to_json_string_ext(
		                   o, JSON_C_TO_STRING_PLAIN |
		                              JSON_C_TO_STRING_NOSLASHESCAPE),
		           ev[i].json) != 0)
			fuzz_fail("call differs from json-c's serialisation");
		json_object_put(o);
	}
}

/* Normalising the traits, as a flat JSON body, gives the same traits. */
static void
check_idempotent(const struct submission *sub)
{
	const char *text = json_object_to_json_string_ext(
	        sub->traits, JSON_C_TO_STRING_PLAIN);
	struct parse_limits lim;
	struct fields f;
	struct submission again;
	struct fr_error err;

	parse_limits_default(&lim);
	lim.max_fields = NORMALISE_MAX_TRAITS;
	lim.max_name = NORMALISE_MAX_KEY;
	lim.max_value = 1 << 20;
	fields_init(&f);
	if (parse_json(text, strlen(text), &lim, &f, &err) != FR_OK)
		fuzz_fail("traits are not a parseable body");
	if (normalise(&f, fuzz_config(), &again, &err) != FR_OK)
		fuzz_fail("normalised traits are refused the second time");
	if (!json_object_equal(again.traits, sub->traits))
		fuzz_fail("normalising the traits again changes them");
	submission_free(&again);
	fields_free(&f);
}

/* Request context for payload_build: none, or one whose Referer carries
 * utm_* parameters and whose strings need escaping. */
static const struct request_context contexts[] = {
        {NULL, NULL, NULL},
        {"192.0.2.1", "Mozilla/5.0 \"quoted\"\t\x01/",
         "https://example.com/p/a?utm_source=g%C3%A9&utm_campaign=a+b#f"},
};

static void
check_success(const struct submission *sub, size_t size)
{
	const struct request_context *ctx = &contexts[size % 2];
	struct built_event ev[2];
	struct fr_error err;
	size_t n;
	int rc;

	if (sub->honeypot)
		return;
	if (sub->user_id == NULL || *sub->user_id == '\0' ||
	    !json_object_is_type(sub->traits, json_type_object) ||
	    json_object_object_length(sub->traits) == 0 ||
	    json_object_object_length(sub->traits) > NORMALISE_MAX_TRAITS)
		fuzz_fail("success without a userId or traits");
	check_idempotent(sub);
	rc = payload_build(sub, ctx, 1772366400123LL, ev, &n, &err);
	if (rc == FR_OK)
		check_calls(ev, n);
	else if (rc != FR_ETOOLARGE || n != 0 || ev[0].json != NULL)
		fuzz_fail("payload_build failed unexpectedly");
	built_events_free(ev, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct parse_limits lim;
	struct fields f;
	struct submission sub;
	struct fr_error err;
	int rc;

	parse_limits_default(&lim);
	fuzz_begin(&f, &err);
	rc = parse_json((const char *)data, size, &lim, &f, &err);
	if (rc == FR_OK)
		rc = unwrap_webhook(&f, &lim, &err);
	if (rc == FR_OK) {
		rc = normalise(&f, fuzz_config(), &sub, &err);
		if (rc == FR_OK)
			check_success(&sub, size);
		else if (sub.traits != NULL || sub.user_id != NULL ||
		         err.message[0] == '\0' || err.status != rc)
			fuzz_fail("normalise failed without a reason or left "
			          "something behind");
		submission_free(&sub);
	}
	fields_free(&f);
	return 0;
}
