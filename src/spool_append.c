/*
 * Appending events (see include/spool.h): one transaction, one fsync
 * of the WAL, before any 2xx.
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "spool.h"
#include "spool_internal.h"
#include "util.h"

/* ---- appending ------------------------------------------------------------
 */

/* The event's row (handed, when this handle hands its appends), then
 * its body under the same id. */
static int
insert_event(struct spool *sp, const struct spool_event *ev, int held,
             int64_t now)
{
	int rc, handed = !held && sp->hand_token[0] != '\0';
	sqlite3_stmt *st = spool_stmt(sp,
	                              held     ? ST_INSERT_HELD
	                              : handed ? ST_INSERT_HANDED
	                                       : ST_INSERT_EVENT,
	                              &rc);
	sqlite3_stmt *body = st ? spool_stmt(sp, ST_INSERT_BODY, &rc) : NULL;

	if (body == NULL)
		return rc;
	sqlite3_bind_text(st, 1, ev->message_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	if (held) /* never handed: only a verdict makes it due */
		sqlite3_bind_int64(st, 3, SPOOL_HELD_MS);
	if (handed) {
		sqlite3_bind_int64(st, 3, now + sp->hand_lease_ms);
		sqlite3_bind_text(st, 4, sp->hand_token, -1, SQLITE_STATIC);
	}
	rc = spool_step_done(st);
	if (rc != SQLITE_OK)
		return rc;
	/* ids under one write lock follow each other (AUTOINCREMENT) */
	sp->group_last = sqlite3_last_insert_rowid(sp->db);
	if (sp->group_first == 0)
		sp->group_first = sp->group_last;
	sqlite3_bind_text(body, 1, ev->body, (int)ev->len, SQLITE_STATIC);
	return spool_step_done(body);
}

/* The messageId remembered under key into original ("" when none). */
static int
dedup_original(struct spool *sp, const char *key, char *original, size_t size)
{
	int rc;
	sqlite3_stmt *st = spool_stmt(sp, ST_DEDUP_GET, &rc);
	const char *mid;

	original[0] = '\0';
	if (st == NULL)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		mid = (const char *)sqlite3_column_text(st, 0);
		strlcopy(original, mid ? mid : "", size);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_reset(st);
	return rc;
}

/* Remember key with message_id; *dup when it was there already (and
 * original then holds the messageId it was remembered with). */
static int
dedup_remember(struct spool *sp, const char *key, const char *message_id,
               int64_t now, int64_t window_ms, int *dup, char *original,
               size_t size)
{
	int rc;
	sqlite3_stmt *st = spool_stmt(
	        sp, window_ms > 0 ? ST_DEDUP_RENEW : ST_DEDUP_INSERT, &rc);

	*dup = 0;
	if (st == NULL)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, message_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	if (window_ms > 0)
		sqlite3_bind_int64(st, 4, now - window_ms);
	rc = spool_step_done(st);
	if (rc != SQLITE_OK || sqlite3_changes(sp->db) != 0)
		return rc;
	*dup = 1;
	return dedup_original(sp, key, original, size);
}

/* The events of a, each unless its own key was seen; *stored counts
 * those stored, a->original gets the first duplicate's original. */
static int
insert_events(struct spool *sp, struct spool_append *a, int64_t now,
              size_t *stored)
{
	char original[MESSAGE_ID_SIZE];
	const struct spool_event *ev;
	int rc = SQLITE_OK, dup;
	size_t i;

	*stored = 0;
	for (i = 0; rc == SQLITE_OK && i < a->n; i++) {
		ev = &a->evs[i];
		dup = 0;
		if (ev->dedup_key != NULL)
			rc = dedup_remember(sp, ev->dedup_key, ev->message_id,
			                    now, 0, &dup, original,
			                    sizeof(original));
		if (rc == SQLITE_OK && dup && *stored == 0 &&
		    a->original[0] == '\0')
			strlcopy(a->original, original, sizeof(a->original));
		if (rc == SQLITE_OK && !dup) {
			rc = insert_event(sp, ev, a->hold != NULL, now);
			++*stored;
		}
	}
	return rc;
}

/* A held submission's token, naming its events: the last *stored
 * inserted (ids under one write lock follow each other). */
static int
insert_verify(struct spool *sp, const struct spool_append *a, size_t stored,
              int64_t now)
{
	int rc;
	sqlite3_stmt *st = spool_stmt(sp, ST_INSERT_VERIFY, &rc);

	if (st == NULL)
		return rc;
	sqlite3_bind_int64(st, 1, sp->group_last - (int64_t)stored + 1);
	sqlite3_bind_int64(st, 2, (int64_t)stored);
	sqlite3_bind_text(st, 3, a->hold->token, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->hold->ip ? a->hold->ip : "", -1,
	                  SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	return spool_step_done(st);
}

/* One submission inside the open transaction; sets a->result. */
static int
append_one(struct spool *sp, struct spool_append *a, int64_t now)
{
	int rc = SQLITE_OK, dup = 0;
	size_t stored = 0;

	a->original[0] = '\0';
	if (!spool_append_valid(a)) {
		a->result = FR_EINTERNAL;
		return SQLITE_OK;
	}
	if (a->dedup_key != NULL)
		rc = dedup_remember(sp, a->dedup_key, a->evs[0].message_id, now,
		                    a->dedup_window_ms, &dup, a->original,
		                    sizeof(a->original));
	if (rc == SQLITE_OK && !dup)
		rc = insert_events(sp, a, now, &stored);
	if (rc == SQLITE_OK && stored > 0 && a->hold != NULL)
		rc = insert_verify(sp, a, stored, now);
	a->result = dup || (a->n > 0 && stored == 0) ? FR_EDUPLICATE : FR_OK;
	if (a->result == FR_OK)
		a->original[0] = '\0';
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
spool_sqlite_append_begin(struct spool *sp)
{
	sp->group_first = sp->group_last = 0;
	return spool_tx_begin(sp, SYNC_AFTER);
}

int
spool_sqlite_append_finish(struct spool *sp, int begun,
                           struct spool_append *const *items, size_t n,
                           int64_t now, struct fr_error *err)
{
	size_t i;
	int rc = begun;

	for (i = 0; rc == SQLITE_OK && i < n; i++)
		rc = append_one(sp, items[i], now);
	/* tx_end has let the next writer in before the fsync */
	if (spool_tx_end(sp, rc, "store events in", err) == FR_OK) {
		if (spool_wal_sync(sp, err) == FR_OK && !sp->failed)
			return FR_OK;
		/* committed, but not durably: fatal for the handle (a
		 * checkpoint's fsync may have failed instead of ours) */
		if (err != NULL)
			*err = sp->err;
		spool_undo_keep(sp, items, n);
	}
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
             const char *dedup_key, int64_t now, struct fr_error *err)
{
	struct spool_append a = {evs, n, dedup_key, FR_OK, ""};
	struct spool_append *items[1] = {&a};
	int rc = spool_append_group(sp, items, 1, now, err);

	if (rc != FR_OK)
		return rc;
	if (a.result == FR_EDUPLICATE)
		return fr_fail(err, FR_EDUPLICATE, NULL, NULL,
		               "%s was received before: not stored again",
		               dedup_key ? dedup_key : "every event");
	if (a.result == FR_EINTERNAL)
		return fr_fail(err, FR_EINTERNAL, NULL, NULL,
		               "invalid event for the spool (no body, or a "
		               "messageId too long)");
	return FR_OK;
}
