/*
 * Internal to the request pipeline (request.c, request_admit.c): one
 * request's state, and the admission checks made before its body is
 * parsed.  Each check returns FR_OK, or the status with rq->err set.
 */
#ifndef FORMRELAY_REQUEST_INT_H
#define FORMRELAY_REQUEST_INT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "fields.h"
#include "hooks.h"
#include "ingest.h"
#include "pipelines.h"
#include "reply.h"
#include "request.h"
#include "spam.h"
#include "spool.h"
#include "util.h"
#include "webhook.h"

struct request {
	struct app *app;
	const struct http_io *io;
	const char *method;
	const char *uri;
	const char *content_type;
	char client[64];
	struct reply reply;
	int64_t started;
	char message_id[MESSAGE_ID_SIZE];
	const char *outcome;
	const char *spam;       /* the spam reason, for the log, or NULL */
	struct ingest_extra x;  /* double submit window, CAPTCHA hold */
	struct spool_hold hold; /* x.hold points here when set */
	char submit_key[SPAM_SUBMIT_KEY_SIZE]; /* "" unless double submits */
	char *token; /* owned: the CAPTCHA token, held for verification */
	struct fr_error err;
	char *body; /* owned */
	size_t body_len;
	int verified_webhook;
	const struct config_hook *hook; /* on <mount>/hooks/NAME, or NULL */
	struct hook_proof proof;
	int server_sent; /* from a platform's servers: not the visitor */
	enum pipelines_route route; /* where under the mount it was posted */
	int expected;               /* ingest_expect not yet settled */
	int deferred;    /* handed to the spool writer, which finishes it */
	int dry_run;     /* taken at the start: the writer may answer after
	                    the serving thread's app is closed */
	char email[256]; /* for the log line, masked there */
};

/* A CGI variable, NULL when unset or empty (borrowed). */
const char *request_env(const struct request *rq, const char *name);

/* Set rq->err (no field) and return status. */
int request_fail(struct request *rq, int status, const char *code,
                 const char *message);

/* Browsers send Origin on cross-site POSTs: it must be allowed. */
int request_check_origin(struct request *rq);

/* Read the body into rq->body within max_body. */
int request_read_body(struct request *rq);

/* The webhook proof: a hooks route's (always required), else a
 * Standard Webhooks signature when [http] webhook_secret_file is set
 * and the headers are there; h gets the headers. */
int request_check_signature(struct request *rq, struct webhook_headers *h);

/* Once parsed (f): refuse an unsigned platform envelope when
 * webhook_secret_file is set; note a platform's servers as the sender. */
int request_check_envelope(struct request *rq, const struct fields *f);

/* The rate budget: a hooks route's own, else the sender address's
 * (verified webhooks exempt); *retry_after_s set on FR_ERATELIMIT. */
int request_check_rate(struct request *rq, int64_t *retry_after_s);

#endif
