/*
 * Rate limiting per client address, one budget shared by every process
 * of a deployment (lighttpd may run several FastCGI processes).
 *
 * The state lives in a small fixed-size file (by convention
 * "<spool path>.ratelimit", mode 0600) mapped MAP_SHARED: a header
 * (magic, version, slot count, a random hash key) and a table of slots,
 * each one client key and its GCRA "theoretical arrival time" (the
 * token bucket in one number: ITU-T I.371 generic cell rate algorithm).
 * A budget of `limit` per `window` allows a burst of `limit`, then one
 * request every window/limit.
 *
 * Keys: IPv4 addresses whole; IPv6 by /64 prefix, since one host or
 * subscriber is normally given a whole /64 (RFC 6177, RFC 7421) and
 * could otherwise rotate through 2^64 addresses.
 *
 * Updates take an fcntl() write lock on the file (held for a table
 * probe, microseconds) and a process-wide mutex for threads.  A full
 * probe window evicts the slot nearest to expiry; expired slots are
 * free.  A corrupt or wrong-size file is rebuilt, never trusted.
 */
#ifndef FORMRELAY_RATELIMIT_H
#define FORMRELAY_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define RATELIMIT_SLOTS 4096 /* the default table size */

struct ratelimit;

/*
 * Open (creating or rebuilding as needed) the shared file at path.
 * limit requests per window_ms; limit 0 turns limiting off: *out is
 * then NULL, no file is touched, and ratelimit_check(NULL, ...) allows
 * everything.  On success the caller owns *out (ratelimit_close).
 * Returns FR_OK, FR_EIO (err names the file and the system error),
 * FR_ECONFIG for a zero window, or FR_ENOMEM.
 */
int ratelimit_open(const char *path, unsigned limit, int64_t window_ms,
                   struct ratelimit **out, struct fr_error *err);

/* ratelimit_open with a table of `slots` slots (for tests; 8..2^20). */
int ratelimit_open_slots(const char *path, unsigned limit, int64_t window_ms,
                         unsigned slots, struct ratelimit **out,
                         struct fr_error *err);

/*
 * Count one request from addr (text, as client_address() gives it; a
 * string that is not an IP address is keyed as it is).  now_ms is any
 * clock that all processes share (util.h mono_ms() or now_ms()); a clock
 * that jumps back only resets budgets, never locks clients out for long.
 * Returns
 *   FR_OK          allowed and counted
 *   FR_ERATELIMIT  over budget: *retry_after_ms (if not NULL) is when the
 *                  next request would pass; Retry-After is that in
 *                  seconds rounded up (ratelimit_retry_after_s)
 *   FR_EIO         the lock failed: callers should allow the request
 *                  (fail open) and log it
 * Thread-safe.  After fork() the child may keep using the handle.
 */
int ratelimit_check(struct ratelimit *rl, const char *addr, int64_t now_ms,
                    int64_t *retry_after_ms);

/*
 * ratelimit_check for a budget of its own: limit requests per window_ms
 * under key (a webhook source's "hook:NAME", say), whatever rl's own
 * budget is.  limit 0 (or rl NULL) allows everything.  Same returns.
 */
int ratelimit_check_budget(struct ratelimit *rl, const char *key,
                           unsigned limit, int64_t window_ms, int64_t now_ms,
                           int64_t *retry_after_ms);

/* Retry-After seconds for a retry_after_ms: rounded up, at least 1. */
int64_t ratelimit_retry_after_s(int64_t retry_after_ms);

/* Unmap and close.  NULL is a no-op. */
void ratelimit_close(struct ratelimit *rl);

/*
 * SipHash-2-4 (Aumasson and Bernstein, 2012) of msg[0..len) under a
 * 16-byte key: the table's keyed hash, so that addresses an attacker
 * chooses cannot be aimed at one probe window.  Exposed for tests.
 */
uint64_t siphash24(const unsigned char key[16], const void *msg, size_t len);

#endif
