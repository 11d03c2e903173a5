/* Origin and redirect checks (see policy.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "policy.h"

/* The parts of a URL that decide where a browser goes. */
struct url_parts {
	char *scheme;
	char *host;
	char *port; /* effective: the scheme's default when absent */
	char *path;
};

static void
url_parts_free(struct url_parts *p)
{
	curl_free(p->scheme);
	curl_free(p->host);
	curl_free(p->port);
	curl_free(p->path);
	memset(p, 0, sizeof(*p));
}

static int
has_ctl_or_backslash(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == '\\')
			return 1;
	return 0;
}

/* Parse an absolute http(s) URL without user info.  0 or -1. */
static int
url_split(const char *url, struct url_parts *out)
{
	CURLU *u = curl_url();
	char *user = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (u == NULL || has_ctl_or_backslash(url))
		goto done;
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME))
		goto done;
	if (curl_url_get(u, CURLUPART_USER, &user, 0) != CURLUE_NO_USER)
		goto done;
	if (curl_url_get(u, CURLUPART_SCHEME, &out->scheme, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &out->host, 0) ||
	    curl_url_get(u, CURLUPART_PORT, &out->port, CURLU_DEFAULT_PORT) ||
	    curl_url_get(u, CURLUPART_PATH, &out->path, 0))
		goto done;
	if (strcasecmp(out->scheme, "http") != 0 &&
	    strcasecmp(out->scheme, "https") != 0)
		goto done;
	rc = 0;
done:
	if (rc != 0)
		url_parts_free(out);
	curl_free(user);
	curl_url_cleanup(u);
	return rc;
}

static int
url_prefix_match(const struct url_parts *url, const struct url_parts *pre)
{
	return strcasecmp(url->scheme, pre->scheme) == 0 &&
	       strcasecmp(url->host, pre->host) == 0 &&
	       strcmp(url->port, pre->port) == 0 &&
	       strncmp(url->path, pre->path, strlen(pre->path)) == 0;
}

int
redirect_allowed(const char *url, const struct config_list *list)
{
	struct url_parts u, p;
	size_t i;
	int ok = 0;

	if (url == NULL || url_split(url, &u) != 0)
		return 0;
	for (i = 0; i < list->count && !ok; i++) {
		if (url_split(list->items[i], &p) != 0)
			continue;
		ok = url_prefix_match(&u, &p);
		url_parts_free(&p);
	}
	url_parts_free(&u);
	return ok;
}

/* Origins are serialised scheme://host[:port] (RFC 6454, 6.1). */
int
origin_allowed(const char *origin, const struct config_list *list)
{
	struct url_parts o, p;
	size_t i;
	int ok = 0;

	if (origin == NULL || url_split(origin, &o) != 0)
		return 0;
	if (strcmp(o.path, "/") != 0) {
		url_parts_free(&o);
		return 0;
	}
	for (i = 0; i < list->count && !ok; i++) {
		if (url_split(list->items[i], &p) != 0)
			continue;
		ok = strcasecmp(o.scheme, p.scheme) == 0 &&
		     strcasecmp(o.host, p.host) == 0 &&
		     strcmp(o.port, p.port) == 0;
		url_parts_free(&p);
	}
	url_parts_free(&o);
	return ok;
}
