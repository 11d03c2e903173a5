/*
 * Admission, before a body is parsed (request_int.h): the Origin, the
 * body's size, the webhook proof, the rate budget.
 */
#include <stdlib.h>
#include <string.h>

#include "hooks.h"
#include "log.h"
#include "payload.h"
#include "policy.h"
#include "ratelimit.h"
#include "request_int.h"
#include "util.h"

const char *
request_env(const struct request *rq, const char *name)
{
	const char *v = rq->io->getenv(rq->io->ctx, name);

	return (v != NULL && *v != '\0') ? v : NULL;
}

int
request_fail(struct request *rq, int status, const char *code,
             const char *message)
{
	return fr_fail(&rq->err, status, code, NULL, "%s", message);
}

/* Browsers send Origin on cross-site POSTs; servers send none. */
int
request_check_origin(struct request *rq)
{
	const struct config_list *allowed = &rq->app->cfg->allowed_origins;
	const char *origin = request_env(rq, "HTTP_ORIGIN");

	if (origin == NULL || allowed->count == 0)
		return FR_OK;
	if (!origin_allowed(origin, allowed))
		return fr_fail(&rq->err, FR_EFORBIDDEN, "origin_not_allowed",
		               NULL, "origin %s is not allowed to post here",
		               origin);
	rq->reply.cors_origin = origin;
	return FR_OK;
}

/* Check CONTENT_LENGTH before reading (kcgi's gap), then read with a
 * ceiling in case the length was absent or wrong. */
int
request_read_body(struct request *rq)
{
	size_t max = rq->app->cfg->max_body, cap;
	const char *cl = request_env(rq, "CONTENT_LENGTH");
	unsigned long long want = cl ? strtoull(cl, NULL, 10) : 0;
	long n;

	/* Customer.io takes 500 KB a batch (SPEC "Pipelines-shaped calls") */
	if (rq->route == PIPELINES_BATCH && max < PAYLOAD_MAX_BATCH)
		max = PAYLOAD_MAX_BATCH;

	if (want > max)
		return fr_fail(&rq->err, FR_ETOOLARGE, "body_too_large", NULL,
		               "body of %llu bytes is over the %zu-byte limit",
		               want, max);
	cap = (cl ? (size_t)want : max) + 1;
	if ((rq->body = malloc(cap + 1)) == NULL)
		return request_fail(rq, FR_ENOMEM, NULL, "out of memory");
	while (rq->body_len < cap) {
		n = rq->io->read(rq->io->ctx, rq->body + rq->body_len,
		                 cap - rq->body_len);
		if (n < 0)
			return request_fail(
			        rq, FR_EMALFORMED, "read_error",
			        "the request body could not be read");
		if (n == 0)
			break;
		rq->body_len += (size_t)n;
	}
	rq->body[rq->body_len] = '\0';
	if (rq->body_len > max)
		return fr_fail(&rq->err, FR_ETOOLARGE, "body_too_large", NULL,
		               "body is over the %zu-byte limit", max);
	/* A client that went away mid-body must not be half-stored. */
	if (cl != NULL && rq->body_len != (size_t)want)
		return fr_fail(&rq->err, FR_EMALFORMED, "body_truncated", NULL,
		               "body has %zu of the %llu bytes announced",
		               rq->body_len, want);
	return FR_OK;
}

/* webhook_headers_get wants (name, ctx); the io getter is (ctx, name). */
static const char *
webhook_getenv(const char *name, void *ctx)
{
	return request_env(ctx, name);
}

/* The query string: QUERY_STRING (RFC 3875, 4.1.7), else the URI's. */
static const char *
req_query(const struct request *rq)
{
	const char *q = request_env(rq, "QUERY_STRING");

	if (q == NULL && rq->uri != NULL && (q = strchr(rq->uri, '?')))
		q++;
	return q;
}

/* On a hooks route the source's own proof is always required. */
int
request_check_signature(struct request *rq, struct webhook_headers *h)
{
	const char *secret = rq->app->cfg->webhook_secret;

	webhook_headers_get(h, webhook_getenv, rq);
	if (rq->hook != NULL) {
		if (hooks_verify(rq->hook, webhook_getenv, rq, req_query(rq),
		                 rq->body, rq->body_len, now_ms(), &rq->proof,
		                 &rq->err) != FR_OK)
			return rq->err.status;
		rq->server_sent = 1;
		return FR_OK;
	}
	if (secret == NULL || !webhook_present(h))
		return FR_OK;
	if (webhook_verify(secret, h, rq->body, rq->body_len, now_ms(),
	                   &rq->err) != FR_OK)
		return rq->err.status;
	rq->verified_webhook = 1;
	rq->server_sent = 1;
	return FR_OK;
}

/*
 * Once parsed: with [http] webhook_secret_file set, the main route takes
 * a platform's envelope only signed (a forger strips the headers;
 * browsers post plain fields, still accepted).  Platforms post from
 * their servers, whose address is not the visitor's.
 */
int
request_check_envelope(struct request *rq, const struct fields *f)
{
	if (hooks_server_source(f->source))
		rq->server_sent = 1;
	if (rq->hook != NULL || rq->verified_webhook ||
	    rq->app->cfg->webhook_secret == NULL ||
	    !hooks_envelope_source(f->source))
		return FR_OK;
	return fr_fail(&rq->err, FR_EFORBIDDEN, "missing_signature", NULL,
	               "webhook_secret_file is set: a webhook body needs "
	               "webhook-id, webhook-timestamp and webhook-signature "
	               "headers (or a [webhook.NAME] route)");
}

/*
 * A webhook source spends its own budget, not its sender's address';
 * other verified webhooks are exempt.  A limiter that cannot lock its
 * file lets the request through: losing a submission is worse than a
 * missed count.
 */
int
request_check_rate(struct request *rq, int64_t *retry_after_s)
{
	int64_t retry_ms = 0;
	int rc;

	if (rq->app->rl == NULL)
		return FR_OK;
	if (rq->hook != NULL)
		rc = hooks_rate(rq->app->rl, rq->hook, now_ms(), &retry_ms);
	else if (rq->verified_webhook || rq->app->cfg->rate_limit_count == 0)
		return FR_OK;
	else
		rc = ratelimit_check(rq->app->rl, rq->client, now_ms(),
		                     &retry_ms);
	if (rc == FR_OK)
		return FR_OK;
	if (rc != FR_ERATELIMIT) {
		log_msg(LOG_WARN, "rate limiter unavailable (%s): not counted",
		        fr_status_name(rc));
		return FR_OK;
	}
	*retry_after_s = ratelimit_retry_after_s(retry_ms);
	return request_fail(
	        rq, FR_ERATELIMIT, "rate_limited",
	        rq->hook ? "this webhook source is over its rate_limit; "
	                   "retry later"
	                 : "too many submissions from this address; "
	                   "retry later");
}
