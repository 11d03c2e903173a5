/*
 * The upstream client: posts to the Customer.io Data Pipelines API with
 * libcurl (the only libcurl user).  One handle per delivery thread, reused
 * so that connections are kept alive.
 */
#ifndef FORMRELAY_UPSTREAM_H
#define FORMRELAY_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

struct upstream;

/* How a reply is treated (nullmailer/postfix: success, temporary,
 * permanent), plus auth failures, which pause delivery. */
enum upstream_class {
	UPSTREAM_OK = 0,     /* 2xx */
	UPSTREAM_RETRY,      /* connect/timeout, 408, 429, 5xx */
	UPSTREAM_PERMANENT,  /* other 4xx: dead letter (400: bisect a batch) */
	UPSTREAM_AUTH        /* 401/403: the key is wrong; pause */
};

struct upstream_result {
	enum upstream_class cls;
	int http_status;        /* 0 when no HTTP answer */
	int64_t retry_after_ms; /* from Retry-After, or -1 */
	int64_t elapsed_ms;
	char reason[256];       /* a sentence: "HTTP 400: <body excerpt>" */
};

/*
 * A client for cfg->api_base with cfg->api_key.  *out owned by the caller
 * (upstream_free).  FR_OK, FR_ENOMEM or FR_EINTERNAL (libcurl refused an
 * option; err says which).
 */
int upstream_new(const struct config *cfg, struct upstream **out,
		 struct fr_error *err);

void upstream_free(struct upstream *up);

/*
 * POST body (JSON) to api_base + path ("/batch") with Basic auth,
 * X-Strict-Mode: 1, the User-Agent and timeout.  Always fills res; returns
 * FR_OK when an answer (any status) or a transport failure was classified.
 */
int upstream_post(struct upstream *up, const char *path, const char *body,
		  size_t len, struct upstream_result *res);

/* Classify an HTTP status (exposed for tests). */
enum upstream_class upstream_classify(int http_status);

/* Parse a Retry-After value (delta-seconds or HTTP-date) relative to
 * now; -1 when unparseable. */
int64_t upstream_parse_retry_after(const char *value, int64_t now);

#endif
