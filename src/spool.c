/*
 * The spool (see include/spool.h): SQLite in WAL mode, and an append
 * returns only once the write-ahead log holding its COMMIT is fsync'd
 * ("Write-Ahead Logging", sqlite.org/wal.html; see enum durability for
 * how, and why not simply synchronous=FULL).  Every write
 * is one BEGIN IMMEDIATE transaction: it takes the write lock up front, so
 * two processes never both read "due" and then both claim (no
 * SQLITE_BUSY_SNAPSHOT upgrade failures), and the busy timeout bounds
 * the wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "spool.h"
#include "spool_wake.h"
#include "util.h"

/* 'FRLY': marks the file as a formrelay spool (PRAGMA application_id). */
#define SPOOL_APPLICATION_ID 0x46524c59
/* Keep the WAL from staying huge after a burst (bytes). */
#define SPOOL_WAL_SIZE_LIMIT (64 * 1024 * 1024)
/*
 * Checkpoints (sqlite.org/wal.html#automatic_checkpoint): by default the
 * connection whose COMMIT makes the WAL pass 1000 pages copies it into the
 * spool file right then, two fsyncs and a few MB of writes, while its
 * caller waits: for a submission, a long tail.  So only the delivery
 * handle checkpoints (SPOOL_CHECKPOINT_PAGES); other handles do it only
 * once the WAL is far larger (delivery stopped or paused), to bound it.
 * 4000 pages rather than SQLite's 1000: a checkpoint copies each page
 * once however many commits changed it, and under load every commit
 * changes the same few (the tables' last leaves, the index pages), while
 * each checkpoint's RESTART holds all writers off for ~3 ms.  In 26
 * alternating bench pairs (bench/README.md) formrelay-deliver spent less
 * CPU an event in 20 and the p99 was lower in 18; the WAL grows to
 * ~16 MB.
 */
/* How long the RESTART after it may wait for the write lock, and then
 * for each reader: it holds writers off meanwhile (ms). */
#define CHECKPOINT_RESTART_WAIT_MS 10
/*
 * Page caches (KiB).  A connection's cache is emptied whenever another
 * one commits in between (WAL mode), so under load each transaction
 * starts cold anyway: a small cache for ingest keeps a FastCGI process
 * small; delivery, which reads and rewrites whole batches, gets more.
 */
#define CACHE_KIB_DEFAULT  512
#define CACHE_KIB_DELIVERY 4096
/* Busy waits: first sleep and the longest one (microseconds), without a
 * wake-up channel; with one, the longest sleep before looking again
 * anyway (a writer that died or is not formrelay wakes no one). */
#define BUSY_SLEEP_FIRST_US 50
#define BUSY_SLEEP_MAX_US   1000
#define BUSY_WAKE_SLICE_US  2000

/*
 * Schema steps: step i moves user_version i to i + 1.  To change the
 * schema, append a step (never edit a shipped one) and bump
 * SPOOL_SCHEMA_VERSION; spool_migrate runs the missing steps in one
 * transaction.
 *
 * events: one row per stored call.  requeued_ms restarts the max_age
 * clock of a requeued dead letter without losing created_ms.  claim is
 * the claiming handle's token (see spool.h, "Who may settle a claim"),
 * or that of the delivery process a pending event was handed to
 * (spool_hand_appends).
 * AUTOINCREMENT: ids are never reused, so an id in a log or a dead-letter
 * listing always means one event.
 *
 * 1 -> 2: bodies move to their own table, and message_id loses its
 * UNIQUE index.  A claim rewrites its events' rows (state, owner, claim,
 * lease): with the ~800-byte body inline that rewrote every page holding
 * them, once more into the WAL and once more at checkpoint; rows without
 * bodies are a few dozen bytes.  The index on random UUIDs put each
 * insert and each delete on its own page of it (an ack of 500 events
 * dirtied ~400 index pages) and guarded nothing: message ids are random
 * UUIDs made here.  The state CHECK is spelled with OR: SQLite
 * evaluates "state IN (...)" by building a temporary b-tree of the list
 * on every insert and update (half the instructions of a claim went
 * there).  The trigger keeps bodies and events together
 * whoever deletes an event.  The table is rebuilt (SQLite cannot drop a
 * UNIQUE constraint), carrying the AUTOINCREMENT counter over so that no
 * id is reused.
 *
 * 2 -> 3: partial indexes, one a state.  Both indexes began with state,
 * so a claim moved each event's two entries (four b-tree writes) and an
 * ack deleted two; SQLite spent most of delivery's instructions there
 * (50,700 an event in a drain of 20,000).  Now a pending event has an
 * entry by due time (claims) and one by age (expiry, the oldest-pending
 * gauge); a claim replaces both with one among the inflight, which an
 * ack deletes; dead letters have their own for listing.  Every query
 * names the state its index covers, which is how SQLite picks a
 * partial index.
 */
static const char *const schema_steps[] = {
        /* 0 -> 1 */
        "CREATE TABLE events ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " message_id TEXT NOT NULL UNIQUE,"
        " body TEXT NOT NULL,"
        " created_ms INTEGER NOT NULL,"
        " due_ms INTEGER NOT NULL,"
        " state TEXT NOT NULL DEFAULT 'pending'"
        "  CHECK (state IN ('pending', 'inflight', 'dead')),"
        " owner TEXT,"
        " claim TEXT,"
        " lease_until_ms INTEGER NOT NULL DEFAULT 0,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " last_status INTEGER NOT NULL DEFAULT 0,"
        " last_reason TEXT,"
        " died_ms INTEGER,"
        " requeued_ms INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX events_claim ON events (state, due_ms, id);"
        "CREATE INDEX events_age ON events (state, created_ms);"
        "CREATE TABLE webhook_ids ("
        " id TEXT PRIMARY KEY,"
        " seen_ms INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE INDEX webhook_ids_seen ON webhook_ids (seen_ms);"
        "CREATE TABLE state ("
        " key TEXT PRIMARY KEY,"
        " value TEXT NOT NULL) WITHOUT ROWID;",
        /* 1 -> 2 */
        "CREATE TABLE bodies ("
        " id INTEGER PRIMARY KEY,"
        " body TEXT NOT NULL);"
        "INSERT INTO bodies (id, body) SELECT id, body FROM events;"
        "CREATE TABLE events_v2 ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " message_id TEXT NOT NULL,"
        " created_ms INTEGER NOT NULL,"
        " due_ms INTEGER NOT NULL,"
        " state TEXT NOT NULL DEFAULT 'pending'"
        "  CHECK (state = 'pending' OR state = 'inflight'"
        "   OR state = 'dead'),"
        " owner TEXT,"
        " claim TEXT,"
        " lease_until_ms INTEGER NOT NULL DEFAULT 0,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " last_status INTEGER NOT NULL DEFAULT 0,"
        " last_reason TEXT,"
        " died_ms INTEGER,"
        " requeued_ms INTEGER NOT NULL DEFAULT 0);"
        "INSERT INTO events_v2 SELECT id, message_id, created_ms, due_ms,"
        " state, owner, claim, lease_until_ms, attempts, last_status,"
        " last_reason, died_ms, requeued_ms FROM events;"
        "DELETE FROM sqlite_sequence WHERE name = 'events_v2';"
        "UPDATE sqlite_sequence SET name = 'events_v2'"
        " WHERE name = 'events';"
        "DROP TABLE events;"
        "ALTER TABLE events_v2 RENAME TO events;"
        "CREATE INDEX events_claim ON events (state, due_ms, id);"
        "CREATE INDEX events_age ON events (state, created_ms);"
        "CREATE TRIGGER events_body_gone AFTER DELETE ON events"
        " BEGIN DELETE FROM bodies WHERE id = old.id; END;",
        /* 2 -> 3 */
        "DROP INDEX events_claim;"
        "DROP INDEX events_age;"
        "CREATE INDEX events_due ON events (due_ms, id)"
        " WHERE state = 'pending';"
        "CREATE INDEX events_age ON events (created_ms)"
        " WHERE state = 'pending';"
        "CREATE INDEX events_leased ON events (id) WHERE state = 'inflight';"
        "CREATE INDEX events_dead ON events (id) WHERE state = 'dead';",
};

