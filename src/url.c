/* Absolute http(s) URLs through uriparser (see url.h). */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uriparser/Uri.h>

#include "error.h"
#include "url.h"

static const char not_absolute[] = "not an absolute URL (scheme://host/...)";

static int
bad(const char **why, const char *reason)
{
	*why = reason;
	return FR_EMALFORMED;
}

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/* Spaces and control characters end a URL in running text, and CR or LF
 * in a Location header would split it. */
static int
has_space_or_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/*
 * The authority's span: after "scheme://" up to the next '/', '?' or '#'
 * (RFC 3986, 3.2).  Both 0 when s does not start with "scheme://".
 */
static void
authority_span(const char *s, size_t *start, size_t *end)
{
	size_t n = strcspn(s, "/?#");

	*start = *end = 0;
	if (n > 0 && s[n - 1] == ':' && s[n] == '/' && s[n + 1] == '/') {
		*start = n + 2;
		*end = *start + strcspn(s + *start, "/?#");
	}
}

/* Where a byte stands, for needs_escape. */
enum url_part { PART_OTHER, PART_AUTHORITY, PART_FRAGMENT };

/* What browsers %-encode before they parse (WHATWG URL Standard,
 * "percent-encode sets") or keep as data ('#' inside the fragment),
 * where RFC 3986 would refuse the URL.  Never '\\', which browsers read
 * as '/'. */
static int
needs_escape(const char *p, enum url_part part)
{
	unsigned char c = (unsigned char)*p;

	if (c >= 0x80)
		return 1;
	if (c == '%')
		return !is_hex(p[1]) || !is_hex(p[2]);
	if (strchr("\"<>^`{|}", c) != NULL)
		return 1;
	if (c == '#')
		return part == PART_FRAGMENT;
	return part != PART_AUTHORITY && (c == '[' || c == ']');
}

/* s with needs_escape's bytes %-encoded.  Caller owns; NULL on ENOMEM. */
static char *
escape_lenient(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(s), start, end, i, at = 0;
	const char *hash = strchr(s, '#');
	char *out;

	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	out = malloc(len * 3 + 1);
	if (out == NULL)
		return NULL;
	authority_span(s, &start, &end);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		enum url_part part = PART_OTHER;

		if (i >= start && i < end)
			part = PART_AUTHORITY;
		else if (hash != NULL && s + i > hash)
			part = PART_FRAGMENT;
		if (!needs_escape(s + i, part)) {
			out[at++] = (char)c;
			continue;
		}
		out[at++] = '%';
		out[at++] = hex[c >> 4];
		out[at++] = hex[c & 0x0f];
	}
	out[at] = '\0';
	return out;
}

static size_t
range_len(const UriTextRangeA *r)
{
	return r->first == NULL ? 0 : (size_t)(r->afterLast - r->first);
}

static int
range_is(const UriTextRangeA *r, const char *word)
{
	size_t i, len = range_len(r);

	if (len != strlen(word))
		return 0;
	for (i = 0; i < len; i++)
		if ((r->first[i] | 0x20) != word[i])
			return 0;
	return 1;
}

/* RFC 1123 host names, '_' (seen in real DNS names), non-ASCII bytes for
 * IDNs in Unicode.  Anything else (a decoded '/', '@', ':' or NUL above
 * all) would make the host mean something else to someone else. */
static int
host_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c >= 0x80;
}

static int
host_take(const UriUriA *uri, struct url *out, const char **why)
{
	const char *end;
	size_t i, len = range_len(&uri->hostText);

	if (uri->hostData.ip6 != NULL) {
		out->ipv6 = 1;
		if (inet_ntop(AF_INET6, uri->hostData.ip6->data, out->host,
		              sizeof(out->host)) == NULL)
			return bad(why, not_absolute);
		return FR_OK;
	}
	if (uri->hostData.ipFuture.first != NULL || len == 0)
		return bad(why, not_absolute);
	if (len >= sizeof(out->host))
		return bad(why, "the host name is too long");
	memcpy(out->host, uri->hostText.first, len);
	out->host[len] = '\0';
	end = uriUnescapeInPlaceExA(out->host, URI_FALSE, URI_BR_DONT_TOUCH);
	len = (size_t)(end - out->host);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out->host[i];

		if (!host_char_ok(c))
			return bad(why, "the host must be a DNS name or an IP "
			                "address");
		if (c >= 'A' && c <= 'Z')
			out->host[i] = (char)(c | 0x20);
	}
	return FR_OK;
}

