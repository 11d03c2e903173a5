/*
 * Delivery: spool -> Customer.io.  Claims due events, posts them in
 * /v1/batch bodies, and records each outcome: ack, retry later with
 * back-off, dead letter, or pause on an auth failure.  A 400 on a batch
 * is bisected until the event the service refuses is isolated.
 */
#ifndef FORMRELAY_DELIVER_H
#define FORMRELAY_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

struct deliverer;
struct deliver_thread;

struct deliver_report {
	size_t delivered; /* acked */
	size_t retried;   /* put back with a later due time */
	size_t dead;      /* dead-lettered (refused, or past max_age) */
	size_t batches;   /* POSTs made */
	int paused;       /* 1: delivery paused for a 401/403 */
};

/*
 * A deliverer with its own spool handle and upstream client, claiming as
 * owner (unique per thread: "host:pid:tid").  *out owned by the caller.
 */
int deliverer_new(const struct config *cfg, const char *owner,
		  struct deliverer **out, struct fr_error *err);

/* Releases its claims, then frees.  NULL is a no-op. */
void deliverer_free(struct deliverer *d);

/*
 * One round at time now: expire events past max_age, claim one batch
 * that is due and deliver it.  *more is set when more is due now.
 * Adds to rep.  Returns FR_OK or FR_ESTORE.
 */
int deliver_round(struct deliverer *d, int64_t now,
		  struct deliver_report *rep, int *more);

/* Rounds until nothing is due now (the flush command, CGI). */
int deliver_flush(struct deliverer *d, struct deliver_report *rep);

/* Back-off before attempt n (1-based) with full jitter, in [min, max]. */
int64_t deliver_backoff_ms(int attempt, int64_t min_ms, int64_t max_ms);

/*
 * The background delivery thread of a FastCGI process.  start returns
 * FR_OK and *out, owned by the caller until deliver_thread_stop (which
 * finishes the batch in hand, releases claims and frees it).
 */
int deliver_thread_start(const struct config *cfg, struct deliver_thread **out,
			 struct fr_error *err);
/* Wake the thread now (a new event was stored).  Safe from any thread. */
void deliver_thread_wake(struct deliver_thread *t);
void deliver_thread_stop(struct deliver_thread *t);

#endif
