/*
 * application/json (and text/plain holding JSON, which is what
 * navigator.sendBeacon() sends for a string): RFC 8259 text whose top
 * level is an object.  Its members become fields, in order, with their
 * JSON types; the whole document stays in out->root for the webhook
 * unwrappers.
 *
 * json-c does the parsing, but even with JSON_TOKENER_STRICT it accepts
 * things RFC 8259 does not: single-quoted strings, raw control characters
 * in strings, "1.", NaN, Infinity and 1e999 (stored as non-finite doubles
 * that json-c would later print as invalid JSON), over-long integers
 * (silently clamped), and with JSON_TOKENER_VALIDATE_UTF8 still overlongs,
 * surrogates and code points above U+10FFFF.  It also truncates a member
 * name at an escaped \u0000.  So the body is checked before parsing
 * (UTF-8, then a small lexical scan) and the numbers after it.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "parse.h"
#include "parse_internal.h"
#include "utf8.h"

/* RFC 8259 section 2: ws = space, tab, LF, CR. */
static int
is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Nesting deeper than max_depth objects and arrays.  json-c's own depth
 * counts a scalar inside a container as a level too, so it is only the
 * backstop; this check gives the limit its plain meaning.
 */
static int
too_deep(size_t max_depth, size_t at, struct fr_error *err)
{
	return fr_fail(err, FR_EMALFORMED, "too_deep", NULL,
	               "the JSON body nests objects and arrays deeper than "
	               "%zu levels (at byte %zu)",
	               max_depth, at);
}

/* Byte-level rules json-c does not enforce; FR_OK or an error. */
static int
json_lint(const char *s, size_t len, size_t max_depth, struct fr_error *err)
{
	size_t i, depth = 0;
	int in_string = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (in_string) {
			if (c == '"')
				in_string = 0;
			else if (c < 0x20)
				return fr_fail(err, FR_EMALFORMED,
				               "invalid_json", NULL,
				               "the JSON body has an unescaped "
				               "control character in a string "
				               "at byte %zu",
				               i);
			else if (c == '\\' && len - i >= 6 &&
			         memcmp(s + i + 1, "u0000", 5) == 0)
				return fr_fail(err, FR_EMALFORMED, "nul_byte",
				               NULL,
				               "the JSON body has a \\u0000 "
				               "(NUL) escape at byte %zu",
				               i);
			else if (c == '\\')
				i++; /* skip the escaped character */
		} else if (c == '"') {
			in_string = 1;
		} else if (c == '{' || c == '[') {
			if (++depth > max_depth)
				return too_deep(max_depth, i, err);
		} else if (c == '}' || c == ']') {
			depth -= depth > 0;
		} else if (c == '\'') {
			return fr_fail(err, FR_EMALFORMED, "invalid_json", NULL,
			               "the JSON body uses a single quote at "
			               "byte %zu; JSON strings take double "
			               "quotes",
			               i);
		} else if (c == '.' &&
		           (i + 1 == len || s[i + 1] < '0' || s[i + 1] > '9')) {
			return fr_fail(err, FR_EMALFORMED, "invalid_json", NULL,
			               "the JSON body has a number without "
			               "digits after '.' at byte %zu",
			               i);
		}
	}
	return FR_OK;
}

/* The body must be UTF-8 (RFC 8259 section 8.1) without raw NULs. */
static int
json_check_bytes(const char *body, size_t len, size_t max_depth,
                 struct fr_error *err)
{
	if (utf8_valid(body, len))
		return json_lint(body, len, max_depth, err);
	if (memchr(body, '\0', len) != NULL)
		return fr_fail(err, FR_EMALFORMED, "nul_byte", NULL,
		               "the JSON body contains a NUL byte");
	return fr_fail(err, FR_EMALFORMED, "invalid_utf8", NULL,
	               "the JSON body is not valid UTF-8");
}

/*
 * Run json-c over the whole body.  On FR_OK *value is the value (caller
 * owns; NULL for a JSON null).
 */
static int
json_tokenise(const char *body, size_t len, size_t max_depth,
              struct json_object **value, struct fr_error *err)
{
	int depth = max_depth >= 1000 ? 1000 : (int)max_depth + 1;
	struct json_tokener *tok = json_tokener_new_ex(depth);
	enum json_tokener_error jerr;
	size_t end;

	if (tok == NULL)
		return fr_fail(err, FR_ENOMEM, NULL, NULL,
		               "out of memory parsing JSON");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	                                    JSON_TOKENER_ALLOW_TRAILING_CHARS);
	*value = json_tokener_parse_ex(tok, body, (int)len);
	/* A bare number has no end of its own: say the input is over. */
	if ((jerr = json_tokener_get_error(tok)) == json_tokener_continue) {
		*value = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	} else {
		end = json_tokener_get_parse_end(tok);
	}
	json_tokener_free(tok);
	if (jerr == json_tokener_success) {
		while (end < len && is_json_space(body[end]))
			end++;
		if (end == len)
			return FR_OK;
		json_object_put(*value);
		*value = NULL;
		return fr_fail(
		        err, FR_EMALFORMED, "trailing_garbage", NULL,
		        "the JSON body has data after its value at byte %zu",
		        end);
	}
	if (jerr == json_tokener_error_depth)
		return too_deep(max_depth, end, err);
	if (jerr == json_tokener_continue)
		return fr_fail(
		        err, FR_EMALFORMED, "invalid_json", NULL,
		        "the JSON body ends before its value is complete");
	return fr_fail(err, FR_EMALFORMED, "invalid_json", NULL,
	               "the JSON body is not valid JSON at byte %zu: %s", end,
	               json_tokener_error_desc(jerr));
}

