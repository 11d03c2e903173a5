/* Unit tests for hooks: routes, tokens and each source's proof. */
#include <stdlib.h>

#include "hooks.h"
#include "tap.h"

static struct fr_error err;

/* Request headers for the getter: CGI name, value pairs. */
static const char *headers[16];

static const char *
get(const char *name, void *ctx)
{
	size_t i;

	(void)ctx;
	for (i = 0; headers[i] != NULL; i += 2)
		if (strcmp(headers[i], name) == 0)
			return headers[i + 1];
	return NULL;
}

static void
set_headers(const char *a, const char *av, const char *b, const char *bv,
            const char *c, const char *cv)
{
	memset(headers, 0, sizeof(headers));
	headers[0] = a;
	headers[1] = av;
	headers[2] = b;
	headers[3] = bv;
	headers[4] = c;
	headers[5] = cv;
}

static void
test_route(void)
{
	const char *name = NULL;
	size_t len = 0;

	ok(hooks_route("/formrelay/hooks/tally", &name, &len) && len == 5 &&
	           strncmp(name, "tally", 5) == 0,
	   "route: /formrelay/hooks/tally");
	ok(hooks_route("/f/hooks/jot?token=a/b", &name, &len) && len == 3 &&
	           strncmp(name, "jot", 3) == 0,
	   "route: the query is not part of NAME");
	ok(!hooks_route("/formrelay/hooks/", &name, &len), "route: no NAME");
	ok(!hooks_route("/formrelay/hooks", &name, &len), "route: no /NAME");
	ok(!hooks_route("/formrelay", &name, &len), "route: the main route");
	ok(!hooks_route("/formrelay/hooks/a/b", &name, &len),
	   "route: NAME holds no '/'");
	ok(!hooks_route("/formrelay/xhooks/a", &name, &len),
	   "route: the segment is exactly hooks");
	ok(!hooks_route(NULL, &name, &len), "route: NULL");
}

static void
test_token(void)
{
	char buf[32];

	ok(hooks_query_token("token=abc", buf, sizeof(buf)) == 0 &&
	           strcmp(buf, "abc") == 0,
	   "token: alone");
	ok(hooks_query_token("a=1&token=x%2By&b=2", buf, sizeof(buf)) == 0 &&
	           strcmp(buf, "x+y") == 0,
	   "token: among others, percent-decoded");
	ok(hooks_query_token("xtoken=abc", buf, sizeof(buf)) != 0,
	   "token: another parameter's name is not token");
	ok(hooks_query_token(NULL, buf, sizeof(buf)) != 0, "token: no query");
	ok(hooks_query_token("token=0123456789012345678901234567890123", buf,
	                     sizeof(buf)) != 0,
	   "token: too long for the buffer");
}

static struct config_hook
make_hook(enum hook_platform p, const char *secret, const char *token)
{
	struct config_hook h;

	memset(&h, 0, sizeof(h));
	h.name = (char *)"src";
	h.platform = p;
	if (secret != NULL) {
		h.secrets[0] = (char *)secret;
		h.secret_count = 1;
	}
	if (token != NULL) {
		h.tokens[0] = (char *)token;
		h.token_count = 1;
	}
	return h;
}

static int
verify(const struct config_hook *h, const char *query, const char *body,
       int64_t now, struct hook_proof *proof)
{
	fr_error_clear(&err);
	return hooks_verify(h, get, NULL, query, body, strlen(body), now, proof,
	                    &err);
}

/* The Standard Webhooks vector (see test_webhook.c); svix- headers as
 * the Svix SDK sends them. */
#define KAT_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define KAT_SIG    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define KAT_BODY   "{\"test\": 2432232314}"
#define KAT_NOW    1614265330000LL

