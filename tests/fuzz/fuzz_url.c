/*
 * libFuzzer target: URLs (url.c) and the Origin and _next redirect
 * policy (policy.c).
 *
 * Input: a comma-separated list of allowed prefixes or origins on the
 * first line, a URL after it.  Checked after each input:
 *   - a URL that parses has an http(s) scheme, a non-empty host in lower
 *     case without what a host cannot hold, a port in 1..65535 and a path
 *     that starts with '/' and has no dot segments left;
 *   - normalising is idempotent: the URL rebuilt from its parts parses
 *     to the same parts;
 *   - redirect_allowed and origin_allowed let a URL through only when
 *     one entry, parsed, has its origin (and for redirects a leading
 *     part of its path), and a parsed URL is always allowed under
 *     itself.
 */
#include "fuzz_common.h"
#include "policy.h"
#include "url.h"

#define LINE_MAX_LEN 8192

static int
host_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_' || c >= 0x80;
}

static void
check_parts(const struct url *u)
{
	size_t i, n = strlen(u->host);

	if (n == 0)
		fuzz_fail("an empty host");
	for (i = 0; i < n && !u->ipv6; i++)
		if (!host_char_ok((unsigned char)u->host[i]))
			fuzz_fail("a host byte a host cannot hold");
	if (u->port == 0 || u->port > 65535)
		fuzz_fail("a port outside 1..65535");
	if (u->path == NULL || u->path[0] != '/')
		fuzz_fail("a path that does not start with '/'");
	if (strstr(u->path, "/./") != NULL || strstr(u->path, "/../") != NULL)
		fuzz_fail("a dot segment left in the path");
	n = strlen(u->path);
	if ((n >= 2 && strcmp(u->path + n - 2, "/.") == 0) ||
	    (n >= 3 && strcmp(u->path + n - 3, "/..") == 0))
		fuzz_fail("a dot segment left at the end of the path");
}

/* scheme://host:port/path, from the parts; NULL when it does not fit. */
static char *
rebuild(const struct url *u, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s://%s%s%s:%u%s",
	                 u->https ? "https" : "http", u->ipv6 ? "[" : "",
	                 u->host, u->ipv6 ? "]" : "", u->port, u->path);

	return n > 0 && (size_t)n < size ? buf : NULL;
}

static void
check_idempotent(const struct url *u)
{
	static char buf[3 * LINE_MAX_LEN + 600];
	const char *why = NULL;
	struct url v;

	if (rebuild(u, buf, sizeof(buf)) == NULL)
		return;
	if (url_parse(buf, &v, &why) != FR_OK)
		fuzz_fail("a normalised URL does not parse again");
	if (v.https != u->https || v.ipv6 != u->ipv6 ||
	    strcmp(v.host, u->host) != 0 || v.port != u->port ||
	    strcmp(v.path, u->path) != 0)
		fuzz_fail("normalising a normalised URL changed it");
	url_free(&v);
}

static void
list_split(char *line, struct config_list *list)
{
	char *p = line, *comma;

	memset(list, 0, sizeof(*list));
	while (list->count < CONFIG_MAX_LIST) {
		comma = strchr(p, ',');
		if (comma != NULL)
			*comma = '\0';
		list->items[list->count++] = p;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
}

/* 1 when some entry parses to u's origin and, for a redirect, a path
 * that leads u's. */
static int
some_entry_admits(const struct url *u, const struct config_list *list,
                  int redirect)
{
	const char *why = NULL;
	struct url p;
	size_t i;
	int ok = 0;

	for (i = 0; i < list->count && !ok; i++) {
		if (url_parse(list->items[i], &p, &why) != FR_OK)
			continue;
		ok = url_same_origin(u, &p) &&
		     (!redirect ||
		      strncmp(u->path, p.path, strlen(p.path)) == 0);
		url_free(&p);
	}
	return ok;
}

static void
check_policy(const char *s, const struct url *u, int parsed,
             const struct config_list *list)
{
	struct config_list self;

	if (redirect_allowed(s, list) &&
	    (!parsed || u->encoded_separator || !some_entry_admits(u, list, 1)))
		fuzz_fail("a redirect allowed that no entry admits");
	if (origin_allowed(s, list) && parsed && !some_entry_admits(u, list, 0))
		fuzz_fail("an origin allowed that no entry admits");
	if (!parsed || u->encoded_separator)
		return;
	memset(&self, 0, sizeof(self));
	self.items[0] = (char *)s;
	self.count = 1;
	if (!redirect_allowed(s, &self))
		fuzz_fail("a URL is not allowed under itself");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char listline[LINE_MAX_LEN], s[LINE_MAX_LEN];
	struct config_list list;
	const char *rest, *why = NULL;
	size_t left;
	struct url u;
	int parsed;

	if (!fuzz_split_line(data, size, listline, sizeof(listline), &rest,
	                     &left) ||
	    left >= sizeof(s))
		return 0;
	memcpy(s, rest, left);
	s[left] = '\0';
	list_split(listline, &list);
	memset(&u, 0, sizeof(u));
	parsed = url_parse(s, &u, &why) == FR_OK;
	if (!parsed && (why == NULL || why[0] == '\0'))
		fuzz_fail("a URL refused without a reason");
	if (parsed) {
		check_parts(&u);
		check_idempotent(&u);
	}
	check_policy(s, &u, parsed, &list);
	url_free(&u);
	return 0;
}
