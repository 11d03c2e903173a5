/*
 * Configuration values: sizes, durations, booleans, rates, URLs, origins
 * and proxy addresses.  Pure functions, no I/O.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "url.h"
#include "util.h"

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Leading decimal digits into *n; the end through *end.  -1 when there
 * are none or they overflow. */
static int
parse_digits(const char *s, uint64_t *n, const char **end)
{
	uint64_t v = 0;

	if (!is_digit(*s))
		return -1;
	for (; is_digit(*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*n = v;
	*end = s;
	return 0;
}

int
cv_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t n;
	const char *end;

	if (parse_digits(s, &n, &end) < 0 || *end != '\0' || n > max)
		return -1;
	*out = n;
	return 0;
}

/* Binary multiples, as operators write them for body limits (nginx's
 * client_max_body_size 1m is 1048576 bytes). */
int
config_parse_size(const char *s, size_t *out)
{
	uint64_t n;
	unsigned shift = 0;
	const char *end;

	if (s == NULL || parse_digits(s, &n, &end) < 0)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	default:
		return -1;
	}
	if (shift != 0 && *++end != '\0')
		return -1;
	if (n > (uint64_t)(SIZE_MAX >> shift))
		return -1;
	*out = (size_t)(n << shift);
	return 0;
}

static const struct {
	const char *suffix;
	int64_t ms;
} duration_units[] = {
        {"", 1000}, /* a bare number is seconds */
        {"ms", 1},
        {"s", 1000},
        {"m", 60 * 1000},
        {"h", 60 * 60 * 1000},
        {"d", 24 * 60 * 60 * 1000},
};

int
config_parse_duration(const char *s, int64_t *out)
{
	uint64_t n;
	const char *end;
	size_t i;

	if (s == NULL || parse_digits(s, &n, &end) < 0)
		return -1;
	for (i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]);
	     i++) {
		int64_t unit = duration_units[i].ms;

		if (ascii_casecmp(end, duration_units[i].suffix) != 0)
			continue;
		if (n > (uint64_t)(INT64_MAX / unit))
			return -1;
		*out = (int64_t)n * unit;
		return 0;
	}
	return -1;
}

int
cv_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (ascii_casecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (ascii_casecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static const struct {
	const char *name;
	int64_t ms;
} rate_windows[] = {
        {"sec", 1000},
        {"min", 60 * 1000},
        {"hour", 60 * 60 * 1000},
};

int
cv_parse_rate(const char *s, unsigned *count, int64_t *window_ms)
{
	uint64_t n;
	const char *end;
	size_t i;

	if (ascii_casecmp(s, "off") == 0) {
		*count = 0;
		*window_ms = 60 * 1000;
		return 0;
	}
	if (parse_digits(s, &n, &end) < 0 || *end != '/' || n > 1000000)
		return -1;
	for (i = 0; i < sizeof(rate_windows) / sizeof(rate_windows[0]); i++) {
		if (ascii_casecmp(end + 1, rate_windows[i].name) == 0) {
			*count = (unsigned)n;
			*window_ms = rate_windows[i].ms;
			return 0;
		}
	}
	return -1;
}

/* url_parse's status as a value check's: 0, -1 or FR_ENOMEM. */
static int
check_status(int rc)
{
	if (rc == FR_OK || rc == FR_ENOMEM)
		return rc;
	return -1;
}

/* An absolute http(s) URL (url.h: no "www.example.com" silently becoming
 * http://); with base_only, also without query or fragment (paths such
 * as /batch are appended to it). */
int
cv_check_http_url(const char *s, int base_only, const char **why)
{
	struct url u;
	int rc = url_parse(s, &u, why);

	if (rc != FR_OK)
		return check_status(rc);
	if (base_only && (u.has_query || u.has_fragment)) {
		*why = "a base URL has no query or fragment";
		rc = -1;
	}
	url_free(&u);
	return rc;
}

/* As cv_check_http_url, and refused where redirect_allowed would refuse
 * every URL under it (policy.h), so that no prefix is dead. */
int
cv_check_redirect_prefix(const char *s, const char **why)
{
	struct url u;
	int rc = url_parse(s, &u, why);

	if (rc != FR_OK)
		return check_status(rc);
	if (u.encoded_separator) {
		*why = "%2F or %5C in the path (servers may decode them before "
		       "resolving '..'; _next URLs holding them are refused)";
		rc = -1;
	}
	url_free(&u);
	return rc;
}

/* An origin as browsers send it in the Origin header (RFC 6454, 6.1):
 * scheme "://" host [ ":" port ], nothing more. */
int
cv_check_origin(const char *s, const char **why)
{
	const char *host = strstr(s, "://");

	if (host == NULL) {
		*why = "an origin is scheme://host[:port]";
		return -1;
	}
	if (strpbrk(host + 3, "/?#@\\") != NULL) {
		*why = "an origin has no path, query or user, not even a "
		       "trailing '/' (write scheme://host[:port])";
		return -1;
	}
	return cv_check_http_url(s, 0, why);
}

static void
lower_ascii(char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] + 32);
}

/* Serialised as browsers send it (RFC 6454, 6.2): scheme and host in
 * lower case (the host as url.h normalises it), no port when it is the
 * scheme's default. */
