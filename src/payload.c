/*
 * The payload builder: Customer.io Data Pipelines identify and track
 * calls (docs.customer.io/integrations/api/cdp/: /v1/identify, /v1/track
 * and /v1/batch, whose members carry "type"), with the Segment-spec
 * common fields: messageId, timestamp, context.{ip, userAgent, page,
 * campaign, library}.
 *
 * context.page: the body's page data (an Embeddables context, a pageUrl
 * or page_title field, ...) wins for url and title, because a webhook's
 * request comes from the platform's server, not the page.  Otherwise a
 * browser's Referer names the page the form is on: it becomes page.url
 * (not page.referrer, which is where the visitor came from before that
 * page and is only known when the body says).  path and search are taken
 * from the url.  Without utm_* fields, the url's utm_* parameters fill
 * context.campaign.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jsonw.h"
#include "payload.h"
#include "utf8.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

/* obj[key] = a new string s; FR_OK or FR_ENOMEM. */
static int
put_string(struct json_object *obj, const char *key, const char *s)
{
	struct json_object *v = json_object_new_string(s);

	if (v == NULL || json_object_object_add(obj, key, v)) {
		json_object_put(v);
		return FR_ENOMEM;
	}
	return FR_OK;
}

static const char *
page_member(struct json_object *page, const char *key)
{
	struct json_object *v;

	if (page == NULL || !json_object_object_get_ex(page, key, &v))
		return NULL;
	return json_object_get_string(v);
}

/* The path and search of an absolute URL ("https://h/p?q#f"). */
static void
url_parts(const char *url, const char **path, size_t *plen, const char **search,
          size_t *slen)
{
	const char *p = strstr(url, "://"), *end;

	*path = *search = NULL;
	*plen = *slen = 0;
	if (p == NULL)
		return;
	p = strpbrk(p + 3, "/?#");
	if (p == NULL || *p == '#')
		return;
	end = p + strcspn(p, "?#");
	if (*p == '/') {
		*path = p;
		*plen = (size_t)(end - p);
	}
	if (*end == '?') {
		*search = end;
		*slen = strcspn(end, "#");
	}
}

/* Percent-decode a query value into buf: -1 when it does not fit or
 * is not UTF-8 text. */
static int
url_decode(const char *s, size_t len, char *buf, size_t size)
{
	size_t n;

	if (percent_decode(s, len, buf, size, &n) != 0)
		return -1;
	return utf8_valid(buf, n) ? 0 : -1;
}

/* utm_* parameters of the page URL's query -> campaign members. */
static int
campaign_from_search(const char *search, size_t slen,
                     struct json_object **campaign)
{
	const char *p = search + 1, *end = search + slen, *amp, *eq;
	char key[32], val[512];
	int rc = FR_OK;

	while (rc == FR_OK && p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		amp = amp ? amp : end;
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq != NULL && eq - p > 4 && eq - p < (long)sizeof(key) &&
		    strncmp(p, "utm_", 4) == 0 &&
		    url_decode(eq + 1, (size_t)(amp - eq - 1), val,
		               sizeof(val)) == 0 &&
		    *val != '\0') {
			snprintf(key, sizeof(key), "%.*s", (int)(eq - p - 4),
			         p + 4);
			if (*campaign == NULL &&
			    (*campaign = json_object_new_object()) == NULL)
				return FR_ENOMEM;
			rc = put_string(*campaign,
			                strcmp(key, "campaign") ? key : "name",
			                val);
		}
		p = amp + 1;
	}
	return rc;
}

/* context.page's members, pointing into the submission or the request. */
struct page_fields {
	const char *url; /* also what a track call's page_url is */
	const char *path;
	size_t path_len;
	const char *search;
	size_t search_len;
	const char *referrer;
	const char *title;
};

static void
page_fields(struct json_object *page, const struct request_context *ctx,
            struct page_fields *pf)
{
	const char *path = page_member(page, "path");
	const char *search = page_member(page, "search");

