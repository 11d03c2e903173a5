/*
 * Counters for /metrics (Prometheus text format 0.0.4), updated with
 * atomic operations from any thread of any process of a deployment once
 * metrics_open has mapped the shared file.
 */
#ifndef FORMRELAY_METRICS_H
#define FORMRELAY_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "spool.h"

/*
 * Share the counters through the file at path (created 0600 with its
 * blocks allocated; reset when it is not ours).  0, or -1 with errno set
 * (ENOSPC on a full disk): the counters stay this process's own.  Call
 * before starting threads.
 */
int metrics_open(const char *path);

/* metrics_open on "<spool_path>.metrics"; a failure is logged (a
 * warning: serving goes on, counting in this process only). */
int metrics_open_beside(const char *spool_path);

/* A request answered with HTTP status. */
void metrics_request(int status);

/* Events committed to the spool. */
void metrics_stored(size_t events);

/* dry_run: events kept as previews, never sent (not "delivered"). */
void metrics_previewed(size_t events);

/* Events acked, put back for a retry, or dead-lettered. */
void metrics_delivery(size_t delivered, size_t retried, size_t dead);

/* One submission refused or not forwarded as spam (enum spam_reason),
 * and the count so far (for `formrelay status`). */
void metrics_spam(int reason);
uint64_t metrics_spam_count(int reason);

/* One POST to Customer.io and how long it took. */
void metrics_upstream(int64_t elapsed_ms);

/*
 * One group commit of submissions: how long it waited for the spool's
 * write lock and how long the fsync of the write-ahead log took, in
 * microseconds.
 */
void metrics_commit(size_t submissions, int64_t lock_wait_us, int64_t sync_us);

/*
 * Render everything (with st for the spool gauges; NULL omits them) into
 * buf.  Returns the length, or -1 when size is too small.
 */
long metrics_render(char *buf, size_t size, const struct spool_stats *st,
                    int64_t now);

#endif
