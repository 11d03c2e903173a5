/*
 * Absolute http(s) URLs taken apart into what decides where a browser
 * goes: scheme, host, port and path.  Parsed by uriparser (RFC 3986),
 * never compared as raw strings.  Used by the Origin and _next checks
 * (policy.c) and by the configuration's URL values (config_value.c), so
 * that both apply one set of rules.
 */
#ifndef FORMRELAY_URL_H
#define FORMRELAY_URL_H

/* The longest host kept, in bytes after %-decoding (RFC 1035, 2.3.4). */
#define URL_HOST_MAX 255

struct url {
	int https;                   /* scheme: 1 https, 0 http */
	int ipv6;                    /* host is an IPv6 literal */
	char host[URL_HOST_MAX + 1]; /* see url_parse */
	unsigned port;               /* as given, else 80 or 443 */
	char *path;                  /* at least "/"; owned, url_free */
	int has_query;               /* a '?', even with nothing after it */
	int has_fragment;            /* a '#', even with nothing after it */
	int encoded_separator;       /* the path holds %2F or %5C */
};

/*
 * Parse s as an absolute http or https URL with a host and without user
 * information, spaces or control characters.
 *
 * Normalised as RFC 3986, 6.2.2 and 6.2.3 allow: scheme and host in lower
 * case, the host %-decoded (as browsers do), an IPv6 host in its RFC
 * 5952 text without brackets, the path with dot segments removed
 * ("%2e" counts as '.', as in the WHATWG URL Standard) and "/" when
 * empty, an empty port meaning the default.
 *
 * Like browsers, tolerates what RFC 3986 does not allow but real links
 * carry: non-ASCII bytes, "<>^`{|} and '%' without two hex digits are
 * %-encoded before parsing, and so are '[' and ']' outside the host.  A
 * host holds only letters, digits, '-', '.', '_' and non-ASCII bytes
 * (an IDN in Unicode).
 *
 * Returns FR_OK with *out filled (release with url_free), FR_EMALFORMED
 * with *why set to a static reason, or FR_ENOMEM.  On error *out holds
 * nothing to release.
 */
int url_parse(const char *s, struct url *out, const char **why);

/* Release what url_parse allocated.  NULL or a zeroed url is fine. */
void url_free(struct url *u);

/* 1 when scheme, host and port are equal (RFC 6454, 5), else 0. */
int url_same_origin(const struct url *a, const struct url *b);

#endif
