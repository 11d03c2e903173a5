/*
 * Helpers shared by the body parsers (src/parse*.c); not part of the
 * public interface in include/parse.h.
 */
#ifndef FORMRELAY_PARSE_INTERNAL_H
#define FORMRELAY_PARSE_INTERNAL_H

#include <stddef.h>

#include "error.h"
#include "fields.h"
#include "parse.h"

/* lim, or the defaults copied into *fallback when lim is NULL. */
const struct parse_limits *
parse_limits_or_default(const struct parse_limits *lim,
                        struct parse_limits *fallback);

/*
 * A printable, NUL-terminated copy of name for err->field and messages:
 * truncated to fit (on a UTF-8 character boundary), control bytes and,
 * when name is not valid UTF-8, every non-ASCII byte shown as '?'.
 */
void parse_printable(char *dst, size_t size, const char *name, size_t len);

/*
 * Check a decoded form field (UTF-8, no NUL, name and value lengths,
 * field count) and append it to out as a FIELD_FORM string.
 * Returns FR_OK or an error filled into err.
 */
int parse_add_form_field(struct fields *out, const struct parse_limits *lim,
                         const char *name, size_t namelen, const char *value,
                         size_t valuelen, struct fr_error *err);

/*
 * Check a field name and value for the limits and text rules shared by
 * every body type; the value check is skipped when value is NULL.
 */
int parse_check_name(const struct parse_limits *lim, const char *name,
                     size_t namelen, struct fr_error *err);
int parse_check_value(const struct parse_limits *lim, const char *name,
                      size_t namelen, const char *value, size_t valuelen,
                      struct fr_error *err);

/*
 * One parameter of a header value (RFC 9110 section 5.6.6):
 * `; name=token` or `; name="quoted \"string\""`.  raw points into the
 * header; quoted says whether raw still holds backslash escapes.
 */
struct header_param {
	const char *name;
	size_t namelen;
	const char *raw;
	size_t rawlen;
	int quoted;
};

/*
 * Read the next parameter from *pos (which must be at or before the ';'
 * that starts it; the media type or disposition type already skipped).
 * Returns 1 and advances *pos, 0 at the end, -1 when malformed (an
 * unterminated quoted-string, or text where a ';' should be).
 * Parameters without '=' are skipped, as most parsers do.
 */
int header_param_next(const char **pos, const char *end,
                      struct header_param *param);

/*
 * Copy the value of param into buf (size bytes), resolving quoted-pairs.
 * Returns its length, or -1 when it does not fit with a NUL.
 */
long header_param_value(const struct header_param *param, char *buf,
                        size_t size);

/* Case-insensitive comparison of s[0..len) with the C string word. */
int ascii_eq_n(const char *s, size_t len, const char *word);

#endif
