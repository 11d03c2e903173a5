/*
 * Request body parsers.  Pure: bytes, length and content type in, fields
 * out; no I/O, no globals, so each can be unit-tested and fuzzed alone.
 * On error nothing is left in out (it is freed and re-initialised) and
 * err names the cause.
 */
#ifndef FORMRELAY_PARSE_H
#define FORMRELAY_PARSE_H

#include <stddef.h>

#include "error.h"
#include "fields.h"

struct parse_limits {
	size_t max_fields; /* fields per body (repeated names count each) */
	size_t max_name;   /* bytes in a field name */
	size_t max_value;  /* bytes in one value */
	size_t max_depth;  /* JSON nesting: objects and arrays inside
	                      each other, the top-level object being 1 */
};

/* Defaults: 256 fields, 128-byte names, 16 KiB values, depth 16. */
void parse_limits_default(struct parse_limits *lim);

/*
 * Parse body by content_type (the raw CONTENT_TYPE header, parameters
 * included; NULL or "" means absent).  Accepts
 * application/x-www-form-urlencoded, multipart/form-data (text parts;
 * file parts are skipped), application/json and text/plain holding JSON.
 * Form values are strings flagged FIELD_FORM, repeated names separate
 * fields, empty names skipped.  JSON bodies must be an object; its
 * members become fields in order (flags 0, values referencing into
 * out->root, which keeps the whole document for the webhook unwrappers;
 * members that are null or have an empty name are skipped); max_fields
 * counts top-level members and max_value applies to string members.
 * lim may be NULL for the defaults.
 *
 * Returns FR_OK; FR_EUNSUPPORTED (415, "unsupported_media_type") for
 * other types; FR_EMALFORMED (400) for syntax errors, invalid UTF-8 or
 * NUL bytes; FR_ETOOLARGE (413) when a limit is exceeded; FR_ENOMEM.
 * err->code is one of: bad_escape, invalid_utf8, nul_byte,
 * missing_boundary, bad_boundary, boundary_not_found,
 * unterminated_multipart, bad_part_header, part_headers_too_large,
 * invalid_json, too_deep, not_an_object, trailing_garbage,
 * invalid_number, too_many_fields, name_too_long, value_too_long,
 * body_too_large; err->field names the field when there is one.
 * out must be initialised; anything in it is released first; on success
 * the caller owns its contents.
 */
int parse_body(const char *body, size_t len, const char *content_type,
               const struct parse_limits *lim, struct fields *out,
               struct fr_error *err);

/* The individual parsers, with the same contract as parse_body. */
int parse_urlencoded(const char *body, size_t len,
                     const struct parse_limits *lim, struct fields *out,
                     struct fr_error *err);
int parse_multipart(const char *body, size_t len, const char *boundary,
                    const struct parse_limits *lim, struct fields *out,
                    struct fr_error *err);
int parse_json(const char *body, size_t len, const struct parse_limits *lim,
               struct fields *out, struct fr_error *err);

/*
 * True when content_type's media type (before ';', case-insensitive,
 * whitespace trimmed) equals type.
 */
int content_type_is(const char *content_type, const char *type);

/*
 * Copy parameter param (e.g. "boundary") of content_type into buf,
 * unquoting a quoted-string.  Returns its length, or -1 when absent or
 * longer than size - 1.
 */
int content_type_param(const char *content_type, const char *param, char *buf,
                       size_t size);

#endif
