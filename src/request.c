/*
 * The request pipeline.  A submission goes origin check -> body read ->
 * webhook signature -> rate limit -> parse -> unwrap -> normalise ->
 * redirect check -> payload -> spool, and is answered 2xx only after the
 * spool said the events are on disk (SPEC, "Guarantees").  The checks
 * before parsing are in request_admit.c, the status pages in
 * request_status.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hooks.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "netaddr.h"
#include "normalise.h"
#include "payload.h"
#include "pipelines.h"
#include "policy.h"
#include "ratelimit.h"
#include "spam.h"
#include "request.h"
#include "request_int.h"
#include "request_status.h"
#include "spool.h"
#include "unwrap.h"
#include "util.h"
#include "webhook.h"

/*
 * A submission whose reply waits for the spool writer (FastCGI): the
 * request's state moves here, and the writer thread answers once the
 * commit has ended (stored_reply), so that no acceptor thread sleeps on
 * a commit.  The request's CGI variables stay valid until io->finish.
 */
struct deferred {
	struct request rq;      /* its body stays with request_handle */
	struct built_event *ev; /* n of them, after the struct */
	struct spool_event *sev;
	size_t n;
	char *redirect;                 /* owned, or NULL */
	char *dedup;                    /* owned de-duplication key, or NULL */
	char original[MESSAGE_ID_SIZE]; /* a duplicate's first messageId */
};

/* True when the request path (query stripped) ends in "/" name. */
static int
path_is(const char *uri, const char *name)
{
	size_t n = strlen(name), len;
	const char *q;

	if (uri == NULL)
		return 0;
	q = strchr(uri, '?');
	len = q ? (size_t)(q - uri) : strlen(uri);
	return len > n && uri[len - n - 1] == '/' &&
	       strncmp(uri + len - n, name, n) == 0;
}

/* JSON replies for JSON clients and JSON bodies (SPEC, "Replies"). */
static enum reply_format
choose_format(const struct request *rq)
{
	const char *accept = request_env(rq, "HTTP_ACCEPT");

	if (accept != NULL && strstr(accept, "application/json") != NULL)
		return REPLY_JSON;
	if (content_type_is(rq->content_type, "application/json") ||
	    content_type_is(rq->content_type, "text/plain"))
		return REPLY_JSON;
	return REPLY_HTML;
}

/* _next must be an allowed prefix; success_url is the operator's own. */
static int
choose_redirect(struct request *rq, const struct submission *sub,
                const char **redirect)
{
	const struct config *cfg = rq->app->cfg;

	*redirect = NULL;
	if (sub->next_url != NULL && *sub->next_url != '\0') {
		if (!redirect_allowed(sub->next_url, &cfg->redirect_allow))
			return fr_fail(&rq->err, FR_EMALFORMED,
			               "redirect_not_allowed", "_next",
			               "_next is not under an allowed "
			               "redirect prefix (redirect_allow)");
		*redirect = sub->next_url;
	} else if (cfg->success_url != NULL && *cfg->success_url != '\0') {
		*redirect = cfg->success_url;
	}
	return FR_OK;
}

/* The sender's context; none from a platform's servers (SPEC "Webhook
 * sources"): the visitor's then comes from the body, when it says. */
static void
request_context_fill(struct request *rq, struct request_context *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	if (rq->server_sent)
		return;
	ctx->ip = rq->client;
	ctx->user_agent = request_env(rq, "HTTP_USER_AGENT");
	ctx->referer = request_env(rq, "HTTP_REFERER");
}

/* The spool's view of built events: it points into ev (the message ids
 * are ev's own arrays), so sev lives no longer than ev where it is. */
static void
spool_view(const struct built_event *ev, struct spool_event *sev, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		sev[i].message_id = ev[i].message_id;
		sev[i].body = ev[i].json;
		sev[i].len = ev[i].len;
		sev[i].dedup_key = ev[i].dedup_key[0] ? ev[i].dedup_key : NULL;
	}
}

