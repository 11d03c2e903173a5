/*
 * The upstream client against the stand-in Customer.io: the exact request
 * (headers, auth, body), keep-alive, classification of answers and
 * transport errors, Retry-After, and that the key never reaches a reason.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "config.h"
#include "standin.h"
#include "tap.h"
#include "upstream.h"
#include "util.h"

#define KEY       "test-key-123"
#define KEY_BASIC "Basic dGVzdC1rZXktMTIzOg==" /* base64("test-key-123:") */
#define BODY      "{\"batch\":[{\"type\":\"identify\",\"userId\":\"u1\"}]}"

static struct standin sd;

static const char *
jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *
jget(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (o != NULL)
		json_object_object_get_ex(o, key, &v);
	return v;
}

static void
test_classify(void)
{
	is_int(upstream_classify(200), UPSTREAM_OK, "200 is OK");
	is_int(upstream_classify(204), UPSTREAM_OK, "204 is OK");
	is_int(upstream_classify(400), UPSTREAM_PERMANENT, "400 permanent");
	is_int(upstream_classify(413), UPSTREAM_PERMANENT, "413 permanent");
	is_int(upstream_classify(422), UPSTREAM_PERMANENT, "422 permanent");
	is_int(upstream_classify(401), UPSTREAM_AUTH, "401 auth");
	is_int(upstream_classify(403), UPSTREAM_AUTH, "403 auth");
	is_int(upstream_classify(408), UPSTREAM_RETRY, "408 retry");
	is_int(upstream_classify(429), UPSTREAM_RETRY, "429 retry");
	is_int(upstream_classify(500), UPSTREAM_RETRY, "500 retry");
	is_int(upstream_classify(503), UPSTREAM_RETRY, "503 retry");
	is_int(upstream_classify(301), UPSTREAM_RETRY, "3xx retry (no follow)");
}

static void
test_retry_after(void)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example) */
	int64_t t = 784111777LL * 1000;

	is_int(upstream_parse_retry_after("7", t), 7000, "delta-seconds");
	is_int(upstream_parse_retry_after(" 120 \r\n", t), 120000,
	       "delta-seconds with blanks and CRLF");
	is_int(upstream_parse_retry_after("0", t), 0, "zero");
	is_int(upstream_parse_retry_after("abc", t), -1, "junk is -1");
	is_int(upstream_parse_retry_after("", t), -1, "empty is -1");
	is_int(upstream_parse_retry_after("7x", t), -1, "trailing junk");
	is_int(upstream_parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", t),
	       30000, "HTTP-date 30 s ahead");
	is_int(upstream_parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", t),
	       0, "HTTP-date in the past is 0");
	is_int(upstream_parse_retry_after("99999999999", t), 24LL * 3600 * 1000,
	       "capped at a day");
}

static void
make_config(struct config *cfg, const char *base, long timeout_ms)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->api_base = xstrdup(base);
	cfg->api_key = xstrdup(KEY);
	cfg->timeout_ms = timeout_ms;
}

static void
free_config(struct config *cfg)
{
	free(cfg->api_base);
	free(cfg->api_key);
}

static struct upstream *
new_upstream(const char *base, long timeout_ms)
{
	struct config cfg;
	struct fr_error err;
	struct upstream *up = NULL;
	int rc;

	make_config(&cfg, base, timeout_ms);
	rc = upstream_new(&cfg, &up, &err);
	free_config(&cfg); /* the client keeps its own copies */
	if (!ok(rc == FR_OK, "upstream_new"))
		printf("# %s\n", err.message);
	return up;
}

/* The last recorded request, owned by *all (put it). */
static struct json_object *
last_request(struct json_object **all)
{
	size_t n;

	*all = standin_get(&sd, "requests");
	n = *all ? json_object_array_length(*all) : 0;
	return n ? json_object_array_get_idx(*all, n - 1) : NULL;
}