_Static_assert(sizeof(schema_steps) / sizeof(schema_steps[0]) ==
                       SPOOL_SCHEMA_VERSION,
               "one schema step per version");

/* Prepared once per handle, on first use. */
enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_INSERT_EVENT,
	ST_INSERT_HANDED,
	ST_INSERT_BODY,
	ST_INSERT_WEBHOOK,
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
	ST_PRUNE_WEBHOOKS,
	ST_NEXT_DUE,
	ST_COUNTS,
	ST_OLDEST,
	ST_LIST_DEAD,
	ST_REQUEUE,
	ST_PURGE,
	ST_STATE_SET,
	ST_STATE_GET,
	ST_COUNT
};

/* Events joined to their bodies, events first (by the claim index). */
#define CLAIM_SELECT                                                           \
	"SELECT e.id, e.message_id, b.body, e.created_ms, e.attempts"          \
	" FROM events AS e CROSS JOIN bodies AS b ON b.id = e.id"
#define SETTLED "owner = NULL, claim = NULL, lease_until_ms = 0"
/* ?1: the ids as a JSON array (see ids_json) */
#define IDS_IN "id IN (SELECT value FROM json_each(?1))"
/* claimed (inflight) or handed (pending) under this handle's token */
#define HELD IDS_IN " AND state <> 'dead' AND claim = ?2"

static const char *const stmt_sql[ST_COUNT] = {
        [ST_BEGIN] = "BEGIN IMMEDIATE",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
        [ST_INSERT_EVENT] = "INSERT INTO events (message_id, created_ms,"
                            " due_ms) VALUES (?1, ?2, ?2)",
        [ST_INSERT_HANDED] = "INSERT INTO events (message_id, created_ms,"
                             " due_ms, claim) VALUES (?1, ?2, ?3, ?4)",
        [ST_INSERT_BODY] = "INSERT INTO bodies (id, body)"
                           " VALUES (last_insert_rowid(), ?1)",
        [ST_INSERT_WEBHOOK] = "INSERT OR IGNORE INTO webhook_ids (id, seen_ms)"
                              " VALUES (?1, ?2)",
        [ST_TOP_ID] = "SELECT max(id) FROM events",
        /* by id (the newest rows); "+" keeps SQLite off events_due */
        [ST_TAKE_HANDED] = CLAIM_SELECT " WHERE e.id > ?3 AND e.id <= ?4"
                                        " AND e.state = 'pending'"
                                        " AND e.claim = ?5"
                                        " AND +e.due_ms > ?1"
                                        " ORDER BY e.id LIMIT ?2",
        [ST_CLAIM_EXPIRED] = CLAIM_SELECT " WHERE e.state = 'inflight'"
                                          " AND e.lease_until_ms < ?1"
                                          " ORDER BY e.id LIMIT ?2",
        [ST_CLAIM_PENDING] =
                CLAIM_SELECT " WHERE e.state = 'pending' AND e.due_ms <= ?1"
                             " ORDER BY e.due_ms, e.id LIMIT ?2",
        [ST_MARK_INFLIGHT] = "UPDATE events SET state = 'inflight',"
                             " owner = ?2, claim = ?3, lease_until_ms = ?4"
                             " WHERE " IDS_IN,
        [ST_ACK] = "DELETE FROM events WHERE " HELD,
        [ST_RETRY] = "UPDATE events SET state = 'pending', due_ms = ?3,"
                     " attempts = attempts + 1, last_reason = ?4, " SETTLED
                     " WHERE " HELD,
        [ST_DEAD] = "UPDATE events SET state = 'dead', last_status = ?3,"
                    " last_reason = ?4, died_ms = ?5,"
                    " attempts = attempts + 1, " SETTLED " WHERE " HELD,
        [ST_RELEASE] = "UPDATE events SET state = 'pending', " SETTLED
                       " WHERE state = 'inflight' AND owner = ?1",
        [ST_RELEASE_HANDED] = "UPDATE events SET due_ms = created_ms,"
                              " claim = NULL WHERE id > ?1"
                              " AND state = 'pending' AND claim = ?2",
        [ST_EXPIRE] = "UPDATE events SET state = 'dead', last_status = 0,"
                      " last_reason = '" SPOOL_REASON_MAX_AGE "',"
                      " died_ms = ?1, " SETTLED " WHERE state = 'pending'"
                      " AND created_ms < ?2 AND requeued_ms < ?2",
        [ST_PRUNE_WEBHOOKS] = "DELETE FROM webhook_ids WHERE seen_ms < ?1",
        [ST_NEXT_DUE] =
                "SELECT min(t) FROM ("
                " SELECT min(due_ms) AS t FROM events WHERE state = 'pending'"
                " UNION ALL SELECT min(lease_until_ms) + 1 FROM events"
                " WHERE state = 'inflight')",
        [ST_COUNTS] = "SELECT 'pending', count(*) FROM events"
                      " WHERE state = 'pending' UNION ALL"
                      " SELECT 'inflight', count(*) FROM events"
                      " WHERE state = 'inflight' UNION ALL"
                      " SELECT 'dead', count(*) FROM events"
                      " WHERE state = 'dead'",
        [ST_OLDEST] = "SELECT min(created_ms) FROM events"
                      " WHERE state = 'pending'",
        [ST_LIST_DEAD] = "SELECT id, message_id, created_ms, died_ms,"
                         " last_status, attempts, last_reason FROM events"
                         " WHERE state = 'dead' ORDER BY id LIMIT ?1",
        [ST_REQUEUE] = "UPDATE events SET state = 'pending', due_ms = ?2,"
                       " requeued_ms = ?2, attempts = 0, died_ms = NULL"
                       " WHERE state = 'dead' AND (?1 < 0 OR id = ?1)",
        [ST_PURGE] = "DELETE FROM events"
                     " WHERE state = 'dead' AND (?1 < 0 OR id = ?1)",
        [ST_STATE_SET] =
                "INSERT INTO state (key, value) VALUES (?1, ?2)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [ST_STATE_GET] = "SELECT value FROM state WHERE key = ?1",
};

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
};

/* ---- errors ---------------------------------------------------------- */

/* The operating system's word for the last failure, when there is one. */
static const char *
system_cause(sqlite3 *db)
{
	int e = db ? sqlite3_system_errno(db) : 0;

	return e != 0 ? strerror(e) : "no system error";
}

/*
 * Record (in sp->err and err) why rc happened while doing what.  Called
 * before any ROLLBACK, which would reset SQLite's error message.
 */