/* dry_run: the /v1/batch body these events would go in (*batch owned
 * by the caller; NULL when out of memory, and the reply has no preview). */
static void
preview_batch(const struct built_event *ev, size_t n, char **batch, size_t *len)
{
	const char **texts = calloc(n ? n : 1, sizeof(*texts));
	size_t *lens = calloc(n ? n : 1, sizeof(*lens)), i;

	*batch = NULL;
	if (texts != NULL && lens != NULL) {
		for (i = 0; i < n; i++) {
			texts[i] = ev[i].json;
			lens[i] = ev[i].len;
		}
		if (payload_batch(texts, lens, n, batch, len) != FR_OK)
			*batch = NULL;
	}
	free(texts);
	free(lens);
}

/* After the commit (result as ingest_append's; original the messageId
 * a duplicate was first stored with, "" when not known): account and
 * answer; frees the events.  FR_OK when the answer is a 2xx. */
static int
stored_reply(struct request *rq, int result, const char *original,
             const char *redirect, struct built_event *ev, size_t n)
{
	int stored = result == FR_OK || result == FR_EDUPLICATE;
	char *batch = NULL;
	size_t len = 0;

	if (stored)
		strlcopy(rq->message_id,
		         result == FR_OK ? ev[0].message_id : original,
		         sizeof(rq->message_id));
	if (result == FR_OK)
		metrics_stored(n);
	if (result == FR_OK && rq->dry_run)
		preview_batch(ev, n, &batch, &len);
	built_events_free(ev, n);
	if (!stored) {
		reply_error(&rq->reply, &rq->err, 0);
		return result;
	}
	if (result == FR_EDUPLICATE && rq->submit_key[0] != '\0') {
		/* a double click: answered as the first was */
		rq->outcome = "double_submit";
		rq->spam = spam_reason_name(SPAM_DOUBLE_SUBMIT);
		metrics_spam(SPAM_DOUBLE_SUBMIT);
		reply_accepted(&rq->reply,
		               rq->message_id[0] ? rq->message_id : NULL,
		               redirect, 0);
		return FR_OK;
	}
	rq->outcome = result == FR_OK ? "stored" : "duplicate";
	if (batch != NULL)
		reply_accepted_preview(&rq->reply, rq->message_id, redirect,
		                       batch, len);
	else
		reply_accepted(&rq->reply,
		               rq->message_id[0] ? rq->message_id : NULL,
		               redirect, result == FR_EDUPLICATE);
	free(batch);
	return FR_OK;
}

static void request_end(struct request *rq, int rc);

static void
deferred_free(struct deferred *d)
{
	if (d == NULL)
		return;
	free(d->redirect);
	free(d->dedup);
	free(d->rq.token);
	free(d);
}

/* The writer thread's end of a deferred submission. */
static void
deferred_done(void *arg, int result)
{
	struct deferred *d = arg;
	struct request *rq = &d->rq;
	int rc =
	        stored_reply(rq, result, d->original, d->redirect, d->ev, d->n);

	request_end(rq, rc == FR_OK || rq->reply.status != 0 ? 0 : -1);
	rq->io->finish(rq->io->ctx);
	deferred_free(d);
}

/*
 * Hand the events to the spool writer, which answers (deferred_done):
 * FR_OK and rq->deferred set, or the status to answer now; FR_EINTERNAL
 * untouched when the reply cannot wait (CGI, no writer thread).  The
 * events move into the hand-over on FR_OK only.  dedup: the key to
 * remember with them (a webhook id, a client messageId), or NULL.
 */
