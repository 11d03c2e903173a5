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

/* At most this many events in one /v1/batch body. */
#define DELIVER_MAX_EVENTS 500
/* Event bytes in one body: Customer.io's 500 KB batch limit read as
 * 500,000 bytes, less room for the {"batch":[…]} envelope and commas. */
#define DELIVER_MAX_BYTES (500000 - 1024)
/* How long a 401/403 pauses delivery (every process: spool state). */
#define DELIVER_PAUSE_MS 60000
/* How often the delivery thread looks for events other processes stored. */
#define DELIVER_POLL_MS 1000
/* After a batch that was not full, the delivery thread lets the next one
 * gather this long: under a steady stream every group commit wakes it,
 * and a claim, a POST and an ack per handful of events would cost more
 * than the events.  A submission after a quiet spell still leaves at
 * once. */
#define DELIVER_GATHER_MS 25

struct deliverer;
struct deliver_thread;

struct deliver_report {
	size_t delivered; /* acked: Customer.io took them */
	size_t previewed; /* dry_run: kept as previews, not sent */
	size_t retried;   /* put back with a later due time */
	size_t dead;      /* dead-lettered (refused, or past max_age) */
	size_t batches;   /* POSTs made */
	size_t claimed;   /* events claimed */
	int paused;       /* 1: delivery paused (401/403, or no key) */
	int no_key;       /* 1: paused because no API key is configured */
};

/*
 * A deliverer with its own spool handle and upstream client, claiming as
 * owner (unique per thread: "host:pid:tid").  cfg is borrowed and must
 * outlive it.  *out owned by the caller (deliverer_free).  FR_OK,
 * FR_ENOMEM, FR_ESTORE or FR_EINTERNAL with err naming the cause.
 */
int deliverer_new(const struct config *cfg, const char *owner,
                  struct deliverer **out, struct fr_error *err);

/* Releases its claims, then frees.  NULL is a no-op. */
void deliverer_free(struct deliverer *d);

/*
 * One round at time now: expire events past max_age, claim one batch
 * that is due and deliver it.  *more is set when more is due now.
 * Adds to rep.  Returns FR_OK or FR_ESTORE.
 *
 * While the shared spool state "paused_until" is after now, or while
 * it has no API key with dry_run = no, it does nothing but set
 * rep->paused (and rep->no_key).  After a temporary failure it holds off
 * (in this deliverer) until the failed batch falls due again, so an
 * outage costs one request per back-off, not one per batch.
 */
int deliver_round(struct deliverer *d, int64_t now, struct deliver_report *rep,
                  int *more);

/* Rounds until nothing is due now (the flush command, CGI). */
int deliver_flush(struct deliverer *d, struct deliver_report *rep);

/* At start: clear an auth pause when the API key is not the one it was
 * for (a restart with a fixed key); a restart with the same key leaves
 * it to run out.  FR_OK or FR_ESTORE. */
int deliver_resume(struct deliverer *d);

/* The deliverer's spool handle (borrowed), for its thread
 * (deliver_thread.c): its wake-ups and the events handed to it. */
struct spool *deliver_spool(struct deliverer *d);

/*
 * When this deliverer next has something to do (ms since the epoch):
 * the earliest due event, the end of a pause or hold-off, or now +
 * DELIVER_POLL_MS, whichever comes first.
 */
int64_t deliver_next_wake(struct deliverer *d, int64_t now);

/* Back-off before attempt n (1-based) with full jitter, in [min, max]:
 * uniform in [min, min(max, min * 2^(n-1))]. */
int64_t deliver_backoff_ms(int attempt, int64_t min_ms, int64_t max_ms);

/*
 * The delivery thread of formrelay-deliver.  start returns FR_OK and
 * *out, owned by the caller until deliver_thread_stop (which finishes
 * the batch in hand, releases claims and frees it).  cfg is borrowed
 * until stop.  Starting clears an auth pause when the API key changed
 * (deliver_resume).
 *
 * wake_fd (or -1) is the read end of a pipe whose bytes say "new events
 * were stored" (see deliver_child.h); the thread reads it itself, and
 * only while it waits for work, so that a commit while it gathers or
 * sends a batch costs no wake-up.  At the pipe's end of file it stops
 * reading it (the caller sees POLLHUP and stops the thread).
 *
 * handed_token (or NULL): the token the FastCGI process hands its
 * appends to (spool_hand_appends); this thread takes them first.
 */
int deliver_thread_start(const struct config *cfg, int wake_fd,
                         const char *handed_token, struct deliver_thread **out,
                         struct fr_error *err);
/* Wake the thread now (a new event was stored).  Safe from any thread. */
void deliver_thread_wake(struct deliver_thread *t);
void deliver_thread_stop(struct deliver_thread *t);

#endif
