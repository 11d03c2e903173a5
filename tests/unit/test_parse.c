/*
 * The body parsers, table-driven: each case is a content type, a body and
 * what parse_body must answer -- the fields (dumped as name=value|...) on
 * success, or the status, error code and offending field on failure, and
 * in every failure an empty result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "parse.h"
#include "tap.h"

#define FORM "application/x-www-form-urlencoded"
#define JSON "application/json"

/* Tight limits for the limit cases: 3 fields, 8-byte names, 10-byte
 * values, depth 3. */
static const struct parse_limits small = {3, 8, 10, 3};

struct pcase {
	const char *desc;
	const char *ctype;
	const char *body;
	size_t len;                     /* 0: strlen(body) */
	const struct parse_limits *lim; /* NULL: the defaults */
	int status;
	const char *code; /* err.code on failure */
	const char *want; /* success: the dump; failure: err.field or NULL */
};

static const struct pcase form_cases[] = {
        {"simple pair", FORM, "a=1", 0, NULL, FR_OK, NULL, "a=1"},
        {"two pairs in order", FORM, "email=jane%40example.com&first_name=Jane",
         0, NULL, FR_OK, NULL, "email=jane@example.com|first_name=Jane"},
        {"plus is a space", FORM, "name=Jane+Q.+Public", 0, NULL, FR_OK, NULL,
         "name=Jane Q. Public"},
        {"%2B is a plus", FORM, "phone=%2B1+555", 0, NULL, FR_OK, NULL,
         "phone=+1 555"},
        {"lower and upper hex", FORM, "a=%c3%A9", 0, NULL, FR_OK, NULL,
         "a=\xc3\xa9"},
        {"%-escapes in the name", FORM, "traits%5Bplan%5D=pro", 0, NULL, FR_OK,
         NULL, "traits[plan]=pro"},
        {"only the first = splits", FORM, "q=a=b=c", 0, NULL, FR_OK, NULL,
         "q=a=b=c"},
        {"no = gives an empty value", FORM, "flag&b=2", 0, NULL, FR_OK, NULL,
         "flag=|b=2"},
        {"empty value", FORM, "a=&b=", 0, NULL, FR_OK, NULL, "a=|b="},
        {"empty names skipped", FORM, "=x&&a=1&=&", 0, NULL, FR_OK, NULL,
         "a=1"},
        {"empty body", FORM, "", 0, NULL, FR_OK, NULL, ""},
        {"repeated names stay separate", FORM, "i=a&i=b&i=c", 0, NULL, FR_OK,
         NULL, "i=a|i=b|i=c"},
        {"CRLF in a textarea", FORM, "msg=line1%0D%0Aline2", 0, NULL, FR_OK,
         NULL, "msg=line1\\x0d\\x0aline2"},
        {"4-byte character", FORM, "e=%F0%9F%98%80", 0, NULL, FR_OK, NULL,
         "e=\xf0\x9f\x98\x80"},
        {"raw UTF-8 bytes pass", FORM, "city=Z\xc3\xbcrich", 0, NULL, FR_OK,
         NULL, "city=Z\xc3\xbcrich"},
        {"a realistic browser form", FORM " ; charset=UTF-8",
         "entryId=e-123&email=JANE%40Example.com&first_name=Jane&"
         "last_name=O%27Neil&message=Hi+there%21+%E2%9C%93&newsletter=on&"
         "_next=https%3A%2F%2Fwww.example.com%2Fthanks",
         0, NULL, FR_OK, NULL,
         "entryId=e-123|email=JANE@Example.com|first_name=Jane|"
         "last_name=O'Neil|message=Hi there! \xe2\x9c\x93|newsletter=on|"
         "_next=https://www.example.com/thanks"},
        {"media type is case-insensitive", "Application/X-WWW-Form-URLEncoded",
         "a=1", 0, NULL, FR_OK, NULL, "a=1"},
        /* Malformed %-escapes: 400 naming the field. */
        {"lone % in a value", FORM, "a=1&discount=100%", 0, NULL, FR_EMALFORMED,
         "bad_escape", "discount"},
        {"% and one hex digit", FORM, "a=%4", 0, NULL, FR_EMALFORMED,
         "bad_escape", "a"},
        {"% and non-hex", FORM, "a=%zz", 0, NULL, FR_EMALFORMED, "bad_escape",
         "a"},
        {"bad escape in a name", FORM, "ok=1&na%GGme=1", 0, NULL, FR_EMALFORMED,
         "bad_escape", "na%GGme"},
        {"%u escapes are not URL encoding", FORM, "a=%u00e9", 0, NULL,
         FR_EMALFORMED, "bad_escape", "a"},
        /* UTF-8 and NUL after decoding. */
        {"overlong via %C0%80", FORM, "a=%C0%80", 0, NULL, FR_EMALFORMED,
         "invalid_utf8", "a"},
        {"surrogate via %ED%A0%80", FORM, "a=%ED%A0%80", 0, NULL, FR_EMALFORMED,
         "invalid_utf8", "a"},
        {"above U+10FFFF", FORM, "a=%F4%90%80%80", 0, NULL, FR_EMALFORMED,
         "invalid_utf8", "a"},
        {"truncated sequence", FORM, "a=%E2%82", 0, NULL, FR_EMALFORMED,
         "invalid_utf8", "a"},
        {"latin-1 byte", FORM, "city=Z%FCrich", 0, NULL, FR_EMALFORMED,
         "invalid_utf8", "city"},
        {"invalid UTF-8 in a name", FORM, "n%FFm=1", 0, NULL, FR_EMALFORMED,
         "invalid_utf8", "n?m"},
        {"NUL via %00", FORM, "a=x%00y", 0, NULL, FR_EMALFORMED, "nul_byte",
         "a"},
        {"raw NUL", FORM, "a=x\0y", 5, NULL, FR_EMALFORMED, "nul_byte", "a"},
        {"NUL in a name", FORM, "a%00b=1", 0, NULL, FR_EMALFORMED, "nul_byte",
         "a?b"},
        /* Limits. */
        {"fields at the limit", FORM, "a=1&b=2&c=3", 0, &small, FR_OK, NULL,
         "a=1|b=2|c=3"},
        {"one field too many", FORM, "a=1&b=2&c=3&d=4", 0, &small, FR_ETOOLARGE,
         "too_many_fields", ""},
        {"skipped pairs do not count", FORM, "=1&a=1&&b=2&=&c=3", 0, &small,
         FR_OK, NULL, "a=1|b=2|c=3"},
        {"name at the limit", FORM, "abcdefgh=1", 0, &small, FR_OK, NULL,
         "abcdefgh=1"},
        {"name too long", FORM, "abcdefghi=1", 0, &small, FR_ETOOLARGE,
         "name_too_long", "abcdefghi"},
        {"name length is counted decoded", FORM, "%61bcdefgh=1", 0, &small,
         FR_OK, NULL, "abcdefgh=1"},
        {"value at the limit", FORM, "a=0123456789", 0, &small, FR_OK, NULL,
         "a=0123456789"},
        {"value too long", FORM, "a=1&note=0123456789X", 0, &small,
         FR_ETOOLARGE, "value_too_long", "note"},
        {"value length is counted decoded", FORM, "a=%30123456789", 0, &small,
         FR_OK, NULL, "a=0123456789"},
};

