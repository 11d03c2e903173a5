/*
 * Claiming events for delivery, the events handed to a deliverer, and
 * settling claims (see include/spool.h, "Who may settle a claim").
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "spool.h"
#include "spool_internal.h"
#include "util.h"

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
	sqlite3_stmt *st = spool_stmt(sp, id, &rc);

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
	sqlite3_stmt *st = spool_stmt(sp, ST_MARK_INFLIGHT, &rc);
	char *ids;

	if (first == b->count)
		return SQLITE_OK;
	if ((ids = st ? items_json(b, first) : NULL) == NULL)
		return st == NULL ? rc : SQLITE_NOMEM;
	sqlite3_bind_text(st, 1, ids, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sp->claim, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, until);
	rc = spool_step_done(st);
	sqlite3_clear_bindings(st);
	free(ids);
	return rc;
}

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

	return spool_cached_int(sp, ST_NEXT_DUE, INT64_MAX, &due) !=
	               SQLITE_OK ||
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
	sqlite3_stmt *st = spool_stmt(sp, ST_TAKE_HANDED, &rc);

	if (st == NULL)
		return rc;
	if ((rc = spool_cached_int(sp, ST_TOP_ID, 0, &top)) != SQLITE_OK)
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
spool_sqlite_claim(struct spool *sp, const char *owner, int64_t now,
                   int64_t lease_ms, size_t max_events, size_t max_bytes,
                   struct spool_batch *out)
{
	struct claim_limits lim = {now, max_events, max_bytes, 0, 0, 0};
	size_t handed;
	int rc;

	out->items = NULL;
	out->count = 0;
	out->more_handed = 0;
	out->handed = 0;
	if (max_events == 0)
		return FR_OK;
	rc = sp->takes_handed ? take_handed(sp, &lim, out) : SQLITE_OK;
	if (rc != SQLITE_OK) {
		spool_batch_free(out);
		return spool_store_fail(sp, rc, "read handed events from",
		                        NULL);
	}
	handed = out->handed = out->count;
	if (handed == max_events || lim.full || !anything_due(sp, now))
		return FR_OK;
	rc = spool_tx_begin(sp, BOOKKEEPING);
	if (rc == SQLITE_OK)
		rc = collect(sp, ST_CLAIM_EXPIRED, &lim, out);
	if (rc == SQLITE_OK)
		rc = collect(sp, ST_CLAIM_PENDING, &lim, out);
	if (rc == SQLITE_OK)
		rc = mark_inflight(sp, out, handed, owner ? owner : "",
		                   now + lease_ms);
	if (spool_tx_end(sp, rc, "claim events from", NULL) == FR_OK)
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
 * Run sts[0..nst) in turn (each with ?1 the ids, ?2 this handle's claim
 * token, and the extra parameters bound by the caller) once for all ids,
 * in one transaction.  sp->changes gets how many rows the last changed.
 */
static int
settle_all(struct spool *sp, sqlite3_stmt *const *sts, size_t nst,
           const int64_t *ids, size_t n, const char *what)
{
	char *json = ids_json(ids, n);
	int rc = json == NULL ? SQLITE_NOMEM : spool_tx_begin(sp, BOOKKEEPING);
	size_t i;

	sp->changes = 0;
	for (i = 0; i < nst && rc == SQLITE_OK; i++) {
		sqlite3_bind_text(sts[i], 1, json, -1, SQLITE_STATIC);
		sqlite3_bind_text(sts[i], 2, sp->claim, -1, SQLITE_STATIC);
		rc = spool_step_done(sts[i]);
		sp->changes = rc == SQLITE_OK ? sqlite3_changes(sp->db) : 0;
		sqlite3_clear_bindings(sts[i]);
	}
	rc = json == NULL ? spool_store_fail(sp, rc, what, NULL)
	                  : spool_tx_end(sp, rc, what, NULL);
	free(json);
	if (rc != FR_OK)
		sp->changes = 0;
	return rc;
}

