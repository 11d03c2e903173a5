/*
 * Ingest: group commit of submissions into the spool.  Acceptor threads
 * hand their events to one writer thread per process, and wait
 * (ingest_append) or leave the rest to it (ingest_append_async); the
 * writer commits everything queued in one transaction (one fsync), then
 * wakes the waiters and runs the others' completions with their results.
 * A plain fsync'd commit per request manages a few thousand a second; a
 * group per fsync keeps every 2xx durable at the speed of the FastCGI
 * front.
 */
#ifndef FORMRELAY_INGEST_H
#define FORMRELAY_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "spool.h"

struct ingest;

/*
 * Open the spool and, when threaded, start the writer thread.  Without
 * a thread (CGI) ingest_append commits in the caller.  *out is owned by
 * the caller (ingest_stop).  FR_OK or FR_ESTORE with err set.
 */
int ingest_start(const struct config *cfg, int threaded, struct ingest **out,
                 struct fr_error *err);

/*
 * A request has its body and will probably store events soon: the
 * writer holds a commit back a moment (at most 2 ms) while expected
 * submissions have not yet queued, or while fewer are queued than its
 * last group held, so that one fsync covers them all.
 * Each ingest_expect is settled once: by ingest_append(..., expected 1)
 * or, when the request stores nothing after all, ingest_expect_cancel.
 * Thread-safe.
 */
void ingest_expect(struct ingest *in);
void ingest_expect_cancel(struct ingest *in);

/*
 * Store evs[0..n) durably (with dedup_key, if set, remembered in the same
 * transaction: spool.h, "De-duplication") and return only once
 * committed.  original, when not NULL, is MESSAGE_ID_SIZE bytes that get,
 * with FR_EDUPLICATE, the messageId first stored under the key ("" when
 * not known).  expected: 1 settles the caller's ingest_expect.
 * Thread-safe.  FR_OK, FR_EDUPLICATE (the key, or every event's own key,
 * seen before: nothing stored), FR_ESTORE, or with a writer thread
 * FR_ENOMEM (it queues through ingest_append_async and waits).
 */
int ingest_append(struct ingest *in, const struct spool_event *evs, size_t n,
                  const char *dedup_key, char *original, int expected,
                  struct fr_error *err);

/*
 * How long the writer may hold a group back for more submissions (see
 * ingest_expect; it also waits for as many as its last group held, so
 * that under load one fsync covers a whole round of requests): 2 ms.
 * Tests make it long, to check which submissions share a commit without
 * depending on timing.
 */
void ingest_set_gather_us(struct ingest *in, int64_t us);

/* Submissions waiting for their commit now (for tests). */
int ingest_queued(struct ingest *in);

/*
 * What ingest_append_async calls once the transaction holding the events
 * has ended: result as ingest_append returns it (with FR_ESTORE, the err
 * given to ingest_append_async has the cause).  It runs in the writer
 * thread, after every waiter of the group is stored and before the next
 * group begins: it should write a reply, not wait for anything.
 */
typedef void (*ingest_done_fn)(void *arg, int result);

/*
 * ingest_append without waiting: queue the events for the writer thread
 * and return; done(arg, result) follows from the writer.  evs, the
 * events' strings, dedup_key, original and err must stay valid until
 * then (original is set before done runs).
 * FR_OK when queued (done will be called exactly once; at ingest_stop at
 * the latest), FR_ENOMEM with err set, or FR_EINTERNAL without a writer
 * thread (CGI: use ingest_append).  done is never called unless FR_OK.
 * With 256 already in hand (queued or not yet answered) it first waits
 * for room: a stalled disk then stops the acceptors instead of letting
 * requests pile up.  Not once ingest_stop has begun.
 */
int ingest_append_async(struct ingest *in, const struct spool_event *evs,
                        size_t n, const char *dedup_key, char *original,
                        int expected, struct fr_error *err, ingest_done_fn done,
                        void *arg);

/*
 * What a submission may ask of the spool besides its events and key
 * (struct spool_append): dedup_window_ms > 0 makes dedup_key a double
 * submit's (seen only within the window); hold holds the events for a
 * CAPTCHA verdict.  x and what it points to stay valid as dedup_key.
 */
struct ingest_extra {
	int64_t dedup_window_ms;
	const struct spool_hold *hold;
};

/* ingest_append and ingest_append_async with x (NULL: none). */
int ingest_append_x(struct ingest *in, const struct spool_event *evs, size_t n,
                    const char *dedup_key, char *original,
                    const struct ingest_extra *x, int expected,
                    struct fr_error *err);
int ingest_append_async_x(struct ingest *in, const struct spool_event *evs,
                          size_t n, const char *dedup_key, char *original,
                          const struct ingest_extra *x, int expected,
                          struct fr_error *err, ingest_done_fn done, void *arg);

/*
 * Call fn(arg) from the writer thread after each transaction that stored
 * something new (to nudge the delivery process once per group, not once
 * per request; unthreaded, from ingest_append).  fn must not block.  Set
 * it before any ingest_append.
 */
void ingest_on_commit(struct ingest *in, void (*fn)(const void *arg),
                      const void *arg);

/* Hand every event stored from now on to the delivery process taking
 * token (spool_hand_appends).  0 or -1. */
int ingest_hand_appends(struct ingest *in, const char *token, int64_t lease_ms);

/* Read-only views for /healthz and /metrics.  With a writer thread
 * they read on a connection of their own, and neither waits for a
 * commit in progress nor holds one up. */
int ingest_stats(struct ingest *in, int64_t now, struct spool_stats *st);
int ingest_state_get(struct ingest *in, const char *key, char *buf,
                     size_t size);

/* Commit what is queued, stop the writer, close the spool.  NULL is a
 * no-op. */
void ingest_stop(struct ingest *in);

#endif