static int
defer_store(struct request *rq, const char *dedup, const char *redirect,
            const struct built_event *ev, size_t n)
{
	struct deferred *d;
	int rc;

	if (rq->io->finish == NULL)
		return FR_EINTERNAL;
	d = calloc(1, sizeof(*d) + n * (sizeof(*d->ev) + sizeof(*d->sev)));
	if (d == NULL ||
	    (redirect != NULL && (d->redirect = xstrdup(redirect)) == NULL) ||
	    (dedup != NULL && (d->dedup = xstrdup(dedup)) == NULL)) {
		deferred_free(d);
		return request_fail(rq, FR_ENOMEM, NULL, "out of memory");
	}
	d->rq = *rq;
	d->rq.body = NULL;
	d->rq.expected = 0;
	if (rq->x.hold != NULL) { /* it points into the request it is in */
		d->rq.x.hold = &d->rq.hold;
		d->rq.hold.ip = d->rq.client;
	}
	rq->token = NULL; /* d->rq's now */
	d->ev = (struct built_event *)(d + 1);
	d->sev = (struct spool_event *)(d->ev + n);
	memcpy(d->ev, ev, n * sizeof(ev[0]));
	spool_view(d->ev, d->sev, n); /* not the caller's: it points there */
	d->n = n;
	rc = ingest_append_async_x(rq->app->ingest, d->sev, n, d->dedup,
	                           d->original, &d->rq.x, rq->expected,
	                           &d->rq.err, deferred_done, d);
	if (rc != FR_OK) {
		if (rc != FR_EINTERNAL)
			rq->err = d->rq.err;
		deferred_free(d);
		return rc;
	}
	rq->expected = 0;
	rq->deferred = 1;
	return FR_OK;
}

/* Commit ev[0..n) (freed here whatever happens); the 2xx may only follow
 * a durable commit.  On FR_OK the reply is sent, or deferred
 * (rq->deferred). */
static int
store_events(struct request *rq, const char *dedup, const char *redirect,
             struct built_event *ev, size_t n)
{
	struct spool_event sev_small[2], *sev = sev_small;
	char original[MESSAGE_ID_SIZE] = "";
	int rc;

	rc = defer_store(rq, dedup, redirect, ev, n);
	if (rc != FR_EINTERNAL) { /* deferred, or it failed */
		if (rc != FR_OK)
			built_events_free(ev, n);
		return rc;
	}
	if (n > 2 && (sev = calloc(n, sizeof(*sev))) == NULL) {
		built_events_free(ev, n);
		return request_fail(rq, FR_ENOMEM, NULL, "out of memory");
	}
	spool_view(ev, sev, n);
	rc = ingest_append_x(rq->app->ingest, sev, n, dedup, original, &rq->x,
	                     rq->expected, &rq->err);
	rq->expected = 0;
	if (sev != sev_small)
		free(sev);
	return stored_reply(rq, rc, original, redirect, ev, n);
}

/* The call's timestamp: when the platform says the form was submitted
 * (a webhook may arrive minutes later, or be retried for a day), unless
 * that is in the future; else now. */
static int64_t
event_time(const struct fields *f)
{
	int64_t now = now_ms();

	return f->submitted_ms > 0 && f->submitted_ms <= now ? f->submitted_ms
	                                                     : now;
}

/* A form submission: build its calls and store them.  A signed webhook
 * is de-duplicated by its id (spool.h), a hooks route's delivery by its
 * platform's event id. */
static int
store_submission(struct request *rq, const struct submission *sub,
                 const struct fields *f, const struct webhook_headers *wh,
                 const char *redirect)
{
	struct built_event ev[2];
	struct request_context ctx;
	char key[SPOOL_DEDUP_KEY_MAX + 1];
	const char *dedup = NULL;
	size_t n = 0;
	int rc;

	if (rq->hook != NULL) {
		if (hooks_dedup_key(rq->hook, &rq->proof, f, key,
		                    sizeof(key)) == 0)
			dedup = key;
	} else if (rq->verified_webhook) {
		if ((size_t)snprintf(key, sizeof(key), "webhook:%s", wh->id) >=
		    sizeof(key))
			return request_fail(
			        rq, FR_EMALFORMED, "malformed",
			        "the webhook-id header is too long");
		dedup = key;
	}
	request_context_fill(rq, &ctx);
	rc = payload_build(sub, &ctx, event_time(f), ev, &n, &rq->err);
	if (rc != FR_OK)
		return rc;
	if (rq->hook != NULL || rq->verified_webhook)
		return store_events(rq, dedup, redirect, ev, n);
	/* the same content again within the window: answered, not stored */
	if (rq->app->cfg->spam.double_submit_ms > 0) {
		spam_submit_key(sub, rq->submit_key);
		rq->x.dedup_window_ms = rq->app->cfg->spam.double_submit_ms;
	}
	return store_events(rq, rq->submit_key[0] ? rq->submit_key : NULL,
	                    redirect, ev, n);
}

