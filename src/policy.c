/* Origin and redirect checks (see policy.h). */
#include <string.h>

#include "error.h"
#include "policy.h"
#include "url.h"

/*
 * Where a browser may be sent: a parsed URL without %2F or %5C in its
 * path, which servers such as nginx decode before they resolve "..", so
 * that ".../thanks/..%2Fadmin" would leave the prefix.  0 or -1.
 */
static int
target_parse(const char *s, struct url *out)
{
	const char *why = NULL;

	if (url_parse(s, out, &why) != FR_OK)
		return -1;
	if (out->encoded_separator) {
		url_free(out);
		return -1;
	}
	return 0;
}

/* Paths compare case-sensitively (RFC 3986, 6.2.2.1); both have dot
 * segments removed, so "/thanks/../admin" is not under "/thanks". */
static int
under_prefix(const struct url *u, const struct url *pre)
{
	return url_same_origin(u, pre) &&
	       strncmp(u->path, pre->path, strlen(pre->path)) == 0;
}

int
redirect_allowed(const char *url, const struct config_list *list)
{
	struct url u, p;
	size_t i;
	int ok = 0;

	if (url == NULL || target_parse(url, &u) != 0)
		return 0;
	for (i = 0; i < list->count && !ok; i++) {
		if (target_parse(list->items[i], &p) != 0)
			continue;
		ok = under_prefix(&u, &p);
		url_free(&p);
	}
	url_free(&u);
	return ok;
}

/* Origins are serialised scheme://host[:port] (RFC 6454, 6.1): nothing
 * after the authority but an optional "/". */
static int
origin_parse(const char *s, struct url *out)
{
	const char *why = NULL;

	if (url_parse(s, out, &why) != FR_OK)
		return -1;
	if (strcmp(out->path, "/") != 0 || out->has_query ||
	    out->has_fragment) {
		url_free(out);
		return -1;
	}
	return 0;
}

int
origin_allowed(const char *origin, const struct config_list *list)
{
	struct url o, p;
	size_t i;
	int ok = 0;

	if (origin == NULL)
		return 0;
	/* Browsers send the serialised form that the configuration keeps
	 * (cv_origin_normal): the common case needs no parsing. */
	for (i = 0; i < list->count; i++)
		if (strcmp(origin, list->items[i]) == 0)
			return 1;
	if (origin_parse(origin, &o) != 0)
		return 0;
	for (i = 0; i < list->count && !ok; i++) {
		if (origin_parse(list->items[i], &p) != 0)
			continue;
		ok = url_same_origin(&o, &p);
		url_free(&p);
	}
	url_free(&o);
	return ok;
}
