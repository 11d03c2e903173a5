/*
 * Body parsing entry point: content-type dispatch, header parameters
 * (RFC 9110 sections 8.3.1 and 5.6.6) and the field checks shared by the
 * urlencoded, multipart and JSON parsers.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"
#include "parse_internal.h"
#include "utf8.h"
#include "util.h"

#define MULTIPART_BOUNDARY_MAX 70 /* RFC 2046 section 5.1.1 */

void
parse_limits_default(struct parse_limits *lim)
{
	lim->max_fields = 256;
	lim->max_name = 128;
	lim->max_value = 16 * 1024;
	lim->max_depth = 16;
}

const struct parse_limits *
parse_limits_or_default(const struct parse_limits *lim,
                        struct parse_limits *fallback)
{
	if (lim != NULL)
		return lim;
	parse_limits_default(fallback);
	return fallback;
}

void
parse_printable(char *dst, size_t size, const char *name, size_t len)
{
	int text = utf8_valid(name, len);
	size_t n = len < size - 1 ? len : size - 1, i;

	/* Do not cut a multi-byte character in half. */
	if (text && n < len)
		while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80)
			n--;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7F || (!text && c >= 0x80))
			c = '?';
		dst[i] = (char)c;
	}
	dst[n] = '\0';
}

/* Shared by the name and value checks: "nul_byte" or "invalid_utf8". */
static int
check_text(const char *what, const char *name, size_t namelen, const char *s,
           size_t len, struct fr_error *err)
{
	char shown[64];

	if (utf8_valid(s, len))
		return FR_OK;
	parse_printable(shown, sizeof(shown), name, namelen);
	if (memchr(s, '\0', len) != NULL)
		return fr_fail(err, FR_EMALFORMED, "nul_byte", shown,
		               "the %s of field '%s' contains a NUL byte", what,
		               shown);
	return fr_fail(err, FR_EMALFORMED, "invalid_utf8", shown,
	               "the %s of field '%s' is not valid UTF-8", what, shown);
}

int
parse_check_name(const struct parse_limits *lim, const char *name,
                 size_t namelen, struct fr_error *err)
{
	char shown[64];
	int rc;

	if ((rc = check_text("name", name, namelen, name, namelen, err)))
		return rc;
	if (namelen <= lim->max_name)
		return FR_OK;
	parse_printable(shown, sizeof(shown), name, namelen);
	return fr_fail(err, FR_ETOOLARGE, "name_too_long", shown,
	               "field name '%s...' is %zu bytes long; the limit is %zu",
	               shown, namelen, lim->max_name);
}

int
parse_check_value(const struct parse_limits *lim, const char *name,
                  size_t namelen, const char *value, size_t valuelen,
                  struct fr_error *err)
{
	char shown[64];
	int rc;

	if ((rc = check_text("value", name, namelen, value, valuelen, err)))
		return rc;
	if (valuelen <= lim->max_value)
		return FR_OK;
	parse_printable(shown, sizeof(shown), name, namelen);
	return fr_fail(err, FR_ETOOLARGE, "value_too_long", shown,
	               "the value of field '%s' is %zu bytes long; the limit "
	               "is %zu",
	               shown, valuelen, lim->max_value);
}

int
parse_add_form_field(struct fields *out, const struct parse_limits *lim,
                     const char *name, size_t namelen, const char *value,
                     size_t valuelen, struct fr_error *err)
{
	int rc;

	if (out->count >= lim->max_fields)
		return fr_fail(err, FR_ETOOLARGE, "too_many_fields", NULL,
		               "the body has more than %zu fields",
		               lim->max_fields);
	if ((rc = parse_check_name(lim, name, namelen, err)) ||
	    (rc = parse_check_value(lim, name, namelen, value, valuelen, err)))
		return rc;
	if (valuelen > INT_MAX)
		return fr_fail(err, FR_ETOOLARGE, "value_too_long", NULL,
		               "a value is longer than 2 GiB");
	if (fields_add_string(out, name, namelen, value, valuelen,
	                      FIELD_FORM) != FR_OK)
		return fr_fail(err, FR_ENOMEM, NULL, NULL,
		               "out of memory while storing a field");
	return FR_OK;
}

int
ascii_eq_n(const char *s, size_t len, const char *word)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char a = (unsigned char)s[i],
		              b = (unsigned char)word[i];

		if (b == '\0')
			return 0;
		if (a >= 'A' && a <= 'Z')
			a = (unsigned char)(a + 32);
		if (b >= 'A' && b <= 'Z')
			b = (unsigned char)(b + 32);
		if (a != b)
			return 0;
	}
	return word[len] == '\0';
}

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 9110 section 5.6.2: tchar, the characters of a token. */
static int
is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static const char *
skip_ows(const char *p, const char *end)
{
	while (p < end && is_ows(*p))
		p++;
	return p;
}

/* The end of a quoted-string whose opening '"' is at p, or NULL. */
static const char *
quoted_end(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		else if (*p == '"')
			return p;
	}
	return NULL;
}

/* Parse the value after '=' into param; returns the end or NULL. */
static const char *
param_value_span(const char *p, const char *end, struct header_param *param)
{
	const char *q;

	if (p < end && *p == '"') {
		if ((q = quoted_end(p, end)) == NULL)
			return NULL;
		param->raw = p + 1;
		param->rawlen = (size_t)(q - p - 1);
		param->quoted = 1;
		return q + 1;
	}
	for (q = p; q < end && *q != ';' && !is_ows(*q); q++)
		;
	param->raw = p;
	param->rawlen = (size_t)(q - p);
	param->quoted = 0;
	return q;
}

