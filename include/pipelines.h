/*
 * Customer.io Pipelines calls posted by browsers (SPEC "Pipelines-shaped
 * calls"): the Embeddables recipe's identify, unchanged but for its URL,
 * and Customer.io's own browser SDK (@customerio/cdp-analytics-browser,
 * whose integration posts to <apiHost>/i, /t, /p and, batching, /b).
 * A JSON body shaped as a call is taken as that call, not as form
 * fields: its traits and properties are normalised as form fields are,
 * its context is kept only where it describes the page and the browser,
 * and anything that would steer Customer.io (integrations, a writeKey,
 * context.ip) is dropped.
 */
#ifndef FORMRELAY_PIPELINES_H
#define FORMRELAY_PIPELINES_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "payload.h"

struct json_object;

/* Bytes in a userId or anonymousId. */
#define PIPELINES_MAX_ID 255

/* A client timestamp this far from receipt, either way, is kept. */
#define PIPELINES_MAX_SKEW_MS (24LL * 3600 * 1000)

/* Where a body was posted, relative to the mount. */
enum pipelines_route {
	PIPELINES_MOUNT = 0, /* the mount: a call only when shaped as one */
	PIPELINES_IDENTIFY,  /* /v1/identify, /v1/i */
	PIPELINES_TRACK,     /* /v1/track, /v1/t */
	PIPELINES_PAGE,      /* /v1/page, /v1/p */
	PIPELINES_BATCH,     /* /v1/batch, /v1/b */
	PIPELINES_OTHER      /* /v1/group, /v1/alias, /v1/screen (and g, a,
	                        s): unsupported types */
};

/* The route of a request URI (its query ignored). */
enum pipelines_route pipelines_route_of(const char *uri);

/*
 * True when root, a parsed JSON body (NULL for none), is to be taken as
 * Pipelines calls: always on a /v1/ route; at the mount when it is an
 * object whose "type" names a call type (identify, track, page, group,
 * alias, screen) and which has one of a call's members (userId,
 * anonymousId, traits, event, properties, context, messageId), or is
 * {"batch": [objects with a "type"]}.
 */
int pipelines_wanted(struct json_object *root, enum pipelines_route route);

/* The calls of one body, serialised for the spool. */
struct pipelines_out {
	struct built_event *ev; /* owned array of n */
	size_t n;
	int honeypot;       /* a honeypot was filled: n is 0, answer success */
	int secret_in_body; /* a writeKey that looks like a real key */
	char email[256];    /* the first call's email trait, for the log */
};

/*
 * Build every call of root (one call, or {"batch": [...]}: all or
 * nothing) into out.  ctx->ip becomes context.ip.  A client messageId
 * that is well formed (1 to 100 of A-Z a-z 0-9 . _ : -) is kept and
 * de-duplicated by (built_event.dedup_key); a client timestamp within
 * PIPELINES_MAX_SKEW_MS of received_ms is kept, else received_ms.
 * Returns FR_OK, or with err set: FR_EMALFORMED (400: "malformed",
 * "unsupported_type", "missing_event"), FR_EINVALID (422: "missing_id",
 * "invalid_email", "nothing_to_send"), FR_ETOOLARGE (413: a call over
 * PAYLOAD_MAX_EVENT, a trait too large), FR_ENOMEM.  On error out holds
 * nothing.
 */
int pipelines_build(struct json_object *root, enum pipelines_route route,
                    const struct config *cfg, const struct request_context *ctx,
                    int64_t received_ms, struct pipelines_out *out,
                    struct fr_error *err);

/* Release what out owns and zero it.  NULL is a no-op. */
void pipelines_out_free(struct pipelines_out *out);

/*
 * True when v, an Authorization header or a writeKey a browser sent,
 * looks like a real API key rather than a template placeholder such as
 * the recipe's "{{YOUR_COMPANY_NAME---customerio---api_key}}".
 */
int pipelines_secret_like(const char *v);

#endif
