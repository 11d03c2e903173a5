/*
 * How the spool writes (see include/spool_internal.h): errors,
 * cached statements, transactions and how durable each commit is, the
 * WAL fsync an append waits for, checkpoints, and waiting for the
 * write lock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "spool.h"
#include "spool_internal.h"
#include "spool_wake.h"
#include "util.h"

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
/* Busy waits: first sleep and the longest one (microseconds), without a
 * wake-up channel; with one, the longest sleep before looking again
 * anyway (a writer that died or is not formrelay wakes no one). */
#define BUSY_SLEEP_FIRST_US 50
#define BUSY_SLEEP_MAX_US   1000
#define BUSY_WAKE_SLICE_US  2000

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
int
spool_store_fail(struct spool *sp, int rc, const char *what,
                 struct fr_error *err)
{
	const char *msg = sp->db ? sqlite3_errmsg(sp->db) : sqlite3_errstr(rc);
	struct fr_error *e = &sp->err;

	if (rc == SQLITE_IOERR_FSYNC || rc == SQLITE_IOERR_DIR_FSYNC)
		sp->failed = 1;
	switch (sp->failed ? SQLITE_IOERR_FSYNC : rc & 0xff) {
	case SQLITE_IOERR_FSYNC:
		fr_fail(e, FR_ESTORE, NULL, NULL,
		        "spool I/O error: cannot %s %s: an fsync failed, and "
		        "nothing is acknowledged until the spool is reopened",
		        what, sp->path);
		break;
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
sqlite3_stmt *
spool_stmt(struct spool *sp, enum stmt_id id, int *rc)
{
	if (sp->stmt[id] == NULL) {
		*rc = sqlite3_prepare_v3(sp->db, spool_stmt_sql[id], -1,
		                         SQLITE_PREPARE_PERSISTENT,
		                         &sp->stmt[id], NULL);
		if (*rc != SQLITE_OK)
			return NULL;
	}
	*rc = SQLITE_OK;
	return sp->stmt[id];
}

/* Step a statement that returns no rows, then reset it. */
int
spool_step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Run a cached statement that takes no parameters. */
int
spool_run(struct spool *sp, enum stmt_id id)
{
	int rc;
	sqlite3_stmt *st = spool_stmt(sp, id, &rc);

	return st == NULL ? rc : spool_step_done(st);
}

/*
 * Set how durable the next commits are (PRAGMA synchronous; per
 * connection, read at each commit).  Not a cached statement: SQLite
 * applies this pragma when it compiles it, not when it runs.
 */
int
spool_set_durability(struct spool *sp, enum durability d)
{
	int full = d == DURABLE, rc;

	if (sp->failed)
		return SQLITE_IOERR_FSYNC; /* no write until spool_recover */
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
int
spool_wal_sync(struct spool *sp, struct fr_error *err)
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
	sp->failed = 1; /* see spool_recover.c */
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
 * a release while we try is not slept through (see spool_busy_wait). */
void
spool_write_start(struct spool *sp)
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
int
spool_note_wal_size(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct spool *sp = arg;

	(void)db;
	(void)name;
	sp->checkpoint_due = frames >= sp->checkpoint_pages;
	return SQLITE_OK;
}

/* A checkpoint whose fsync failed (of the WAL or of the spool file)
 * makes the handle fail as a failed append's fsync does. */
static void
checkpoint_failed(struct spool *sp, int rc)
{
	if (rc == SQLITE_IOERR_FSYNC || rc == SQLITE_IOERR_DIR_FSYNC)
		spool_store_fail(sp, rc, "checkpoint", NULL);
}

static void
checkpoint_if_due(struct spool *sp)
{
	int busy_ms, rc;

	if (!sp->checkpoint_due)
		return;
	sp->checkpoint_due = 0;
	/* a checkpoint failure is no failure of the write before it,
	 * unless its fsync failed: that one is fatal for the handle */
	rc = sqlite3_wal_checkpoint_v2(sp->db, "main",
	                               SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	if (rc != SQLITE_OK) {
		checkpoint_failed(sp, rc);
		return;
	}
	/* A reader with an old snapshot (the sqlite3 shell, a long listing)
	 * would hold RESTART, and every writer behind it, for busy_ms: give
	 * up soon instead, and start the WAL over another time. */
	busy_ms = sp->busy_ms;
	sp->busy_ms = CHECKPOINT_RESTART_WAIT_MS;
	spool_write_start(sp);
	rc = sqlite3_wal_checkpoint_v2(sp->db, "main",
	                               SQLITE_CHECKPOINT_RESTART, NULL, NULL);
	checkpoint_failed(sp, rc);
	sp->busy_ms = busy_ms;
	if (sp->wake != NULL)
		spool_wake_released(sp->wake);
}

/* A write ended (whatever its outcome): wake the writers waiting for
 * the lock, then checkpoint if this handle's commit asked for it. */
void
spool_write_end(struct spool *sp)
{
	if (sp->wake != NULL)
		spool_wake_released(sp->wake);
	checkpoint_if_due(sp);
}

/* Step st, one write in its own transaction; *changed (may be NULL) gets
 * the rows it changed. */
int
spool_write_alone(struct spool *sp, sqlite3_stmt *st, enum durability d,
                  int64_t *changed)
{
	int rc = spool_set_durability(sp, d);

	if (rc != SQLITE_OK)
		return rc;
	spool_write_start(sp);
	rc = spool_step_done(st);
	if (rc == SQLITE_OK && changed != NULL)
		*changed = sqlite3_changes(sp->db);
	spool_write_end(sp);
	return rc;
}

int
spool_tx_begin(struct spool *sp, enum durability d)
{
	int rc = spool_set_durability(sp, d);

	spool_write_start(sp);
	return rc == SQLITE_OK ? spool_run(sp, ST_BEGIN) : rc;
}

/* Roll back whatever is open; SQLite may already have done it (SQLITE_FULL
 * can end the transaction by itself). */
static void
tx_rollback(struct spool *sp)
{
	if (!sqlite3_get_autocommit(sp->db))
		(void)spool_run(sp, ST_ROLLBACK);
}

/*
 * End the transaction: COMMIT when rc is SQLITE_OK, else record the error
 * and roll back.  Returns FR_OK only when COMMIT itself returned
 * SQLITE_OK, i.e. the WAL is on disk.
 */
int
spool_tx_end(struct spool *sp, int rc, const char *what, struct fr_error *err)
{
	if (rc == SQLITE_OK)
		rc = spool_run(sp, ST_COMMIT);
	if (rc != SQLITE_OK) {
		spool_store_fail(sp, rc, what, err);
		tx_rollback(sp);
	}
	spool_write_end(sp);
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
int
spool_busy_wait(void *arg, int count)
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

/* One integer from a query (a PRAGMA) into *out. */
int
spool_query_int(struct spool *sp, const char *sql, int64_t *out)
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

/* One integer from a cached query without parameters; *out = dflt when
 * the answer is NULL. */
int
spool_cached_int(struct spool *sp, enum stmt_id id, int64_t dflt, int64_t *out)
{
	int rc;
	sqlite3_stmt *st = spool_stmt(sp, id, &rc);

	*out = dflt;
	if (st == NULL)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}
