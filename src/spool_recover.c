/*
 * After a failed fsync (include/spool.h, "When an fsync fails").  On
 * Linux a writeback error is reported once, to each open file, and the
 * pages that could not be written may be dropped or marked clean: a
 * later fsync "succeeds" for data that never reached the disk
 * (PostgreSQL's "fsyncgate", 2018, after which it treats a failed fsync
 * as fatal).  So the handle whose fsync failed acknowledges nothing
 * more (every write on it is refused) until spool_recover has
 *   1. closed the connection and opened it again (no statement or
 *      cache of the old one survives),
 *   2. undone what the failed commit stored (its events and the
 *      de-duplication keys remembered with them: they were answered
 *      503, and a client's retry must store them then), without an fsync,
 *      so that no deliverer claims them from now on, and
 *   3. checkpointed the write-ahead log into the spool file and
 *      truncated it (SQLITE_CHECKPOINT_TRUNCATE: the spool file is
 *      fsync'd, and the next commit starts a new log instead of
 *      appending to the one with a hole).
 * Until all three succeed, spool_recover returns FR_ESTORE and the
 * handle stays failed; callers try again before their next write.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "spool.h"
#include "spool_internal.h"
#include "spool_wake.h"
#include "util.h"

void
spool_undo_clear(struct spool *sp)
{
	memset(&sp->undo, 0, sizeof(sp->undo));
}

/* The keys a group remembered are remembered with the messageIds of
 * the events it stored: the event ids are enough to undo both. */
void
spool_undo_keep(struct spool *sp, struct spool_append *const *items, size_t n)
{
	(void)items;
	(void)n;
	spool_undo_clear(sp);
	sp->undo.first = sp->group_first;
	sp->undo.last = sp->group_last;
}

int
spool_failed(const struct spool *sp)
{
	return sp->failed;
}

/* Run statement which over the undone events' id range. */
static int
undo_range(struct spool *sp, enum stmt_id which)
{
	int rc;
	sqlite3_stmt *st = spool_stmt(sp, which, &rc);

	if (st == NULL)
		return rc;
	sqlite3_bind_int64(st, 1, sp->undo.first);
	sqlite3_bind_int64(st, 2, sp->undo.last);
	return spool_step_done(st);
}

/* Step 2: one transaction, bookkeeping durability (no fsync of its own:
 * step 3 makes it durable).  The keys first: they are found through
 * the events' messageIds. */
static int
undo(struct spool *sp, struct fr_error *err)
{
	int rc = spool_tx_begin(sp, BOOKKEEPING);

	if (rc == SQLITE_OK)
		rc = undo_range(sp, ST_UNDO_DEDUP);
	if (rc == SQLITE_OK)
		rc = undo_range(sp, ST_UNDO_EVENTS);
	return spool_tx_end(sp, rc, "undo the unsynced commit in", err);
}

/* Step 3: everything into the spool file, and a new write-ahead log. */
static int
checkpoint(struct spool *sp, struct fr_error *err)
{
	int rc;

	spool_write_start(sp);
	rc = sqlite3_wal_checkpoint_v2(sp->db, "main",
	                               SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	if (sp->wake != NULL)
		spool_wake_released(sp->wake);
	return rc == SQLITE_OK ? FR_OK
	                       : spool_store_fail(sp, rc, "checkpoint", err);
}

int
spool_recover(struct spool *sp, struct fr_error *err)
{
	int rc;

	if (!sp->failed)
		return FR_OK;
	sp->failed = 0; /* lets steps 2 and 3 write */
	rc = spool_reconnect(sp, err);
	if (rc == FR_OK && sp->undo.first > 0) {
		rc = undo(sp, err);
		if (rc == FR_OK)
			spool_undo_clear(sp);
	}
	if (rc == FR_OK)
		rc = checkpoint(sp, err);
	if (rc != FR_OK)
		sp->failed = 1;
	return rc;
}
