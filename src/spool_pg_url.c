/*
 * The PostgreSQL spool's URL as messages show it (spool_pg_url_masked,
 * include/spool_pg.h): every password libpq would read from it replaced
 * by "***".  libpq takes a password from a URI's user:password@, from a
 * query parameter whose percent-decoded name is "password", and from a
 * key=value string's password keyword; each is found the way libpq
 * reads it, so that an encoded name ("?%70assword=") is masked too.
 */
#include <stdio.h>
#include <string.h>

#include "spool_pg.h"
#include "util.h"

/* A bounded output: what does not fit is cut, and stays NUL-terminated. */
struct out {
	char *buf;
	size_t size, len;
};

static void
put(struct out *o, const char *s, size_t n)
{
	size_t room;

	if (o->size == 0)
		return;
	room = o->size - 1 - o->len;
	if (n > room)
		n = room;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void
puts_out(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* Whether s[0..len), percent-decoded, names libpq's password. */
static int
is_password_name(const char *s, size_t len)
{
	char name[16];

	if (percent_decode(s, len, name, sizeof(name), NULL) != 0)
		return 0;
	return ascii_casecmp(name, "password") == 0;
}

/* The query string q (after '?'), each password value masked. */
static void
masked_query(struct out *o, const char *q)
{
	size_t len, name;

	while (*q != '\0') {
		len = strcspn(q, "&");
		name = strcspn(q, "=&");
		if (name < len && is_password_name(q, name)) {
			put(o, q, name);
			puts_out(o, "=***");
		} else {
			put(o, q, len);
		}
		q += len;
		if (*q == '&')
			put(o, q++, 1);
	}
}

/* postgresql://user:secret@hosts/db?… -> postgresql://user:***@hosts/db?… */
static void
masked_uri(struct out *o, const char *url, const char *scheme)
{
	const char *hosts = scheme + 3;
	const char *end = hosts + strcspn(hosts, "/?");
	const char *at = memchr(hosts, '@', (size_t)(end - hosts));
	const char *colon =
	        at ? memchr(hosts, ':', (size_t)(at - hosts)) : NULL;
	const char *query = strchr(end, '?');

	if (colon != NULL) {
		put(o, url, (size_t)(colon + 1 - url));
		puts_out(o, "***");
		put(o, at, (size_t)((query ? query : end + strlen(end)) - at));
	} else {
		put(o, url,
		    (size_t)((query ? query : end + strlen(end)) - url));
	}
	if (query != NULL) {
		put(o, "?", 1);
		masked_query(o, query + 1);
	}
}

/* The length of a key=value string's value at v (quoted with '…' and
 * backslash escapes, or up to white space), as libpq reads it. */
static size_t
conninfo_value_len(const char *v)
{
	const char *p = v;

	if (*p == '\'') {
		for (p++; *p != '\0' && *p != '\''; p++)
			if (*p == '\\' && p[1] != '\0')
				p++;
		return (size_t)(p - v) + (*p == '\'');
	}
	for (; *p != '\0' && *p != ' ' && *p != '\t' && *p != '\n'; p++)
		if (*p == '\\' && p[1] != '\0')
			p++;
	return (size_t)(p - v);
}

/* host=… password=secret … -> host=… password=*** …; a string libpq
 * would not read past some point is cut there. */
static void
masked_conninfo(struct out *o, const char *s)
{
	size_t key, sp, vlen;
	const char *v;

	for (;;) {
		sp = strspn(s, " \t\n");
		put(o, s, sp);
		s += sp;
		if (*s == '\0')
			return;
		key = strcspn(s, "= \t\n");
		v = s + key + strspn(s + key, " \t\n");
		if (*v != '=') {
			puts_out(o, "(the rest hidden)");
			return;
		}
		v++;
		v += strspn(v, " \t\n");
		vlen = conninfo_value_len(v);
		if (key == 8 && strncmp(s, "password", 8) == 0) {
			puts_out(o, "password=***");
		} else {
			put(o, s, (size_t)(v - s) + vlen);
		}
		s = v + vlen;
	}
}

void
spool_pg_url_masked(const char *url, char *buf, size_t size)
{
	struct out o = {buf, size, 0};
	const char *scheme = strstr(url, "://");

	if (size > 0)
		buf[0] = '\0';
	if (scheme != NULL)
		masked_uri(&o, url, scheme);
	else
		masked_conninfo(&o, url);
}