/*
 * 1 when every number in v is one JSON can carry: finite doubles, and
 * integers that json-c did not clamp at the int64/uint64 bounds.  The
 * recursion is bounded by the tokener's depth limit.
 */
static int
numbers_ok(struct json_object *v)
{
	struct json_object_iterator it, end;
	size_t i, n;

	switch (json_object_get_type(v)) {
	case json_type_double:
		return isfinite(json_object_get_double(v));
	case json_type_int:
		return json_object_get_int64(v) != INT64_MIN &&
		       json_object_get_uint64(v) != UINT64_MAX;
	case json_type_array:
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			if (!numbers_ok(json_object_array_get_idx(v, i)))
				return 0;
		return 1;
	case json_type_object:
		it = json_object_iter_begin(v);
		end = json_object_iter_end(v);
		for (; !json_object_iter_equal(&it, &end);
		     json_object_iter_next(&it))
			if (!numbers_ok(json_object_iter_peek_value(&it)))
				return 0;
		return 1;
	default:
		return 1;
	}
}

/*
 * Check one top-level member and add it as a field (flags 0, a new
 * reference to the value).  Empty names and nulls are skipped: neither
 * can become a trait.
 */
static int
add_member(const char *name, struct json_object *value,
           const struct parse_limits *lim, struct fields *out,
           struct fr_error *err)
{
	size_t namelen = strlen(name);
	char shown[64];
	int rc;

	if (namelen == 0 || value == NULL)
		return FR_OK;
	if ((rc = parse_check_name(lim, name, namelen, err)))
		return rc;
	if (json_object_is_type(value, json_type_string) &&
	    (rc = parse_check_value(
	             lim, name, namelen, json_object_get_string(value),
	             (size_t)json_object_get_string_len(value), err)))
		return rc;
	if (!numbers_ok(value)) {
		parse_printable(shown, sizeof(shown), name, namelen);
		return fr_fail(err, FR_EMALFORMED, "invalid_number", shown,
		               "field '%s' holds a number out of range (NaN, "
		               "Infinity or too many digits)",
		               shown);
	}
	if (fields_add(out, name, namelen, json_object_get(value), 0))
		return fr_fail(err, FR_ENOMEM, NULL, NULL,
		               "out of memory while storing a field");
	return FR_OK;
}

/* The members of the top-level object, in order. */
static int
add_members(struct json_object *obj, const struct parse_limits *lim,
            struct fields *out, struct fr_error *err)
{
	struct json_object_iterator it = json_object_iter_begin(obj);
	struct json_object_iterator end = json_object_iter_end(obj);
	size_t count = (size_t)json_object_object_length(obj);
	int rc;

	if (count > lim->max_fields)
		return fr_fail(err, FR_ETOOLARGE, "too_many_fields", NULL,
		               "the JSON object has %zu members; the limit is "
		               "%zu",
		               count, lim->max_fields);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
		if ((rc = add_member(json_object_iter_peek_name(&it),
		                     json_object_iter_peek_value(&it), lim, out,
		                     err)))
			return rc;
	return FR_OK;
}

int
parse_json(const char *body, size_t len, const struct parse_limits *lim,
           struct fields *out, struct fr_error *err)
{
	struct parse_limits fallback;
	struct json_object *root = NULL;
	int rc;

	lim = parse_limits_or_default(lim, &fallback);
	fields_free(out);
	if (len >= INT_MAX)
		return fr_fail(err, FR_ETOOLARGE, "body_too_large", NULL,
		               "the JSON body is larger than 2 GiB");
	/* RFC 8259 section 8.1: a parser MAY ignore a byte order mark. */
	if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0)
		body += 3, len -= 3;
	if ((rc = json_check_bytes(body, len, lim->max_depth, err)))
		return rc;
	if ((rc = json_tokenise(body, len, lim->max_depth, &root, err)))
		return rc;
	if (!json_object_is_type(root, json_type_object)) {
		rc = fr_fail(err, FR_EMALFORMED, "not_an_object", NULL,
		             "the JSON body must be an object ({...}), not %s",
		             json_type_to_name(json_object_get_type(root)));
		json_object_put(root);
		return rc;
	}
	if ((rc = add_members(root, lim, out, err))) {
		json_object_put(root);
		fields_free(out);
		return rc;
	}
	out->root = root;
	out->source = SOURCE_JSON;
	return FR_OK;
}
