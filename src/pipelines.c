/*
 * Pipelines calls from browsers (pipelines.h).  The shapes are
 * Customer.io's (docs.customer.io/integrations/api/cdp/: identify with
 * traits, track with event and properties, page with name and
 * properties; userId or anonymousId; messageId, timestamp, context;
 * /v1/batch {"batch": [calls]}, 32 KB a call, 500 KB a batch) and its
 * browser SDK's (@customerio/cdp-analytics-browser 0.5: the integration
 * posts each call to <apiHost>/<first letter of its type> as text/plain,
 * with writeKey, sentAt, integrations and _metadata members, or batches
 * them to <apiHost>/b as {"batch": [...], "writeKey": ...}).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "normalise.h"
#include "pipelines.h"
#include "util.h"

/* A route and the path names that lead to it. */
static const struct {
	const char *path;
	enum pipelines_route route;
} routes[] = {
        {"v1/identify", PIPELINES_IDENTIFY}, {"v1/i", PIPELINES_IDENTIFY},
        {"v1/track", PIPELINES_TRACK},       {"v1/t", PIPELINES_TRACK},
        {"v1/page", PIPELINES_PAGE},         {"v1/p", PIPELINES_PAGE},
        {"v1/batch", PIPELINES_BATCH},       {"v1/b", PIPELINES_BATCH},
        {"v1/group", PIPELINES_OTHER},       {"v1/g", PIPELINES_OTHER},
        {"v1/alias", PIPELINES_OTHER},       {"v1/a", PIPELINES_OTHER},
        {"v1/screen", PIPELINES_OTHER},      {"v1/s", PIPELINES_OTHER},
};

/* The call types a body may name; only the first three are forwarded. */
static const char *const call_types[] = {"identify", "track", "page",
                                         "group",    "alias", "screen"};
#define FORWARDED_TYPES 3

/* The members that make an object with a "type" a call. */
static const char *const call_members[] = {"userId",   "anonymousId", "traits",
                                           "event",    "properties",  "context",
                                           "messageId"};

/* Page properties the SDK fills from the page (Segment's page spec):
 * kept as they are, never aliased ("url" is no website, "name" no
 * person's name). */
