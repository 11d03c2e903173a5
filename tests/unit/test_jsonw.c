/*
 * The JSON writer: every byte escaped as json-c escapes it, members and
 * nesting with the right commas, json-c values spliced in, and a buffer
 * that grows past its first size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jsonw.h"
#include "tap.h"

#define JSONC_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* s[0..len) as a JSON string, by json-c; caller frees. */
static char *
jsonc_string(const char *s, size_t len)
{
	struct json_object *o = json_object_new_string_len(s, (int)len);
	char *text = strdup(json_object_to_json_string_ext(o, JSONC_FLAGS));

	json_object_put(o);
	return text;
}

static char *
jsonw_string_text(const char *s, size_t len)
{
	struct jsonw w;
	size_t n;

	jsonw_init(&w);
	jsonw_string(&w, s, len);
	return jsonw_finish(&w, &n);
}

/* Each byte alone, and between plain bytes, against json-c. */
static void
test_every_byte(void)
{
	char s[3];
	int c, differ = 0;

	for (c = 0; c < 256; c++) {
		for (int wrapped = 0; wrapped < 2; wrapped++) {
			size_t len = wrapped ? 3 : 1;
			char *want, *got;

			s[0] = wrapped ? 'a' : (char)c;
			s[1] = (char)c;
			s[2] = 'z';
			want = jsonc_string(wrapped ? s : s + 1, len);
			got = jsonw_string_text(wrapped ? s : s + 1, len);
			if (got == NULL || strcmp(got, want) != 0) {
				differ++;
				printf("#   byte 0x%02x: got %s, want %s\n", c,
				       got ? got : "(null)", want);
			}
			free(want);
			free(got);
		}
	}
	is_int(differ, 0, "every byte escaped as json-c escapes it");
}

/* 1 when jsonw and json-c write s[0..len) alike; prints the first
 * difference. */
static int
same_as_jsonc(const char *s, size_t len, const char *what)
{
	char *want = jsonc_string(s, len), *got = jsonw_string_text(s, len);
	int same = got != NULL && strcmp(got, want) == 0;

	if (!same)
		printf("#   %s: got %s, want %s\n", what, got ? got : "(null)",
		       want);
	free(want);
	free(got);
	return same;
}

/* Each byte at each offset of a longer string: the plain stretches are
 * scanned eight bytes at a time, so a byte to escape must be found in
 * every lane of a word, and after it. */
static void
test_every_byte_in_words(void)
{
	char s[24], what[64];
	int c, differ = 0;
	size_t at;

	for (c = 0; c < 256; c++) {
		for (at = 0; at < sizeof(s); at++) {
			memset(s, c >= 0x80 ? 'b' : 0xc3, sizeof(s));
			s[at] = (char)c;
			snprintf(what, sizeof(what), "byte 0x%02x at %zu", c,
			         at);
			differ += !same_as_jsonc(s, sizeof(s), what);
		}
	}
	is_int(differ, 0, "every byte at every offset of a word, as json-c");
}

/* Random strings of bytes that need escaping, bytes next to them in
 * value, and UTF-8 lead bytes, against json-c. */
static void
test_random_strings(void)
{
	static const unsigned char pick[] = {
	        0x00, 0x01, 0x1f, 0x20, 0x21, '"', '#', '[', '\\', ']',
	        0x7f, 0x80, 0xa0, 0xdc, 0xff, 'a', 'z', '/', ' ',  'Q'};
	char s[80], what[32];
	int i, differ = 0;
	size_t len, k;

	srand(7);
	for (i = 0; i < 5000; i++) {
		len = (size_t)rand() % sizeof(s);
		for (k = 0; k < len; k++)
			s[k] = (char)pick[(size_t)rand() % sizeof(pick)];
		snprintf(what, sizeof(what), "string %d", i);
		differ += !same_as_jsonc(s, len, what);
	}
	is_int(differ, 0, "5,000 random strings, as json-c");
}

static void
test_text(void)
{
	static const char text[] = "Zoë \"quoted\" C:\\path\n\ttab/slash\x7f";
	char *want = jsonc_string(text, sizeof(text) - 1);
	char *got = jsonw_string_text(text, sizeof(text) - 1);

	is_str(got, want, "UTF-8, quotes, backslashes, controls, '/', DEL");
	free(want);
	free(got);
}

static void
test_members(void)
{
	struct json_object *v = json_tokener_parse("{\"a\":[1,2.5,true,null]}");
	struct jsonw w;
	size_t len;
	char *text;

	jsonw_init(&w);
	jsonw_open(&w);
	jsonw_member_string(&w, "type", "identify");
	jsonw_member_string(&w, "skipped", NULL);
	jsonw_key(&w, "context");
	jsonw_open(&w);
	jsonw_key(&w, "empty");
	jsonw_open(&w);
	jsonw_close(&w);
	jsonw_member_string(&w, "ip", "::1");
	jsonw_close(&w);
	jsonw_key(&w, "traits");
	jsonw_value(&w, v);
	jsonw_key(&w, "none");
	jsonw_value(&w, NULL);
	jsonw_key(&w, "raw");
	jsonw_raw(&w, "{\"x\":1}", 7);
	jsonw_close(&w);
	text = jsonw_finish(&w, &len);
	is_str(text,
	       "{\"type\":\"identify\",\"context\":{\"empty\":{},\"ip\":\"::"
	       "1\"},"
	       "\"traits\":{\"a\":[1,2.5,true,null]},\"none\":null,"
	       "\"raw\":{\"x\":1}}",
	       "members, nesting and commas");
	is_int(len, text ? strlen(text) : 0, "length is the text's");
	free(text);
	text = jsonw_finish(&w, &len);
	is_str(text, "", "finish empties the writer");
	free(text);
	json_object_put(v);
}

/* Far past the first buffer, with escapes straddling each growth. */
static void
test_growth(void)
{
	size_t n = 100000, i, len;
	char *s = malloc(n), *want, *got;
	struct jsonw w;

	for (i = 0; i < n; i++)
		s[i] = i % 7 == 0 ? '"' : (char)('a' + i % 26);
	want = jsonc_string(s, n);
	jsonw_init(&w);
	jsonw_string(&w, s, n);
	got = jsonw_finish(&w, &len);
	is_str(got, want, "a 100,000-byte string");
	is_int(len, strlen(want), "its length");
	free(s);
	free(want);
	free(got);
}

static void
test_discard(void)
{
	struct jsonw w;
	size_t len;
	char *text;

	jsonw_init(&w);
	jsonw_open(&w);
	jsonw_member_string(&w, "a", "b");
	jsonw_discard(&w);
	ok(w.buf == NULL && w.len == 0, "discard releases the buffer");
	jsonw_init(&w);
	jsonw_raw(&w, "1", 1);
	text = jsonw_finish(&w, &len);
	is_str(text, "1", "a writer is usable again after init");
	free(text);
}

/* A length no buffer can hold fails the writer (s is never read). */
static void
test_too_long(void)
{
	struct jsonw w;
	size_t len = 1;
	char *text;

	jsonw_init(&w);
	jsonw_open(&w);
	jsonw_string(&w, "x", (size_t)-1);
	ok(w.failed && w.buf == NULL, "an impossible length fails the writer");
	jsonw_member_string(&w, "a", "b");
	text = jsonw_finish(&w, &len);
	ok(text == NULL && len == 0, "and finish gives nothing after it");
}

int
main(void)
{
	test_every_byte();
	test_every_byte_in_words();
	test_random_strings();
	test_text();
	test_members();
	test_growth();
	test_discard();
	test_too_long();
	return done_testing();
}