static int
store_fail(struct spool *sp, int rc, const char *what, struct fr_error *err)
{
	const char *msg = sp->db ? sqlite3_errmsg(sp->db) : sqlite3_errstr(rc);
	struct fr_error *e = &sp->err;

	switch (rc & 0xff) {
	case SQLITE_FULL:
		fr_fail(e, FR_ESTORE, NULL, NULL, "disk full: cannot %s %s",
		        what, sp->path);
		break;
	case SQLITE_READONLY:
		if (rc == SQLITE_READONLY_DIRECTORY ||
		    rc == SQLITE_READONLY_CANTINIT)
			msg = "its directory is not writable, and SQLite "
			      "keeps the -wal and -shm files there";
		fr_fail(e, FR_ESTORE, NULL, NULL, "spool is read-only: %s (%s)",
		        sp->path, msg);
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		fr_fail(e, FR_ESTORE, NULL, NULL,
		        "spool is locked: %s (another process held it for "
		        "%d ms)",
		        sp->path, sp->busy_ms);
		break;
	case SQLITE_CANTOPEN:
		fr_fail(e, FR_ESTORE, NULL, NULL,
		        "cannot open spool %s: %s (%s; its directory must be "
		        "writable for the -wal and -shm files)",
		        sp->path, msg, system_cause(sp->db));
		break;
	case SQLITE_IOERR:
		fr_fail(e, FR_ESTORE, NULL, NULL,
		        "spool I/O error: cannot %s %s: %s (%s)", what,
		        sp->path, msg, system_cause(sp->db));
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		fr_fail(e, FR_ESTORE, NULL, NULL,
		        "spool is damaged or not a database: %s (%s)", sp->path,
		        msg);
		break;
	default:
		fr_fail(e, FR_ESTORE, NULL, NULL, "cannot %s %s: %s", what,
		        sp->path, msg);
	}
	if (err != NULL)
		*err = *e;
	return FR_ESTORE;
}

const struct fr_error *
spool_last_error(const struct spool *sp)
{
	return &sp->err;
}

int64_t
spool_changes(const struct spool *sp)
{
	return sp->changes;
}

/* ---- statements and transactions -------------------------------------- */

/* The cached statement id, reset and ready to bind; NULL on failure. */
static sqlite3_stmt *
stmt(struct spool *sp, enum stmt_id id, int *rc)
{
	if (sp->stmt[id] == NULL) {
		*rc = sqlite3_prepare_v3(sp->db, stmt_sql[id], -1,
		                         SQLITE_PREPARE_PERSISTENT,
		                         &sp->stmt[id], NULL);
		if (*rc != SQLITE_OK)
			return NULL;
	}
	*rc = SQLITE_OK;
	return sp->stmt[id];
}

/* Step a statement that returns no rows, then reset it. */
static int
step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Run a cached statement that takes no parameters. */
static int
run(struct spool *sp, enum stmt_id id)
{
	int rc;
	sqlite3_stmt *st = stmt(sp, id, &rc);

	return st == NULL ? rc : step_done(st);
}

/*
 * Set how durable the next commits are (PRAGMA synchronous; per
 * connection, read at each commit).  Not a cached statement: SQLite
 * applies this pragma when it compiles it, not when it runs.
 */
static int
set_durability(struct spool *sp, enum durability d)
{
	int full = d == DURABLE, rc;

	if (sp->sync_full == full)
		return SQLITE_OK;
	rc = sqlite3_exec(sp->db,
	                  full ? "PRAGMA synchronous = FULL"
	                       : "PRAGMA synchronous = NORMAL",
	                  NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		sp->sync_full = full;
	return rc;
}

/*
 * fsync the WAL, as synchronous=FULL does at the end of COMMIT, through
 * SQLite's own file (SQLITE_FCNTL_JOURNAL_POINTER): the same call, and
 * the directory is synced too the first time after SQLite created the
 * file.  An fsync covers the whole file, so every commit written before
 * it, this connection's or another's, is on disk once it returns.
 */
static int
wal_sync(struct spool *sp, struct fr_error *err)
{
	sqlite3_file *wal = NULL;
	int rc = sqlite3_file_control(sp->db, "main",
	                              SQLITE_FCNTL_JOURNAL_POINTER, &wal);
	int64_t start = mono_us();

	if (rc == SQLITE_OK && (wal == NULL || wal->pMethods == NULL))
		rc = SQLITE_MISUSE;
	errno = 0;
	if (rc == SQLITE_OK)
		rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
	if (rc == SQLITE_OK) {
		sp->last_sync_us = mono_us() - start;
		return FR_OK;
	}
	fr_fail(&sp->err, FR_ESTORE, NULL, NULL,
	        "spool I/O error: cannot sync the write-ahead log of %s: %s "
	        "(%s)",
	        sp->path, sqlite3_errstr(rc),
	        errno != 0 ? strerror(errno) : "no system error");
	if (err != NULL)
		*err = sp->err;
	return FR_ESTORE;
}

/* About to try for the write lock: note the wake-up count first, so that
 * a release while we try is not slept through (see busy_wait). */
static void
write_start(struct spool *sp)
{
	if (sp->wake != NULL)
		sp->wake_seen = spool_wake_count(sp->wake);
}

/*
 * Checkpoints.  The WAL hook (sqlite3_wal_hook, called inside COMMIT;
 * frames: the WAL's length) notes when this handle's threshold is passed
 * (SPOOL_CHECKPOINT_PAGES for delivery, the backstop for others), and
 * write_end checkpoints once the waiting writers are woken.  A PASSIVE
 * checkpoint copies what it can without stopping anyone, but under a steady
 * stream of commits the WAL is never entirely copied at the moment a writer
 * starts, which is when SQLite starts the WAL over: it only grows (tens of MB
 * in a minute of load), and every commit extends the file, so each fsync also
 * journals the new size.  So a RESTART follows: it holds writers off, but only
 * while it copies the frames committed during the PASSIVE pass, and then the
 * next writer starts the WAL over.
 */
static int
note_wal_size(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct spool *sp = arg;

	(void)db;
	(void)name;
	sp->checkpoint_due = frames >= sp->checkpoint_pages;
	return SQLITE_OK;
}

static void
checkpoint_if_due(struct spool *sp)
{
	int busy_ms;

	if (!sp->checkpoint_due)
		return;
	sp->checkpoint_due = 0;
	/* a checkpoint failure is no failure of the write before it */
	if (sqlite3_wal_checkpoint_v2(sp->db, "main", SQLITE_CHECKPOINT_PASSIVE,
	                              NULL, NULL) != SQLITE_OK)
		return;
	/* A reader with an old snapshot (the sqlite3 shell, a long listing)
	 * would hold RESTART, and every writer behind it, for busy_ms: give
	 * up soon instead, and start the WAL over another time. */
	busy_ms = sp->busy_ms;
	sp->busy_ms = CHECKPOINT_RESTART_WAIT_MS;
	write_start(sp);
	(void)sqlite3_wal_checkpoint_v2(sp->db, "main",
	                                SQLITE_CHECKPOINT_RESTART, NULL, NULL);
	sp->busy_ms = busy_ms;
	if (sp->wake != NULL)
		spool_wake_released(sp->wake);
}

/* A write ended (whatever its outcome): wake the writers waiting for
 * the lock, then checkpoint if this handle's commit asked for it. */
static void
write_end(struct spool *sp)
{
	if (sp->wake != NULL)
		spool_wake_released(sp->wake);
	checkpoint_if_due(sp);
}

/* Step st, one write in its own transaction; *changed (may be NULL) gets
 * the rows it changed. */
static int
write_alone(struct spool *sp, sqlite3_stmt *st, enum durability d,
            int64_t *changed)
{
	int rc = set_durability(sp, d);

	if (rc != SQLITE_OK)
		return rc;
	write_start(sp);
	rc = step_done(st);
	if (rc == SQLITE_OK && changed != NULL)
		*changed = sqlite3_changes(sp->db);
	write_end(sp);
	return rc;
}

static int
tx_begin(struct spool *sp, enum durability d)
{
	int rc = set_durability(sp, d);

	write_start(sp);
	return rc == SQLITE_OK ? run(sp, ST_BEGIN) : rc;
}

/* Roll back whatever is open; SQLite may already have done it (SQLITE_FULL
 * can end the transaction by itself). */
static void
tx_rollback(struct spool *sp)
{
	if (!sqlite3_get_autocommit(sp->db))
		(void)run(sp, ST_ROLLBACK);
}

/*
 * End the transaction: COMMIT when rc is SQLITE_OK, else record the error
 * and roll back.  Returns FR_OK only when COMMIT itself returned
 * SQLITE_OK, i.e. the WAL is on disk.
 */
static int
tx_end(struct spool *sp, int rc, const char *what, struct fr_error *err)
{
	if (rc == SQLITE_OK)
		rc = run(sp, ST_COMMIT);
	if (rc != SQLITE_OK) {
		store_fail(sp, rc, what, err);
		tx_rollback(sp);
	}
	write_end(sp);
	return rc == SQLITE_OK ? FR_OK : FR_ESTORE;
}

/* ---- waiting for the write lock ---------------------------------------- */

/* Sleep until a writer ends its transaction, at most left_us, unless
 * one did since we last looked. */
static void
wait_for_release(struct spool *sp, int64_t left_us)
{
	uint32_t now = spool_wake_count(sp->wake);

	if (now == sp->wake_seen)
		spool_wake_wait(sp->wake, now,
		                left_us < BUSY_WAKE_SLICE_US
		                        ? left_us
		                        : BUSY_WAKE_SLICE_US);
	sp->wake_seen = spool_wake_count(sp->wake);
}

/*
 * SQLite's busy handler (sqlite3_busy_handler): called with count 0, 1,
 * ... while another connection holds the lock; nonzero means "try
 * again".  sqlite3_busy_timeout's own handler sleeps 1, 2, 5, 10, ...,
 * 50, 100, 100 ms between tries (sqliteDefaultBusyCallback), so a writer
 * that arrives while another process commits may sleep on for up to
 * 100 ms after the lock is free: under load that was the whole p99 of a
 * submission.  Here a waiter sleeps until a formrelay writer of the
 * spool ends its transaction (spool_wake.h), and looks again at least
 * every 2 ms; without that channel, it polls: 50 us doubling to 1 ms.
 * Either way until busy_ms have passed since the first try ("spool is
 * locked" after that, as before).
 */
static int
busy_wait(void *arg, int count)
{
	struct spool *sp = arg;
	int64_t now = mono_us(), left, sleep_us = BUSY_SLEEP_FIRST_US;
	struct timespec ts;

	if (count == 0)
		sp->busy_since_us = now;
	left = (int64_t)sp->busy_ms * 1000 - (now - sp->busy_since_us);
	if (left <= 0)
		return 0;
	if (sp->wake != NULL) {
		wait_for_release(sp, left);
		return 1;
	}
	while (count-- > 0 && sleep_us < BUSY_SLEEP_MAX_US)
		sleep_us *= 2;
	if (sleep_us > BUSY_SLEEP_MAX_US)
		sleep_us = BUSY_SLEEP_MAX_US;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)sleep_us * 1000;
	nanosleep(&ts, NULL);
	return 1;
}

