/*
 * CAPTCHA tokens held with their events until formrelay-deliver has the
 * vendor's verdict (see include/spool.h, struct spool_hold).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "spool.h"
#include "spool_internal.h"
#include "util.h"

void
spool_verify_free(struct spool_verify_item *items, size_t count)
{
	size_t i;

	if (items == NULL)
		return;
	for (i = 0; i < count; i++)
		if (items[i].token != NULL) {
			explicit_bzero(items[i].token, strlen(items[i].token));
			free(items[i].token);
		}
	free(items);
}

/* One row of ST_VERIFY_DUE into it. */
static int
read_item(sqlite3_stmt *q, struct spool_verify_item *it)
{
	const char *token = (const char *)sqlite3_column_text(q, 3);
	const char *ip = (const char *)sqlite3_column_text(q, 4);

	it->id = sqlite3_column_int64(q, 0);
	it->first_event = sqlite3_column_int64(q, 1);
	it->events = sqlite3_column_int64(q, 2);
	it->created_ms = sqlite3_column_int64(q, 5);
	it->tries = sqlite3_column_int(q, 6);
	it->sent = sqlite3_column_int(q, 7) != 0;
	strlcopy(it->ip, ip ? ip : "", sizeof(it->ip));
	it->token = xstrdup(token ? token : "");
	return it->token != NULL ? SQLITE_OK : SQLITE_NOMEM;
}

static int
select_due(struct spool *sp, int64_t now, size_t max,
           struct spool_verify_item *items, size_t *count)
{
	int rc;
	sqlite3_stmt *q = spool_stmt(sp, ST_VERIFY_DUE, &rc);

	if (q == NULL)
		return rc;
	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_int64(q, 2, (int64_t)max);
	while (*count < max && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		rc = read_item(q, &items[*count]);
		if (rc != SQLITE_OK)
			break;
		(*count)++;
	}
	sqlite3_reset(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Statement id with ?1 = a and, when it has them, ?2 = b, ?3 = c. */
static int
exec_id_time(struct spool *sp, enum stmt_id id, int64_t a, int64_t b, int64_t c)
{
	int rc, n;
	sqlite3_stmt *st = spool_stmt(sp, id, &rc);

	if (st == NULL)
		return rc;
	n = sqlite3_bind_parameter_count(st);
	sqlite3_bind_int64(st, 1, a);
	if (n >= 2)
		sqlite3_bind_int64(st, 2, b);
	if (n >= 3)
		sqlite3_bind_int64(st, 3, c);
	return spool_step_done(st);
}

int
spool_sqlite_verify_take(struct spool *sp, int64_t now, int64_t lease_ms,
                         size_t max, struct spool_verify_item **out,
                         size_t *count)
{
	struct spool_verify_item *items = calloc(max ? max : 1, sizeof(*items));
	size_t i, n = 0;
	int rc;

	int64_t due = INT64_MAX;

	*out = NULL;
	*count = 0;
	if (items == NULL)
		return spool_store_fail(sp, SQLITE_NOMEM, "read", NULL);
	/* most rounds have none: no write transaction for them */
	rc = spool_cached_int(sp, ST_VERIFY_NEXT, INT64_MAX, &due);
	if (rc == SQLITE_OK && due > now) {
		free(items);
		return FR_OK;
	}
	rc = spool_tx_begin(sp, BOOKKEEPING);
	if (rc == SQLITE_OK)
		rc = select_due(sp, now, max, items, &n);
	for (i = 0; rc == SQLITE_OK && i < n; i++)
		rc = exec_id_time(sp, ST_VERIFY_LEASE, items[i].id,
		                  now + lease_ms, 0);
	if (spool_tx_end(sp, rc, "take CAPTCHA tokens from", NULL) != FR_OK) {
		spool_verify_free(items, n);
		return FR_ESTORE;
	}
	*out = items;
	*count = n;
	return FR_OK;
}

static int
settle_events(struct spool *sp, const struct spool_verify_item *it,
              enum stmt_id id, int64_t now)
{
	int rc;
	sqlite3_stmt *st = spool_stmt(sp, id, &rc);

	if (st == NULL)
		return rc;
	sqlite3_bind_int64(st, 1, it->first_event);
	sqlite3_bind_int64(st, 2, it->events);
	if (id == ST_VERIFY_RELEASE)
		sqlite3_bind_int64(st, 3, now);
	return spool_step_done(st);
}

int
spool_sqlite_verify_settle(struct spool *sp, const struct spool_verify_item *it,
                           enum spool_verdict v, int64_t now, int64_t retry_ms)
{
	/* A verdict undone by a power cut would be asked again, and the
	 * vendor says "already used" the second time: settle durably, and
	 * record durably that a token is about to be sent. */
	int rc = spool_tx_begin(sp, v == SPOOL_VERDICT_RETRY ? BOOKKEEPING
	                                                     : DURABLE);

	if (v == SPOOL_VERDICT_RETRY || v == SPOOL_VERDICT_SENT) {
		if (rc == SQLITE_OK)
			rc = exec_id_time(sp,
			                  v == SPOOL_VERDICT_SENT
			                          ? ST_VERIFY_SENT
			                          : ST_VERIFY_RETRY,
			                  it->id, retry_ms, it->sent);
		return spool_tx_end(sp, rc, "settle a CAPTCHA in", NULL);
	}
	if (rc == SQLITE_OK)
		rc = settle_events(sp, it,
		                   v == SPOOL_VERDICT_PASS ? ST_VERIFY_RELEASE
		                                           : ST_VERIFY_DROP,
		                   now);
	if (rc == SQLITE_OK)
		rc = exec_id_time(sp, ST_VERIFY_DONE, it->id, 0, 0);
	return spool_tx_end(sp, rc, "settle a CAPTCHA in", NULL);
}
