/*
 * libFuzzer target: Pipelines calls from browsers.  The input is a JSON
 * body (as parse_json gives it); its first byte picks the route it was
 * posted to (0-5, enum pipelines_route), the rest is the body.  The same
 * input's last bytes also go through rfc3339_parse (fuzz_check_time,
 * the parser of a call's timestamp) and pipelines_secret_like.
 * Invariants: pipelines_build succeeds with
 * every call valid JSON of a forwarded type, within 32 KB, with a
 * messageId and the client's ip, and nothing else when a honeypot was
 * filled; or fails with a reason and nothing left in out.
 */
#include "fuzz_common.h"

#include "config.h"
#include "pipelines.h"

static const struct request_context client = {"192.0.2.1", "fuzz/1", NULL};

static void
check_call(const struct built_event *ev)
{
	struct json_object *o, *v;
	const char *type;

	if (ev->json == NULL || ev->len > PAYLOAD_MAX_EVENT ||
	    strlen(ev->json) != ev->len)
		fuzz_fail("a call without its text, or over 32 KB");
	if ((o = json_tokener_parse(ev->json)) == NULL)
		fuzz_fail("a call that is not JSON");
	if (!json_object_object_get_ex(o, "type", &v) ||
	    (type = json_object_get_string(v)) == NULL ||
	    (strcmp(type, "identify") && strcmp(type, "track") &&
	     strcmp(type, "page")))
		fuzz_fail("a call of a type not forwarded");
	if (!json_object_object_get_ex(o, "messageId", &v) ||
	    strcmp(json_object_get_string(v), ev->message_id) != 0)
		fuzz_fail("the messageId differs from the event's");
	if (json_object_object_get_ex(o, "integrations", NULL) ||
	    !json_object_object_get_ex(o, "context", &v) ||
	    !json_object_object_get_ex(v, "ip", &v) ||
	    strcmp(json_object_get_string(v), client.ip) != 0)
		fuzz_fail("integrations kept, or context.ip not the client's");
	json_object_put(o);
}

static void
check_extras(const uint8_t *data, size_t size)
{
	char buf[64];
	size_t n = size < sizeof(buf) - 1 ? size : sizeof(buf) - 1;

	memcpy(buf, data + size - n, n);
	buf[n] = '\0';
	fuzz_check_time(data, size);
	(void)pipelines_secret_like(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pipelines_out out;
	struct fields f;
	struct fr_error err;
	enum pipelines_route route;
	size_t i;
	int rc;

	if (size == 0)
		return 0;
	route = (enum pipelines_route)(data[0] % 6);
	data++, size--;
	check_extras(data, size);
	fuzz_begin(&f, &err);
	if (parse_json((const char *)data, size, NULL, &f, &err) != FR_OK ||
	    !pipelines_wanted(f.root, route)) {
		fields_free(&f);
		return 0;
	}
	rc = pipelines_build(f.root, route, fuzz_config(), &client,
	                     1772366400123LL, &out, &err);
	if (rc == FR_OK) {
		if (out.honeypot && out.n != 0)
			fuzz_fail("calls kept despite a honeypot");
		for (i = 0; i < out.n; i++)
			check_call(&out.ev[i]);
		pipelines_out_free(&out);
	} else if (out.n != 0 || out.ev != NULL || err.status != rc ||
	           err.message[0] == '\0') {
		fuzz_fail("a failure without a reason, or with calls left");
	}
	fields_free(&f);
	return 0;
}
