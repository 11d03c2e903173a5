/*
 * The upstream client: POSTs JSON to the Customer.io Data Pipelines API.
 * The only libcurl user.  One easy handle per struct upstream, kept for
 * the life of the delivery thread so that libcurl's connection cache
 * reuses the TCP/TLS connection (keep-alive) across batches.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <nettle/base64.h>

#include "upstream.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define USER_AGENT             "formrelay/" PACKAGE_VERSION
#define CONNECT_TIMEOUT_MAX_MS 10000
#define RETRY_AFTER_MAX_MS     (24LL * 3600 * 1000)
#define REASON_BODY_MAX        160 /* body bytes quoted in a reason */

struct upstream {
	CURL *curl;
	struct curl_slist *headers;
	char *base; /* api_base, no trailing '/' */
	/* The key and base64("key:"), kept only to scrub them from reasons
	 * should a server echo them back. */
	char *key;
	char *key_b64;
	char errbuf[CURL_ERROR_SIZE];
	char body[UPSTREAM_BODY_KEEP + 1];
	size_t body_len;
	int64_t retry_after_ms;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_status = CURLE_FAILED_INIT;

static void
global_init_once(void)
{
	global_status = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
upstream_global_init(void)
{
	pthread_once(&global_once, global_init_once);
	return global_status == CURLE_OK ? FR_OK : FR_EINTERNAL;
}

void
upstream_global_cleanup(void)
{
	if (global_status == CURLE_OK)
		curl_global_cleanup();
}

/* RFC 9110, 15: the three outcomes of nullmailer/postfix, plus auth. */
enum upstream_class
upstream_classify(int http_status)
{
	if (http_status >= 200 && http_status <= 299)
		return UPSTREAM_OK;
	if (http_status == 401 || http_status == 403)
		return UPSTREAM_AUTH;
	if (http_status == 408 || http_status == 429)
		return UPSTREAM_RETRY;
	if (http_status >= 400 && http_status <= 499)
		return UPSTREAM_PERMANENT;
	/* 5xx, and 1xx/3xx/unknown: nothing proves the event is bad. */
	return UPSTREAM_RETRY;
}

/* RFC 9110, 10.2.3: Retry-After = HTTP-date / delay-seconds. */
int64_t
upstream_parse_retry_after(const char *value, int64_t now)
{
	const char *p = value;
	int64_t ms;
	time_t when;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return -1;
	if (isdigit((unsigned char)*p)) {
		char *end;
		unsigned long long secs = strtoull(p, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\r' ||
		       *end == '\n')
			end++;
		if (*end != '\0')
			return -1;
		if (secs > (unsigned long long)(RETRY_AFTER_MAX_MS / 1000))
			return RETRY_AFTER_MAX_MS;
		return (int64_t)secs * 1000;
	}
	when = curl_getdate(p, NULL);
	if (when == (time_t)-1)
		return -1;
	ms = (int64_t)when * 1000 - now;
	if (ms < 0)
		return 0;
	return ms > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : ms;
}

/* Keep the first UPSTREAM_BODY_KEEP bytes; swallow the rest. */
static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct upstream *up = arg;
	size_t n = size * nmemb;
	size_t room = UPSTREAM_BODY_KEEP - up->body_len;
	size_t take = n < room ? n : room;

	memcpy(up->body + up->body_len, data, take);
	up->body_len += take;
	up->body[up->body_len] = '\0';
	return n;
}

/* Header lines arrive one at a time, the status line first. */
static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	static const char name[] = "retry-after:";
	struct upstream *up = arg;
	size_t n = size * nmemb;
	char value[128];
	size_t vlen;

	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		up->retry_after_ms = -1; /* a new response (e.g. after 100) */
		return n;
	}
	if (n <= sizeof(name) - 1 ||
	    strncasecmp(data, name, sizeof(name) - 1) != 0)
		return n;
	vlen = n - (sizeof(name) - 1);
	if (vlen >= sizeof(value))
		return n; /* no sane Retry-After is that long */
	memcpy(value, data + sizeof(name) - 1, vlen);
	value[vlen] = '\0';
	up->retry_after_ms = upstream_parse_retry_after(value, now_ms());
	return n;
}

/* base64("key:"), what a Basic Authorization header carries (RFC 7617). */
static char *
basic_credentials(const char *key)
{
	size_t klen = strlen(key);
	unsigned char *plain = malloc(klen + 2);
	char *out = malloc(BASE64_ENCODE_RAW_LENGTH(klen + 1) + 1);

	if (plain == NULL || out == NULL) {
		free(plain);
		free(out);
		return NULL;
	}
	memcpy(plain, key, klen);
	plain[klen] = ':';
	base64_encode_raw(out, klen + 1, plain);
	out[BASE64_ENCODE_RAW_LENGTH(klen + 1)] = '\0';
	free(plain);
	return out;
}

#define SETOPT(up, opt, val, err) UPSTREAM_SETOPT((up)->curl, opt, val, err)