/* This request will store nothing after all: the spool writer need not
 * wait for it. */
static void
expect_cancel(struct request *rq)
{
	if (rq->expected)
		ingest_expect_cancel(rq->app->ingest);
	rq->expected = 0;
}

/* Parse, and unwrap a webhook envelope unless the body is Pipelines
 * calls (*calls set then: f->root holds them).  A hooks route of one
 * platform reads only that platform's webhook (unwrap_webhook_hook),
 * never Pipelines calls. */
static int
parse_fields(struct request *rq, struct fields *f, int *calls)
{
	const struct config_hook *h = rq->hook;
	int one_platform = h != NULL && h->platform != HOOK_STANDARD &&
	                   h->platform != HOOK_HMAC;
	int rc;

	rc = parse_body(rq->body, rq->body_len, rq->content_type,
	                &rq->app->limits, f, &rq->err);
	*calls = rc == FR_OK && !one_platform &&
	         pipelines_wanted(f->root, rq->route);
	if (rc == FR_OK && !*calls)
		rc = unwrap_webhook_hook(f, &rq->app->limits, rq->app->cfg,
		                         rq->hook, &rq->err);
	return rc;
}

/*
 * A key in a browser is public: say so once a process (never the key
 * itself).  Nothing reads it further: it is not stored, logged or
 * forwarded (SPEC "Pipelines-shaped calls").
 */