/* RFC 3986, 6.2.3: an empty port means the scheme's default. */
static int
port_take(const UriUriA *uri, struct url *out, const char **why)
{
	const char *p = uri->portText.first;
	unsigned long n = 0;

	out->port = out->https ? 443 : 80;
	if (range_len(&uri->portText) == 0)
		return FR_OK;
	for (; p < uri->portText.afterLast; p++) {
		if (*p < '0' || *p > '9')
			return bad(why, not_absolute);
		n = n * 10 + (unsigned long)(*p - '0');
		if (n > 65535)
			return bad(why, not_absolute);
	}
	/* No connection goes to port 0 (Fetch blocks it as a bad port):
	 * as an origin or a redirect prefix it can only be a mistake. */
	if (n == 0)
		return bad(why, "port 0 is no port");
	out->port = (unsigned)n;
	return FR_OK;
}

/* The segments joined, "/" for an empty path (RFC 3986, 6.2.3). */
static int
path_take(const UriUriA *uri, struct url *out)
{
	const UriPathSegmentA *seg;
	size_t size = 2, at = 0;

	for (seg = uri->pathHead; seg != NULL; seg = seg->next)
		size += 1 + range_len(&seg->text);
	out->path = malloc(size);
	if (out->path == NULL)
		return FR_ENOMEM;
	for (seg = uri->pathHead; seg != NULL; seg = seg->next) {
		out->path[at++] = '/';
		if (range_len(&seg->text) > 0)
			memcpy(out->path + at, seg->text.first,
			       range_len(&seg->text));
		at += range_len(&seg->text);
	}
	if (at == 0)
		out->path[at++] = '/';
	out->path[at] = '\0';
	out->encoded_separator = strstr(out->path, "%2F") != NULL ||
	                         strstr(out->path, "%5C") != NULL;
	return FR_OK;
}

static int
url_take(const UriUriA *uri, struct url *out, const char **why)
{
	int rc;

	if (uri->scheme.first == NULL)
		return bad(why, not_absolute);
	if (!range_is(&uri->scheme, "http") && !range_is(&uri->scheme, "https"))
		return bad(why, "the scheme must be http or https");
	out->https = range_len(&uri->scheme) == 5;
	if (uri->hostText.first == NULL)
		return bad(why, not_absolute);
	if (uri->userInfo.first != NULL)
		return bad(why,
		           "user names or passwords do not belong in the URL");
	rc = host_take(uri, out, why);
	if (rc == FR_OK)
		rc = port_take(uri, out, why);
	if (rc != FR_OK)
		return rc;
	out->has_query = uri->query.first != NULL;
	out->has_fragment = uri->fragment.first != NULL;
	return path_take(uri, out);
}

int
url_parse(const char *s, struct url *out, const char **why)
{
	UriUriA uri;
	char *text;
	int rc;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return bad(why, not_absolute);
	if (has_space_or_control(s))
		return bad(why, "a URL has no spaces or control characters");
	text = escape_lenient(s);
	if (text == NULL)
		return FR_ENOMEM;
	rc = uriParseSingleUriA(&uri, text, NULL);
	if (rc != URI_SUCCESS) {
		free(text);
		return rc == URI_ERROR_MALLOC ? FR_ENOMEM
		                              : bad(why, not_absolute);
	}
	/* Lower-case scheme and host, upper-case %XX, decode what needs no
	 * encoding ("%2e" too), remove dot segments (RFC 3986, 6.2.2). */
	rc = uriNormalizeSyntaxA(&uri) == URI_SUCCESS ? url_take(&uri, out, why)
	                                              : FR_ENOMEM;
	uriFreeUriMembersA(&uri);
	free(text);
	if (rc != FR_OK)
		url_free(out);
	return rc;
}

void
url_free(struct url *u)
{
	if (u == NULL)
		return;
	free(u->path);
	memset(u, 0, sizeof(*u));
}

int
url_same_origin(const struct url *a, const struct url *b)
{
	return a->https == b->https && a->port == b->port &&
	       strcmp(a->host, b->host) == 0;
}
