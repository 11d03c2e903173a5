/* The JSON text writer (see jsonw.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jsonw.h"

#define JSONW_FIRST_CAP 1024
#define JSONW_FLAGS     (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

void
jsonw_init(struct jsonw *w)
{
	memset(w, 0, sizeof(*w));
	w->first = 1;
}

/* Give up: release the text, and make every later call a no-op. */
static void
fail(struct jsonw *w)
{
	jsonw_discard(w);
	w->failed = 1;
}

/* reserve, when the buffer must grow (or has failed). */
static int
grow(struct jsonw *w, size_t n)
{
	size_t cap = w->cap ? w->cap : JSONW_FIRST_CAP;
	char *buf;

	if (w->failed)
		return -1;
	while (cap - w->len <= n) {
		if (cap > ((size_t)-1) / 2) {
			fail(w);
			return -1;
		}
		cap *= 2;
	}
	if ((buf = realloc(w->buf, cap)) == NULL) {
		fail(w);
		return -1;
	}
	w->buf = buf;
	w->cap = cap;
	return 0;
}

/* Room for n more bytes and a NUL; 0, or -1 (and failed) when not.  A
 * failed writer has no room (cap 0).  Inline: every write asks. */
static inline int
reserve(struct jsonw *w, size_t n)
{
	return n < w->cap - w->len ? 0 : grow(w, n);
}

static void
append(struct jsonw *w, const char *s, size_t n)
{
	if (reserve(w, n) < 0)
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

void
jsonw_open(struct jsonw *w)
{
	append(w, "{", 1);
	w->first = 1;
}

void
jsonw_close(struct jsonw *w)
{
	append(w, "}", 1);
	w->first = 0;
}

void
jsonw_key(struct jsonw *w, const char *key)
{
	if (!w->first)
		append(w, ",", 1);
	w->first = 0;
	jsonw_string(w, key, strlen(key));
	append(w, ":", 1);
}

/* Bytes json-c escapes: '"', '\\' and the controls.  The five with a
 * short form map to it; the others to 'u' (\u00XX). */
static const char escapes[256] = {
        [0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u',  [0x04] = 'u',
        [0x05] = 'u', [0x06] = 'u', [0x07] = 'u', ['\b'] = 'b',  ['\t'] = 't',
        ['\n'] = 'n', [0x0b] = 'u', ['\f'] = 'f', ['\r'] = 'r',  [0x0e] = 'u',
        [0x0f] = 'u', [0x10] = 'u', [0x11] = 'u', [0x12] = 'u',  [0x13] = 'u',
        [0x14] = 'u', [0x15] = 'u', [0x16] = 'u', [0x17] = 'u',  [0x18] = 'u',
        [0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u', [0x1c] = 'u',  [0x1d] = 'u',
        [0x1e] = 'u', [0x1f] = 'u', ['"'] = '"',  ['\\'] = '\\',
};

/* Nonzero when a byte of the 8 in x is below 0x20, '"' or '\\' (the
 * classic tests for a zero or small byte in a word: exact about whether
 * there is one, not about where). */
static uint64_t
word_needs_escape(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = 0x8080808080808080ULL;
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');

	return (((x - ones * 0x20) & ~x) | ((q - ones) & ~q) |
	        ((b - ones) & ~b)) &
	       highs;
}

/* One byte, escaped when it must be; returns the new end of out. */
static char *
put_byte(char *out, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	if (escapes[c] == 0) {
		*out++ = (char)c;
		return out;
	}
	*out++ = '\\';
	*out++ = escapes[c];
	if (escapes[c] == 'u') {
		*out++ = '0';
		*out++ = '0';
		*out++ = hex[c >> 4];
		*out++ = hex[c & 0xf];
	}
	return out;
}

/* Eight bytes at a time while none needs an escape (most of a form's
 * text), else the eight one by one. */
void
jsonw_string(struct jsonw *w, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, end;
	uint64_t x;
	char *out;

	/* at worst every byte becomes \u00XX */
	if (len > ((size_t)-1) / 8) {
		fail(w);
		return;
	}
	if (reserve(w, 6 * len + 2) < 0)
		return;
	out = w->buf + w->len;
	*out++ = '"';
	while (i < len) {
		if (len - i >= 8) {
			memcpy(&x, p + i, 8);
			if (!word_needs_escape(x)) {
				memcpy(out, &x, 8);
				out += 8;
				i += 8;
				continue;
			}
		}
		for (end = len - i >= 8 ? i + 8 : len; i < end; i++)
			out = put_byte(out, p[i]);
	}
	*out++ = '"';
	*out = '\0';
	w->len = (size_t)(out - w->buf);
}

void
jsonw_raw(struct jsonw *w, const char *s, size_t len)
{
	append(w, s, len);
}

/* Objects, arrays and strings are written here, as json-c writes them
 * with JSONW_FLAGS; numbers, booleans and null by json-c itself.  Walking
 * the tree spares json-c's printbuf, which it keeps in each object it
 * serialises until that object is freed. */
void
jsonw_value(struct jsonw *w, struct json_object *v)
{
	const char *text;
	size_t n, i;

	switch (json_object_get_type(v)) {
	case json_type_string:
		jsonw_string(w, json_object_get_string(v),
		             (size_t)json_object_get_string_len(v));
		return;
	case json_type_object:
		jsonw_open(w);
		json_object_object_foreach(v, key, member)
		{
			jsonw_key(w, key);
			jsonw_value(w, member);
		}
		jsonw_close(w);
		return;
	case json_type_array:
		append(w, "[", 1);
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			if (i > 0)
				append(w, ",", 1);
			jsonw_value(w, json_object_array_get_idx(v, i));
		}
		append(w, "]", 1);
		w->first = 0;
		return;
	default:
		break;
	}
	text = json_object_to_json_string_length(v, JSONW_FLAGS, &n);
	if (text == NULL) {
		fail(w);
		return;
	}
	append(w, text, n);
}

void
jsonw_member_string(struct jsonw *w, const char *key, const char *s)
{
	if (s == NULL)
		return;
	jsonw_key(w, key);
	jsonw_string(w, s, strlen(s));
}

char *
jsonw_finish(struct jsonw *w, size_t *len)
{
	char *buf;

	if (reserve(w, 0) < 0) {
		*len = 0;
		return NULL;
	}
	buf = w->buf;
	buf[w->len] = '\0';
	*len = w->len;
	jsonw_init(w);
	return buf;
}

void
jsonw_discard(struct jsonw *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}