static void
warn_secret(const char *where)
{
	static int warned;

	if (__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
		return;
	log_msg(LOG_WARN,
	        "a browser sent what looks like a real API key (%s): formrelay "
	        "ignores it and needs no key in pages; take it out of the "
	        "page's code and rotate it",
	        where);
}

/*
 * Spam that is not kept but answered as a success: bots get what people
 * get (a redirect when allowed, an id), so nothing tells them they were
 * caught.
 */
static void
spam_drop(struct request *rq, const struct submission *sub,
          enum spam_reason why)
{
	const char *redirect = NULL;

	rq->outcome = why == SPAM_HONEYPOT ? "honeypot" : "spam_dropped";
	rq->spam = spam_reason_name(why);
	metrics_spam(why);
	expect_cancel(rq);
	uuid_v4(rq->message_id);
	if (sub != NULL && choose_redirect(rq, sub, &redirect) != FR_OK) {
		fr_error_clear(&rq->err);
		redirect = NULL;
	}
	reply_accepted(&rq->reply, rq->message_id, redirect, 0);
}

/* [antispam] junk addresses: a 422 naming the field, or under junk =
 * drop an answer as if stored (rq->reply.status set) and nothing kept. */
static int
check_spam(struct request *rq, const struct submission *sub, const char *email)
{
	enum spam_reason why = SPAM_REASONS;
	struct fr_error err;

	if (spam_check_email(rq->app->cfg, rq->app->disposable, email, &why,
	                     &err) == FR_OK)
		return FR_OK;
	if (rq->app->cfg->spam.junk_drop) {
		spam_drop(rq, sub, why);
		return FR_OK;
	}
	rq->outcome = "spam";
	rq->spam = spam_reason_name(why);
	metrics_spam(why);
	rq->err = err;
	return err.status;
}

static int check_captcha(struct request *rq, const struct fields *f);

/*
 * Pipelines calls: every call of the body is built, then all are stored
 * in one transaction, or none.
 */
static int
submit_calls(struct request *rq, struct fields *f)
{
	struct pipelines_out out;
	struct request_context ctx;
	int rc;

	request_context_fill(rq, &ctx);
	rc = pipelines_build(f->root, rq->route, rq->app->cfg, &ctx, now_ms(),
	                     &out, &rq->err);
	if (rc != FR_OK)
		return rc;
	if (out.secret_in_body)
		warn_secret("a writeKey in the body");
	strlcopy(rq->email, out.email, sizeof(rq->email));
	if (out.honeypot) {
		spam_drop(rq, NULL, SPAM_HONEYPOT);
		return FR_OK;
	}
	if ((rc = check_spam(rq, NULL, out.email)) != FR_OK ||
	    rq->reply.status != 0 || /* refused, or dropped and answered */
	    (rc = check_captcha(rq, f)) != FR_OK) {
		pipelines_out_free(&out);
		return rc;
	}
	/* each call with the client's messageId is de-duplicated by it;
	 * calls without (the recipe's) by their content, as forms are */
	if (rq->app->cfg->spam.double_submit_ms > 0 &&
	    spam_calls_key(f->root, (int)rq->route, rq->submit_key))
		rq->x.dedup_window_ms = rq->app->cfg->spam.double_submit_ms;
	rc = store_events(rq, rq->submit_key[0] ? rq->submit_key : NULL, NULL,
	                  out.ev, out.n);
	free(out.ev); /* the events went to store_events */
	return rc;
}

static void
note_email(struct request *rq, const struct submission *sub)
{
	struct json_object *email;

	if (json_object_object_get_ex(sub->traits, "email", &email))
		strlcopy(rq->email, json_object_get_string(email),
		         sizeof(rq->email));
}

/* The widget's token: a form field, or a member of a JSON body. */
static const char *
captcha_token(const struct fields *f, const char *name)
{
	const struct field *fd = fields_find(f, name);
	struct json_object *m;

	if (fd != NULL && json_object_is_type(fd->value, json_type_string))
		return json_object_get_string(fd->value);
	if (f->root != NULL && json_object_is_type(f->root, json_type_object) &&
	    json_object_object_get_ex(f->root, name, &m) &&
	    json_object_is_type(m, json_type_string))
		return json_object_get_string(m);
	return NULL;
}

/*
 * [antispam] captcha: every submission but a signed webhook (or one on a
 * hooks route) carries the widget's token.  Without one: 422 naming the field.
 * With one, it is stored with the events, which stay held until
 * formrelay-deliver has the vendor's verdict (captcha.h): the reply does not
 * wait for the vendor, and the token is never forwarded or logged.
 */
static int
check_captcha(struct request *rq, const struct fields *f)
{
	const char *name = spam_captcha_field(rq->app->cfg->spam.captcha);
	const char *token;

	/* a signed webhook, or a hooks route (its proof was checked); not
	 * a body merely shaped like a platform's, which anyone can post */
	if (name == NULL || rq->verified_webhook || rq->hook != NULL)
		return FR_OK;
	token = captcha_token(f, name);
	if (token == NULL || *token == '\0' ||
	    strlen(token) > SPAM_CAPTCHA_TOKEN_MAX) {
		rq->outcome = "spam";
		rq->spam = spam_reason_name(token && *token
		                                    ? SPAM_CAPTCHA_INVALID
		                                    : SPAM_CAPTCHA_MISSING);
		metrics_spam(token && *token ? SPAM_CAPTCHA_INVALID
		                             : SPAM_CAPTCHA_MISSING);
		return fr_fail(&rq->err, FR_EINVALID,
		               token && *token ? "captcha_invalid"
		                               : "captcha_missing",
		               name,
		               "the form's CAPTCHA was not completed: "
		               "complete it and send the form again");
	}
	if ((rq->token = xstrdup(token)) == NULL)
		return request_fail(rq, FR_ENOMEM, NULL, "out of memory");
	rq->hold.token = rq->token;
	rq->hold.ip = rq->client;
	rq->x.hold = &rq->hold;
	return FR_OK;
}

/* normalise, with a hooks route's own id_fields when it has them (the
 * view is a shallow copy: it owns nothing). */
static int
normalise_for(struct request *rq, const struct fields *f,
              struct submission *sub)
{
	const struct config *cfg = rq->app->cfg;
	struct config *view;
	int rc;

	if (rq->hook == NULL || rq->hook->id_fields.count == 0)
		return normalise(f, cfg, sub, &rq->err);
	if ((view = malloc(sizeof(*view))) == NULL)
		return request_fail(rq, FR_ENOMEM, NULL, "out of memory");
	memcpy(view, cfg, sizeof(*view));
	view->id_fields = rq->hook->id_fields;
	rc = normalise(f, view, sub, &rq->err);
	free(view);
	return rc;
}

/* Parse to store; on FR_OK the reply is already sent. */
static int
submit(struct request *rq)
{
	struct fields f;
	struct submission sub;
	struct webhook_headers wh;
	const char *redirect = NULL;
	int64_t retry_after_s = 0;
	int rc, calls = 0;

	fields_init(&f);
	memset(&sub, 0, sizeof(sub));
	if ((rc = request_check_origin(rq)) != FR_OK ||
	    (rc = request_read_body(rq)) != FR_OK)
		goto done;
	if (pipelines_secret_like(request_env(rq, "HTTP_AUTHORIZATION")))
		warn_secret("an Authorization header");
	ingest_expect(rq->app->ingest);
	rq->expected = 1;
	if ((rc = request_check_signature(rq, &wh)) != FR_OK ||
	    (rc = request_check_rate(rq, &retry_after_s)) != FR_OK ||
	    (rc = parse_fields(rq, &f, &calls)) != FR_OK ||
	    (rc = request_check_envelope(rq, &f)) != FR_OK)
		goto done;
	if (calls) {
		rc = submit_calls(rq, &f);
		goto done;
	}
	if ((rc = normalise_for(rq, &f, &sub)) != FR_OK)
		goto done;
	if (sub.honeypot) {
		spam_drop(rq, &sub, SPAM_HONEYPOT);
		goto done;
	}
	note_email(rq, &sub);
	if ((rc = check_spam(rq, &sub, rq->email)) != FR_OK)
		goto done;
	if (rq->reply.status != 0) /* dropped as spam, answered */
		goto done;
	if ((rc = check_captcha(rq, &f)) != FR_OK)
		goto done;
	if ((rc = choose_redirect(rq, &sub, &redirect)) != FR_OK)
		goto done;
	rc = store_submission(rq, &sub, &f, &wh, redirect);
done:
	expect_cancel(rq);
	if (rc != FR_OK && rq->reply.status == 0)
		reply_error(&rq->reply, &rq->err, retry_after_s);
	submission_free(&sub);
	fields_free(&f);
	return rc;
}

/* GET …/healthz and …/metrics (request_status.c). */
static int
serve_health(struct request *rq)
{
	return request_serve_health(rq->app, &rq->reply);
}

static int
serve_metrics(struct request *rq)
{
	return request_serve_metrics(rq->app, &rq->reply, rq->client,
	                             request_env(rq, "HTTP_X_FORWARDED_FOR"),
	                             &rq->err);
}

static int
serve_options(struct request *rq)
{
	if (request_check_origin(rq) != FR_OK ||
	    rq->reply.cors_origin == NULL) {
		if (rq->err.status == FR_OK)
			request_fail(rq, FR_EFORBIDDEN, "origin_not_allowed",
			             "pre-flight needs an allowed Origin");
		return reply_error(&rq->reply, &rq->err, 0);
	}
	return reply_preflight(&rq->reply);
}

/* <mount>/hooks/NAME: a configured source, POSTs only. */
static int
route_hook(struct request *rq, const char *name, size_t len)
{
	rq->hook = config_hook_find(rq->app->cfg, name, len);
	if (rq->hook == NULL)
		fr_fail(&rq->err, FR_ENOTFOUND, "unknown_hook", NULL,
		        "no [webhook.%.*s] section is configured", (int)len,
		        name);
	else if (strcmp(rq->method, "POST") != 0)
		fr_fail(&rq->err, FR_EMETHOD, "method_not_allowed", NULL,
		        "webhooks are POSTed; %s is not accepted here",
		        rq->method);
	else
		return submit(rq) == FR_OK || rq->reply.status != 0 ? 0 : -1;
	return reply_error(&rq->reply, &rq->err, 0);
}

static int
route(struct request *rq)
{
	int is_get = strcmp(rq->method, "GET") == 0 ||
	             strcmp(rq->method, "HEAD") == 0;
	const char *hook;
	size_t hook_len;

	if (hooks_route(rq->uri, &hook, &hook_len))
		return route_hook(rq, hook, hook_len);
	if (is_get && path_is(rq->uri, "healthz"))
		return serve_health(rq);
	if (is_get && path_is(rq->uri, "metrics"))
		return serve_metrics(rq);
	if (strcmp(rq->method, "OPTIONS") == 0)
		return serve_options(rq);
	if (strcmp(rq->method, "POST") == 0)
		return submit(rq) == FR_OK || rq->reply.status != 0 ? 0 : -1;
	fr_fail(&rq->err, FR_EMETHOD, "method_not_allowed", NULL,
	        "submissions are POSTed; %s is not accepted here", rq->method);
	return reply_error(&rq->reply, &rq->err, 0);
}

static void
request_log(const struct request *rq)
{
	struct logline l;
	char uri[1024];

	if (!log_enabled(LOG_INFO))
		return;
	logline_start(&l, LOG_INFO);
	logline_str(&l, "method", rq->method);
	logline_str(&l, "uri", hooks_log_uri(rq->uri, uri, sizeof(uri)));
	logline_int(&l, "status", rq->reply.status);
	logline_int(&l, "duration_ms", mono_ms() - rq->started);
	logline_str(&l, "client", rq->client);
	if (rq->message_id[0] != '\0')
		logline_str(&l, "message_id", rq->message_id);
	if (rq->email[0] != '\0')
		logline_email(&l, "email", rq->email);
	logline_str(&l, "outcome", rq->outcome);
	if (rq->spam != NULL)
		logline_str(&l, "spam", rq->spam);
	if (rq->err.status != FR_OK) {
		logline_str(&l, "error", rq->err.code);
		logline_str(&l, "reason", rq->err.message);
	}
	logline_emit(&l);
}

int
request_handle(struct app *app, const struct http_io *io)
{
	struct request rq;
	int rc;

	memset(&rq, 0, sizeof(rq));
	rq.app = app;
	rq.dry_run = app->cfg->dry_run;
	rq.io = io;
	rq.started = mono_ms();
	rq.reply.io = io;
	rq.method = request_env(&rq, "REQUEST_METHOD");
	rq.uri = request_env(&rq, "REQUEST_URI");
	if (rq.uri == NULL)
		rq.uri = request_env(&rq, "SCRIPT_NAME");
	if (rq.method == NULL)
		rq.method = "GET";
	rq.content_type = request_env(&rq, "CONTENT_TYPE");
	rq.route = pipelines_route_of(rq.uri);
	rq.reply.format = choose_format(&rq);
	rq.outcome = "rejected";
	client_address(request_env(&rq, "REMOTE_ADDR"),
	               request_env(&rq, "HTTP_X_FORWARDED_FOR"),
	               &app->cfg->trusted_proxies, rq.client,
	               sizeof(rq.client));
	rc = route(&rq);
	free(rq.body);
	free(rq.token);
	if (rq.deferred)
		return REQUEST_DEFERRED;
	request_end(&rq, rc);
	return rc;
}

/* The request is answered (rc as route's): count and log it. */
static void
request_end(struct request *rq, int rc)
{
	if (rq->reply.status == 0 && rc != 0) /* nothing went out */
		rq->outcome = "write_failed";
	if (rq->err.status == FR_OK && strcmp(rq->outcome, "rejected") == 0)
		rq->outcome = "served";
	metrics_request(rq->reply.status);
	request_log(rq);
}
