/*
 * Expiry, counts and the operator's dead-letter queries (see
 * include/spool.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "spool.h"
#include "spool_internal.h"
#include "util.h"

/* ---- expiry and administration ------------------------------------------ */

/* Run a prepared statement with ?1 and ?2 bound; *changed gets its rows. */
static int
exec_2(struct spool *sp, enum stmt_id id, int64_t a, int64_t b,
       int64_t *changed)
{
	int rc;
	sqlite3_stmt *st = spool_stmt(sp, id, &rc);

	if (st == NULL)
		return rc;
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	rc = spool_step_done(st);
	if (rc == SQLITE_OK && changed != NULL)
		*changed = sqlite3_changes(sp->db);
	return rc;
}

int
spool_sqlite_expire(struct spool *sp, int64_t now, int64_t max_age_ms,
                    int64_t *count)
{
	int64_t n = 0;
	int rc = spool_tx_begin(sp, BOOKKEEPING);

	if (rc == SQLITE_OK && max_age_ms > 0)
		rc = exec_2(sp, ST_EXPIRE, now, now - max_age_ms, &n);
	/* Svix retries a webhook for about a day with the same webhook-id
	 * and fresh signatures, browsers a call with the same messageId:
	 * two days covers every retry. */
	if (rc == SQLITE_OK)
		rc = exec_2(sp, ST_PRUNE_DEDUP, now - SPOOL_DEDUP_TTL_MS, 0,
		            NULL);
	if (rc == SQLITE_OK && max_age_ms > 0)
		rc = exec_2(sp, ST_PRUNE_VERIFY, now - max_age_ms, 0, NULL);
	if (rc == SQLITE_OK)
		rc = exec_2(sp, ST_PRUNE_PREVIEWS, now - SPOOL_PREVIEW_TTL_MS,
		            0, NULL);
	rc = spool_tx_end(sp, rc, "expire events in", NULL);
	if (count != NULL)
		*count = rc == FR_OK ? n : 0;
	return rc;
}

int
spool_sqlite_next_due(struct spool *sp, int64_t *due_ms)
{
	int64_t verify = INT64_MAX;
	int rc = spool_cached_int(sp, ST_NEXT_DUE, INT64_MAX, due_ms);

	if (rc == SQLITE_OK)
		rc = spool_cached_int(sp, ST_VERIFY_NEXT, INT64_MAX, &verify);
	if (rc == SQLITE_OK && verify < *due_ms)
		*due_ms = verify;
	return rc == SQLITE_OK ? FR_OK : spool_store_fail(sp, rc, "read", NULL);
}