	memset(pf, 0, sizeof(*pf));
	pf->url = page_member(page, "url");
	if (pf->url == NULL)
		pf->url = ctx->referer;
	pf->referrer = page_member(page, "referrer");
	pf->title = page_member(page, "title");
	/* Some webhooks know the page's path but not its URL. */
	if (pf->url != NULL && *pf->url != '\0')
		url_parts(pf->url, &pf->path, &pf->path_len, &pf->search,
		          &pf->search_len);
	if (path != NULL) {
		pf->path = path;
		pf->path_len = strlen(path);
	}
	if (search != NULL) {
		pf->search = search;
		pf->search_len = strlen(search);
	}
}

static void
write_page(struct jsonw *w, const struct page_fields *pf)
{
	int has_url = pf->url != NULL && *pf->url != '\0';

	if (!has_url && pf->path == NULL && pf->referrer == NULL &&
	    pf->title == NULL)
		return;
	jsonw_key(w, "page");
	jsonw_open(w);
	if (has_url)
		jsonw_member_string(w, "url", pf->url);
	if (pf->path != NULL) {
		jsonw_key(w, "path");
		jsonw_string(w, pf->path, pf->path_len);
	}
	if (pf->search != NULL) {
		jsonw_key(w, "search");
		jsonw_string(w, pf->search, pf->search_len);
	}
	jsonw_member_string(w, "referrer", pf->referrer);
	jsonw_member_string(w, "title", pf->title);
	jsonw_close(w);
}

/* context.campaign: the utm_* fields, else the page URL's parameters. */
static int
write_campaign(struct jsonw *w, struct json_object *given,
               const struct page_fields *pf)
{
	struct json_object *campaign = NULL;
	int rc;

	if (given != NULL) {
		jsonw_key(w, "campaign");
		jsonw_value(w, given);
		return FR_OK;
	}
	if (pf->search == NULL)
		return FR_OK;
	rc = campaign_from_search(pf->search, pf->search_len, &campaign);
	if (rc == FR_OK && campaign != NULL) {
		jsonw_key(w, "campaign");
		jsonw_value(w, campaign);
	}
	json_object_put(campaign);
	return rc;
}

/* What the context is made of besides the request's own data. */
struct context_src {
	struct json_object *page;     /* {url,title,referrer,path,search} */
	struct json_object *campaign; /* context.campaign as it is */
	const char *ip;               /* else the request's */
	const char *user_agent;       /* else the request's */
	struct json_object *extra;    /* members written as they are */
};

/* The context object a submission's calls share, as JSON text into *text
 * (owned by the caller). */
static int
context_text(const struct context_src *src, const struct request_context *ctx,
             const struct page_fields *pf, char **text, size_t *len)
{
	struct jsonw w;
	int rc;

	jsonw_init(&w);
	jsonw_open(&w);
	jsonw_member_string(&w, "ip", src->ip ? src->ip : ctx->ip);
	jsonw_member_string(&w, "userAgent",
	                    src->user_agent ? src->user_agent
	                                    : ctx->user_agent);
	write_page(&w, pf);
	if ((rc = write_campaign(&w, src->campaign, pf)) != FR_OK) {
		jsonw_discard(&w);
		return rc;
	}
	if (src->extra != NULL) {
		json_object_object_foreach(src->extra, key, val)
		{
			jsonw_key(&w, key);
			jsonw_value(&w, val);
		}
	}
	jsonw_key(&w, "library");
	jsonw_open(&w);
	jsonw_member_string(&w, "name", "formrelay");
	jsonw_member_string(&w, "version", PACKAGE_VERSION);
	jsonw_close(&w);
	jsonw_close(&w);
	*text = jsonw_finish(&w, len);
	return *text == NULL ? FR_ENOMEM : FR_OK;
}

/* Take the finished call into ev, enforcing Customer.io's 32 KB an
 * event. */