static int
settle(struct spool *sp, sqlite3_stmt *st, const int64_t *ids, size_t n,
       const char *what)
{
	return settle_all(sp, &st, 1, ids, n, what);
}

/* A copy into previews, then the ack's delete, in one transaction. */
int
spool_sqlite_preview(struct spool *sp, const int64_t *ids, size_t n,
                     int64_t now)
{
	sqlite3_stmt *sts[2];
	int rc;

	sts[0] = spool_stmt(sp, ST_PREVIEW_COPY, &rc);
	sts[1] = sts[0] != NULL ? spool_stmt(sp, ST_ACK, &rc) : NULL;
	if (sts[1] == NULL)
		return spool_store_fail(sp, rc, "keep previews in", NULL);
	sqlite3_bind_int64(sts[0], 3, now);
	return settle_all(sp, sts, 2, ids, n, "keep previews in");
}

int
spool_sqlite_ack(struct spool *sp, const int64_t *ids, size_t n)
{
	int rc;
	sqlite3_stmt *st = spool_stmt(sp, ST_ACK, &rc);

	if (st == NULL)
		return spool_store_fail(sp, rc, "acknowledge events in", NULL);
	return settle(sp, st, ids, n, "acknowledge events in");
}

int
spool_sqlite_renew(struct spool *sp, const int64_t *ids, size_t n,
                   int64_t until)
{
	int rc;
	sqlite3_stmt *st = spool_stmt(sp, ST_RENEW, &rc);

	if (st == NULL)
		return spool_store_fail(sp, rc, "renew leases in", NULL);
	sqlite3_bind_int64(st, 3, until);
	return settle(sp, st, ids, n, "renew leases in");
}

int
spool_sqlite_retry_later(struct spool *sp, const int64_t *ids, size_t n,
                         int64_t due_ms, const char *reason)
{
	int rc;
	sqlite3_stmt *st = spool_stmt(sp, ST_RETRY, &rc);

	if (st == NULL)
		return spool_store_fail(sp, rc, "reschedule events in", NULL);
	sqlite3_bind_int64(st, 3, due_ms);
	sqlite3_bind_text(st, 4, reason ? reason : "", -1, SQLITE_TRANSIENT);
	return settle(sp, st, ids, n, "reschedule events in");
}

int
spool_sqlite_dead_letter(struct spool *sp, const int64_t *ids, size_t n,
                         int http_status, const char *reason, int64_t now)
{
	int rc;
	sqlite3_stmt *st = spool_stmt(sp, ST_DEAD, &rc);

	if (st == NULL)
		return spool_store_fail(sp, rc, "dead-letter events in", NULL);
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
	sqlite3_stmt *st = spool_stmt(sp, ST_RELEASE_HANDED, &rc);

	if (st == NULL)
		return rc;
	sqlite3_bind_int64(st, 1, sp->handed_seen);
	sqlite3_bind_text(st, 2, sp->claim, -1, SQLITE_STATIC);
	rc = spool_write_alone(sp, st, BOOKKEEPING, &changed);
	sp->changes += changed;
	return rc;
}

int
spool_sqlite_release(struct spool *sp, const char *owner)
{
	int rc;
	sqlite3_stmt *st = spool_stmt(sp, ST_RELEASE, &rc);

	sp->changes = 0;
	if (st == NULL)
		return spool_store_fail(sp, rc, "release claims in", NULL);
	sqlite3_bind_text(st, 1, owner ? owner : "", -1, SQLITE_TRANSIENT);
	rc = spool_write_alone(sp, st, BOOKKEEPING, &sp->changes);
	if (rc == SQLITE_OK && sp->takes_handed)
		rc = release_handed(sp);
	if (rc != SQLITE_OK)
		return spool_store_fail(sp, rc, "release claims in", NULL);
	return FR_OK;
}