/* Allow only http and https, for the URL and (never followed) redirects. */
static int
restrict_protocols(void *curl, struct fr_error *err)
{
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0: CURLOPT_PROTOCOLS_STR */
	UPSTREAM_SETOPT(curl, CURLOPT_PROTOCOLS_STR, "http,https", err);
	UPSTREAM_SETOPT(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https", err);
#else
	UPSTREAM_SETOPT(curl, CURLOPT_PROTOCOLS,
	                (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS), err);
	UPSTREAM_SETOPT(curl, CURLOPT_REDIR_PROTOCOLS,
	                (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS), err);
#endif
	return FR_OK;
}

int
upstream_handle_setup(void *curl, long timeout_ms, char *errbuf,
                      struct fr_error *err)
{
	long connect_ms = timeout_ms < CONNECT_TIMEOUT_MAX_MS
	                          ? timeout_ms
	                          : CONNECT_TIMEOUT_MAX_MS;

	/* Threads: no SIGALRM-based DNS timeouts (libcurl docs). */
	UPSTREAM_SETOPT(curl, CURLOPT_NOSIGNAL, 1L, err);
	UPSTREAM_SETOPT(curl, CURLOPT_TIMEOUT_MS, timeout_ms, err);
	UPSTREAM_SETOPT(curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms, err);
	UPSTREAM_SETOPT(curl, CURLOPT_FOLLOWLOCATION, 0L, err);
	UPSTREAM_SETOPT(curl, CURLOPT_TCP_KEEPALIVE, 1L, err);
	UPSTREAM_SETOPT(curl, CURLOPT_ERRORBUFFER, errbuf, err);
	UPSTREAM_SETOPT(curl, CURLOPT_USERAGENT, USER_AGENT, err);
	return restrict_protocols(curl, err);
}

static int
set_request_options(struct upstream *up, const struct config *cfg,
                    struct fr_error *err)
{
	static const char *const lines[] = {
	        "Content-Type: application/json",
	        "Accept: application/json",
	        /* Answer 400/401 instead of a 200 that drops a bad call. */
	        "X-Strict-Mode: 1",
	        /* No 100-continue round trip before each body. */
	        "Expect:",
	};
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct curl_slist *l = curl_slist_append(up->headers, lines[i]);
		if (l == NULL)
			return fr_fail(err, FR_ENOMEM, NULL, NULL,
			               "out of memory building headers");
		up->headers = l;
	}
	SETOPT(up, CURLOPT_HTTPHEADER, up->headers, err);
	/* Customer.io: the key is the user name, the password is empty. */
	SETOPT(up, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC, err);
	SETOPT(up, CURLOPT_USERNAME, cfg->api_key ? cfg->api_key : "", err);
	SETOPT(up, CURLOPT_PASSWORD, "", err);
	SETOPT(up, CURLOPT_WRITEFUNCTION, on_body, err);
	SETOPT(up, CURLOPT_WRITEDATA, up, err);
	SETOPT(up, CURLOPT_HEADERFUNCTION, on_header, err);
	SETOPT(up, CURLOPT_HEADERDATA, up, err);
	return FR_OK;
}

static int
upstream_setup(struct upstream *up, const struct config *cfg,
               struct fr_error *err)
{
	long timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
	const char *key = cfg->api_key ? cfg->api_key : "";
	int rc;

	up->base = xstrdup(cfg->api_base ? cfg->api_base : "");
	up->key = xstrdup(key);
	up->key_b64 = basic_credentials(key);
	if (up->base == NULL || up->key == NULL || up->key_b64 == NULL)
		return fr_fail(err, FR_ENOMEM, NULL, NULL,
		               "out of memory creating the upstream client");
	up->curl = curl_easy_init();
	if (up->curl == NULL)
		return fr_fail(err, FR_EINTERNAL, "curl_init", NULL,
		               "curl_easy_init failed");
	rc = upstream_handle_setup(up->curl, timeout_ms, up->errbuf, err);
	if (rc == FR_OK)
		rc = set_request_options(up, cfg, err);
	return rc;
}

int
upstream_new(const struct config *cfg, struct upstream **out,
             struct fr_error *err)
{
	struct upstream *up;
	int rc;

	*out = NULL;
	if (upstream_global_init() != FR_OK)
		return fr_fail(err, FR_EINTERNAL, "curl_init", NULL,
		               "curl_global_init failed");
	up = calloc(1, sizeof(*up));
	if (up == NULL)
		return fr_fail(err, FR_ENOMEM, NULL, NULL,
		               "out of memory creating the upstream client");
	up->retry_after_ms = -1;
	rc = upstream_setup(up, cfg, err);
	if (rc != FR_OK) {
		upstream_free(up);
		return rc;
	}
	*out = up;
	return FR_OK;
}

static void
free_secret(char *s)
{
	if (s != NULL) {
		/* volatile: keep the wipe from being optimised away. */
		volatile char *v = s;
		while (*v != '\0')
			*v++ = '\0';
		free(s);
	}
}