static const struct pcase type_cases[] = {
        {"no content type", NULL, "a=1", 0, NULL, FR_EUNSUPPORTED,
         "unsupported_media_type", ""},
        {"empty content type", "", "a=1", 0, NULL, FR_EUNSUPPORTED,
         "unsupported_media_type", ""},
        {"an XML body", "application/xml", "<a/>", 0, NULL, FR_EUNSUPPORTED,
         "unsupported_media_type", ""},
        {"a prefix of a known type", "application/x-www-form", "a=1", 0, NULL,
         FR_EUNSUPPORTED, "unsupported_media_type", ""},
};

/* Append s[0..len) to buf, showing control bytes as \xHH. */
static void
dump_bytes(char *buf, size_t size, const char *s, size_t len)
{
	size_t n = strlen(buf), i;

	for (i = 0; i < len && n + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
		else
			buf[n++] = (char)c;
	}
	buf[n] = '\0';
}

/* name=value|... ; form values raw, JSON values as JSON text. */
static void
dump_fields(const struct fields *f, char *buf, size_t size)
{
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < f->count; i++) {
		struct json_object *v = f->items[i].value;
		const char *s;

		if (i > 0)
			dump_bytes(buf, size, "|", 1);
		dump_bytes(buf, size, f->items[i].name,
		           strlen(f->items[i].name));
		dump_bytes(buf, size, "=", 1);
		if (f->items[i].flags & FIELD_FORM) {
			dump_bytes(buf, size, json_object_get_string(v),
			           (size_t)json_object_get_string_len(v));
			continue;
		}
		s = json_object_to_json_string_ext(
		        v, JSON_C_TO_STRING_PLAIN |
		                   JSON_C_TO_STRING_NOSLASHESCAPE);
		dump_bytes(buf, size, s, strlen(s));
	}
}

