/*
 * libFuzzer target: webhook unwrapping.  The input is a JSON body (as
 * parse_json gives it), or, after a first line "form", a urlencoded body
 * (Unbounce's data.json and Jotform's rawRequest arrive in form posts).
 * Inputs starting with '!' use tight limits.  The input's length picks
 * the route: the main one (any shape) or a hooks route of one platform
 * (unwrap_webhook_hook).  Invariants: unwrapped fields obey the limits
 * and are valid UTF-8; a failure explains itself and leaves the fields
 * as they were (a platform route's wrong_payload too); the envelope's
 * context holds only strings; normalise and payload_build then succeed
 * or fail cleanly.  The input's last bytes also go through
 * rfc3339_parse (fuzz_check_time), the parser of the platforms'
 * submitted times, which the bodies reach only through their createdAt,
 * submitted_at and like members.
 */
#include "fuzz_common.h"

#include "config.h"
#include "normalise.h"
#include "payload.h"
#include "unwrap.h"

static void
check_context(const struct fields *f)
{
	if (f->context == NULL)
		return;
	if (!json_object_is_type(f->context, json_type_object))
		fuzz_fail("context is not an object");
	json_object_object_foreach(f->context, key, val)
	{
		(void)key;
		if (!json_object_is_type(val, json_type_string))
			fuzz_fail("context member is not a string");
	}
}

static void
then_normalise(const struct fields *f)
{
	struct submission sub;
	struct built_event ev[2];
	struct fr_error err;
	size_t n;

	if (normalise(f, fuzz_config(), &sub, &err) == FR_OK && !sub.honeypot) {
		if (payload_build(&sub, NULL, 0, ev, &n, &err) == FR_OK)
			built_events_free(ev, n);
	}
	submission_free(&sub);
}

/* The route for an input of size bytes: NULL (the main route) or a
 * hooks route of one of the platforms. */
static const struct config_hook *
route_for(size_t size)
{
	static char name[] = "fuzz";
	static struct config_hook hook = {.name = name};

	if (size % (HOOK_HMAC + 2) == HOOK_HMAC + 1)
		return NULL;
	hook.platform = (enum hook_platform)(size % (HOOK_HMAC + 2));
	return &hook;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct config_hook *route = route_for(size);
	struct parse_limits lim;
	struct fields f;
	struct fr_error err;
	size_t before;
	int rc;

	fuzz_check_time(data, size);
	fuzz_limits(&data, &size, 64, &lim);
	fuzz_begin(&f, &err);
	if (size >= 5 && memcmp(data, "form\n", 5) == 0)
		rc = parse_urlencoded((const char *)data + 5, size - 5, &lim,
		                      &f, &err);
	else
		rc = parse_json((const char *)data, size, &lim, &f, &err);
	if (rc != FR_OK) {
		fields_free(&f);
		return 0;
	}
	before = f.count;
	rc = unwrap_webhook_hook(&f, &lim, fuzz_config(), route, &err);
	if (rc == FR_OK) {
		fuzz_check_fields(&f, &lim);
		check_context(&f);
		then_normalise(&f);
	} else if (f.count != before || err.status != rc ||
	           err.message[0] == '\0' ||
	           (rc != FR_EMALFORMED && rc != FR_ETOOLARGE &&
	            rc != FR_ENOMEM && !(rc == FR_EINVALID && route != NULL))) {
		fuzz_fail(
		        "unwrap failed without a reason or changed the fields");
	}
	fields_free(&f);
	return 0;
}
