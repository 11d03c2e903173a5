/*
 * HTTP replies through the CGI/FastCGI response (RFC 3875, 6.2: a
 * "Status:" header, other headers, a blank line, the body).  HTML or
 * JSON is chosen per request; every reply carries the hardening headers
 * and echoes nothing unescaped.
 */
#ifndef FORMRELAY_REPLY_H
#define FORMRELAY_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Where the response goes: the FastCGI stream or CGI stdout. */
struct http_io {
	/* Read up to len body bytes: count, 0 at the end, -1 on error. */
	long (*read)(void *ctx, char *buf, size_t len);
	/* Write all len bytes: 0, or -1 on error. */
	int (*write)(void *ctx, const char *buf, size_t len);
	/* A CGI variable, or NULL when unset. */
	const char *(*getenv)(void *ctx, const char *name);
	void *ctx;
	/* When set, a reply may be sent later from another thread (see
	 * request_handle), which then calls finish(ctx) last. */
	void (*finish)(void *ctx);
};

enum reply_format { REPLY_HTML = 0, REPLY_JSON };

struct reply {
	const struct http_io *io;
	enum reply_format format;
	const char *cors_origin; /* an allowed Origin to echo, or NULL */
	int status;              /* the status sent, for the log */
};

/* 202 (or 303 to redirect when set): {"ok":true,"id":…} or a thank-you
 * page.  duplicate marks a replayed webhook. */
int reply_accepted(struct reply *r, const char *message_id,
                   const char *redirect, int duplicate);

/*
 * dry_run: reply_accepted, and a JSON client also gets what would have
 * been sent, {"ok":true,"id":…,"dry_run":true,"preview":<batch>} where
 * batch (len bytes, borrowed) is the /v1/batch body of the submission's
 * calls.  HTML forms get reply_accepted's page or redirect.
 */
int reply_accepted_preview(struct reply *r, const char *message_id,
                           const char *redirect, const char *batch, size_t len);

/* The error's HTTP status with a JSON or HTML body naming the cause;
 * retry_after_s > 0 adds Retry-After. */
int reply_error(struct reply *r, const struct fr_error *err,
                int64_t retry_after_s);

/* A body of the given type as is (health, metrics). */
int reply_body(struct reply *r, int status, const char *content_type,
               const char *body, size_t len);

/* 204 to a CORS pre-flight from an allowed origin. */
int reply_preflight(struct reply *r);

/* The reason phrase for status ("See Other"). */
const char *reply_reason(int status);

/* Append s to buf (capacity size, at *len) with HTML's five special
 * characters escaped; stops when full.  Exposed for tests. */
void html_escape(char *buf, size_t size, size_t *len, const char *s);

#endif