static void
test_standard(void)
{
	struct config_hook h = make_hook(HOOK_STANDARD, KAT_SECRET, NULL);
	struct hook_proof p;

	set_headers("HTTP_SVIX_ID", "msg_p5jXN8AQM9LWM0D4loKWxJek",
	            "HTTP_SVIX_TIMESTAMP", "1614265330", "HTTP_SVIX_SIGNATURE",
	            KAT_SIG);
	is_int(verify(&h, NULL, KAT_BODY, KAT_NOW, &p), FR_OK,
	       "standard: the Svix vector verifies");
	is_str(p.event_id, "msg_p5jXN8AQM9LWM0D4loKWxJek",
	       "standard: the event id is svix-id");
	h.secrets[1] = h.secrets[0];
	h.secrets[0] = (char *)"whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXk=";
	h.secret_count = 2;
	is_int(verify(&h, NULL, KAT_BODY, KAT_NOW, &p), FR_OK,
	       "standard: the second of two secrets verifies (rotation)");
	h.secret_count = 1;
	is_int(verify(&h, NULL, KAT_BODY, KAT_NOW, &p), FR_EFORBIDDEN,
	       "standard: with only another secret, refused");
	is_str(err.code, "bad_signature", "... as bad_signature");
	set_headers(NULL, NULL, NULL, NULL, NULL, NULL);
	is_int(verify(&h, NULL, KAT_BODY, KAT_NOW, &p), FR_EFORBIDDEN,
	       "standard: unsigned refused");
	is_str(err.code, "missing_signature", "... as missing_signature");
}

static void
test_tokens(void)
{
	struct config_hook h = make_hook(HOOK_JOTFORM, NULL, "s3cret-token");
	struct hook_proof p;

	set_headers(NULL, NULL, NULL, NULL, NULL, NULL);
	is_int(verify(&h, "token=s3cret-token", "x", 0, &p), FR_OK,
	       "token: the right one passes");
	is_int(verify(&h, "token=s3cret-tokeN", "x", 0, &p), FR_EFORBIDDEN,
	       "token: a wrong one refused");
	is_str(err.code, "bad_token", "... as bad_token");
	ok(strstr(err.message, "s3cret") == NULL,
	   "token: the message holds no token");
	is_int(verify(&h, "token=s3cret-token-and-more", "x", 0, &p),
	       FR_EFORBIDDEN, "token: a longer one refused");
	is_int(verify(&h, NULL, "x", 0, &p), FR_EFORBIDDEN,
	       "token: none refused");
	is_str(err.code, "missing_token", "... as missing_token");
	is_int(verify(&h, "token=", "x", 0, &p), FR_EFORBIDDEN,
	       "token: an empty one refused");
}

static void
test_signature_and_token(void)
{
	struct config_hook h =
	        make_hook(HOOK_TALLY, "formrelay-tally-secret", "tok");
	struct hook_proof p;
	const char *body =
	        "{\"eventId\":\"a4cb511e\",\"eventType\":\"FORM_RESPONSE\"}";

	set_headers("HTTP_TALLY_SIGNATURE",
	            "EHIvBkC9OD7epe7SQYgTKXl3lFvqghfDJhF6HPOdsDY=", NULL, NULL,
	            NULL, NULL);
	is_int(verify(&h, "token=tok", body, 0, &p), FR_OK,
	       "tally: signature and token pass");
	is_int(verify(&h, NULL, body, 0, &p), FR_EFORBIDDEN,
	       "tally: the token is required too when configured");
	h.token_count = 0;
	is_int(verify(&h, NULL, body, 0, &p), FR_OK,
	       "tally: signature alone when no token_file");
	is_str(p.event_id, "", "tally: no header event id");
	set_headers(NULL, NULL, NULL, NULL, NULL, NULL);
	is_int(verify(&h, NULL, body, 0, &p), FR_EFORBIDDEN,
	       "tally: unsigned refused");
	is_str(err.code, "missing_signature", "... as missing_signature");
}

int
main(void)
{
	test_route();
	test_token();
	test_standard();
	test_tokens();
	test_signature_and_token();
	return done_testing();
}
