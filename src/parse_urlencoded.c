/*
 * application/x-www-form-urlencoded, as the WHATWG URL Standard's
 * "application/x-www-form-urlencoded parser" (section 5.1) describes it:
 * split on '&', the first '=' separates name and value, '+' is a space,
 * %XX is a byte.  Two deliberate differences: a malformed %-escape is an
 * error here (the standard passes it through; we would rather tell the
 * form's developer than forward a mangled value), and empty names are
 * skipped.
 *
 * The decoder is hand-written rather than curl_easy_unescape(): libcurl
 * passes malformed escapes through and does not know '+', so it would
 * need a second validating pass anyway.
 */
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "parse_internal.h"

/* The value of hex digit c, or -1. */
static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode src[0..len) into dst (which has room for len bytes).  Returns
 * the decoded length, or -1 with *bad at the offset of the first
 * malformed %-escape.
 */
static long
form_decode(const char *src, size_t len, char *dst, size_t *bad)
{
	size_t i, n = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (src[i] == '+') {
			dst[n++] = ' ';
		} else if (src[i] != '%') {
			dst[n++] = src[i];
		} else if (i + 2 < len && (hi = hex_value(src[i + 1])) >= 0 &&
		           (lo = hex_value(src[i + 2])) >= 0) {
			dst[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			*bad = i;
			return -1;
		}
	}
	return (long)n;
}

/* Report a malformed %-escape, naming the field it is in. */
static int
bad_escape(const char *name, size_t namelen, int in_name, size_t at,
           struct fr_error *err)
{
	char shown[64];

	parse_printable(shown, sizeof(shown), name, namelen);
	return fr_fail(err, FR_EMALFORMED, "bad_escape", shown,
	               "the %s of field '%s' has a malformed %%-escape at "
	               "character %zu (a '%%' must be followed by two hex "
	               "digits; send a literal '%%' as %%25)",
	               in_name ? "name" : "value", shown, at + 1);
}

/*
 * Decode one name=value pair and append it.  scratch has room for
 * pairlen bytes: the decoded name, then the decoded value after it.
 */
static int
add_pair(const char *pair, size_t pairlen, char *scratch,
         const struct parse_limits *lim, struct fields *out,
         struct fr_error *err)
{
	const char *eq = memchr(pair, '=', pairlen);
	size_t rawname = eq ? (size_t)(eq - pair) : pairlen;
	const char *rawvalue = eq ? eq + 1 : pair + pairlen;
	size_t bad = 0;
	long namelen, valuelen;

	namelen = form_decode(pair, rawname, scratch, &bad);
	if (namelen < 0)
		return bad_escape(pair, rawname, 1, bad, err);
	if (namelen == 0)
		return FR_OK; /* "=x" or a stray "=": nothing to name it by */
	valuelen = form_decode(rawvalue, (size_t)(pair + pairlen - rawvalue),
	                       scratch + namelen, &bad);
	if (valuelen < 0)
		return bad_escape(scratch, (size_t)namelen, 0, bad, err);
	return parse_add_form_field(out, lim, scratch, (size_t)namelen,
	                            scratch + namelen, (size_t)valuelen, err);
}

int
parse_urlencoded(const char *body, size_t len, const struct parse_limits *lim,
                 struct fields *out, struct fr_error *err)
{
	struct parse_limits fallback;
	const char *p = body, *end = body + len, *amp;
	char *scratch;
	size_t pairlen;
	int rc = FR_OK;

	lim = parse_limits_or_default(lim, &fallback);
	fields_free(out);
	if (len == 0)
		return FR_OK;
	if ((scratch = malloc(len)) == NULL)
		return fr_fail(err, FR_ENOMEM, NULL, NULL,
		               "out of memory decoding the form body");
	while (p < end && rc == FR_OK) {
		amp = memchr(p, '&', (size_t)(end - p));
		pairlen = amp ? (size_t)(amp - p) : (size_t)(end - p);
		if (pairlen > 0)
			rc = add_pair(p, pairlen, scratch, lim, out, err);
		p += pairlen + (amp != NULL);
	}
	free(scratch);
	if (rc != FR_OK)
		fields_free(out);
	return rc;
}
