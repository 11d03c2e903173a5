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

#define MP "multipart/form-data; boundary=b"
#define CD "Content-Disposition: form-data; name="

/* What Chrome sends for a form with a textarea, a file and an empty file
 * input: its boundary, CRLF line ends, binary file content. */
#define CHROME_CT                                                              \
	"multipart/form-data; boundary=----WebKitFormBoundaryx7Gq2Zb1nUuJdYkE"
#define CHROME_B "------WebKitFormBoundaryx7Gq2Zb1nUuJdYkE"
#define CHROME_BODY                                                            \
	CHROME_B "\r\n"                                                        \
	         "Content-Disposition: form-data; name=\"entryId\"\r\n\r\n"    \
	         "e-42\r\n" CHROME_B "\r\n"                                    \
	         "Content-Disposition: form-data; name=\"email\"\r\n\r\n"      \
	         "jane@example.com\r\n" CHROME_B "\r\n"                        \
	         "Content-Disposition: form-data; name=\"message\"\r\n\r\n"    \
	         "Hello,\r\n\r\nsee you -- Jane\r\n" CHROME_B "\r\n"           \
	         "Content-Disposition: form-data; name=\"resume\"; "           \
	         "filename=\"cv.pdf\"\r\n"                                     \
	         "Content-Type: application/pdf\r\n\r\n"                       \
	         "%PDF-1.4\n\0\xff\xfe\r\n--\r\n" CHROME_B "\r\n"              \
	         "Content-Disposition: form-data; name=\"photo\"; "            \
	         "filename=\"\"\r\n"                                           \
	         "Content-Type: application/octet-stream\r\n\r\n\r\n" CHROME_B \
	         "\r\n"                                                        \
	         "Content-Disposition: form-data; name=\"consent\"\r\n\r\n"    \
	         "on\r\n" CHROME_B "--\r\n"

/* Firefox: a long dashed boundary, quoted in the header by some clients. */
#define FIREFOX_B "---------------------------9051914041544843365972754266"
#define FIREFOX_BODY                                                           \
	"--" FIREFOX_B "\r\n"                                                  \
	"Content-Disposition: form-data; name=\"first_name\"\r\n\r\n"          \
	"J\xc3\xbcrgen\r\n"                                                    \
	"--" FIREFOX_B "\r\n"                                                  \
	"Content-Disposition: form-data; name=\"upload\"; "                    \
	"filename=\"a.txt\"\r\n"                                               \
	"Content-Type: text/plain\r\n\r\n"                                     \
	"file text\r\n"                                                        \
	"--" FIREFOX_B "--\r\n"

