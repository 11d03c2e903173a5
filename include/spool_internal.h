/*
 * The spool's private interface, shared by its files (include/spool.h is
 * the public one; only src/spool_*.c include this).  The spool is SQLite
 * in WAL mode, and an append returns only once the write-ahead log
 * holding its COMMIT is fsync'd ("Write-Ahead Logging",
 * sqlite.org/wal.html; see enum durability for how, and why not simply
 * synchronous=FULL).  Every write is one BEGIN IMMEDIATE transaction: it
 * takes the write lock up front, so two processes never both read "due"
 * and then both claim (no SQLITE_BUSY_SNAPSHOT upgrade failures), and
 * the busy timeout bounds the wait.
 *
 * The files, by job:
 *   spool.c          the public calls, dispatched to the handle's backend
 *                    (include/spool_ops.h); what both backends share
 *   spool_pg*.c      the PostgreSQL backend (include/spool_pg.h)
 *   spool_schema.c   the SQL: schema steps (migrations) and statements
 *   spool_durable.c  errors, statements and transactions, commit
 *                    durability, the WAL fsync, checkpoints, the busy
 *                    handler
 *   spool_open.c     opening, pragmas, per-handle settings
 *   spool_append.c   appends and group commits
 *   spool_claim.c    claims, hand-off of appends, settling claims
 *   spool_admin.c    expiry, counts, dead letters, requeue, purge
 *   spool_state.c    the shared key/value state
 *   spool_verify.c   CAPTCHA tokens held for formrelay-deliver
 *   spool_recover.c  after a failed fsync: undo, reopen, checkpoint
 */
#ifndef FORMRELAY_SPOOL_INTERNAL_H
#define FORMRELAY_SPOOL_INTERNAL_H

#include <stdint.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "error.h"
#include "spool.h"
#include "spool_ops.h"
#include "util.h"

struct spool_pg;
struct spool_wake;

/* What an append whose fsync failed committed, to be undone
 * (spool_recover.c): its events, and the keys remembered with their
 * messageIds. */
struct spool_undo {
	int64_t first, last; /* event ids, 0 when none */
};

/* Prepared once per handle, on first use. */
enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_INSERT_EVENT,
	ST_INSERT_HANDED,
	ST_INSERT_BODY,
	ST_DEDUP_INSERT,
	ST_DEDUP_GET,
	ST_DEDUP_RENEW,
	ST_INSERT_HELD,
	ST_INSERT_VERIFY,
	ST_VERIFY_DUE,
	ST_VERIFY_LEASE,
	ST_VERIFY_RETRY,
	ST_VERIFY_SENT,
	ST_VERIFY_DONE,
	ST_VERIFY_RELEASE,
	ST_VERIFY_DROP,
	ST_VERIFY_NEXT,
	ST_PRUNE_VERIFY,
	ST_TOP_ID,
	ST_TAKE_HANDED,
	ST_CLAIM_EXPIRED,
	ST_CLAIM_PENDING,
	ST_MARK_INFLIGHT,
	ST_ACK,
	ST_RETRY,
	ST_DEAD,
	ST_RELEASE,
	ST_RELEASE_HANDED,
	ST_EXPIRE,
	ST_PRUNE_DEDUP,
	ST_NEXT_DUE,
	ST_COUNTS,
	ST_OLDEST,
	ST_LIST_DEAD,
	ST_REQUEUE,
	ST_PURGE,
	ST_STATE_SET,
	ST_STATE_GET,
	ST_UNDO_EVENTS,
	ST_UNDO_DEDUP,
	ST_RENEW,
	ST_PREVIEW_COPY,
	ST_PRUNE_PREVIEWS,
	ST_LIST_PREVIEWS,
	ST_FIND_CALL,
	ST_COUNT
};

/* The SQL of each statement (spool_schema.c). */
extern const char *const spool_stmt_sql[ST_COUNT];

/*
 * How durable a write must be (see "Durability" in spool.h).  An append
 * is what a 2xx promises, so it returns only once the WAL holding its
 * COMMIT is fsync'd.  synchronous=FULL would fsync inside COMMIT, with
 * the write lock held: every other process's writer would wait for this
 * fsync too, and under load the spool committed no faster than one fsync
 * after another.  So an append commits with synchronous=NORMAL and then
 * fsyncs the WAL itself once the lock is released (SYNC_AFTER, wal_sync):
 * the same bytes reach the disk before the caller is told, while the
 * next writer is already writing.  A checkpoint between the COMMIT and
 * that fsync changes nothing: under NORMAL, SQLite fsyncs the WAL before
 * each checkpoint and the spool file after it ("PRAGMA synchronous").
 * The operator's requeue and purge commit with synchronous=FULL.
 * Delivery's bookkeeping (claims, acks, retries, dead letters, releases,
 * expiry, shared state) commits with synchronous=NORMAL: as atomic and
 * as ordered in the WAL, but fsync'd only by the next FULL commit or
 * checkpoint, so a power cut may undo the last few of them.  Undoing one
 * never loses an event: an undone ack or dead letter leaves the event
 * claimed, its lease runs out and it is delivered again (same messageId,
 * which Customer.io de-duplicates), exactly as after a crash between
 * send and ack.  Four fsyncs a batch were most of the delivery's time.
 */
