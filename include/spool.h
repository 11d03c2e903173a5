/*
 * The spool: durable storage of events between receipt and delivery, in
 * SQLite (WAL, synchronous=FULL).  The only SQLite user.  Any number of
 * processes may share one spool file; claims carry a lease so that no
 * event is in flight twice at once and a crashed owner's claims return.
 *
 * States: pending (due_ms says when) -> inflight (claimed, lease) ->
 * deleted on ack | pending again on retry | dead (with status and reason).
 */
#ifndef FORMRELAY_SPOOL_H
#define FORMRELAY_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "util.h"

struct spool;

/* One event to store. */
struct spool_event {
	const char *message_id; /* UUID string */
	const char *body;       /* serialised JSON call */
	size_t len;
};

/* One stored event handed out by spool_claim. */
struct spool_item {
	int64_t id;
	char message_id[UUID_STR_LEN];
	char *body; /* owned by the batch */
	size_t len;
	int64_t created_ms;
	int attempts; /* deliveries tried before this claim */
};

struct spool_batch {
	struct spool_item *items; /* owned */
	size_t count;
};

struct spool_stats {
	int64_t pending;
	int64_t inflight;
	int64_t dead;
	int64_t oldest_pending_ms; /* created_ms of the oldest pending, or 0 */
};

struct spool_dead {
	int64_t id;
	char message_id[UUID_STR_LEN];
	int64_t created_ms;
	int64_t died_ms;
	int http_status; /* 0 when not an HTTP answer (max_age) */
	int attempts;
	char reason[256];
};

/*
 * Open (creating and migrating) the spool at path.  *out is owned by the
 * caller (spool_close).  Each thread needs its own handle.  FR_OK or
 * FR_ESTORE with err naming the cause.
 */
int spool_open(const char *path, struct spool **out, struct fr_error *err);

/* Close; NULL is a no-op. */
void spool_close(struct spool *sp);

/*
 * Store evs[0..n) in one transaction and return only after it is durably
 * committed.  With webhook_id set, the id is recorded in the same
 * transaction; an id seen before stores nothing and returns FR_EDUPLICATE.
 * Returns FR_OK, FR_EDUPLICATE or FR_ESTORE (nothing written).
 */
int spool_append(struct spool *sp, const struct spool_event *evs, size_t n,
		 const char *webhook_id, int64_t now, struct fr_error *err);

/*
 * Claim up to max_events due events (due_ms <= now, or inflight with an
 * expired lease), oldest first, whose bodies total at most max_bytes
 * (always at least one).  They become inflight for owner until
 * now + lease_ms.  out is owned by the caller (spool_batch_free).
 * Returns FR_OK (count may be 0) or FR_ESTORE.
 */
int spool_claim(struct spool *sp, const char *owner, int64_t now,
		int64_t lease_ms, size_t max_events, size_t max_bytes,
		struct spool_batch *out);

void spool_batch_free(struct spool_batch *b);

/* Delivered: remove ids.  FR_OK or FR_ESTORE. */
int spool_ack(struct spool *sp, const int64_t *ids, size_t n);

/* Back to pending, due at due_ms, attempts + 1, reason kept. */
int spool_retry_later(struct spool *sp, const int64_t *ids, size_t n,
		      int64_t due_ms, const char *reason);

/* Back to pending now without counting an attempt (shutdown, pause). */
int spool_release(struct spool *sp, const char *owner);

/* Dead letters, with the HTTP status (0 for none) and reason. */
int spool_dead_letter(struct spool *sp, const int64_t *ids, size_t n,
		      int http_status, const char *reason, int64_t now);

/* Dead-letter every pending event created before now - max_age_ms;
 * *count gets how many.  */
int spool_expire(struct spool *sp, int64_t now, int64_t max_age_ms,
		 int64_t *count);

/* When the next pending event falls due (INT64_MAX when none). */
int spool_next_due(struct spool *sp, int64_t *due_ms);

int spool_stats(struct spool *sp, int64_t now, struct spool_stats *st);

/*
 * Dead letters, oldest first, at most max; *out owned by the caller
 * (free()).
 */
int spool_list_dead(struct spool *sp, size_t max, struct spool_dead **out,
		    size_t *count);

/* Dead -> pending, due now, attempts reset.  id < 0 means all.  *count
 * gets how many. */
int spool_requeue(struct spool *sp, int64_t id, int64_t now, int64_t *count);

/* Delete dead letters (id < 0: all of them).  *count gets how many. */
int spool_purge(struct spool *sp, int64_t id, int64_t *count);

/*
 * Small shared key/value state seen by every process (e.g. "paused_until",
 * "last_success_ms", "last_error").  get copies into buf ("" when unset).
 */
int spool_state_set(struct spool *sp, const char *key, const char *value);
int spool_state_get(struct spool *sp, const char *key, char *buf,
		    size_t size);

#endif