static int
count_states(struct spool *sp, struct spool_stats *st)
{
	int rc;
	sqlite3_stmt *q = spool_stmt(sp, ST_COUNTS, &rc);

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
		else if (strcmp(state, "previewed") == 0)
			st->previewed = n;
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int
spool_sqlite_stats(struct spool *sp, int64_t now, struct spool_stats *st)
{
	int rc;

	(void)now;
	memset(st, 0, sizeof(*st));
	rc = count_states(sp, st);
	if (rc == SQLITE_OK)
		rc = spool_cached_int(sp, ST_OLDEST, 0, &st->oldest_pending_ms);
	if (rc == SQLITE_OK)
		return FR_OK;
	memset(st, 0, sizeof(*st));
	return spool_store_fail(sp, rc, "read", NULL);
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
spool_sqlite_list_dead(struct spool *sp, size_t max, struct spool_dead **out,
                       size_t *count)
{
	int rc;
	sqlite3_stmt *q = spool_stmt(sp, ST_LIST_DEAD, &rc);

	*out = NULL;
	*count = 0;
	if (q == NULL)
		return spool_store_fail(sp, rc, "read", NULL);
	sqlite3_bind_int64(q, 1, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	rc = read_dead(q, out, count);
	sqlite3_reset(q);
	if (rc == SQLITE_OK && *count > 0)
		return FR_OK;
	free(*out);
	*out = NULL;
	*count = 0;
	return rc == SQLITE_OK ? FR_OK : spool_store_fail(sp, rc, "read", NULL);
}

int
spool_sqlite_requeue(struct spool *sp, int64_t id, int64_t now, int64_t *count)
{
	int64_t n = 0;
	int rc = spool_set_durability(sp, DURABLE);

	if (rc == SQLITE_OK) {
		spool_write_start(sp);
		rc = exec_2(sp, ST_REQUEUE, id < 0 ? -1 : id, now, &n);
		spool_write_end(sp);
	}
	if (count != NULL)
		*count = rc == SQLITE_OK ? n : 0;
	return rc == SQLITE_OK ? FR_OK
	                       : spool_store_fail(sp, rc, "requeue in", NULL);
}

int
spool_sqlite_purge(struct spool *sp, int64_t id, int64_t *count)
{
	int64_t n = 0;
	int rc = spool_set_durability(sp, DURABLE);

	if (rc == SQLITE_OK) {
		spool_write_start(sp);
		rc = exec_2(sp, ST_PURGE, id < 0 ? -1 : id, 0, &n);
		spool_write_end(sp);
	}
	if (count != NULL)
		*count = rc == SQLITE_OK ? n : 0;
	return rc == SQLITE_OK ? FR_OK
	                       : spool_store_fail(sp, rc, "purge", NULL);
}

/* ---- dry_run's previews ----------------------------------------------- */

static int
take_preview(sqlite3_stmt *q, struct spool_preview *p)
{
	const char *mid = (const char *)sqlite3_column_text(q, 1);
	const char *body = (const char *)sqlite3_column_text(q, 4);
	const char *state = (const char *)sqlite3_column_text(q, 5);

	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(q, 0);
	strlcopy(p->message_id, mid ? mid : "", sizeof(p->message_id));
	p->created_ms = sqlite3_column_int64(q, 2);
	p->previewed_ms = sqlite3_column_int64(q, 3);
	p->len = (size_t)sqlite3_column_bytes(q, 4);
	strlcopy(p->state, state ? state : "", sizeof(p->state));
	if ((p->body = malloc(p->len + 1)) == NULL)
		return SQLITE_NOMEM;
	memcpy(p->body, body ? body : "", p->len);
	p->body[p->len] = '\0';
	return SQLITE_OK;
}

/* Step q, appending each row to *out (grown by doubling). */
static int
read_previews(sqlite3_stmt *q, struct spool_preview **out, size_t *count)
{
	size_t cap = 0;
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (*count == cap) {
			size_t want = cap ? cap * 2 : 16;
			struct spool_preview *p =
			        realloc(*out, want * sizeof(*p));

			if (p == NULL)
				return SQLITE_NOMEM;
			*out = p;
			cap = want;
		}
		if (take_preview(q, &(*out)[*count]) != SQLITE_OK)
			return SQLITE_NOMEM;
		(*count)++;
	}
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Run the bound query q into *out; on failure nothing is returned. */
static int
previews_query(struct spool *sp, sqlite3_stmt *q, struct spool_preview **out,
               size_t *count)
{
	int rc = read_previews(q, out, count);

	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc == SQLITE_OK && *count > 0)
		return FR_OK;
	spool_previews_free(*out, *count);
	*out = NULL;
	*count = 0;
	return rc == SQLITE_OK ? FR_OK : spool_store_fail(sp, rc, "read", NULL);
}

int
spool_sqlite_list_previews(struct spool *sp, size_t max,
                           struct spool_preview **out, size_t *count)
{
	int rc;
	sqlite3_stmt *q = spool_stmt(sp, ST_LIST_PREVIEWS, &rc);

	*out = NULL;
	*count = 0;
	if (q == NULL)
		return spool_store_fail(sp, rc, "read", NULL);
	sqlite3_bind_int64(q, 1, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	return previews_query(sp, q, out, count);
}

int
spool_sqlite_find_call(struct spool *sp, const char *which,
                       struct spool_preview **out, size_t *count)
{
	int rc;
	sqlite3_stmt *q = spool_stmt(sp, ST_FIND_CALL, &rc);

	*out = NULL;
	*count = 0;
	if (q == NULL)
		return spool_store_fail(sp, rc, "read", NULL);
	sqlite3_bind_int64(q, 1, spool_call_id(which));
	sqlite3_bind_text(q, 2, which, -1, SQLITE_TRANSIENT);
	return previews_query(sp, q, out, count);
}

void
spool_previews_free(struct spool_preview *p, size_t n)
{
	size_t i;

	for (i = 0; p != NULL && i < n; i++)
		free(p[i].body);
	free(p);
}
