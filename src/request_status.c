/*
 * GET …/healthz and …/metrics (request_status.h).
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ingest.h"
#include "metrics.h"
#include "netaddr.h"
#include "preflight.h"
#include "request_status.h"
#include "util.h"

static void
health_add_state(struct app *app, struct json_object *o, const char *key,
                 const char *name)
{
	char buf[256];

	if (ingest_state_get(app->ingest, key, buf, sizeof(buf)) == FR_OK &&
	    buf[0] != '\0')
		json_object_object_add(o, name, json_object_new_string(buf));
}

/* Delivery has no key (dry_run = no): pause_reason says so. */
static int
health_no_key(struct app *app, struct json_object *o)
{
	char buf[32];

	if (ingest_state_get(app->ingest, PREFLIGHT_STATE_NO_KEY, buf,
	                     sizeof(buf)) != FR_OK ||
	    buf[0] == '\0')
		return 0;
	json_object_object_add(o, "pause_reason",
	                       json_object_new_string(PREFLIGHT_NO_KEY_REASON));
	return 1;
}

/* Paused when a 401/403 set paused_until in the future. */
static int
health_paused(struct app *app, int64_t now)
{
	char buf[32];

	if (ingest_state_get(app->ingest, "paused_until", buf, sizeof(buf)) !=
	    FR_OK)
		return 0;
	return buf[0] != '\0' && strtoll(buf, NULL, 10) > now;
}

static struct json_object *
health_spool(const struct spool_stats *st, int64_t now)
{
	struct json_object *s = json_object_new_object();

	json_object_object_add(s, "pending",
	                       json_object_new_int64(st->pending));
	json_object_object_add(s, "inflight",
	                       json_object_new_int64(st->inflight));
	json_object_object_add(s, "dead", json_object_new_int64(st->dead));
	json_object_object_add(s, "previewed",
	                       json_object_new_int64(st->previewed));
	json_object_object_add(
	        s, "oldest_pending_age_s",
	        json_object_new_int64(st->oldest_pending_ms > 0
	                                      ? (now - st->oldest_pending_ms) /
	                                                1000
	                                      : 0));
	return s;
}

/* GET …/healthz: 200 while the spool answers, 503 when it does not. */
int
request_serve_health(struct app *app, struct reply *reply)
{
	struct spool_stats st;
	struct json_object *o = json_object_new_object();
	int64_t now = now_ms();
	int ok = ingest_stats(app->ingest, now, &st) == FR_OK, paused = 0;
	int no_key = 0;
	const char *s;
	int rc;

	if (ok) {
		paused = health_paused(app, now);
		json_object_object_add(o, "spool", health_spool(&st, now));
		health_add_state(app, o, "last_success_ms", "last_success_ms");
		health_add_state(app, o, "last_error", "last_error");
		health_add_state(app, o, "pause_reason", "pause_reason");
		no_key = health_no_key(app, o);
	}
	json_object_object_add(o, "status",
	                       json_object_new_string(!ok ? "error"
	                                              : paused || no_key
	                                                      ? "paused"
	                                                      : "ok"));
	json_object_object_add(o, "paused",
	                       json_object_new_boolean(paused || no_key));
	json_object_object_add(o, "paused_for_auth",
	                       json_object_new_boolean(paused));
	json_object_object_add(o, "dry_run",
	                       json_object_new_boolean(app->cfg->dry_run));
	json_object_object_add(
	        o, "mode",
	        json_object_new_string(app->cfg->dry_run
	                                       ? "dry run: nothing is sent"
	                                       : "live"));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	rc = reply_body(reply, ok ? 200 : 503, "application/json", s,
	                strlen(s));
	json_object_put(o);
	return rc;
}

/* GET …/metrics: to the clients metrics_allow names, unless public. */
int
request_serve_metrics(struct app *app, struct reply *reply, const char *client,
                      const char *xff, struct fr_error *err)
{
	const struct config *cfg = app->cfg;
	struct spool_stats st;
	char buf[8192];
	int64_t now = now_ms();
	int have = ingest_stats(app->ingest, now, &st) == FR_OK;
	long len;

	if (!cfg->metrics_public &&
	    !addr_chain_in_list(client, xff, &cfg->metrics_allow)) {
		fr_fail(err, FR_EFORBIDDEN, "forbidden", NULL,
		        "metrics are served only to the addresses in "
		        "http.metrics_allow");
		return reply_error(reply, err, 0);
	}
	len = metrics_render(buf, sizeof(buf), have ? &st : NULL, now);
	if (len < 0)
		return reply_body(reply, 500, "text/plain", "", 0);
	return reply_body(reply, 200, "text/plain; version=0.0.4", buf,
	                  (size_t)len);
}