static int
is_empty(const struct fields *f)
{
	return f->count == 0 && f->items == NULL && f->root == NULL &&
	       f->context == NULL && f->form_name == NULL;
}

static void
run_case(const struct pcase *c)
{
	struct fields out;
	struct fr_error err;
	char got[4096];
	size_t len = c->len ? c->len : strlen(c->body);
	int rc;

	fields_init(&out);
	fr_error_clear(&err);
	rc = parse_body(c->body, len, c->ctype, c->lim, &out, &err);
	is_int(rc, c->status, "%s: status", c->desc);
	if (c->status == FR_OK) {
		dump_fields(&out, got, sizeof(got));
		is_str(got, c->want, "%s: fields", c->desc);
		if (rc != FR_OK)
			printf("#   error %s: %s\n", err.code, err.message);
	} else {
		is_str(err.code, c->code, "%s: error code", c->desc);
		if (c->want != NULL)
			is_str(err.field, c->want, "%s: error field", c->desc);
		ok(is_empty(&out) && err.message[0] != '\0',
		   "%s: nothing left in out, a message: %s", c->desc,
		   err.message);
	}
	fields_free(&out);
}

static void
run_table(const struct pcase *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		run_case(&cases[i]);
}

#define RUN(table) run_table(table, sizeof(table) / sizeof(table[0]))

/* A failure after some fields were added still leaves out empty, even
 * when out held fields before the call. */
static void
test_out_emptied(void)
{
	struct fields out;
	struct fr_error err;

	fields_init(&out);
	fields_add_string(&out, "old", 3, "x", 1, FIELD_FORM);
	is_int(parse_urlencoded("a=1&b=2&c=%", 11, NULL, &out, &err),
	       FR_EMALFORMED, "late error: status");
	ok(is_empty(&out), "late error: fields added earlier are gone");
	fields_free(&out);
}

static void
test_content_type_helpers(void)
{
	char buf[16];

	ok(content_type_is(" text/plain ;charset=UTF-8", "text/plain"),
	   "content_type_is trims and stops at ';'");
	ok(content_type_is("TEXT/Plain", "text/plain"),
	   "content_type_is ignores case");
	ok(!content_type_is("text/plainx", "text/plain"),
	   "content_type_is needs the whole type");
	ok(!content_type_is(NULL, "text/plain"), "content_type_is(NULL)");
	is_int(content_type_param("multipart/form-data; boundary=abc",
	                          "boundary", buf, sizeof(buf)),
	       3, "token parameter length");
	is_str(buf, "abc", "token parameter value");
	is_int(content_type_param(
	               "multipart/form-data;BOUNDARY=\"a \\\"b\\\\\"",
	               "boundary", buf, sizeof(buf)),
	       5, "quoted parameter, name case-insensitive");
	is_str(buf, "a \"b\\", "quoted-pairs resolved");
	is_int(content_type_param("text/plain; charset=utf-8; x=1", "x", buf,
	                          sizeof(buf)),
	       1, "a later parameter");
	is_int(content_type_param("text/plain; xcharset=1", "charset", buf,
	                          sizeof(buf)),
	       -1, "a parameter whose name only ends the same");
	is_int(content_type_param("text/plain; x=\"a;charset=1\"", "charset",
	                          buf, sizeof(buf)),
	       -1, "';' inside a quoted value is not a separator");
	is_int(content_type_param("text/plain", "charset", buf, sizeof(buf)),
	       -1, "no parameters");
	is_int(content_type_param("a/b; p=0123456789abcdef", "p", buf,
	                          sizeof(buf)),
	       -1, "too long for the buffer");
	is_int(content_type_param("a/b; p=\"open", "p", buf, sizeof(buf)), -1,
	       "unterminated quoted-string");
}

int
main(void)
{
	RUN(form_cases);
	RUN(type_cases);
	test_out_emptied();
	test_content_type_helpers();
	return done_testing();
}
