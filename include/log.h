/*
 * Logging: one logfmt line per request or delivery batch, to stderr (the
 * web server's error log).  Emails are masked unless configured
 * otherwise; the API key is never passed in.
 */
#ifndef FORMRELAY_LOG_H
#define FORMRELAY_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Set the threshold and email masking.  Not thread-safe: call at start. */
void log_setup(enum log_level level, int show_emails);

/* 1 when lines at level are written. */
int log_enabled(enum log_level level);

/* A line being built: key=value pairs, values quoted when needed. */
struct logline {
	char buf[2048];
	size_t len;
};

/* Start a line with ts=… level=… */
void logline_start(struct logline *l, enum log_level level);
void logline_str(struct logline *l, const char *key, const char *value);
void logline_int(struct logline *l, const char *key, int64_t value);
/* An email value, masked unless show_emails. */
void logline_email(struct logline *l, const char *key, const char *value);
/* Write the line (one write(2), so lines from threads do not mix). */
void logline_emit(struct logline *l);

/* A one-off message: level, then msg="…" from the format. */
void log_msg(enum log_level level, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

#endif
