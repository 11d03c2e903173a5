/* Small helpers shared by every module: time, ids, bounded strings. */
#ifndef FORMRELAY_UTIL_H
#define FORMRELAY_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define UUID_STR_LEN 37 /* 36 characters and the NUL */
/* A messageId: a UUID we made, or a client's of up to 100 bytes
 * (Customer.io's browser SDK sends "ajs-next-" and 32 hex digits). */
#define MESSAGE_ID_SIZE 101

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t now_ms(void);

/* Milliseconds from CLOCK_MONOTONIC, for durations. */
int64_t mono_ms(void);

/* Microseconds from CLOCK_MONOTONIC, for short durations. */
int64_t mono_us(void);

/* n bytes from the kernel's CSPRNG (getrandom(2), retried when
 * interrupted or short) into buf.  0 or -1. */
int random_bytes(void *buf, size_t n);

/* A random UUID version 4 in lower-case hex into out.  0 or -1. */
int uuid_v4(char out[UUID_STR_LEN]);

/* RFC 3339 UTC with milliseconds: 2026-11-28T12:00:00.123Z.  0 or -1. */
int rfc3339_ms(int64_t ms, char *buf, size_t size);

/*
 * Parse an RFC 3339 date-time (RFC 3339, 5.6) into milliseconds since
 * the Unix epoch in *ms.  Accepted, and nothing after it:
 *   YYYY-MM-DD, then 'T', 't' or a space, then hh:mm:ss;
 *   an optional fraction: '.' and at least one digit (digits past the
 *   third are dropped, not rounded);
 *   the zone: 'Z', 'z', "+hh:mm" / "-hh:mm" or "+hhmm" / "-hhmm"
 *   (hh 00-23, mm 00-59).
 * The day must exist in its month (February 29 only in leap years); a
 * leap second (ss 60) counts as ss 59.  Years 0000-9999, so *ms may be
 * negative.  s may be NULL; it is never read past its NUL.  Returns 0,
 * or -1 with *ms untouched.  Used by pipelines (a call's timestamp) and
 * unwrap (a platform's submitted time).
 */
int rfc3339_parse(const char *s, int64_t *ms);

/* Duplicate len bytes of s with a NUL.  Caller owns; NULL on ENOMEM. */
char *xstrndup(const char *s, size_t len);

/* Duplicate s (NULL gives NULL).  Caller owns. */
char *xstrdup(const char *s);

/* Copy src into dst of size bytes, always NUL-terminated.  Returns the
 * length of src (truncation when >= size). */
size_t strlcopy(char *dst, const char *src, size_t size);

/* Mask an email for logs: "jane@example.com" -> "j***@example.com". */
void mask_email(const char *email, char *buf, size_t size);

/* Case-insensitive ASCII comparison. */
int ascii_casecmp(const char *a, const char *b);

/*
 * Percent-decode s[0..len), a value of a query string or a form body
 * (WHATWG URL, application/x-www-form-urlencoded parsing: '+' is a
 * space, a '%' not followed by two hex digits is kept as it is), into
 * buf of size bytes with a NUL; *outlen (when not NULL) gets its
 * length.  0, or -1 when it does not fit.  The bytes are not checked:
 * a caller that needs text checks them (utf8_valid).
 */
int percent_decode(const char *s, size_t len, char *buf, size_t size,
                   size_t *outlen);

#endif
