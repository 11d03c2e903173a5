/*
 * Webhook sources (SPEC "Webhook sources"): the route <mount>/hooks/NAME
 * of each [webhook.NAME] section and the proof it requires.
 *
 *   standard  Standard Webhooks / Svix headers (webhook.h), any secret
 *   typeform, tally, webflow, hmac   one signature header (webhook_sig.h)
 *   jotform, unbounce                nothing signed: ?token=<token>
 *
 * A token_file, when set, is required besides any signature (and is the
 * only proof of the platforms that sign nothing, and of Webflow
 * webhooks made in the site dashboard, which are not signed).
 */
#ifndef FORMRELAY_HOOKS_H
#define FORMRELAY_HOOKS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "fields.h"
#include "webhook.h"

struct ratelimit;

/*
 * When the path of uri (its query ignored) ends in "/hooks/NAME" with
 * a non-empty NAME and no '/' in it: 1, with *name and *len pointing
 * into uri.  Else 0.
 */
int hooks_route(const char *uri, const char **name, size_t *len);

/* What a verified request carries besides its body. */
struct hook_proof {
	/* The delivery's id from its headers (webhook-id, svix-id), or
	 * "" when the scheme has none. */
	char event_id[WEBHOOK_MAX_ID + 1];
};

/*
 * Check the proof h requires: headers through get (CGI names, as
 * webhook_headers_get), the query string of the request's URI (NULL
 * when none) for ?token=.  FR_OK, or FR_EFORBIDDEN with err->code one of
 * missing_signature, missing_header, bad_header, stale_timestamp,
 * bad_signature, missing_token or bad_token, and a message that never
 * holds a secret.
 */
int hooks_verify(const struct config_hook *h, webhook_getter get, void *ctx,
                 const char *query, const char *body, size_t len,
                 int64_t now_ms, struct hook_proof *out, struct fr_error *err);

/*
 * The query's token parameter, percent-decoded, into buf of size bytes:
 * 0, or -1 when there is none or it does not fit.
 */
int hooks_query_token(const char *query, char *buf, size_t size);

/*
 * Count one request against h's own budget (rate_limit), keyed
 * "hook:NAME" in the shared limiter rl; ratelimit_check_budget's
 * returns.
 */
int hooks_rate(struct ratelimit *rl, const struct config_hook *h,
               int64_t now_ms, int64_t *retry_after_ms);

/*
 * The de-duplication key of a verified delivery into key (size bytes):
 * "hook:NAME:" and the delivery's id from its headers, else the event id
 * the platform puts in its body (f->event_id).  0, or -1 when there is
 * no id (or it does not fit): nothing to de-duplicate by.
 */
int hooks_dedup_key(const struct config_hook *h, const struct hook_proof *p,
                    const struct fields *f, char *key, size_t size);

/* 1 when fields of this source come from a platform's servers, whose
 * address and user agent are not the visitor's (Typeform, Tally,
 * Webflow's v2 webhook, Unbounce, Jotform).  Embeddables and
 * HubSpot-style bodies may be posted by a browser itself: 0. */
int hooks_server_source(enum fields_source src);

/* 1 when the body had a webhook platform's envelope (any source but a
 * plain form or flat JSON). */
int hooks_envelope_source(enum fields_source src);

/* uri with a ?token= (or &token=) value masked, for log lines: uri
 * itself, or buf.  */
const char *hooks_log_uri(const char *uri, char *buf, size_t size);

#endif