static void
test_request_shape(struct upstream *up)
{
	struct upstream_result res;
	struct json_object *all, *req, *hdr;
	char ua[64];
	int rc;

	rc = upstream_post(up, "/batch", BODY, strlen(BODY), &res);
	is_int(rc, FR_OK, "post returns FR_OK");
	is_int(res.cls, UPSTREAM_OK, "200 classified OK");
	is_int(res.http_status, 200, "status 200");
	is_int(res.retry_after_ms, -1, "no Retry-After");
	req = last_request(&all);
	hdr = jget(req, "headers");
	is_str(jstr(req, "method"), "POST", "method POST");
	is_str(jstr(req, "path"), "/v1/batch", "path api_base + /batch");
	is_str(jstr(req, "body"), BODY, "body sent unchanged");
	is_str(jstr(hdr, "authorization"), KEY_BASIC,
	       "Basic auth: key as user, empty password");
	is_str(jstr(hdr, "x-strict-mode"), "1", "X-Strict-Mode: 1");
	is_str(jstr(hdr, "content-type"), "application/json", "Content-Type");
	snprintf(ua, sizeof(ua), "formrelay/%s", PACKAGE_VERSION);
	is_str(jstr(hdr, "user-agent"), ua, "User-Agent formrelay/VERSION");
	ok(jstr(hdr, "expect") == NULL, "no Expect: 100-continue");
	json_object_put(all);
}

static void
test_keepalive(struct upstream *up)
{
	struct upstream_result res;
	struct json_object *all;
	int64_t a, b;

	standin_reset(&sd);
	upstream_post(up, "/batch", BODY, strlen(BODY), &res);
	upstream_post(up, "/batch", BODY, strlen(BODY), &res);
	all = standin_get(&sd, "requests");
	is_int(all ? json_object_array_length(all) : 0, 2, "two requests");
	a = json_object_get_int64(
	        jget(json_object_array_get_idx(all, 0), "connection_id"));
	b = json_object_get_int64(
	        jget(json_object_array_get_idx(all, 1), "connection_id"));
	ok(a > 0 && a == b, "same connection reused (%lld, %lld)", (long long)a,
	   (long long)b);
	json_object_put(all);
}

/* Script one answer, post, and return the result. */
static void
post_scripted(struct upstream *up, const char *answer,
              struct upstream_result *res)
{
	char script[1024];

	snprintf(script, sizeof(script), "{\"responses\":[%s]}", answer);
	if (standin_script(&sd, script) != 0)
		printf("# could not script %s\n", answer);
	upstream_post(up, "/batch", BODY, strlen(BODY), res);
}

static void
test_statuses(struct upstream *up)
{
	struct upstream_result res;

	post_scripted(up,
	              "{\"status\":503,\"headers\":{\"Retry-After\":\"7\"}}",
	              &res);
	is_int(res.cls, UPSTREAM_RETRY, "503 retry");
	is_int(res.http_status, 503, "503 status kept");
	is_int(res.retry_after_ms, 7000, "Retry-After: 7 -> 7000 ms");

	post_scripted(up,
	              "{\"status\":429,\"headers\":{\"retry-after\":\"2\"}}",
	              &res);
	is_int(res.cls, UPSTREAM_RETRY, "429 retry");
	is_int(res.retry_after_ms, 2000, "lower-case retry-after read");

	post_scripted(up, "{\"status\":408}", &res);
	is_int(res.cls, UPSTREAM_RETRY, "408 retry");

	post_scripted(
	        up, "{\"status\":400,\"body\":{\"error\":\"userId missing\"}}",
	        &res);
	is_int(res.cls, UPSTREAM_PERMANENT, "400 permanent");
	is_str(res.reason, "HTTP 400: {\"error\": \"userId missing\"}",
	       "reason quotes the body");

	post_scripted(up, "{\"status\":413}", &res);
	is_int(res.cls, UPSTREAM_PERMANENT, "413 permanent");

	post_scripted(up, "{\"status\":403}", &res);
	is_int(res.cls, UPSTREAM_AUTH, "403 auth");

	post_scripted(up,
	              "{\"status\":302,\"headers\":"
	              "{\"Location\":\"http://127.0.0.1:1/\"}}",
	              &res);
	is_int(res.cls, UPSTREAM_RETRY, "302 not followed, retried later");
	is_int(res.http_status, 302, "302 status kept");
}

