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

#include "payload.h"
#include "utf8.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* obj[key] = a new string (len bytes of s); FR_OK or FR_ENOMEM. */
static int
put_string_len(struct json_object *obj, const char *key, const char *s,
               size_t len)
{
	struct json_object *v = json_object_new_string_len(s, (int)len);

	if (v == NULL || json_object_object_add(obj, key, v)) {
		json_object_put(v);
		return FR_ENOMEM;
	}
	return FR_OK;
}

static int
put_string(struct json_object *obj, const char *key, const char *s)
{
	return s ? put_string_len(obj, key, s, strlen(s)) : FR_OK;
}

/* obj[key] = a new reference to v (NULL: nothing). */
static int
put_ref(struct json_object *obj, const char *key, struct json_object *v)
{
	if (v == NULL)
		return FR_OK;
	if (json_object_object_add(obj, key, json_object_get(v))) {
		json_object_put(v);
		return FR_ENOMEM;
	}
	return FR_OK;
}

static const char *
page_member(const struct submission *sub, const char *key)
{
	struct json_object *v;

	if (sub->page == NULL || !json_object_object_get_ex(sub->page, key, &v))
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

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* Percent-decode s[0..len) ('+' is a space: HTML form encoding) into
 * buf; -1 when it does not fit or is not UTF-8 text. */
static int
url_decode(const char *s, size_t len, char *buf, size_t size)
{
	size_t i, n = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (n + 1 >= size)
			return -1;
		if (s[i] == '%' && i + 2 < len &&
		    (hi = hex_value(s[i + 1])) >= 0 &&
		    (lo = hex_value(s[i + 2])) >= 0) {
			buf[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			buf[n++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	buf[n] = '\0';
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

static int
build_page(const struct submission *sub, const struct request_context *ctx,
           struct json_object *page, const char **url_out)
{
	const char *url = page_member(sub, "url"), *path, *search;
	size_t plen, slen;
	int rc;

	if (url == NULL)
		url = ctx ? ctx->referer : NULL;
	*url_out = url;
	if (url == NULL || *url == '\0') {
		/* Some webhooks know the page's path but not its URL. */
		rc = put_string(page, "path", page_member(sub, "path"));
		if (rc == FR_OK)
			rc = put_string(page, "referrer",
			                page_member(sub, "referrer"));
		if (rc == FR_OK)
			rc = put_string(page, "title",
			                page_member(sub, "title"));
		return rc;
	}
	url_parts(url, &path, &plen, &search, &slen);
	if ((rc = put_string(page, "url", url)) != FR_OK)
		return rc;
	if (page_member(sub, "path") != NULL)
		rc = put_string(page, "path", page_member(sub, "path"));
	else if (path != NULL)
		rc = put_string_len(page, "path", path, plen);
	if (rc == FR_OK && search != NULL)
		rc = put_string_len(page, "search", search, slen);
	if (rc == FR_OK)
		rc = put_string(page, "referrer", page_member(sub, "referrer"));
	if (rc == FR_OK)
		rc = put_string(page, "title", page_member(sub, "title"));
	return rc;
}

/* context.campaign: the utm_* fields, else the page URL's parameters. */
static int
build_campaign(const struct submission *sub, const char *url,
               struct json_object *context)
{
	struct json_object *campaign = NULL;
	const char *path, *search;
	size_t plen, slen;
	int rc;

	if (sub->campaign != NULL)
		return put_ref(context, "campaign", sub->campaign);
	if (url == NULL)
		return FR_OK;
	url_parts(url, &path, &plen, &search, &slen);
	if (search == NULL)
		return FR_OK;
	rc = campaign_from_search(search, slen, &campaign);
	if (rc == FR_OK && campaign != NULL)
		rc = put_ref(context, "campaign", campaign);
	json_object_put(campaign);
	return rc;
}

static struct json_object *
build_context(const struct submission *sub, const struct request_context *ctx,
              const char **url)
{
	struct json_object *context = json_object_new_object();
	struct json_object *page = json_object_new_object();
	struct json_object *lib = json_object_new_object();
	int rc = (context && page && lib) ? FR_OK : FR_ENOMEM;

	if (rc == FR_OK)
		rc = put_string(context, "ip", sub->ip ? sub->ip : ctx->ip);
	if (rc == FR_OK)
		rc = put_string(context, "userAgent",
		                sub->user_agent ? sub->user_agent
		                                : ctx->user_agent);
	if (rc == FR_OK && (rc = build_page(sub, ctx, page, url)) == FR_OK &&
	    json_object_object_length(page) > 0)
		rc = put_ref(context, "page", page);
	if (rc == FR_OK)
		rc = build_campaign(sub, *url, context);
	if (rc == FR_OK &&
	    (rc = put_string(lib, "name", "formrelay")) == FR_OK &&
	    (rc = put_string(lib, "version", PACKAGE_VERSION)) == FR_OK)
		rc = put_ref(context, "library", lib);
	json_object_put(page);
	json_object_put(lib);
	if (rc != FR_OK) {
		json_object_put(context);
		return NULL;
	}
	return context;
}

/* Serialise call into ev, enforcing Customer.io's 32 KB an event. */
static int
serialise(struct json_object *call, const char *type, struct built_event *ev,
          struct fr_error *err)
{
	size_t len;
	const char *text =
	        json_object_to_json_string_length(call, JSON_FLAGS, &len);

	if (text == NULL)
		return fr_fail(err, FR_ENOMEM, "out_of_memory", "",
		               "out of memory");
	if (len > PAYLOAD_MAX_EVENT)
		return fr_fail(err, FR_ETOOLARGE, "too_large", "",
		               "%s event is %zu bytes; Customer.io accepts at "
		               "most %d",
		               type, len, PAYLOAD_MAX_EVENT);
	if ((ev->json = xstrndup(text, len)) == NULL)
		return fr_fail(err, FR_ENOMEM, "out_of_memory", "",
		               "out of memory");
	ev->len = len;
	strlcopy(ev->type, type, sizeof(ev->type));
	return FR_OK;
}

/* The members every call has: type, userId, messageId, timestamp. */
static struct json_object *
new_call(const char *type, const struct submission *sub, struct built_event *ev,
         const char *timestamp, struct json_object *context)
{
	struct json_object *call = json_object_new_object();

	if (call == NULL || uuid_v4(ev->message_id) < 0 ||
	    put_string(call, "type", type) ||
	    put_string(call, "userId", sub->user_id) ||
	    put_string(call, "messageId", ev->message_id) ||
	    put_string(call, "timestamp", timestamp) ||
	    put_ref(call, "context", context)) {
		json_object_put(call);
		return NULL;
	}
	return call;
}

/* Track properties: the submission's, plus page_url when known. */
static int
track_properties(const struct submission *sub, const char *url,
                 struct json_object *call)
{
	struct json_object *props = NULL;
	int rc = FR_OK;

	if (sub->properties != NULL &&
	    json_object_deep_copy(sub->properties, &props, NULL) != 0)
		return FR_ENOMEM;
	if (props == NULL && (props = json_object_new_object()) == NULL)
		return FR_ENOMEM;
	if (url != NULL && *url != '\0' &&
	    !json_object_object_get_ex(props, "page_url", NULL))
		rc = put_string(props, "page_url", url);
	if (rc == FR_OK)
		rc = put_ref(call, "properties", props);
	json_object_put(props);
	return rc;
}

static int
build_calls(const struct submission *sub, struct json_object *context,
            const char *url, const char *timestamp, struct built_event out[2],
            struct fr_error *err)
{
	struct json_object *call;
	int rc;

	call = new_call("identify", sub, &out[0], timestamp, context);
	if (call == NULL || put_ref(call, "traits", sub->traits)) {
		json_object_put(call);
		return FR_ENOMEM;
	}
	rc = serialise(call, "identify", &out[0], err);
	json_object_put(call);
	if (rc != FR_OK || sub->event == NULL)
		return rc;
	call = new_call("track", sub, &out[1], timestamp, context);
	if (call == NULL || put_string(call, "event", sub->event) ||
	    track_properties(sub, url, call)) {
		json_object_put(call);
		return FR_ENOMEM;
	}
	rc = serialise(call, "track", &out[1], err);
	json_object_put(call);
	return rc;
}

int
payload_build(const struct submission *sub, const struct request_context *ctx,
              int64_t received_ms, struct built_event out[2], size_t *count,
              struct fr_error *err)
{
	static const struct request_context none = {NULL, NULL, NULL};
	struct json_object *context;
	char timestamp[40];
	const char *url = NULL;
	int rc;

	memset(out, 0, 2 * sizeof(*out));
	*count = 0;
	if (sub->user_id == NULL || sub->traits == NULL)
		return fr_fail(err, FR_EINTERNAL, "internal_error", "",
		               "no userId or traits to send");
	if (rfc3339_ms(received_ms, timestamp, sizeof(timestamp)) < 0)
		return fr_fail(err, FR_EINTERNAL, "internal_error", "",
		               "cannot format the receipt time");
	if ((context = build_context(sub, ctx ? ctx : &none, &url)) == NULL)
		return fr_fail(err, FR_ENOMEM, "out_of_memory", "",
		               "out of memory");
	rc = build_calls(sub, context, url, timestamp, out, err);
	json_object_put(context);
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
