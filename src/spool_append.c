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
	sqlite3_stmt *st = spool_stmt(
	        sp, handed ? ST_INSERT_HANDED : ST_INSERT_EVENT, &rc);
	sqlite3_stmt *body = st ? spool_stmt(sp, ST_INSERT_BODY, &rc) : NULL;

	if (body == NULL)
		return rc;
	sqlite3_bind_text(st, 1, ev->message_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
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

/* Record the webhook id; *dup when it was already there. */
static int
insert_webhook_id(struct spool *sp, const char *id, int64_t now, int *dup)
{
	int rc;
	sqlite3_stmt *st = spool_stmt(sp, ST_INSERT_WEBHOOK, &rc);

	if (st == NULL)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	rc = spool_step_done(st);
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
	sp->group_first = sp->group_last = 0;
	return spool_tx_begin(sp, SYNC_AFTER);
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