/* ---- opening ------------------------------------------------------------ */

/* The directory part of path ("." when none) into buf. */
static void
parent_dir(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t len;

	if (slash == NULL) {
		strlcopy(buf, ".", size);
		return;
	}
	len = slash == path ? 1 : (size_t)(slash - path);
	if (len >= size)
		len = size - 1;
	memcpy(buf, path, len);
	buf[len] = '\0';
}

/* Make a new file's name durable: fsync its directory (the redis and
 * postfix habit; SQLite syncs the directory for its journals only). */
static void
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/*
 * Check the directory, and create the file ourselves with mode 0600 (the
 * spool holds personal data; SQLite would use 0644 & ~umask, and gives
 * its -wal and -shm files the main file's mode).
 */
static int
prepare_file(struct spool *sp, struct fr_error *err)
{
	char dir[4096];
	struct stat st;
	int fd;

	parent_dir(sp->path, dir, sizeof(dir));
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return fr_fail(err, FR_ESTORE, NULL, NULL,
		               "spool directory %s does not exist: create it, "
		               "owned by the user formrelay runs as",
		               dir);
	fd = open(sp->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		close(fd);
		sync_dir(dir);
		return FR_OK;
	}
	if (errno == EEXIST)
		return FR_OK;
	return fr_fail(err, FR_ESTORE, NULL, NULL, "cannot create spool %s: %s",
	               sp->path, strerror(errno));
}