static int
finish_call(struct jsonw *w, const char *type, struct built_event *ev,
            struct fr_error *err)
{
	size_t len;
	char *text = jsonw_finish(w, &len);

	if (text == NULL)
		return fr_fail(err, FR_ENOMEM, "out_of_memory", "",
		               "out of memory");
	if (len > PAYLOAD_MAX_EVENT) {
		free(text);
		return fr_fail(err, FR_ETOOLARGE, "too_large", "",
		               "%s event is %zu bytes; Customer.io accepts at "
		               "most %d",
		               type, len, PAYLOAD_MAX_EVENT);
	}
	ev->json = text;
	ev->len = len;
	strlcopy(ev->type, type, sizeof(ev->type));
	return FR_OK;
}

/* The members every call has: type, userId (and anonymousId),
 * messageId (ev's, a new UUID when empty), timestamp and context
 * (already JSON text). */
static int
open_call(struct jsonw *w, const char *type, const char *user_id,
          const char *anonymous_id, struct built_event *ev,
          const char *timestamp, const char *context, size_t context_len)
{
	if (ev->message_id[0] == '\0' && uuid_v4(ev->message_id) < 0)
		return FR_ENOMEM;
	jsonw_init(w);
	jsonw_open(w);
	jsonw_member_string(w, "type", type);
	jsonw_member_string(w, "userId", user_id);
	jsonw_member_string(w, "anonymousId", anonymous_id);
	jsonw_member_string(w, "messageId", ev->message_id);
	jsonw_member_string(w, "timestamp", timestamp);
	jsonw_key(w, "context");
	jsonw_raw(w, context, context_len);
	return FR_OK;
}

/* Track properties: the submission's, plus page_url when known. */
static void
write_properties(struct jsonw *w, const struct submission *sub, const char *url)
{
	jsonw_key(w, "properties");
	jsonw_open(w);
	if (sub->properties != NULL) {
		json_object_object_foreach(sub->properties, key, value)
		{
			jsonw_key(w, key);
			jsonw_value(w, value);
		}
	}
	if (url != NULL && *url != '\0' &&
	    (sub->properties == NULL ||
	     !json_object_object_get_ex(sub->properties, "page_url", NULL)))
		jsonw_member_string(w, "page_url", url);
	jsonw_close(w);
}

static int
build_calls(const struct submission *sub, const char *context,
            size_t context_len, const char *url, const char *timestamp,
            struct built_event out[2], struct fr_error *err)
{
	struct jsonw w;
	int rc;

	if (open_call(&w, "identify", sub->user_id, NULL, &out[0], timestamp,
	              context, context_len) != FR_OK)
		return FR_ENOMEM;
	jsonw_key(&w, "traits");
	jsonw_value(&w, sub->traits);
	jsonw_close(&w);
	rc = finish_call(&w, "identify", &out[0], err);
	if (rc != FR_OK || sub->event == NULL)
		return rc;
	if (open_call(&w, "track", sub->user_id, NULL, &out[1], timestamp,
	              context, context_len) != FR_OK)
		return FR_ENOMEM;
	jsonw_member_string(&w, "event", sub->event);
	write_properties(&w, sub, url);
	jsonw_close(&w);
	return finish_call(&w, "track", &out[1], err);
}

int
payload_build(const struct submission *sub, const struct request_context *ctx,
              int64_t received_ms, struct built_event out[2], size_t *count,
              struct fr_error *err)
{
	static const struct request_context none = {NULL, NULL, NULL};
	struct context_src src = {sub->page, sub->campaign, sub->ip,
	                          sub->user_agent, NULL};
	struct page_fields pf;
	char timestamp[40], *context;
	size_t context_len;
	int rc;