static const char *const page_properties[] = {"name",     "url",      "title",
                                              "path",     "referrer", "search",
                                              "keywords", "category"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int
in_list(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

enum pipelines_route
pipelines_route_of(const char *uri)
{
	size_t len, n, i;
	const char *q;

	if (uri == NULL)
		return PIPELINES_MOUNT;
	q = strchr(uri, '?');
	len = q ? (size_t)(q - uri) : strlen(uri);
	for (i = 0; i < COUNT(routes); i++) {
		n = strlen(routes[i].path);
		if (len > n && uri[len - n - 1] == '/' &&
		    strncmp(uri + len - n, routes[i].path, n) == 0)
			return routes[i].route;
	}
	return PIPELINES_MOUNT;
}

static const char *
member_string(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *
member_of_type(struct json_object *o, const char *key, json_type type)
{
	struct json_object *v;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

static int
looks_like_call(struct json_object *o)
{
	const char *type = member_string(o, "type");
	size_t i;

	if (type == NULL || !in_list(type, call_types, COUNT(call_types)))
		return 0;
	for (i = 0; i < COUNT(call_members); i++)
		if (json_object_object_get_ex(o, call_members[i], NULL))
			return 1;
	return 0;
}

static int
looks_like_batch(struct json_object *o)
{
	struct json_object *batch = member_of_type(o, "batch", json_type_array);
	size_t i, n;

	if (batch == NULL || (n = json_object_array_length(batch)) == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (member_string(json_object_array_get_idx(batch, i),
		                  "type") == NULL)
			return 0;
	return 1;
}

int
pipelines_wanted(struct json_object *root, enum pipelines_route route)
{
	if (route != PIPELINES_MOUNT)
		return 1;
	if (!json_object_is_type(root, json_type_object))
		return 0;
	return looks_like_call(root) || looks_like_batch(root);
}

/* ---- values ---------------------------------------------------------- */

static int
well_formed_id(const char *s)
{
	size_t len = strspn(s, "abcdefghijklmnopqrstuvwxyz"
	                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-");

	return len > 0 && len < MESSAGE_ID_SIZE && s[len] == '\0';
}

/* An id member (userId, anonymousId): a string, trimmed, or an integer,
 * into buf; *id is NULL when absent, null or empty.  FR_OK, or
 * FR_EMALFORMED when it is of another type or too long for buf. */
static int
id_member(struct json_object *call, const char *key, char *buf, size_t size,
          const char **id, struct fr_error *err)
{
	struct json_object *v;
	const char *s;
	size_t len;

	*id = NULL;
	if (!json_object_object_get_ex(call, key, &v) || v == NULL)
		return FR_OK;
	if (json_object_is_type(v, json_type_int)) {
		snprintf(buf, size, "%lld",
		         (long long)json_object_get_int64(v));
		*id = buf;
		return FR_OK;
	}
	if (!json_object_is_type(v, json_type_string))
		return fr_fail(err, FR_EMALFORMED, "malformed", key,
		               "%s is a string", key);
	s = json_object_get_string(v);
	s += strspn(s, " \t\r\n");
	len = strlen(s);
	while (len > 0 && strchr(" \t\r\n", s[len - 1]) != NULL)
		len--;
	if (len >= size)
		return fr_fail(err, FR_EMALFORMED, "malformed", key,
		               "%s is longer than %zu bytes", key, size - 1);
	memcpy(buf, s, len);
	buf[len] = '\0';
	*id = len > 0 ? buf : NULL;
	return FR_OK;
}

/* ---- one call ---------------------------------------------------------- */

struct pl {
	const struct config *cfg;
	const struct request_context *ctx;
	int64_t received_ms;
	struct fr_error *err;
	struct pipelines_out *out;
	struct json_object *batch_context; /* a batch's own context */
};

/* What one call is made of while it is built (everything owned). */
struct pl_call {
	struct submission sub;     /* traits or properties, normalised */
	struct json_object *page;  /* context.page */
	struct json_object *extra; /* locale, timezone, channel */
	struct json_object *campaign;
	char *user_id;
};

static void
pl_call_free(struct pl_call *c)
{
	submission_free(&c->sub);
	json_object_put(c->page);
	json_object_put(c->extra);
	json_object_put(c->campaign);
	free(c->user_id);
	memset(c, 0, sizeof(*c));
}

/* (*obj)[key] = a reference to v, *obj made on demand. */
static int
put_ref(struct json_object **obj, const char *key, struct json_object *v)
{
	if (*obj == NULL && (*obj = json_object_new_object()) == NULL)
		return FR_ENOMEM;
	if (json_object_object_add(*obj, key, json_object_get(v))) {
		json_object_put(v);
		return FR_ENOMEM;
	}
	return FR_OK;
}

/* The string members of src named in keys, into *dst (made on demand);
 * those *dst already has are kept. */
static int
copy_strings(struct json_object *src, const char *const *keys, size_t n,
             struct json_object **dst)
{
	struct json_object *v;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!json_object_object_get_ex(src, keys[i], &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) == 0 ||
		    json_object_get_string_len(v) > NORMALISE_MAX_STRING ||
		    (*dst != NULL &&
		     json_object_object_get_ex(*dst, keys[i], NULL)))
			continue;
		if (put_ref(dst, keys[i], v) != FR_OK)
			return FR_ENOMEM;
	}
	return FR_OK;
}

/*
 * From context keep what describes the page and the browser (SPEC):
 * page, userAgent, locale, timezone, campaign, channel.  Never ip (the
 * client's address is the request's), library, integrations, traits or
 * anything else.
 */
static int
take_context(struct pl_call *c, struct json_object *context)
{
	static const char *const page_keys[] = {"url", "title", "referrer",
	                                        "path", "search"};
	static const char *const extra_keys[] = {"locale", "timezone",
	                                         "channel"};
	static const char *const campaign_keys[] = {"name", "source", "medium",
	                                            "term", "content"};
	struct json_object *page, *campaign;

	if (!json_object_is_type(context, json_type_object))
		return FR_OK;
	page = member_of_type(context, "page", json_type_object);
	campaign = member_of_type(context, "campaign", json_type_object);
	if ((page != NULL &&
	     copy_strings(page, page_keys, COUNT(page_keys), &c->page)) ||
	    copy_strings(context, extra_keys, COUNT(extra_keys), &c->extra) ||
	    (campaign != NULL &&
	     copy_strings(campaign, campaign_keys, COUNT(campaign_keys),
	                  &c->campaign)))
		return FR_ENOMEM;
	return FR_OK;
}

/* The members of obj (except skip[]) as fields for the normaliser. */
static int
members_as_fields(struct json_object *obj, const char *const *skip,
                  size_t nskip, struct fields *f)
{
	json_object_object_foreach(obj, key, val)
	{
		if (val == NULL || in_list(key, skip, nskip))
			continue;
		if (fields_add(f, key, strlen(key), json_object_get(val), 0) !=
		    FR_OK)
			return FR_ENOMEM;
	}
	return FR_OK;
}

/* Normalise obj (traits or properties; NULL is empty) into c->sub, with
 * a page call's own properties added back as they are. */
static int
normalise_object(struct pl *p, struct pl_call *c, struct json_object *obj,
                 int is_page)
{
	struct fields f;
	struct json_object *kept = NULL;
	size_t nskip = is_page ? COUNT(page_properties) : 0;
	int rc = FR_OK;

	fields_init(&f);
	if (json_object_is_type(obj, json_type_object))
		rc = members_as_fields(obj, page_properties, nskip, &f);
	if (rc == FR_OK)
		rc = normalise_members(&f, p->cfg, &c->sub, p->err);
	fields_free(&f);
	if (rc != FR_OK || c->sub.honeypot || !is_page || obj == NULL)
		return rc;
	if (copy_strings(obj, page_properties, nskip, &kept) != FR_OK)
		return FR_ENOMEM;
	if (kept != NULL) {
		json_object_object_foreach(kept, key, val)
		{
			if (put_ref(&c->sub.traits, key, val) != FR_OK) {
				json_object_put(kept);
				return FR_ENOMEM;
			}
		}
	}
	json_object_put(kept);
	return FR_OK;
}

/* Page data found among the traits or properties (page_url, referrer)
 * fills what the body's context.page left out; likewise utm_* for the
 * campaign. */
static int
merge_found_context(struct pl_call *c)
{
	static const char *const page_keys[] = {"url", "title", "referrer",
	                                        "path", "search"};
	static const char *const campaign_keys[] = {"name", "source", "medium",
	                                            "term", "content"};

	if (c->sub.page != NULL &&
	    copy_strings(c->sub.page, page_keys, COUNT(page_keys), &c->page))
		return FR_ENOMEM;
	if (c->campaign == NULL && c->sub.campaign != NULL &&
	    copy_strings(c->sub.campaign, campaign_keys, COUNT(campaign_keys),
	                 &c->campaign))
		return FR_ENOMEM;
	return FR_OK;
}

static int
malformed(struct pl *p, const char *code, const char *what)
{
	return fr_fail(p->err, FR_EMALFORMED, code, "", "%s", what);
}

/* The call's type: the body's wins over the route's (the recipe posts
 * an identify to /v1/track). */
static int
call_type(struct pl *p, struct json_object *call, enum pipelines_route route,
          const char **type)
{
	static const char *const by_route[] = {NULL,   "identify", "track",
	                                       "page", NULL,       NULL};
	struct json_object *v;
	size_t i;

	*type = by_route[route];
	if (json_object_object_get_ex(call, "type", &v)) {
		if (!json_object_is_type(v, json_type_string))
			return malformed(p, "malformed",
			                 "a call's type is a string");
		*type = json_object_get_string(v);
	}
	if (*type == NULL)
		return route == PIPELINES_OTHER
		               ? fr_fail(p->err, FR_EMALFORMED,
		                         "unsupported_type", "type",
		                         "only identify, track and page calls "
		                         "are forwarded")
		               : malformed(p, "malformed",
		                           "a call needs a type (identify, "
		                           "track or page)");
	for (i = 0; i < FORWARDED_TYPES; i++)
		if (strcmp(*type, call_types[i]) == 0) {
			*type = call_types[i];
			return FR_OK;
		}
	return fr_fail(p->err, FR_EMALFORMED, "unsupported_type", "type",
	               "%.40s calls are not forwarded: formrelay takes "
	               "identify, track and page",
	               *type);
}

/* The client's timestamp when within a day of receipt, else receipt. */
static int64_t
call_time(struct pl *p, struct json_object *call)
{
	const char *s = member_string(call, "timestamp");
	int64_t ms;

	if (rfc3339_parse(s, &ms) < 0 ||
	    ms < p->received_ms - PIPELINES_MAX_SKEW_MS ||
	    ms > p->received_ms + PIPELINES_MAX_SKEW_MS)
		return p->received_ms;
	return ms;
}

/* The members particular to the type: traits and the userId of an
 * identify, the event of a track, the name of a page. */
static int
call_body(struct pl *p, struct json_object *call, struct pl_call *c,
          struct payload_call *pc)
{
	struct json_object *obj;
	int rc;

	obj = member_of_type(call, pc->type[0] == 'i' ? "traits" : "properties",
	                     json_type_object);
	if ((rc = normalise_object(p, c, obj, pc->type[0] == 'p')) != FR_OK ||
	    c->sub.honeypot)
		return rc;
	if (pc->type[0] == 'i') {
		pc->traits = c->sub.traits;
		if (pc->user_id == NULL) {
			rc = normalise_user_id(c->sub.traits, p->cfg,
			                       &c->user_id, p->err);
			pc->user_id = c->user_id;
		}
		return rc;
	}
	pc->properties = c->sub.traits;
	if (pc->type[0] == 't' &&
	    ((pc->event = member_string(call, "event")) == NULL ||
	     *pc->event == '\0'))
		return malformed(p, "missing_event",
		                 "a track call needs an event name");
	if (pc->type[0] == 'p')
		pc->name = member_string(call, "name");
	if (pc->user_id == NULL && pc->anonymous_id == NULL)
		return fr_fail(p->err, FR_EINVALID, "missing_id", "userId",
		               "a %s call needs a userId or an anonymousId",
		               pc->type);
	return FR_OK;
}

static void
note_write_key(struct pl *p, struct json_object *o)
{
	const char *key = member_string(o, "writeKey");

	if (key != NULL && pipelines_secret_like(key))
		p->out->secret_in_body = 1;
}

static void
note_email(struct pl *p, struct json_object *traits)
{
	const char *email = member_string(traits, "email");

	if (email != NULL && p->out->email[0] == '\0')
		strlcopy(p->out->email, email, sizeof(p->out->email));
}

static int
build_one(struct pl *p, struct json_object *call, enum pipelines_route route,
          struct built_event *ev)
{
	char uid[PIPELINES_MAX_ID + 1], aid[PIPELINES_MAX_ID + 1];
	struct payload_call pc;
	struct pl_call c;
	struct json_object *context;
	const char *id;
	int rc;

	memset(&pc, 0, sizeof(pc));
	memset(&c, 0, sizeof(c));
	if (!json_object_is_type(call, json_type_object))
		return malformed(p, "malformed", "a call is a JSON object");
	if ((rc = call_type(p, call, route, &pc.type)) != FR_OK ||
	    (rc = id_member(call, "userId", uid, sizeof(uid), &pc.user_id,
	                    p->err)) != FR_OK ||
	    (rc = id_member(call, "anonymousId", aid, sizeof(aid),
	                    &pc.anonymous_id, p->err)) != FR_OK)
		return rc;
	note_write_key(p, call);
	id = member_string(call, "messageId");
	pc.message_id = id != NULL && well_formed_id(id) ? id : NULL;
	pc.timestamp_ms = call_time(p, call);
	if (!json_object_object_get_ex(call, "context", &context))
		context = p->batch_context;
	if ((rc = take_context(&c, context)) == FR_OK &&
	    (rc = call_body(p, call, &c, &pc)) == FR_OK && !c.sub.honeypot &&
	    (rc = merge_found_context(&c)) == FR_OK) {
		pc.page = c.page;
		pc.campaign = c.campaign;
		pc.context_extra = c.extra;
		pc.user_agent = member_string(context, "userAgent");
		note_email(p, c.sub.traits);
		rc = payload_build_call(&pc, p->ctx, ev, p->err);
	}
	if (rc == FR_OK && c.sub.honeypot)
		p->out->honeypot = 1;
	pl_call_free(&c);
	if (rc == FR_ENOMEM)
		fr_fail(p->err, FR_ENOMEM, "out_of_memory", "",
		        "out of memory");
	return rc;
}

/* ---- the body --------------------------------------------------------- */

/* The calls of the body and the route to read each with. */
static int
calls_of(struct pl *p, struct json_object *root, enum pipelines_route route,
         struct json_object **batch)
{
	*batch = NULL;
	if (!json_object_is_type(root, json_type_object))
		return malformed(p, "malformed",
		                 "a Pipelines call is a JSON object");
	note_write_key(p, root);
	if (route == PIPELINES_BATCH ||
	    (route == PIPELINES_MOUNT && looks_like_batch(root))) {
		*batch = member_of_type(root, "batch", json_type_array);
		if (*batch == NULL)
			return malformed(p, "malformed",
			                 "a batch is {\"batch\": [calls]}");
		if (json_object_array_length(*batch) == 0)
			return fr_fail(p->err, FR_EINVALID, "nothing_to_send",
			               "", "the batch has no calls");
		p->batch_context =
		        member_of_type(root, "context", json_type_object);
	}
	return FR_OK;
}

int
pipelines_build(struct json_object *root, enum pipelines_route route,
                const struct config *cfg, const struct request_context *ctx,
                int64_t received_ms, struct pipelines_out *out,
                struct fr_error *err)
{
	struct pl p = {cfg, ctx, received_ms, err, out, NULL};
	struct json_object *batch;
	size_t n, i;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = calls_of(&p, root, route, &batch)) != FR_OK)
		return rc;
	n = batch ? json_object_array_length(batch) : 1;
	if ((out->ev = calloc(n, sizeof(*out->ev))) == NULL)
		return fr_fail(err, FR_ENOMEM, "out_of_memory", "",
		               "out of memory");
	for (i = 0; rc == FR_OK && i < n && !out->honeypot; i++) {
		rc = build_one(
		        &p, batch ? json_object_array_get_idx(batch, i) : root,
		        batch ? PIPELINES_MOUNT : route, &out->ev[i]);
		out->n = i + (rc == FR_OK && !out->honeypot);
	}
	if (rc != FR_OK || out->honeypot) {
		built_events_free(out->ev, out->n);
		free(out->ev);
		out->ev = NULL;
		out->n = 0;
	}
	return rc;
}

void
pipelines_out_free(struct pipelines_out *out)
{
	if (out == NULL)
		return;
	built_events_free(out->ev, out->n);
	free(out->ev);
	memset(out, 0, sizeof(*out));
}

/* ---- secrets ---------------------------------------------------------- */

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* True when s contains word (lower-case), ignoring ASCII case. */
static int
contains_nocase(const char *s, const char *word)
{
	size_t i;

	for (; *s != '\0'; s++) {
		for (i = 0; word[i] != '\0' && lower(s[i]) == word[i]; i++)
			;
		if (word[i] == '\0')
			return 1;
	}
	return 0;
}

/*
 * A template placeholder has braces, angle brackets, "$" or "%"
 * markers, or says what it stands for (YOUR_..., api_key); a key is one
 * long token of letters, digits and "+/=_-:." with a digit in it, bare
 * or after "Basic " or "Bearer ".
 */
int
pipelines_secret_like(const char *v)
{
	size_t len;

	if (v == NULL)
		return 0;
	v += strspn(v, " \t");
	if (strncmp(v, "Basic ", 6) == 0 || strncmp(v, "Bearer ", 7) == 0)
		v = strchr(v, ' ') + 1;
	if (strpbrk(v, "{}<>$%") != NULL || contains_nocase(v, "your") ||
	    contains_nocase(v, "api_key") || contains_nocase(v, "apikey") ||
	    contains_nocase(v, "placeholder"))
		return 0;
	len = strspn(v, "abcdefghijklmnopqrstuvwxyz"
	                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=_-:.");
	v += len;
	v += strspn(v, " \t");
	return len >= 16 && *v == '\0' && strpbrk(v - len, "0123456789");
}