/* One integer from a query (a PRAGMA) into *out. */
static int
query_int(struct spool *sp, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(sp->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		*out = 0;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* journal_mode=WAL answers the mode it ended in: anything else (a
 * filesystem without shared memory, say) is refused. */
static int
set_wal(struct spool *sp, struct fr_error *err)
{
	char mode[16] = "";
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(sp->db, "PRAGMA journal_mode = WAL", -1,
	                            &st, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_text(st, 0) != NULL)
			strlcopy(mode, (const char *)sqlite3_column_text(st, 0),
			         sizeof(mode));
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		store_fail(sp, rc, "set up", err);
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return FR_ESTORE;
	if (ascii_casecmp(mode, "wal") != 0)
		return fr_fail(err, FR_ESTORE, NULL, NULL,
		               "cannot put spool %s in WAL mode "
		               "(journal_mode is %s)",
		               sp->path, mode);
	return FR_OK;
}

static int
set_pragmas(struct spool *sp, struct fr_error *err)
{
	char sql[192];
	int rc;

	if (sqlite3_db_readonly(sp->db, "main") == 1) {
		fr_fail(&sp->err, FR_ESTORE, NULL, NULL,
		        "spool is read-only: %s", sp->path);
		if (err != NULL)
			*err = sp->err;
		return FR_ESTORE;
	}
	if (set_wal(sp, err) != FR_OK)
		return FR_ESTORE;
	/* secure_delete: Debian builds SQLite with SECURE_DELETE, which
	 * zeroes and writes back every page an ack frees; FAST zeroes
	 * deleted bodies only in pages written anyway (sqlite.org/pragma.html
	 * #pragma_secure_delete).  Freed pages keep old bodies until reused,
	 * as the WAL does until overwritten: the file is 0600 either way. */
	snprintf(sql, sizeof(sql),
	         "PRAGMA synchronous = FULL; PRAGMA journal_size_limit = %d;"
	         " PRAGMA secure_delete = FAST; PRAGMA cache_size = -%d",
	         SPOOL_WAL_SIZE_LIMIT, CACHE_KIB_DEFAULT);
	rc = sqlite3_exec(sp->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? FR_OK : store_fail(sp, rc, "set up", err);
}

/* A file with tables but no formrelay version is someone else's. */
static int
check_foreign(struct spool *sp, int64_t version, struct fr_error *err)
{
	int64_t app = 0, tables = 0;
	int rc = query_int(sp, "PRAGMA application_id", &app);

	if (rc == SQLITE_OK)
		rc = query_int(sp, "SELECT count(*) FROM sqlite_master",
		               &tables);
	if (rc != SQLITE_OK)
		return store_fail(sp, rc, "read", err);
	if ((version == 0 && tables > 0) ||
	    (version > 0 && app != SPOOL_APPLICATION_ID))
		return fr_fail(err, FR_ESTORE, NULL, NULL,
		               "%s is not a formrelay spool", sp->path);
	if (version > SPOOL_SCHEMA_VERSION)
		return fr_fail(err, FR_ESTORE, NULL, NULL,
		               "spool %s has schema version %" PRId64
		               ", newer than this formrelay knows (%d): "
		               "upgrade formrelay",
		               sp->path, version, SPOOL_SCHEMA_VERSION);
	return FR_OK;
}

/* Run the missing schema steps inside the write lock. */
static int
apply_steps(struct spool *sp)
{
	char sql[96];
	int64_t v;
	int rc = query_int(sp, "PRAGMA user_version", &v);

	for (; rc == SQLITE_OK && v < SPOOL_SCHEMA_VERSION; v++)
		rc = sqlite3_exec(sp->db, schema_steps[v], NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return rc;
	snprintf(sql, sizeof(sql),
	         "PRAGMA user_version = %d; PRAGMA application_id = %d",
	         SPOOL_SCHEMA_VERSION, SPOOL_APPLICATION_ID);
	return sqlite3_exec(sp->db, sql, NULL, NULL, NULL);
}

/*
 * Bring the schema to SPOOL_SCHEMA_VERSION.  The common case (already
 * current) reads one pragma and takes no write lock; otherwise the steps
 * run under BEGIN IMMEDIATE, so two processes starting at once migrate
 * once (the second re-reads the version and finds nothing to do).
 */
static int
spool_migrate(struct spool *sp, struct fr_error *err)
{
	int64_t v = 0;
	int rc = query_int(sp, "PRAGMA user_version", &v);

	if (rc != SQLITE_OK)
		return store_fail(sp, rc, "read", err);
	if (check_foreign(sp, v, err) != FR_OK)
		return FR_ESTORE;
	if (v == SPOOL_SCHEMA_VERSION)
		return FR_OK;
	rc = tx_begin(sp, DURABLE);
	if (rc == SQLITE_OK)
		rc = apply_steps(sp);
	return tx_end(sp, rc, "create the schema of", err);
}

/*
 * Pragmas and schema, one opening process at a time: two FastCGI
 * processes starting on a new spool used to race (one switching to WAL
 * while the other read the empty file: "spool is locked" at once, or
 * "not a formrelay spool" when it saw the tables before the version).
 * Without the wake file (read-only directory) SQLite's locks still keep
 * the file consistent.
 */
static int
set_up(struct spool *sp, struct fr_error *err)
{
	int locked, rc;

	/* replaces wal_autocheckpoint, itself a WAL hook */
	sp->checkpoint_pages = SPOOL_CHECKPOINT_BACKSTOP_PAGES;
	sqlite3_wal_hook(sp->db, note_wal_size, sp);
	sp->wake = spool_wake_open(sp->path);
	locked = sp->wake != NULL &&
	         spool_wake_setup_lock(sp->wake, sp->busy_ms) == 0;
	rc = set_pragmas(sp, err);
	sp->sync_full = 1; /* set_pragmas' synchronous = FULL */
	if (rc == FR_OK)
		rc = spool_migrate(sp, err);
	if (locked)
		spool_wake_setup_unlock(sp->wake);
	return rc;
}

int
spool_open(const char *path, struct spool **out, struct fr_error *err)
{
	struct spool *sp = calloc(1, sizeof(*sp));
	int rc;

	*out = NULL;
	if (sp == NULL || (sp->path = xstrdup(path)) == NULL ||
	    uuid_v4(sp->claim)) {
		spool_close(sp);
		return fr_fail(err, FR_ESTORE, NULL, NULL,
		               "cannot open spool %s: out of memory or "
		               "randomness",
		               path);
	}
	sp->busy_ms = SPOOL_BUSY_TIMEOUT_MS;
	if (prepare_file(sp, err) != FR_OK) {
		spool_close(sp);
		return FR_ESTORE;
	}
	rc = sqlite3_open_v2(path, &sp->db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_extended_result_codes(sp->db, 1);
		rc = sqlite3_busy_handler(sp->db, busy_wait, sp);
	}
	if (rc != SQLITE_OK) {
		store_fail(sp, rc, "open", err);
		spool_close(sp);
		return FR_ESTORE;
	}
	if (set_up(sp, err) != FR_OK) {
		spool_close(sp);
		return FR_ESTORE;
	}
	fr_error_clear(&sp->err);
	*out = sp;
	return FR_OK;
}

void
spool_close(struct spool *sp)
{
	size_t i;

	if (sp == NULL)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(sp->stmt[i]);
	sqlite3_close(sp->db);
	spool_wake_close(sp->wake);
	free(sp->path);
	free(sp);
}

int
spool_for_delivery(struct spool *sp, struct fr_error *err)
{
	char sql[64];
	int rc;

	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d",
	         CACHE_KIB_DELIVERY);
	rc = sqlite3_exec(sp->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_fail(sp, rc, "set up", err);
	sp->checkpoint_pages = SPOOL_CHECKPOINT_PAGES;
	return FR_OK;
}

/* A token fits a claim column's buffer (hand_token, claim). */
static int
token_fits(const char *token)
{
	return token != NULL && *token != '\0' && strlen(token) < UUID_STR_LEN;
}

int
spool_hand_appends(struct spool *sp, const char *token, int64_t lease_ms)
{
	sp->hand_token[0] = '\0';
	if (token == NULL || *token == '\0')
		return 0;
	if (!token_fits(token) || lease_ms <= 0)
		return -1;
	strlcopy(sp->hand_token, token, sizeof(sp->hand_token));
	sp->hand_lease_ms = lease_ms;
	return 0;
}

int
spool_take_handed(struct spool *sp, const char *token)
{
	if (!token_fits(token))
		return -1;
	strlcopy(sp->claim, token, sizeof(sp->claim));
	sp->takes_handed = 1;
	sp->handed_seen = 0;
	return 0;
}

void
spool_set_busy_timeout(struct spool *sp, int ms)
{
	sp->busy_ms = ms > 0 ? ms : 0;
}

int
spool_set_max_size(struct spool *sp, int64_t max_bytes)
{
	char sql[96];
	int64_t page = 4096, pages;
	int rc = query_int(sp, "PRAGMA page_size", &page);

	if (rc != SQLITE_OK)
		return store_fail(sp, rc, "read", NULL);
	/* 0 pages is not accepted; SQLite's own ceiling is 4294967294 */
	pages = max_bytes > 0 ? max_bytes / (page > 0 ? page : 4096)
	                      : 4294967294LL;
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %" PRId64,
	         pages > 0 ? pages : 1);
	rc = sqlite3_exec(sp->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? FR_OK : store_fail(sp, rc, "limit", NULL);
}

/* ---- appending ------------------------------------------------------------
 */

static int
event_valid(const struct spool_event *ev)
{
	return ev->message_id != NULL && ev->body != NULL &&
	       strlen(ev->message_id) < UUID_STR_LEN && ev->len <= INT32_MAX;
}

static int
append_valid(const struct spool_append *a)
{
	size_t i;

	if (a->n > 0 && a->evs == NULL)
		return 0;
	for (i = 0; i < a->n; i++)
		if (!event_valid(&a->evs[i]))
			return 0;
	return 1;
}

/* The event's row (handed, when this handle hands its appends), then
 * its body under the same id. */
static int
insert_event(struct spool *sp, const struct spool_event *ev, int64_t now)
{
	int rc, handed = sp->hand_token[0] != '\0';
	sqlite3_stmt *st =
	        stmt(sp, handed ? ST_INSERT_HANDED : ST_INSERT_EVENT, &rc);
	sqlite3_stmt *body = st ? stmt(sp, ST_INSERT_BODY, &rc) : NULL;

	if (body == NULL)
		return rc;
	sqlite3_bind_text(st, 1, ev->message_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	if (handed) {
		sqlite3_bind_int64(st, 3, now + sp->hand_lease_ms);
		sqlite3_bind_text(st, 4, sp->hand_token, -1, SQLITE_STATIC);
	}
	rc = step_done(st);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(body, 1, ev->body, (int)ev->len, SQLITE_STATIC);
	return step_done(body);
}

/* Record the webhook id; *dup when it was already there. */
static int
insert_webhook_id(struct spool *sp, const char *id, int64_t now, int *dup)
{
	int rc;
	sqlite3_stmt *st = stmt(sp, ST_INSERT_WEBHOOK, &rc);

	if (st == NULL)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	rc = step_done(st);
	*dup = rc == SQLITE_OK && sqlite3_changes(sp->db) == 0;
	return rc;
}

/* One submission inside the open transaction; sets a->result. */
static int
append_one(struct spool *sp, struct spool_append *a, int64_t now)
{
	int rc = SQLITE_OK, dup = 0;
	size_t i;

	if (!append_valid(a)) {
		a->result = FR_EINTERNAL;
		return SQLITE_OK;
	}
	if (a->webhook_id != NULL)
		rc = insert_webhook_id(sp, a->webhook_id, now, &dup);
	for (i = 0; rc == SQLITE_OK && !dup && i < a->n; i++)
		rc = insert_event(sp, &a->evs[i], now);
	a->result = dup ? FR_EDUPLICATE : FR_OK;
	return rc;
}

int
spool_append_group(struct spool *sp, struct spool_append *const *items,
                   size_t n, int64_t now, struct fr_error *err)
{
	return spool_append_finish(sp, spool_append_begin(sp), items, n, now,
	                           err);
}

int
spool_append_begin(struct spool *sp)
{
	return tx_begin(sp, SYNC_AFTER);
}

int
spool_append_finish(struct spool *sp, int begun,
                    struct spool_append *const *items, size_t n, int64_t now,
                    struct fr_error *err)
{
	size_t i;
	int rc = begun;

	for (i = 0; rc == SQLITE_OK && i < n; i++)
		rc = append_one(sp, items[i], now);
	/* tx_end has let the next writer in before the fsync */
	if (tx_end(sp, rc, "store events in", err) == FR_OK &&
	    wal_sync(sp, err) == FR_OK)
		return FR_OK;
	for (i = 0; i < n; i++)
		items[i]->result = FR_ESTORE;
	return FR_ESTORE;
}

int64_t
spool_last_sync_us(const struct spool *sp)
{
	return sp->last_sync_us;
}

int
spool_append(struct spool *sp, const struct spool_event *evs, size_t n,
             const char *webhook_id, int64_t now, struct fr_error *err)
{
	struct spool_append a = {evs, n, webhook_id, FR_OK};
	struct spool_append *items[1] = {&a};
	int rc = spool_append_group(sp, items, 1, now, err);

	if (rc != FR_OK)
		return rc;
	if (a.result == FR_EDUPLICATE)
		return fr_fail(err, FR_EDUPLICATE, NULL, NULL,
		               "webhook %s was received before: not stored "
		               "again",
		               webhook_id);
	if (a.result == FR_EINTERNAL)
		return fr_fail(err, FR_EINTERNAL, NULL, NULL,
		               "invalid event for the spool (no body, or a "
		               "messageId too long)");
	return FR_OK;
}

/* ---- claiming -------------------------------------------------------------
 */

/* v in decimal at out (room for 20 bytes); returns the length.
 * snprintf was a tenth of delivery's instructions here. */
static size_t
put_decimal(char *out, int64_t v)
{
	char digits[20];
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0, len = 0;

	do {
		digits[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		out[len++] = '-';
	while (n > 0)
		out[len++] = digits[--n];
	return len;
}

/*
 * ids[0..n) as a JSON array, "[12,13,20]", for IDS_IN: one statement
 * settles a whole batch (json_each, sqlite.org/json1.html) instead of one
 * statement per event, which cost ~5,000 instructions an event in
 * statement overhead.  Owned by the caller (free); NULL without memory.
 */
static char *
ids_json(const int64_t *ids, size_t n)
{
	size_t size, len = 1, i;
	char *s;

	if (n > (SIZE_MAX - 3) / 21) /* 20 characters and a comma each */
		return NULL;
	size = n * 21 + 3;
	s = malloc(size);
	if (s == NULL)
		return NULL;
	s[0] = '[';
	for (i = 0; i < n; i++) {
		if (i > 0)
			s[len++] = ',';
		len += put_decimal(s + len, ids[i]);
	}
	s[len++] = ']';
	s[len] = '\0';
	return s;
}

/* The ids of a batch's items from the first on, as ids_json. */
static char *
items_json(const struct spool_batch *b, size_t first)
{
	size_t n = b->count - first, i;
	int64_t *ids = malloc((n ? n : 1) * sizeof(*ids));
	char *s = NULL;

	if (ids != NULL) {
		for (i = 0; i < n; i++)
			ids[i] = b->items[first + i].id;
		s = ids_json(ids, n);
	}
	free(ids);
	return s;
}

/* Room for one more item in b (capacity doubles). */
static int
batch_grow(struct spool_batch *b, size_t *cap, size_t max)
{
	struct spool_item *items;
	size_t want;

	if (b->count < *cap)
		return 0;
	want = *cap ? *cap * 2 : 16;
	if (want > max)
		want = max;
	items = realloc(b->items, want * sizeof(*items));
	if (items == NULL)
		return -1;
	b->items = items;
	*cap = want;
	return 0;
}

/* Copy the current row of a claim query into a new item. */
static int
take_row(sqlite3_stmt *st, struct spool_item *it)
{
	const char *body = (const char *)sqlite3_column_text(st, 2);
	const char *mid = (const char *)sqlite3_column_text(st, 1);

	memset(it, 0, sizeof(*it));
	it->len = (size_t)sqlite3_column_bytes(st, 2);
	it->body = xstrndup(body ? body : "", it->len);
	if (it->body == NULL)
		return SQLITE_NOMEM;
	it->id = sqlite3_column_int64(st, 0);
	strlcopy(it->message_id, mid ? mid : "", sizeof(it->message_id));
	it->created_ms = sqlite3_column_int64(st, 3);
	it->attempts = sqlite3_column_int(st, 4);
	return SQLITE_OK;
}

struct claim_limits {
	int64_t now;
	size_t max_events;
	size_t max_bytes;
	size_t bytes; /* taken so far */
	size_t cap;   /* items allocated */
	int full;     /* max_bytes reached: stop looking */
};

/* Add the rows of one claim query to b until a limit is reached. */
static int
collect(struct spool *sp, enum stmt_id id, struct claim_limits *lim,
        struct spool_batch *b)
{
	int rc;
	sqlite3_stmt *st = stmt(sp, id, &rc);

	if (st == NULL || lim->full || b->count >= lim->max_events)
		return rc;
	sqlite3_bind_int64(st, 1, lim->now);
	sqlite3_bind_int64(st, 2, (int64_t)(lim->max_events - b->count));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(st, 2);

		if (b->count > 0 && lim->bytes + len > lim->max_bytes) {
			lim->full = 1;
			break;
		}
		if (batch_grow(b, &lim->cap, lim->max_events) != 0 ||
		    take_row(st, &b->items[b->count]) != SQLITE_OK) {
			rc = SQLITE_NOMEM;
			break;
		}
		b->count++;
		lim->bytes += len;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Mark the items collected from the first on inflight under owner and
 * this handle. */
static int
mark_inflight(struct spool *sp, const struct spool_batch *b, size_t first,
              const char *owner, int64_t until)
{
	int rc;
	sqlite3_stmt *st = stmt(sp, ST_MARK_INFLIGHT, &rc);
	char *ids;

	if (first == b->count)
		return SQLITE_OK;
	if ((ids = st ? items_json(b, first) : NULL) == NULL)
		return st == NULL ? rc : SQLITE_NOMEM;
	sqlite3_bind_text(st, 1, ids, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sp->claim, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, until);
	rc = step_done(st);
	sqlite3_clear_bindings(st);
	free(ids);
	return rc;
}

static int cached_int(struct spool *sp, enum stmt_id id, int64_t dflt,
                      int64_t *out);

/*
 * Whether a claim could find anything, read without the write lock: a
 * deliverer is woken after every append of its process, and a quarter of
 * its claims under load found nothing (the other process's deliverer had
 * taken it), each an empty write transaction that appends waited behind.
 * On a read error, say yes and let the claim report it.
 */
static int
anything_due(struct spool *sp, int64_t now)
{
	int64_t due = 0;

	return cached_int(sp, ST_NEXT_DUE, INT64_MAX, &due) != SQLITE_OK ||
	       due <= now;
}

/*
 * Add the events handed to this handle's token (spool_take_handed) that
 * it has not looked at yet and whose lease still runs: they are ours
 * already, so this is only a read.  Ids grow with every commit, so
 * whatever is committed after top was read has a larger id.
 */
static int
take_handed(struct spool *sp, struct claim_limits *lim, struct spool_batch *b)
{
	size_t before = b->count, wanted = lim->max_events - b->count;
	int64_t top = 0;
	int rc;
	sqlite3_stmt *st = stmt(sp, ST_TAKE_HANDED, &rc);

	if (st == NULL)
		return rc;
	if ((rc = cached_int(sp, ST_TOP_ID, 0, &top)) != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 3, sp->handed_seen);
	sqlite3_bind_int64(st, 4, top);
	sqlite3_bind_text(st, 5, sp->claim, -1, SQLITE_STATIC);
	rc = collect(sp, ST_TAKE_HANDED, lim, b);
	if (rc != SQLITE_OK)
		return rc;
	if (b->count - before < wanted && !lim->full) {
		sp->handed_seen = top; /* every row up to top was seen */
	} else {
		b->more_handed = 1;
		if (b->count > before)
			sp->handed_seen = b->items[b->count - 1].id;
	}
	return SQLITE_OK;
}

int
spool_claim(struct spool *sp, const char *owner, int64_t now, int64_t lease_ms,
            size_t max_events, size_t max_bytes, struct spool_batch *out)
{
	struct claim_limits lim = {now, max_events, max_bytes, 0, 0, 0};
	size_t handed;
	int rc;

	out->items = NULL;
	out->count = 0;
	out->more_handed = 0;
	if (max_events == 0)
		return FR_OK;
	rc = sp->takes_handed ? take_handed(sp, &lim, out) : SQLITE_OK;
	if (rc != SQLITE_OK) {
		spool_batch_free(out);
		return store_fail(sp, rc, "read handed events from", NULL);
	}
	handed = out->count;
	if (handed == max_events || lim.full || !anything_due(sp, now))
		return FR_OK;
	rc = tx_begin(sp, BOOKKEEPING);
	if (rc == SQLITE_OK)
		rc = collect(sp, ST_CLAIM_EXPIRED, &lim, out);
	if (rc == SQLITE_OK)
		rc = collect(sp, ST_CLAIM_PENDING, &lim, out);
	if (rc == SQLITE_OK)
		rc = mark_inflight(sp, out, handed, owner ? owner : "",
		                   now + lease_ms);
	if (tx_end(sp, rc, "claim events from", NULL) == FR_OK)
		return FR_OK;
	spool_batch_free(out);
	return FR_ESTORE;
}

void
spool_batch_free(struct spool_batch *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->count; i++)
		free(b->items[i].body);
	free(b->items);
	b->items = NULL;
	b->count = 0;
}

/* ---- settling claims ------------------------------------------------------
 */

/*
 * Run st (?1 the ids, ?2 this handle's claim token, and the extra
 * parameters bound by the caller) once for all ids, in one transaction.
 * sp->changes gets how many rows it changed.
 */
static int
settle(struct spool *sp, sqlite3_stmt *st, const int64_t *ids, size_t n,
       const char *what)
{
	char *json = ids_json(ids, n);
	int rc = json == NULL ? SQLITE_NOMEM : tx_begin(sp, BOOKKEEPING);

	sp->changes = 0;
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, sp->claim, -1, SQLITE_STATIC);
		rc = step_done(st);
		sp->changes = rc == SQLITE_OK ? sqlite3_changes(sp->db) : 0;
		sqlite3_clear_bindings(st);
	}
	rc = json == NULL ? store_fail(sp, rc, what, NULL)
	                  : tx_end(sp, rc, what, NULL);
	free(json);
	if (rc != FR_OK)
		sp->changes = 0;
	return rc;
}

int
spool_ack(struct spool *sp, const int64_t *ids, size_t n)
{
	int rc;
	sqlite3_stmt *st = stmt(sp, ST_ACK, &rc);

	if (st == NULL)
		return store_fail(sp, rc, "acknowledge events in", NULL);
	return settle(sp, st, ids, n, "acknowledge events in");
}

int
spool_retry_later(struct spool *sp, const int64_t *ids, size_t n,
                  int64_t due_ms, const char *reason)
{
	int rc;
	sqlite3_stmt *st = stmt(sp, ST_RETRY, &rc);

	if (st == NULL)
		return store_fail(sp, rc, "reschedule events in", NULL);
	sqlite3_bind_int64(st, 3, due_ms);
	sqlite3_bind_text(st, 4, reason ? reason : "", -1, SQLITE_TRANSIENT);
	return settle(sp, st, ids, n, "reschedule events in");
}

int
spool_dead_letter(struct spool *sp, const int64_t *ids, size_t n,
                  int http_status, const char *reason, int64_t now)
{
	int rc;
	sqlite3_stmt *st = stmt(sp, ST_DEAD, &rc);

	if (st == NULL)
		return store_fail(sp, rc, "dead-letter events in", NULL);
	sqlite3_bind_int(st, 3, http_status);
	sqlite3_bind_text(st, 4, reason ? reason : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, now);
	return settle(sp, st, ids, n, "dead-letter events in");
}

/* The events handed to this handle and not taken yet: due as stored,
 * for any deliverer (the ids taken are up to handed_seen). */
static int
release_handed(struct spool *sp)
{
	int64_t changed = 0;
	int rc;
	sqlite3_stmt *st = stmt(sp, ST_RELEASE_HANDED, &rc);

	if (st == NULL)
		return rc;
	sqlite3_bind_int64(st, 1, sp->handed_seen);
	sqlite3_bind_text(st, 2, sp->claim, -1, SQLITE_STATIC);
	rc = write_alone(sp, st, BOOKKEEPING, &changed);
	sp->changes += changed;
	return rc;
}

int
spool_release(struct spool *sp, const char *owner)
{
	int rc;
	sqlite3_stmt *st = stmt(sp, ST_RELEASE, &rc);

	sp->changes = 0;
	if (st == NULL)
		return store_fail(sp, rc, "release claims in", NULL);
	sqlite3_bind_text(st, 1, owner ? owner : "", -1, SQLITE_TRANSIENT);
	rc = write_alone(sp, st, BOOKKEEPING, &sp->changes);
	if (rc == SQLITE_OK && sp->takes_handed)
		rc = release_handed(sp);
	if (rc != SQLITE_OK)
		return store_fail(sp, rc, "release claims in", NULL);
	return FR_OK;
}

/* ---- expiry and administration ------------------------------------------ */

/* Run a prepared statement with ?1 and ?2 bound; *changed gets its rows. */
static int
exec_2(struct spool *sp, enum stmt_id id, int64_t a, int64_t b,
       int64_t *changed)
{
	int rc;
	sqlite3_stmt *st = stmt(sp, id, &rc);

	if (st == NULL)
		return rc;
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	rc = step_done(st);
	if (rc == SQLITE_OK && changed != NULL)
		*changed = sqlite3_changes(sp->db);
	return rc;
}

int
spool_expire(struct spool *sp, int64_t now, int64_t max_age_ms, int64_t *count)
{
	int64_t n = 0;
	int rc = tx_begin(sp, BOOKKEEPING);

	if (rc == SQLITE_OK && max_age_ms > 0)
		rc = exec_2(sp, ST_EXPIRE, now, now - max_age_ms, &n);
	/* Svix retries a webhook for about a day with the same webhook-id
	 * and fresh signatures: two days covers every retry. */
	if (rc == SQLITE_OK)
		rc = exec_2(sp, ST_PRUNE_WEBHOOKS,
		            now - SPOOL_WEBHOOK_ID_TTL_MS, 0, NULL);
	rc = tx_end(sp, rc, "expire events in", NULL);
	if (count != NULL)
		*count = rc == FR_OK ? n : 0;
	return rc;
}

/* One integer from a cached query without parameters; *out = dflt when
 * the answer is NULL. */
static int
cached_int(struct spool *sp, enum stmt_id id, int64_t dflt, int64_t *out)
{
	int rc;
	sqlite3_stmt *st = stmt(sp, id, &rc);

	*out = dflt;
	if (st == NULL)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int
spool_next_due(struct spool *sp, int64_t *due_ms)
{
	int rc = cached_int(sp, ST_NEXT_DUE, INT64_MAX, due_ms);

	return rc == SQLITE_OK ? FR_OK : store_fail(sp, rc, "read", NULL);
}

static int
count_states(struct spool *sp, struct spool_stats *st)
{
	int rc;
	sqlite3_stmt *q = stmt(sp, ST_COUNTS, &rc);

	if (q == NULL)
		return rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(q, 0);
		int64_t n = sqlite3_column_int64(q, 1);

		if (state == NULL)
			continue;
		if (strcmp(state, "pending") == 0)
			st->pending = n;
		else if (strcmp(state, "inflight") == 0)
			st->inflight = n;
		else if (strcmp(state, "dead") == 0)
			st->dead = n;
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int
spool_stats(struct spool *sp, int64_t now, struct spool_stats *st)
{
	int rc;

	(void)now;
	memset(st, 0, sizeof(*st));
	rc = count_states(sp, st);
	if (rc == SQLITE_OK)
		rc = cached_int(sp, ST_OLDEST, 0, &st->oldest_pending_ms);
	if (rc == SQLITE_OK)
		return FR_OK;
	memset(st, 0, sizeof(*st));
	return store_fail(sp, rc, "read", NULL);
}

static void
take_dead(sqlite3_stmt *q, struct spool_dead *d)
{
	const char *mid = (const char *)sqlite3_column_text(q, 1);
	const char *reason = (const char *)sqlite3_column_text(q, 6);

	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(q, 0);
	strlcopy(d->message_id, mid ? mid : "", sizeof(d->message_id));
	d->created_ms = sqlite3_column_int64(q, 2);
	d->died_ms = sqlite3_column_int64(q, 3);
	d->http_status = sqlite3_column_int(q, 4);
	d->attempts = sqlite3_column_int(q, 5);
	strlcopy(d->reason, reason ? reason : "", sizeof(d->reason));
}

/* Step q, appending each row to *out (grown by doubling). */
static int
read_dead(sqlite3_stmt *q, struct spool_dead **out, size_t *count)
{
	size_t cap = 0;
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (*count == cap) {
			size_t want = cap ? cap * 2 : 16;
			struct spool_dead *p = realloc(*out, want * sizeof(*p));

			if (p == NULL)
				return SQLITE_NOMEM;
			*out = p;
			cap = want;
		}
		take_dead(q, &(*out)[(*count)++]);
	}
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int
spool_list_dead(struct spool *sp, size_t max, struct spool_dead **out,
                size_t *count)
{
	int rc;
	sqlite3_stmt *q = stmt(sp, ST_LIST_DEAD, &rc);

	*out = NULL;
	*count = 0;
	if (q == NULL)
		return store_fail(sp, rc, "read", NULL);
	sqlite3_bind_int64(q, 1, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	rc = read_dead(q, out, count);
	sqlite3_reset(q);
	if (rc == SQLITE_OK && *count > 0)
		return FR_OK;
	free(*out);
	*out = NULL;
	*count = 0;
	return rc == SQLITE_OK ? FR_OK : store_fail(sp, rc, "read", NULL);
}

int
spool_requeue(struct spool *sp, int64_t id, int64_t now, int64_t *count)
{
	int64_t n = 0;
	int rc = set_durability(sp, DURABLE);

	if (rc == SQLITE_OK) {
		write_start(sp);
		rc = exec_2(sp, ST_REQUEUE, id < 0 ? -1 : id, now, &n);
		write_end(sp);
	}
	if (count != NULL)
		*count = rc == SQLITE_OK ? n : 0;
	return rc == SQLITE_OK ? FR_OK : store_fail(sp, rc, "requeue in", NULL);
}

int
spool_purge(struct spool *sp, int64_t id, int64_t *count)
{
	int64_t n = 0;
	int rc = set_durability(sp, DURABLE);

	if (rc == SQLITE_OK) {
		write_start(sp);
		rc = exec_2(sp, ST_PURGE, id < 0 ? -1 : id, 0, &n);
		write_end(sp);
	}
	if (count != NULL)
		*count = rc == SQLITE_OK ? n : 0;
	return rc == SQLITE_OK ? FR_OK : store_fail(sp, rc, "purge", NULL);
}

/* ---- shared state ------------------------------------------------------- */

int
spool_state_set(struct spool *sp, const char *key, const char *value)
{
	int rc;
	sqlite3_stmt *st = stmt(sp, ST_STATE_SET, &rc);

	if (st == NULL)
		return store_fail(sp, rc, "write state to", NULL);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value ? value : "", -1, SQLITE_STATIC);
	rc = write_alone(sp, st, BOOKKEEPING, NULL);
	return rc == SQLITE_OK ? FR_OK
	                       : store_fail(sp, rc, "write state to", NULL);
}

int
spool_state_get(struct spool *sp, const char *key, char *buf, size_t size)
{
	int rc, status = FR_OK;
	sqlite3_stmt *st = stmt(sp, ST_STATE_GET, &rc);

	if (size > 0)
		buf[0] = '\0';
	if (st == NULL)
		return store_fail(sp, rc, "read state from", NULL);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);

		if (v != NULL && strlcopy(buf, v, size) >= size) {
			status = FR_ETOOLARGE;
			if (size > 0)
				buf[0] = '\0';
		}
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(sp, rc, "read state from", NULL);
	return status;
}