static const struct pcase multipart_cases[] = {
        {"Chrome form with file parts", CHROME_CT, CHROME_BODY,
         sizeof(CHROME_BODY) - 1, NULL, FR_OK, NULL,
         "entryId=e-42|email=jane@example.com|"
         "message=Hello,\\x0d\\x0a\\x0d\\x0asee you -- Jane|consent=on"},
        {"Firefox form, quoted boundary",
         "multipart/form-data; boundary=\"" FIREFOX_B "\"", FIREFOX_BODY, 0,
         NULL, FR_OK, NULL, "first_name=J\xc3\xbcrgen"},
        {"minimal", MP, "--b\r\n" CD "\"a\"\r\n\r\n1\r\n--b--", 0, NULL, FR_OK,
         NULL, "a=1"},
        {"quoted boundary with a space",
         "multipart/form-data; boundary=\"simple boundary\"",
         "--simple boundary\r\n" CD "\"a\"\r\n\r\n1\r\n--simple boundary--", 0,
         NULL, FR_OK, NULL, "a=1"},
        {"boundary parameter name in upper case",
         "Multipart/Form-Data; charset=utf-8; BOUNDARY=b",
         "--b\r\n" CD "\"a\"\r\n\r\n1\r\n--b--", 0, NULL, FR_OK, NULL, "a=1"},
        {"preamble and epilogue ignored", MP,
         "This is the preamble.\r\n--b\r\n" CD "\"a\"\r\n\r\n1\r\n--b--\r\n"
         "This is the epilogue.\r\n--b\r\n" CD "\"x\"\r\n\r\n2\r\n--b--",
         0, NULL, FR_OK, NULL, "a=1"},
        {"bare LF line ends", MP,
         "--b\n" CD "\"a\"\n\nline1\nline2\n--b\n" CD "\"c\"\n\n\n--b--\n", 0,
         NULL, FR_OK, NULL, "a=line1\\x0aline2|c="},
        {"transport padding after the boundary", MP,
         "--b \t\r\n" CD "\"a\"\r\n\r\n1\r\n--b  \r\n" CD "\"b\"\r\n\r\n2\r\n"
         "--b--",
         0, NULL, FR_OK, NULL, "a=1|b=2"},
        {"token name, odd header case", MP,
         "--b\r\ncontent-DISPOSITION: FORM-DATA; NAME=plain\r\n\r\nv\r\n--b--",
         0, NULL, FR_OK, NULL, "plain=v"},
        {"folded Content-Disposition", MP,
         "--b\r\nContent-Disposition: form-data;\r\n\tname=\"folded\"\r\n"
         "X-Other: 1\r\n\r\nv\r\n--b--",
         0, NULL, FR_OK, NULL, "folded=v"},
        {"space before the header colon", MP,
         "--b\r\nContent-Disposition : form-data; name=a\r\n\r\nv\r\n--b--", 0,
         NULL, FR_OK, NULL, "a=v"},
        {"escaped quote in the name", MP,
         "--b\r\n" CD "\"say \\\"hi\\\"\"\r\n\r\nv\r\n--b--", 0, NULL, FR_OK,
         NULL, "say \"hi\"=v"},
        {"semicolon inside the quoted name", MP,
         "--b\r\n" CD "\"a;filename=x\"\r\n\r\nv\r\n--b--", 0, NULL, FR_OK,
         NULL, "a;filename=x=v"},
        {"other Content-Type without filename is text", MP,
         "--b\r\n" CD "\"data\"\r\nContent-Type: application/json\r\n\r\n"
         "{\"x\":1}\r\n--b--",
         0, NULL, FR_OK, NULL, "data={\"x\":1}"},
        {"filename* marks a file part", MP,
         "--b\r\n" CD "\"f\"; filename*=UTF-8''a.txt\r\n\r\nx\r\n--b\r\n" CD
         "\"a\"\r\n\r\n1\r\n--b--",
         0, NULL, FR_OK, NULL, "a=1"},
        {"repeated names stay separate", MP,
         "--b\r\n" CD "\"i\"\r\n\r\nx\r\n--b\r\n" CD "\"i\"\r\n\r\ny\r\n--b--",
         0, NULL, FR_OK, NULL, "i=x|i=y"},
        {"empty name skipped", MP,
         "--b\r\n" CD "\"\"\r\n\r\nx\r\n--b\r\n" CD "\"a\"\r\n\r\n1\r\n--b--",
         0, NULL, FR_OK, NULL, "a=1"},
        {"boundary text inside a value", MP,
         "--b\r\n" CD "\"a\"\r\n\r\nx--b\r\n--bx\r\n--b--", 0, NULL, FR_OK,
         NULL, "a=x--b\\x0d\\x0a--bx"},
        {"a form with no fields", MP, "--b--\r\n", 0, NULL, FR_OK, NULL, ""},
        {"first delimiter after a blank line", MP,
         "\r\n--b\r\n" CD "\"a\"\r\n\r\n1\r\n--b--", 0, NULL, FR_OK, NULL,
         "a=1"},
        /* Errors. */
        {"no boundary parameter", "multipart/form-data", "--b--", 0, NULL,
         FR_EMALFORMED, "missing_boundary", ""},
        {"boundary of 71 characters",
         "multipart/form-data; boundary="
         "12345678901234567890123456789012345678901234567890123456789012345678"
         "901",
         "x", 0, NULL, FR_EMALFORMED, "bad_boundary", ""},
        {"empty quoted boundary", "multipart/form-data; boundary=\"\"", "--", 0,
         NULL, FR_EMALFORMED, "bad_boundary", ""},
        {"unterminated quoted boundary", "multipart/form-data; boundary=\"b",
         "--b--", 0, NULL, FR_EMALFORMED, "bad_boundary", ""},
        {"boundary not in the body", MP, "--c\r\n" CD "\"a\"\r\n\r\n1\r\n--c--",
         0, NULL, FR_EMALFORMED, "boundary_not_found", ""},
        {"empty body", MP, "", 0, NULL, FR_EMALFORMED, "boundary_not_found",
         ""},
        {"no closing boundary", MP, "--b\r\n" CD "\"a\"\r\n\r\n1", 0, NULL,
         FR_EMALFORMED, "unterminated_multipart", ""},
        {"last delimiter without --", MP, "--b\r\n" CD "\"a\"\r\n\r\n1\r\n--b",
         0, NULL, FR_EMALFORMED, "unterminated_multipart", ""},
        {"ends after an opening delimiter", MP,
         "--b\r\n" CD "\"a\"\r\n\r\n1\r\n--b\r\n", 0, NULL, FR_EMALFORMED,
         "unterminated_multipart", ""},
        {"ends inside part headers", MP, "--b\r\n" CD "\"a\"\r\n", 0, NULL,
         FR_EMALFORMED, "unterminated_multipart", ""},
        {"no Content-Disposition", MP,
         "--b\r\nContent-Type: text/plain\r\n\r\n1\r\n--b--", 0, NULL,
         FR_EMALFORMED, "bad_part_header", ""},
        {"no headers at all", MP, "--b\r\n\r\n1\r\n--b--", 0, NULL,
         FR_EMALFORMED, "bad_part_header", ""},
        {"disposition other than form-data", MP,
         "--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\n1\r\n--b--",
         0, NULL, FR_EMALFORMED, "bad_part_header", ""},
        {"form-data without a name", MP,
         "--b\r\nContent-Disposition: form-data\r\n\r\n1\r\n--b--", 0, NULL,
         FR_EMALFORMED, "bad_part_header", ""},
        {"header line without a colon", MP,
         "--b\r\n" CD "\"a\"\r\nbogus header\r\n\r\n1\r\n--b--", 0, NULL,
         FR_EMALFORMED, "bad_part_header", ""},
        {"unterminated quoted name", MP, "--b\r\n" CD "\"a\r\n\r\n1\r\n--b--",
         0, NULL, FR_EMALFORMED, "bad_part_header", ""},
        {"invalid UTF-8 in a value", MP,
         "--b\r\n" CD "\"city\"\r\n\r\nZ\xfcrich\r\n--b--", 0, NULL,
         FR_EMALFORMED, "invalid_utf8", "city"},
        {"NUL in a text value", MP, "--b\r\n" CD "\"a\"\r\n\r\nx\0y\r\n--b--",
         sizeof("--b\r\n" CD "\"a\"\r\n\r\nx\0y\r\n--b--") - 1, NULL,
         FR_EMALFORMED, "nul_byte", "a"},
        {"invalid UTF-8 in a name", MP,
         "--b\r\n" CD "\"\xc0\xaf\"\r\n\r\nx\r\n--b--", 0, NULL, FR_EMALFORMED,
         "invalid_utf8", "??"},
        /* Limits: file parts do not count. */
        {"3 text fields and a file at the limit", MP,
         "--b\r\n" CD "\"a\"\r\n\r\n1\r\n--b\r\n" CD "\"f\"; filename=\"x\"\r\n"
         "\r\n0123456789abcdef\r\n--b\r\n" CD "\"b\"\r\n\r\n2\r\n--b\r\n" CD
         "\"c\"\r\n\r\n3\r\n--b--",
         0, &small, FR_OK, NULL, "a=1|b=2|c=3"},
        {"4 text fields", MP,
         "--b\r\n" CD "\"a\"\r\n\r\n1\r\n--b\r\n" CD
         "\"b\"\r\n\r\n2\r\n--b\r\n" CD "\"c\"\r\n\r\n3\r\n--b\r\n" CD
         "\"d\"\r\n\r\n4\r\n--b--",
         0, &small, FR_ETOOLARGE, "too_many_fields", ""},
        {"name too long", MP, "--b\r\n" CD "\"abcdefghi\"\r\n\r\n1\r\n--b--", 0,
         &small, FR_ETOOLARGE, "name_too_long", "abcdefghi"},
        {"value too long", MP,
         "--b\r\n" CD "\"msg\"\r\n\r\n0123456789X\r\n--b--", 0, &small,
         FR_ETOOLARGE, "value_too_long", "msg"},
        {"value at the limit", MP,
         "--b\r\n" CD "\"msg\"\r\n\r\n0123456789\r\n--b--", 0, &small, FR_OK,
         NULL, "msg=0123456789"},
};