int
header_param_next(const char **pos, const char *end, struct header_param *param)
{
	const char *p = *pos, *name;

	for (;;) {
		p = skip_ows(p, end);
		if (p == end)
			return 0;
		if (*p != ';')
			return -1;
		p = skip_ows(p + 1, end);
		for (name = p; p < end && is_tchar(*p); p++)
			;
		if (p == name || p == end || *p != '=')
			continue; /* empty or value-less: skip it */
		param->name = name;
		param->namelen = (size_t)(p - name);
		if ((p = param_value_span(p + 1, end, param)) == NULL)
			return -1;
		*pos = p;
		return 1;
	}
}

long
header_param_value(const struct header_param *param, char *buf, size_t size)
{
	size_t i, n = 0;

	for (i = 0; i < param->rawlen; i++) {
		char c = param->raw[i];

		/* RFC 9110 section 5.6.4: quoted-pair = "\" any octet. */
		if (param->quoted && c == '\\' && i + 1 < param->rawlen)
			c = param->raw[++i];
		if (n + 1 >= size)
			return -1;
		buf[n++] = c;
	}
	if (size == 0)
		return -1;
	buf[n] = '\0';
	return (long)n;
}

/* The media type of content_type without parameters or whitespace. */
static const char *
media_type(const char *content_type, size_t *len)
{
	const char *start = content_type, *end;

	while (is_ows(*start))
		start++;
	end = start + strcspn(start, ";");
	while (end > start && is_ows(end[-1]))
		end--;
	*len = (size_t)(end - start);
	return start;
}

int
content_type_is(const char *content_type, const char *type)
{
	const char *start;
	size_t len;

	if (content_type == NULL)
		return 0;
	start = media_type(content_type, &len);
	return ascii_eq_n(start, len, type);
}

/* Find parameter name of content_type: 1 found, 0 absent, -1 malformed. */
static int
find_param(const char *content_type, const char *name, struct header_param *hp)
{
	const char *p, *end;
	int rc;

	if (content_type == NULL || (p = strchr(content_type, ';')) == NULL)
		return 0;
	end = p + strlen(p);
	while ((rc = header_param_next(&p, end, hp)) == 1)
		if (ascii_eq_n(hp->name, hp->namelen, name))
			return 1;
	return rc;
}

int
content_type_param(const char *content_type, const char *param, char *buf,
                   size_t size)
{
	struct header_param hp;
	long len;

	if (find_param(content_type, param, &hp) != 1)
		return -1;
	len = header_param_value(&hp, buf, size);
	return len < 0 || len > INT_MAX ? -1 : (int)len;
}

/* RFC 7578 section 4.1: the boundary parameter is required. */
static int
parse_body_multipart(const char *body, size_t len, const char *content_type,
                     const struct parse_limits *lim, struct fields *out,
                     struct fr_error *err)
{
	char boundary[MULTIPART_BOUNDARY_MAX + 1];
	struct header_param hp;
	int found = find_param(content_type, "boundary", &hp);

	if (found == 0) {
		fields_free(out);
		return fr_fail(err, FR_EMALFORMED, "missing_boundary", NULL,
		               "multipart/form-data needs a boundary parameter "
		               "in Content-Type");
	}
	if (found < 0 ||
	    header_param_value(&hp, boundary, sizeof(boundary)) <= 0) {
		fields_free(out);
		return fr_fail(err, FR_EMALFORMED, "bad_boundary", NULL,
		               "the multipart boundary in Content-Type must "
		               "be 1 to %d characters",
		               MULTIPART_BOUNDARY_MAX);
	}
	return parse_multipart(body, len, boundary, lim, out, err);
}

int
parse_body(const char *body, size_t len, const char *content_type,
           const struct parse_limits *lim, struct fields *out,
           struct fr_error *err)
{
	char shown[64];
	size_t typelen;
	const char *type;

	if (content_type_is(content_type, "application/x-www-form-urlencoded"))
		return parse_urlencoded(body, len, lim, out, err);
	if (content_type_is(content_type, "multipart/form-data"))
		return parse_body_multipart(body, len, content_type, lim, out,
		                            err);
	/* navigator.sendBeacon() sends a string as text/plain;charset=UTF-8 */
	if (content_type_is(content_type, "application/json") ||
	    content_type_is(content_type, "text/plain"))
		return parse_json(body, len, lim, out, err);
	fields_free(out);
	if (content_type == NULL || *content_type == '\0')
		return fr_fail(err, FR_EUNSUPPORTED, "unsupported_media_type",
		               NULL,
		               "the request has no Content-Type; send "
		               "application/x-www-form-urlencoded, "
		               "multipart/form-data or application/json");
	type = media_type(content_type, &typelen);
	parse_printable(shown, sizeof(shown), type, typelen);
	return fr_fail(err, FR_EUNSUPPORTED, "unsupported_media_type", NULL,
	               "content type '%s' is not accepted; send "
	               "application/x-www-form-urlencoded, multipart/form-data "
	               "or application/json",
	               shown);
}
