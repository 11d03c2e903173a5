/*
 * The status pages under the mount, apart from submissions: GET
 * …/healthz (spool and delivery state) and …/metrics (Prometheus text).
 * Internal to request.c.
 */
#ifndef FORMRELAY_REQUEST_STATUS_H
#define FORMRELAY_REQUEST_STATUS_H

#include "error.h"
#include "reply.h"
#include "request.h"

/* 200 while the spool answers, 503 when it does not; reply's return. */
int request_serve_health(struct app *app, struct reply *reply);

/* Only to the clients metrics_allow lists (client: the address found
 * after trusted_proxies; every hop of xff, which may be NULL, must be
 * listed too) unless metrics_public; else 403 with err set.  reply's
 * return. */
int request_serve_metrics(struct app *app, struct reply *reply,
                          const char *client, const char *xff,
                          struct fr_error *err);

#endif
