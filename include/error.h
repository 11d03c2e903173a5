/*
 * One error vocabulary for every module.  Library codes (errno, libcurl,
 * json-c, SQLite) are converted into these at the module boundary, and
 * every error that can reach a user carries a code and a sentence naming
 * the cause.
 */
#ifndef FORMRELAY_ERROR_H
#define FORMRELAY_ERROR_H

#include <stddef.h>

enum fr_status {
	FR_OK = 0,
	FR_EMALFORMED = -1,   /* 400: the body cannot be parsed */
	FR_EFORBIDDEN = -2,   /* 403: origin not allowed, bad signature */
	FR_ENOTFOUND = -3,    /* 404 */
	FR_EMETHOD = -4,      /* 405 */
	FR_ETOOLARGE = -5,    /* 413: body, field or event too large */
	FR_EUNSUPPORTED = -6, /* 415: content type not accepted */
	FR_EINVALID = -7,     /* 422: parsed, but nothing valid to send */
	FR_ERATELIMIT = -8,   /* 429 */
	FR_ESTORE = -9,       /* 503: cannot store durably */
	FR_ENOMEM = -10,      /* 503 to a client: out of memory */
	FR_EIO = -11,         /* 500/503: an I/O failure */
	FR_ECONFIG = -12,     /* configuration error (start-up only) */
	FR_EUPSTREAM = -13,   /* 502: Customer.io refused or unreachable */
	FR_EDUPLICATE =
	        -14,       /* already stored (webhook replay): 2xx, no store */
	FR_EINTERNAL = -15 /* 500: a bug */
};

/*
 * A user-facing error.  code is a short machine word for the JSON reply
 * ("invalid_email"); message is a sentence for people; field names the
 * offending form field when there is one ("" otherwise).
 */
struct fr_error {
	int status; /* enum fr_status */
	char code[40];
	char message[256];
	char field[64];
};

/* Fill err (which may be NULL) and return status, for `return fr_fail(...)`. */
int fr_fail(struct fr_error *err, int status, const char *code,
            const char *field, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* Reset err to FR_OK with empty strings. */
void fr_error_clear(struct fr_error *err);

/* The HTTP status a client sees for status (500 for unknown codes). */
int fr_status_http(int status);

/* A static lower-case name for status, e.g. "too_large". */
const char *fr_status_name(int status);

#endif