#define DEEP4 "{\"a\":{\"b\":{\"c\":{}}}}"

static const struct pcase json_cases[] = {
        {"flat object keeps JSON types", JSON,
         "{\"entryId\":\"e-1\",\"age\":42,\"score\":1.5,\"vip\":true,"
         "\"tags\":[\"a\",\"b\"],\"zip\":\"02134\"}",
         0, NULL, FR_OK, NULL,
         "entryId=\"e-1\"|age=42|score=1.5|vip=true|tags=[\"a\",\"b\"]|"
         "zip=\"02134\""},
        {"Embeddables envelope: members are objects", JSON "; charset=utf-8",
         "{\"userData\":{\"email\":\"jane@example.com\",\"entryId\":\"x\"},"
         "\"context\":{\"page\":{\"url\":\"https://example.com/\"}}}",
         0, NULL, FR_OK, NULL,
         "userData={\"email\":\"jane@example.com\",\"entryId\":\"x\"}|"
         "context={\"page\":{\"url\":\"https://example.com/\"}}"},
        {"sendBeacon text/plain holds JSON", "text/plain;charset=UTF-8",
         "{\"email\":\"a@b.c\"}", 0, NULL, FR_OK, NULL, "email=\"a@b.c\""},
        {"whitespace around the object", JSON, " \r\n\t{ \"a\" : 1 }\r\n", 0,
         NULL, FR_OK, NULL, "a=1"},
        {"empty object", JSON, "{}", 0, NULL, FR_OK, NULL, ""},
        {"byte order mark ignored", JSON, "\xef\xbb\xbf{\"a\":1}", 0, NULL,
         FR_OK, NULL, "a=1"},
        {"escapes and a surrogate pair", JSON,
         "{\"m\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/\"}", 0, NULL,
         FR_OK, NULL, "m=\"caf\xc3\xa9 \xf0\x9f\x98\x80 \\\"q\\\" \\\\ /\""},
        {"escaped backslash before u0000 text", JSON, "{\"p\":\"C:\\\\u0000\"}",
         0, NULL, FR_OK, NULL, "p=\"C:\\\\u0000\""},
        {"nulls and empty names skipped", JSON, "{\"a\":null,\"\":1,\"b\":2}",
         0, NULL, FR_OK, NULL, "b=2"},
        {"duplicate member: the last value wins", JSON, "{\"a\":1,\"a\":2}", 0,
         NULL, FR_OK, NULL, "a=2"},
        {"exponent and negative numbers", JSON, "{\"a\":-1.5e3,\"b\":-0}", 0,
         NULL, FR_OK, NULL, "a=-1.5e3|b=0"},
        {"depth at the limit", JSON, "{\"a\":{\"b\":[1]}}", 0, &small, FR_OK,
         NULL, "a={\"b\":[1]}"},
        /* Errors. */
        {"too deep", JSON, DEEP4, 0, &small, FR_EMALFORMED, "too_deep", ""},
        {"too deep by the default limit", JSON,
         "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", 0, NULL,
         FR_EMALFORMED, "too_deep", ""},
        {"top level array", JSON, "[{\"a\":1}]", 0, NULL, FR_EMALFORMED,
         "not_an_object", ""},
        {"top level string", JSON, "\"a=1\"", 0, NULL, FR_EMALFORMED,
         "not_an_object", ""},
        {"top level number", JSON, "42", 0, NULL, FR_EMALFORMED,
         "not_an_object", ""},
        {"top level null", JSON, "null", 0, NULL, FR_EMALFORMED,
         "not_an_object", ""},
        {"trailing garbage", JSON, "{\"a\":1} x", 0, NULL, FR_EMALFORMED,
         "trailing_garbage", ""},
        {"two objects", JSON, "{\"a\":1}{\"b\":2}", 0, NULL, FR_EMALFORMED,
         "trailing_garbage", ""},
        {"number then garbage", JSON, "1 2", 0, NULL, FR_EMALFORMED,
         "trailing_garbage", ""},
        {"truncated object", JSON, "{\"a\":1", 0, NULL, FR_EMALFORMED,
         "invalid_json", ""},
        {"empty body", JSON, "", 0, NULL, FR_EMALFORMED, "invalid_json", ""},
        {"trailing comma", JSON, "{\"a\":1,}", 0, NULL, FR_EMALFORMED,
         "invalid_json", ""},
        {"single quotes", JSON, "{'a':1}", 0, NULL, FR_EMALFORMED,
         "invalid_json", ""},
        {"unquoted name", JSON, "{a:1}", 0, NULL, FR_EMALFORMED, "invalid_json",
         ""},
        {"raw tab in a string", JSON, "{\"a\":\"x\ty\"}", 0, NULL,
         FR_EMALFORMED, "invalid_json", ""},
        {"number ending in a dot", JSON, "{\"a\":1.}", 0, NULL, FR_EMALFORMED,
         "invalid_json", ""},
        {"comment", JSON, "{\"a\":1 /* c */}", 0, NULL, FR_EMALFORMED,
         "invalid_json", ""},
        {"a form body sent as JSON", JSON, "a=1&b=2", 0, NULL, FR_EMALFORMED,
         "invalid_json", ""},
        {"NaN", JSON, "{\"n\":NaN}", 0, NULL, FR_EMALFORMED, "invalid_number",
         "n"},
        {"Infinity nested", JSON, "{\"n\":{\"x\":[-Infinity]}}", 0, NULL,
         FR_EMALFORMED, "invalid_number", "n"},
        {"1e999", JSON, "{\"n\":1e999}", 0, NULL, FR_EMALFORMED,
         "invalid_number", "n"},
        {"integer beyond 64 bits", JSON, "{\"n\":123456789012345678901234}", 0,
         NULL, FR_EMALFORMED, "invalid_number", "n"},
        {"\\u0000 in a value", JSON, "{\"a\":\"x\\u0000y\"}", 0, NULL,
         FR_EMALFORMED, "nul_byte", ""},
        {"\\u0000 in a name", JSON, "{\"a\\u0000b\":1}", 0, NULL, FR_EMALFORMED,
         "nul_byte", ""},
        {"raw NUL", JSON, "{\"a\":\"x\0\"}", 9, NULL, FR_EMALFORMED, "nul_byte",
         ""},
        {"overlong UTF-8", JSON, "{\"a\":\"\xc0\x80\"}", 0, NULL, FR_EMALFORMED,
         "invalid_utf8", ""},
        {"encoded surrogate", JSON, "{\"a\":\"\xed\xa0\x80\"}", 0, NULL,
         FR_EMALFORMED, "invalid_utf8", ""},
        {"above U+10FFFF", JSON, "{\"a\":\"\xf4\x90\x80\x80\"}", 0, NULL,
         FR_EMALFORMED, "invalid_utf8", ""},
        {"truncated sequence in a name", JSON, "{\"\xe2\x82\":1}", 0, NULL,
         FR_EMALFORMED, "invalid_utf8", ""},
        {"latin-1 body", JSON, "{\"city\":\"Z\xfcrich\"}", 0, NULL,
         FR_EMALFORMED, "invalid_utf8", ""},
        /* Limits: top-level members, names, string values. */
        {"3 members at the limit", JSON, "{\"a\":1,\"b\":2,\"c\":3}", 0, &small,
         FR_OK, NULL, "a=1|b=2|c=3"},
        {"4 members", JSON, "{\"a\":1,\"b\":2,\"c\":3,\"d\":4}", 0, &small,
         FR_ETOOLARGE, "too_many_fields", ""},
        {"name too long", JSON, "{\"abcdefghi\":1}", 0, &small, FR_ETOOLARGE,
         "name_too_long", "abcdefghi"},
        {"string value too long", JSON, "{\"a\":1,\"msg\":\"0123456789X\"}", 0,
         &small, FR_ETOOLARGE, "value_too_long", "msg"},
        {"value length counts decoded bytes", JSON,
         "{\"msg\":\"\\u0030123456789\"}", 0, &small, FR_OK, NULL,
         "msg=\"0123456789\""},
        {"long non-string values are not value-limited", JSON,
         "{\"n\":12345678901234}", 0, &small, FR_OK, NULL, "n=12345678901234"},
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

/* Multipart bodies built at run time: large header blocks. */
static void
test_multipart_headers(void)
{
	static const char pre[] = "--b\r\n" CD "\"a\"\r\nX-Pad: ";
	static const char post[] = "\r\n\r\n1\r\n--b--";
	char body[10000];
	struct pcase c = {"", MP, body, 0, NULL, FR_OK, NULL, "a=1"};
	size_t pad;

	/* A header block of just under 8 KiB is accepted... */
	pad = 8192 - (sizeof(pre) - 1 - 5) - 4 - 1;
	snprintf(body, sizeof(body), "%s%0*d%s", pre, (int)pad, 0, post);
	c.desc = "part headers just under 8 KiB";
	run_case(&c);
	/* ...one of 9 KiB is not. */
	snprintf(body, sizeof(body), "%s%0*d%s", pre, 9000, 0, post);
	c.desc = "part headers over 8 KiB";
	c.status = FR_ETOOLARGE;
	c.code = "part_headers_too_large";
	c.want = "";
	run_case(&c);
}

/* The JSON document is kept for the unwrappers; values are references
 * into it. */
static void
test_json_root(void)
{
	static const char body[] = "{\"userData\":{\"a\":1},\"b\":\"x\"}";
	struct fields out;
	struct fr_error err;
	struct json_object *user;

	fields_init(&out);
	is_int(parse_body(body, sizeof(body) - 1, JSON, NULL, &out, &err),
	       FR_OK, "JSON root: parsed");
	ok(out.root != NULL && json_object_is_type(out.root, json_type_object),
	   "JSON root: out->root is the object");
	is_int(out.source, SOURCE_JSON, "JSON root: source is SOURCE_JSON");
	ok(out.count == 2 && out.items[0].flags == 0 && out.items[1].flags == 0,
	   "JSON root: two fields, flags 0");
	ok(json_object_object_get_ex(out.root, "userData", &user) &&
	           out.count > 0 && out.items[0].value == user,
	   "JSON root: a field's value is the member itself");
	fields_free(&out);
	ok(is_empty(&out), "JSON root: fields_free releases it");
}

/* err->field is cut to fit without splitting a UTF-8 character. */
static void
test_error_field_truncated(void)
{
	char body[512];
	struct fields out;
	struct fr_error err;
	size_t n = 0, i;

	for (i = 0; i < 70; i++) /* 70 x e-acute: a 140-byte name */
		n += (size_t)snprintf(body + n, sizeof(body) - n, "%%C3%%A9");
	snprintf(body + n, sizeof(body) - n, "=1");
	fields_init(&out);
	is_int(parse_body(body, strlen(body), FORM, NULL, &out, &err),
	       FR_ETOOLARGE, "140-byte name: too long by the default limit");
	is_int(strlen(err.field), 62, "err.field holds 31 whole characters");
	ok(strncmp(err.field, "\xc3\xa9\xc3\xa9", 4) == 0 &&
	           ((unsigned char)err.field[61] == 0xa9),
	   "err.field ends on a character boundary");
}

/* The individual parsers guard their own arguments. */
static void
test_direct_calls(void)
{
	struct fields out;
	struct fr_error err;
	char buf[8];

	fields_init(&out);
	is_int(parse_multipart("--a\r\nb--", 9, "a\r\nb", NULL, &out, &err),
	       FR_EMALFORMED, "parse_multipart: boundary with CRLF refused");
	is_str(err.code, "bad_boundary", "parse_multipart: bad_boundary");
	is_int(parse_multipart("--b--", 5, NULL, NULL, &out, &err),
	       FR_EMALFORMED, "parse_multipart: NULL boundary refused");
	is_int(parse_json("{\"a\":1}", 7, NULL, &out, &err), FR_OK,
	       "parse_json with NULL limits");
	fields_free(&out);
	is_int(content_type_param("text/plain; flag; charset=x", "charset", buf,
	                          sizeof(buf)),
	       1, "a parameter without '=' is skipped");
}

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
	RUN(multipart_cases);
	test_multipart_headers();
	RUN(json_cases);
	test_json_root();
	RUN(type_cases);
	test_out_emptied();
	test_error_field_truncated();
	test_direct_calls();
	test_content_type_helpers();
	return done_testing();
}
