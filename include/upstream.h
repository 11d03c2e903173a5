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

/* Bytes of a reply body kept (for the reason); the rest is discarded. */
#define UPSTREAM_BODY_KEEP 8192

/*
 * libcurl's global state.  main must call upstream_global_init once
 * before it starts any thread (curl_global_init is not thread-safe in
 * every libcurl build); upstream_new calls it too, guarded by
 * pthread_once, for tests and single-threaded tools.  FR_OK or
 * FR_EINTERNAL.  upstream_global_cleanup at exit, after every upstream
 * is freed.
 */
int upstream_global_init(void);
void upstream_global_cleanup(void);

/*
 * What every libcurl handle of formrelay's takes (curl is a CURL *): no
 * signals (threads), timeout_ms for the whole request and at most 10 s of
 * it to connect, TCP keep-alive, redirects never followed, http and https
 * only, libcurl's errors into errbuf (CURL_ERROR_SIZE bytes, the
 * caller's), and formrelay's User-Agent.  FR_OK or FR_EINTERNAL.
 */
int upstream_handle_setup(void *curl, long timeout_ms, char *errbuf,
                          struct fr_error *err);

/* curl_easy_setopt, returning FR_EINTERNAL from the calling function
 * when libcurl refuses; for sources that include curl/curl.h. */
#define UPSTREAM_SETOPT(curl, opt, val, err)                                   \
	do {                                                                   \
		CURLcode rc_ = curl_easy_setopt((curl), opt, val);             \
		if (rc_ != CURLE_OK)                                           \
			return fr_fail(err, FR_EINTERNAL, "curl_setopt", NULL, \
			               "libcurl refused %s: %s", #opt,         \
			               curl_easy_strerror(rc_));               \
	} while (0)

/* How a reply is treated (nullmailer/postfix: success, temporary,
 * permanent), plus auth failures, which pause delivery. */
enum upstream_class {
	UPSTREAM_OK = 0,    /* 2xx */
	UPSTREAM_RETRY,     /* connect/timeout, 408, 429, 5xx */
	UPSTREAM_PERMANENT, /* other 4xx: dead letter (400: bisect a batch) */
	UPSTREAM_AUTH       /* 401/403: the key is wrong; pause */
};

struct upstream_result {
	enum upstream_class cls;
	int http_status;        /* 0 when no HTTP answer */
	int64_t retry_after_ms; /* from Retry-After, or -1 */
	int64_t elapsed_ms;
	/* A sentence: "HTTP 400: <body excerpt>", or the transport error.
	 * Never holds the API key (scrubbed if the server echoes it). */
	char reason[256];
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
 * FR_OK when an answer (any status) or a transport failure was classified,
 * FR_ENOMEM or FR_EINTERNAL when no request could be made (res->cls is
 * then UPSTREAM_RETRY, so a caller that only reads res stays safe).
 * Redirects are not followed: a 3xx is UPSTREAM_RETRY (a wrong api_base
 * must not lose events).  Not thread-safe per handle: one per thread.
 */
int upstream_post(struct upstream *up, const char *path, const char *body,
                  size_t len, struct upstream_result *res);

/* Classify an HTTP status (exposed for tests). */
enum upstream_class upstream_classify(int http_status);

/* Parse a Retry-After value (RFC 9110, 10.2.3: delta-seconds or
 * HTTP-date) into milliseconds from now (ms since the epoch), at least 0
 * and at most a day; -1 when unparseable. */
int64_t upstream_parse_retry_after(const char *value, int64_t now);

#endif