	memset(out, 0, 2 * sizeof(*out));
	*count = 0;
	if (sub->user_id == NULL || sub->traits == NULL)
		return fr_fail(err, FR_EINTERNAL, "internal_error", "",
		               "no userId or traits to send");
	if (rfc3339_ms(received_ms, timestamp, sizeof(timestamp)) < 0)
		return fr_fail(err, FR_EINTERNAL, "internal_error", "",
		               "cannot format the receipt time");
	page_fields(sub->page, ctx ? ctx : &none, &pf);
	rc = context_text(&src, ctx ? ctx : &none, &pf, &context, &context_len);
	if (rc == FR_OK) {
		rc = build_calls(sub, context, context_len, pf.url, timestamp,
		                 out, err);
		free(context);
	}
	if (rc == FR_ENOMEM && (err == NULL || err->status != FR_ENOMEM))
		fr_fail(err, FR_ENOMEM, "out_of_memory", "", "out of memory");
	if (rc != FR_OK) {
		built_events_free(out, 2);
		*count = 0;
		return rc;
	}
	*count = sub->event ? 2 : 1;
	return FR_OK;
}

/* The members particular to a call's type. */
static void
write_call_body(struct jsonw *w, const struct payload_call *c)
{
	jsonw_member_string(w, "event", c->event);
	jsonw_member_string(w, "name", c->name);
	if (c->traits != NULL) {
		jsonw_key(w, "traits");
		jsonw_value(w, c->traits);
	}
	if (c->properties != NULL) {
		jsonw_key(w, "properties");
		jsonw_value(w, c->properties);
	}
}

int
payload_build_call(const struct payload_call *c,
                   const struct request_context *ctx, struct built_event *out,
                   struct fr_error *err)
{
	struct context_src src = {c->page, c->campaign, NULL, c->user_agent,
	                          c->context_extra};
	struct page_fields pf;
	struct jsonw w;
	char timestamp[40], *context;
	size_t context_len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (c->message_id != NULL &&
	    strlcopy(out->message_id, c->message_id, sizeof(out->message_id)) >=
	            sizeof(out->message_id))
		return fr_fail(err, FR_EINTERNAL, "internal_error", "",
		               "messageId too long");
	if (c->message_id != NULL)
		snprintf(out->dedup_key, sizeof(out->dedup_key), "msg:%s",
		         c->message_id);
	if (rfc3339_ms(c->timestamp_ms, timestamp, sizeof(timestamp)) < 0)
		return fr_fail(err, FR_EINTERNAL, "internal_error", "",
		               "cannot format the timestamp");
	page_fields(c->page, ctx, &pf);
	rc = context_text(&src, ctx, &pf, &context, &context_len);
	if (rc == FR_OK) {
		rc = open_call(&w, c->type, c->user_id, c->anonymous_id, out,
		               timestamp, context, context_len);
		free(context);
	}
	if (rc != FR_OK)
		return fr_fail(err, FR_ENOMEM, "out_of_memory", "",
		               "out of memory");
	write_call_body(&w, c);
	jsonw_close(&w);
	return finish_call(&w, c->type, out, err);
}

void
built_events_free(struct built_event *out, size_t count)
{
	size_t i;

	for (i = 0; out != NULL && i < count; i++) {
		free(out[i].json);
		out[i].json = NULL;
		out[i].len = 0;
	}
}

int
payload_batch(const char *const *events, const size_t *lens, size_t n,
              char **body, size_t *body_len)
{
	static const char head[] = "{\"batch\":[", tail[] = "]}";
	size_t total = sizeof(head) - 1 + sizeof(tail) - 1, i, off;
	char *buf;

	*body = NULL;
	*body_len = 0;
	for (i = 0; i < n; i++) {
		if (lens[i] > SIZE_MAX / 2 - total)
			return FR_ENOMEM;
		total += lens[i] + (i > 0);
	}
	if ((buf = malloc(total + 1)) == NULL)
		return FR_ENOMEM;
	memcpy(buf, head, sizeof(head) - 1);
	off = sizeof(head) - 1;
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf[off++] = ',';
		memcpy(buf + off, events[i], lens[i]);
		off += lens[i];
	}
	memcpy(buf + off, tail, sizeof(tail));
	*body = buf;
	*body_len = total;
	return FR_OK;
}