char *
cv_origin_normal(const char *origin)
{
	char out[sizeof("https://[]:65535") + URL_HOST_MAX], port[8] = "";
	const char *why = NULL;
	struct url u;
	int rc = url_parse(origin, &u, &why);

	if (rc == FR_ENOMEM)
		return NULL;
	if (rc != FR_OK) /* not reached: cv_check_origin passed it */
		return xstrdup(origin);
	if (u.port != (u.https ? 443u : 80u))
		snprintf(port, sizeof(port), ":%u", u.port & 0xffffu);
	snprintf(out, sizeof(out), "%s://%s%s%s%s", u.https ? "https" : "http",
	         u.ipv6 ? "[" : "", u.host, u.ipv6 ? "]" : "", port);
	url_free(&u);
	return xstrdup(out);
}

char *
cv_redirect_prefix(const char *url)
{
	const char *host = strstr(url, "://");
	size_t at, len = strlen(url);
	char *out;

	if (host == NULL)
		return xstrdup(url);
	at = (size_t)(host + 3 - url);
	at += strcspn(url + at, "/?#");
	out = malloc(len + 2);
	if (out == NULL)
		return NULL;
	memcpy(out, url, at);
	lower_ascii(out,
	            at); /* scheme and host ignore case (RFC 3986, 6.2.2.1) */
	if (url[at] == '/') {
		memcpy(out + at, url + at, len - at + 1);
		return out;
	}
	out[at] = '/';
	memcpy(out + at + 1, url + at, len - at + 1);
	return out;
}

/* An IPv4 or IPv6 address, optionally with a /prefix (RFC 4632). */
int
cv_check_address(const char *s, const char **why)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	const char *slash = strchr(s, '/'), *end;
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t prefix, max;

	*why = "not an IPv4 or IPv6 address or CIDR";
	if (len == 0 || len >= sizeof(addr))
		return -1;
	memcpy(addr, s, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, bin) == 1)
		max = 32;
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		max = 128;
	else
		return -1;
	if (slash == NULL)
		return 0;
	if (parse_digits(slash + 1, &prefix, &end) < 0 || *end != '\0' ||
	    prefix > max || end - slash > 4) {
		*why = "bad CIDR prefix length";
		return -1;
	}
	return 0;
}

/* A nameserver: "192.0.2.1", "192.0.2.1:5353", "2001:db8::1" or
 * "[2001:db8::1]:5353" (c-ares's server list syntax, one item). */
int
cv_check_nameserver(const char *s, const char **why)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	const char *host = s, *port = NULL, *end;
	size_t len;
	uint64_t n;

	*why = "expected an IP address with an optional :port, such as "
	       "127.0.0.1:5353 or [::1]:53";
	if (s[0] == '[') {
		host = s + 1;
		end = strchr(host, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return -1;
		len = (size_t)(end - host);
		port = end[1] == ':' ? end + 2 : NULL;
	} else if (strchr(s, ':') != strrchr(s, ':')) {
		len = strlen(s); /* a bare IPv6 address */
	} else {
		end = strchr(s, ':');
		len = end ? (size_t)(end - s) : strlen(s);
		port = end ? end + 1 : NULL;
	}
	if (len == 0 || len >= sizeof(addr))
		return -1;
	memcpy(addr, host, len);
	addr[len] = '\0';
	if (inet_pton(s[0] == '[' || port == NULL ? AF_INET6 : AF_INET, addr,
	              bin) != 1 &&
	    inet_pton(AF_INET, addr, bin) != 1)
		return -1;
	if (port == NULL)
		return 0;
	if (parse_digits(port, &n, &end) < 0 || *end != '\0' || n == 0 ||
	    n > 65535 || end - port > 5)
		return -1;
	return 0;
}

/* Keys travel as the user name of HTTP Basic auth, where ':' ends the
 * user name (RFC 7617, 2) and control characters are not allowed. */
int
cv_check_secret_chars(const char *s, const char **why)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || c == ':') {
			*why = "contains spaces, control characters, ':' or "
			       "non-ASCII bytes";
			return -1;
		}
	}
	return 0;
}

void
cv_format_duration(int64_t ms, char *buf, size_t size)
{
	size_t i;

	for (i = sizeof(duration_units) / sizeof(duration_units[0]) - 1; i > 1;
	     i--) {
		if (ms != 0 && ms % duration_units[i].ms == 0) {
			snprintf(buf, size, "%lld%s",
			         (long long)(ms / duration_units[i].ms),
			         duration_units[i].suffix);
			return;
		}
	}
	snprintf(buf, size, "%lldms", (long long)ms);
}

void
cv_format_size(size_t n, char *buf, size_t size)
{
	static const char units[] = "gmk";
	unsigned shift;
	size_t i;

	for (i = 0, shift = 30; i < 3; i++, shift -= 10) {
		size_t unit = (size_t)1 << shift;

		if (n != 0 && n % unit == 0) {
			snprintf(buf, size, "%zu%c", n / unit, units[i]);
			return;
		}
	}
	snprintf(buf, size, "%zu", n);
}

void
cv_format_rate(unsigned count, int64_t window_ms, char *buf, size_t size)
{
	size_t i;

	if (count == 0) {
		snprintf(buf, size, "off");
		return;
	}
	for (i = 0; i < sizeof(rate_windows) / sizeof(rate_windows[0]); i++) {
		if (rate_windows[i].ms == window_ms) {
			snprintf(buf, size, "%u/%s", count,
			         rate_windows[i].name);
			return;
		}
	}
	snprintf(buf, size, "%u/%lldms", count, (long long)window_ms);
}

int
cv_append_line(char **buf, const char *line)
{
	size_t old = *buf ? strlen(*buf) : 0, add = strlen(line);
	char *grown = realloc(*buf, old + add + 2);

	if (grown == NULL)
		return FR_ENOMEM;
	memcpy(grown + old, line, add);
	grown[old + add] = '\n';
	grown[old + add + 1] = '\0';
	*buf = grown;
	return FR_OK;
}