enum durability { DURABLE = 0, SYNC_AFTER, BOOKKEEPING };

struct spool {
	const struct spool_ops *ops; /* its backend (spool_ops.h) */
	struct spool_pg *pg;         /* PostgreSQL's state, else NULL */
	sqlite3 *db;
	int sync_full; /* PRAGMA synchronous of this connection is FULL */
	int64_t last_sync_us; /* the last wal_sync, for /metrics */
	char *path;
	char claim[UUID_STR_LEN];      /* this handle's claim token */
	char hand_token[UUID_STR_LEN]; /* appends go to it (or "") */
	int64_t hand_lease_ms;         /* ... for this long */
	int takes_handed;    /* claims first take what was handed to claim */
	int64_t handed_seen; /* ... looking only past this id */
	int busy_ms;
	int64_t busy_since_us;   /* when the current busy wait began */
	struct spool_wake *wake; /* NULL: sleep in fixed steps */
	uint32_t wake_seen;      /* its count when we last looked */
	int checkpoint_pages;    /* checkpoint once the WAL has this many */
	int checkpoint_due;      /* the last commit passed checkpoint_pages */
	int64_t changes;
	struct fr_error err;
	sqlite3_stmt *stmt[ST_COUNT];
	int64_t max_bytes;   /* spool_set_max_size's, for a reopening */
	int for_delivery;    /* spool_for_delivery was called */
	int failed;          /* an fsync failed: see spool_recover.c */
	int64_t group_first; /* ids the open append stored, 0 when none */
	int64_t group_last;
	struct spool_undo undo; /* what a failed fsync left to undo */
};

/* ---- spool_open.c ---- */

/* Open sp->db again (after spool_recover's close) with the handle's
 * settings: pragmas, size limit, delivery's cache.  FR_OK or FR_ESTORE. */
int spool_reconnect(struct spool *sp, struct fr_error *err);

/* ---- spool_recover.c ---- */

/* Note what the append whose fsync failed stored (the events of
 * sp->group_first..group_last, and the keys remembered with them), for
 * spool_recover to undo. */
void spool_undo_keep(struct spool *sp, struct spool_append *const *items,
                     size_t n);
void spool_undo_clear(struct spool *sp);

/* ---- spool.c: what every backend shares ---- */

/* Whether a submission may be stored: its events have a body and a
 * messageId that fits, its keys fit (include/spool.h,
 * "De-duplication"); a submission key needs an event to remember. */
int spool_append_valid(const struct spool_append *a);

/* spool_find_call's which as an event id, or 0 when it is not all
 * digits (a messageId).  Inline: the PostgreSQL module uses it too. */
static inline int64_t
spool_call_id(const char *which)
{
	char *end;
	long long id = strtoll(which, &end, 10);

	return *end == '\0' && end != which ? id : 0;
}

/* ---- spool_schema.c ---- */

/* Bring the schema to SPOOL_SCHEMA_VERSION (see spool_schema.c). */
int spool_migrate(struct spool *sp, struct fr_error *err);

/* ---- spool_durable.c ---- */

/* Record (in sp->err and err) why SQLite's rc happened while doing what;
 * returns FR_ESTORE.  Call before any ROLLBACK. */
int spool_store_fail(struct spool *sp, int rc, const char *what,
                     struct fr_error *err);
/* The cached statement id, reset and ready to bind; NULL on failure. */
sqlite3_stmt *spool_stmt(struct spool *sp, enum stmt_id id, int *rc);
/* Step a statement that returns no rows, then reset it. */
int spool_step_done(sqlite3_stmt *st);
/* Run a cached statement that takes no parameters. */
int spool_run(struct spool *sp, enum stmt_id id);
/* PRAGMA synchronous for the next commits of this connection. */
int spool_set_durability(struct spool *sp, enum durability d);
/* fsync the WAL (what a 2xx waits for); FR_OK or FR_ESTORE. */
int spool_wal_sync(struct spool *sp, struct fr_error *err);
/* Around every write: note the wake-up count; wake waiters and
 * checkpoint if due. */
void spool_write_start(struct spool *sp);
void spool_write_end(struct spool *sp);
/* st as one write in its own transaction; *changed (may be NULL). */
int spool_write_alone(struct spool *sp, sqlite3_stmt *st, enum durability d,
                      int64_t *changed);
/* BEGIN IMMEDIATE with durability d; then tx_end commits (rc SQLITE_OK)
 * or records the error and rolls back: FR_OK or FR_ESTORE. */
int spool_tx_begin(struct spool *sp, enum durability d);
int spool_tx_end(struct spool *sp, int rc, const char *what,
                 struct fr_error *err);
/* SQLite's WAL hook and busy handler, with sp as their argument. */
int spool_note_wal_size(void *arg, sqlite3 *db, const char *name, int frames);
int spool_busy_wait(void *arg, int count);
/* One integer from a query (a PRAGMA); from a cached statement (dflt
 * when NULL). */
int spool_query_int(struct spool *sp, const char *sql, int64_t *out);
int spool_cached_int(struct spool *sp, enum stmt_id id, int64_t dflt,
                     int64_t *out);

#endif