/* A server that echoes the key or the Authorization value must not get
 * it into a reason (which reaches logs and the dead-letter table). */
static void
test_key_scrubbed(struct upstream *up)
{
	struct upstream_result res;

	post_scripted(up,
	              "{\"status\":401,\"body\":\"bad key " KEY " in " KEY_BASIC
	              "\"}",
	              &res);
	is_int(res.cls, UPSTREAM_AUTH, "401 auth");
	ok(strstr(res.reason, KEY) == NULL, "key scrubbed: %s", res.reason);
	ok(strstr(res.reason, KEY_BASIC + 6) == NULL,
	   "base64 credentials scrubbed");
	ok(strncmp(res.reason, "HTTP 401: bad key *** in Basic ***", 34) == 0,
	   "rest of the reason kept");
}

static void
test_large_body(struct upstream *up)
{
	struct upstream_result res;
	size_t n = 100000, i;
	char *script = malloc(n + 64);

	i = (size_t)snprintf(script, 64,
	                     "{\"responses\":[{\"status\":400,"
	                     "\"body\":\"");
	memset(script + i, 'x', n);
	strlcopy(script + i + n, "\"}]}", 8);
	standin_script(&sd, script);
	free(script);
	upstream_post(up, "/batch", BODY, strlen(BODY), &res);
	is_int(res.cls, UPSTREAM_PERMANENT, "100 KB error body read");
	ok(strlen(res.reason) < sizeof(res.reason) &&
	           strstr(res.reason, "...") != NULL,
	   "reason is a bounded excerpt");
	post_scripted(up, "{\"status\":200}", &res);
	is_int(res.cls, UPSTREAM_OK, "handle still usable after it");
}

static void
test_transport_errors(void)
{
	struct upstream_result res;
	struct upstream *up;
	char base[64];

	snprintf(base, sizeof(base), "http://127.0.0.1:%d/v1",
	         standin_dead_port());
	up = new_upstream(base, 2000);
	if (up == NULL)
		return;
	is_int(upstream_post(up, "/batch", BODY, strlen(BODY), &res), FR_OK,
	       "refused connection classified");
	is_int(res.cls, UPSTREAM_RETRY, "connection refused: retry");
	is_int(res.http_status, 0, "no HTTP status");
	ok(strstr(res.reason, "Connection refused") != NULL &&
	           strstr(res.reason, KEY) == NULL,
	   "reason names the cause: %s", res.reason);
	upstream_free(up);

	up = new_upstream(sd.base, 300);
	if (up == NULL)
		return;
	post_scripted(up, "{\"status\":200,\"delay_ms\":2000}", &res);
	is_int(res.cls, UPSTREAM_RETRY, "timeout: retry");
	ok(res.elapsed_ms >= 250 && res.elapsed_ms < 1900,
	   "gave up after about timeout_ms (%lld ms)",
	   (long long)res.elapsed_ms);
	ok(strstr(res.reason, "imed out") != NULL, "reason says timed out: %s",
	   res.reason);
	upstream_free(up);
}

int
main(void)
{
	struct upstream *up;
	int rc;

	test_classify();
	test_retry_after();
	if (upstream_global_init() != FR_OK) {
		ok(0, "curl_global_init");
		return done_testing();
	}
	rc = standin_start(&sd);
	if (rc == 77) {
		printf("1..0 # SKIP python3 or tests/standin.py not found\n");
		return 77;
	}
	if (!ok(rc == 0, "stand-in started"))
		return done_testing();
	up = new_upstream(sd.base, 5000);
	if (up != NULL) {
		test_request_shape(up);
		test_keepalive(up);
		test_statuses(up);
		test_key_scrubbed(up);
		test_large_body(up);
		upstream_free(up);
	}
	test_transport_errors();
	standin_stop(&sd);
	upstream_global_cleanup();
	return done_testing();
}