void
upstream_free(struct upstream *up)
{
	if (up == NULL)
		return;
	if (up->curl != NULL)
		curl_easy_cleanup(up->curl);
	curl_slist_free_all(up->headers);
	free(up->base);
	free_secret(up->key);
	free_secret(up->key_b64);
	free(up);
}

/* Replace every occurrence of secret in s (of size bytes) by "***". */
static void
scrub(char *s, size_t size, const char *secret)
{
	size_t slen = secret ? strlen(secret) : 0;
	char *hit;

	if (slen < 4) /* an empty or tiny key would mask ordinary text */
		return;
	while ((hit = strstr(s, secret)) != NULL) {
		char rest[256];
		strlcopy(rest, hit + slen, sizeof(rest));
		*hit = '\0';
		snprintf(hit, size - (size_t)(hit - s), "***%s", rest);
	}
}

/* "HTTP 400: <first bytes of the body, controls as spaces>" */
static void
http_reason(struct upstream *up, int status, char *out, size_t size)
{
	char excerpt[REASON_BODY_MAX + 4];
	size_t i, n = up->body_len < REASON_BODY_MAX ? up->body_len
	                                             : REASON_BODY_MAX;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)up->body[i];
		excerpt[i] = (c < ' ' || c == 0x7f) ? ' ' : (char)c;
	}
	excerpt[n] = '\0';
	if (up->body_len > n)
		strlcopy(excerpt + n, "...", sizeof(excerpt) - n);
	if (n == 0)
		snprintf(out, size, "HTTP %d", status);
	else
		snprintf(out, size, "HTTP %d: %s", status, excerpt);
}

/* libcurl's sentence, and the system's word for it when there is one:
 * "Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect
 * to server (Connection refused)". */
static void
transport_reason(struct upstream *up, CURLcode rc, char *out, size_t size)
{
	const char *what = up->errbuf[0] ? up->errbuf : curl_easy_strerror(rc);
	char sys[128];
	long os_errno = 0;
	size_t n = strlcopy(out, what, size);

	if (n + 1 >= size ||
	    curl_easy_getinfo(up->curl, CURLINFO_OS_ERRNO, &os_errno) !=
	            CURLE_OK ||
	    os_errno == 0)
		return;
	if (snprintf(out + n, size - n, " (%s)",
	             strerror_r((int)os_errno, sys, sizeof(sys))) < 0)
		out[n] = '\0';
}

static void
result_init(struct upstream_result *res)
{
	memset(res, 0, sizeof(*res));
	res->cls = UPSTREAM_RETRY;
	res->retry_after_ms = -1;
}

/* Set the URL and body for this request; FR_OK or an error in res. */
static int
prepare(struct upstream *up, const char *path, const char *body, size_t len,
        struct upstream_result *res)
{
	size_t ulen = strlen(up->base) + strlen(path) + 1;
	char *url = malloc(ulen);
	CURLcode rc;

	if (url == NULL) {
		strlcopy(res->reason, "out of memory", sizeof(res->reason));
		return FR_ENOMEM;
	}
	snprintf(url, ulen, "%s%s", up->base, path);
	rc = curl_easy_setopt(up->curl, CURLOPT_URL, url); /* copied */
	free(url);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(up->curl, CURLOPT_POSTFIELDSIZE_LARGE,
		                      (curl_off_t)len);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(up->curl, CURLOPT_POSTFIELDS, body);
	if (rc != CURLE_OK) {
		snprintf(res->reason, sizeof(res->reason),
		         "libcurl refused the request: %s",
		         curl_easy_strerror(rc));
		return FR_EINTERNAL;
	}
	return FR_OK;
}

int
upstream_post(struct upstream *up, const char *path, const char *body,
              size_t len, struct upstream_result *res)
{
	int64_t started = mono_ms();
	long status = 0;
	CURLcode rc;
	int ret;

	result_init(res);
	up->body_len = 0;
	up->body[0] = '\0';
	up->errbuf[0] = '\0';
	up->retry_after_ms = -1;
	ret = prepare(up, path, body, len, res);
	if (ret != FR_OK)
		return ret;
	rc = curl_easy_perform(up->curl);
	res->elapsed_ms = mono_ms() - started;
	if (rc != CURLE_OK) {
		/* Connect, DNS, TLS, timeout: the event may be fine. */
		transport_reason(up, rc, res->reason, sizeof(res->reason));
	} else {
		curl_easy_getinfo(up->curl, CURLINFO_RESPONSE_CODE, &status);
		res->http_status = (int)status;
		res->cls = upstream_classify(res->http_status);
		res->retry_after_ms = up->retry_after_ms;
		http_reason(up, res->http_status, res->reason,
		            sizeof(res->reason));
	}
	scrub(res->reason, sizeof(res->reason), up->key);
	scrub(res->reason, sizeof(res->reason), up->key_b64);
	return FR_OK;
}
