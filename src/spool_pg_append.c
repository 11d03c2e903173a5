/*
 * Appending to the PostgreSQL spool (see include/spool_pg.h): a group
 * of submissions in as few round trips as it takes, returning only once
 * the COMMIT did, with synchronous_commit on.  Without de-duplication
 * keys a group is one multi-row INSERT (its own transaction); with
 * them, inside BEGIN … COMMIT, the submissions' keys go first in one
 * INSERT … ON CONFLICT DO NOTHING RETURNING (a submission whose key the
 * database had stores nothing), then the events' own keys the same
 * way, then the events not seen before: four statements whatever the
 * group's size.  The rules are spool.h's "De-duplication", as SQLite
 * keeps them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "spool.h"
#include "spool_internal.h"
#include "spool_pg.h"
#include "spool_pg_internal.h"
#include "util.h"

/* Events per INSERT statement (2 parameters each; PostgreSQL takes at
 * most 65535 a statement). */
#define CHUNK_EVENTS 1000

/* The parameters of one multi-row statement; $1 is always now. */
struct params {
	const char **values;
	int *lengths;
	int *formats;
	int count;
	char *sql; /* built alongside */
	size_t sql_len, sql_cap;
};

static int
params_init(struct params *p, int max, const char *now)
{
	memset(p, 0, sizeof(*p));
	p->values = calloc((size_t)max + 1, sizeof(*p->values));
	p->lengths = calloc((size_t)max + 1, sizeof(*p->lengths));
	p->formats = calloc((size_t)max + 1, sizeof(*p->formats));
	p->sql_cap = 256 + (size_t)max * 16;
	p->sql = malloc(p->sql_cap);
	if (!p->values || !p->lengths || !p->formats || !p->sql)
		return -1;
	p->values[0] = now;
	p->count = 1;
	p->sql[0] = '\0';
	return 0;
}

static void
params_free(struct params *p)
{
	free(p->values);
	free(p->lengths);
	free(p->formats);
	free(p->sql);
}

static void
sql_add(struct params *p, const char *s)
{
	size_t len = strlen(s);

	if (p->sql_len + len < p->sql_cap) {
		memcpy(p->sql + p->sql_len, s, len + 1);
		p->sql_len += len;
	}
}

/* Add a parameter (text, or bytes of len when len >= 0); its number. */
static int
param_add(struct params *p, const char *v, int len)
{
	p->values[p->count] = v;
	p->lengths[p->count] = len >= 0 ? len : 0;
	p->formats[p->count] = len >= 0; /* text's binary form: the bytes */
	return ++p->count;
}

static void
params_reset(struct params *p, const char *head)
{
	p->count = 1;
	p->sql_len = 0;
	p->sql[0] = '\0';
	sql_add(p, head);
}

/* Run the statement built; the result when it is ok, else NULL. */
static PGresult *
params_run(struct spool *sp, struct params *p, ExecStatusType ok,
           const char *what, struct fr_error *err)
{
	PGresult *res = PQexecParams(sp->pg->conn, p->sql, p->count, NULL,
	                             p->values, p->lengths, p->formats, 0);

	if (PQresultStatus(res) == ok)
		return res;
	spool_pg_fail(sp, res, what, err);
	PQclear(res);
	return NULL;
}

/* ---- de-duplication keys ------------------------------------------------- */

/* One key to remember (include/spool.h, "De-duplication"). */
struct keyref {
	const char *key;
	const char *message_id; /* remembered with it */
	int same_as;            /* an earlier ref of the same key, or -1 */
	int fresh;              /* new: remembered now */
	char original[MESSAGE_ID_SIZE]; /* when not fresh */
};

/* Refs of one key given earlier in the same batch point to the first. */
static void
mark_repeats(struct keyref *refs, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		refs[i].same_as = -1;
		refs[i].fresh = 0;
		refs[i].original[0] = '\0';
		for (j = 0; j < i && refs[i].same_as < 0; j++)
			if (refs[j].same_as < 0 &&
			    strcmp(refs[j].key, refs[i].key) == 0)
				refs[i].same_as = (int)j;
	}
}

/* The messageIds the database remembers for the refs not fresh. */
static int
read_originals(struct spool *sp, struct params *p, struct keyref *refs,
               size_t n, struct fr_error *err)
{
	char num[24];
	PGresult *res;
	size_t i;
	int r;

	/* $1 (now) is in every statement built here: name it */
	params_reset(p, "SELECT key, message_id, $1::bigint FROM dedup"
	                " WHERE key IN (");
	for (i = 0; i < n; i++) {
		if (refs[i].same_as >= 0 || refs[i].fresh)
			continue;
		snprintf(num, sizeof(num), "%s$%d", p->count > 1 ? "," : "",
		         p->count + 1);
		param_add(p, refs[i].key, -1);
		sql_add(p, num);
	}
	if (p->count == 1)
		return FR_OK;
	sql_add(p, ")");
	if ((res = params_run(sp, p, PGRES_TUPLES_OK, "store events in",
	                      err)) == NULL)
		return FR_ESTORE;
	for (r = 0; r < PQntuples(res); r++)
		for (i = 0; i < n; i++)
			if (refs[i].same_as < 0 && !refs[i].fresh &&
			    strcmp(refs[i].key, PQgetvalue(res, r, 0)) == 0)
				strlcopy(refs[i].original,
				         PQgetvalue(res, r, 1),
				         sizeof(refs[i].original));
	PQclear(res);
	return FR_OK;
}

/* A repeat within the batch is a duplicate of the first: of its
 * messageId when that one was fresh, else of what it found. */
static void
resolve_repeats(struct keyref *refs, size_t n)
{
	const struct keyref *first;
	size_t i;

	for (i = 0; i < n; i++) {
		if (refs[i].same_as < 0)
			continue;
		first = &refs[refs[i].same_as];
		strlcopy(refs[i].original,
		         first->fresh ? first->message_id : first->original,
		         sizeof(refs[i].original));
	}
}

/*
 * Remember refs[0..n) in one INSERT … ON CONFLICT DO NOTHING RETURNING:
 * each is fresh, or not with the original messageId found.  With
 * renew_before (a double-submit window), a key remembered before then
 * is remembered anew, and fresh.  A key that
 * another transaction is remembering waits for it (the unique index),
 * so two hosts never both take one key as new.
 */
static int
remember_keys(struct spool *sp, struct params *p, struct keyref *refs, size_t n,
              const char *renew_before, struct fr_error *err)
{
	char row[64];
	PGresult *res;
	size_t i;
	int r, cut;

	if (n == 0)
		return FR_OK;
	mark_repeats(refs, n);
	params_reset(p, "INSERT INTO dedup (key, message_id, seen_ms) VALUES ");
	for (i = 0; i < n; i++) {
		if (refs[i].same_as >= 0)
			continue;
		snprintf(row, sizeof(row), "%s($%d, $%d, $1)",
		         p->count > 1 ? "," : "", p->count + 1, p->count + 2);
		param_add(p, refs[i].key, -1);
		param_add(p, refs[i].message_id, -1);
		sql_add(p, row);
	}
	if (renew_before == NULL) {
		sql_add(p, " ON CONFLICT DO NOTHING RETURNING key");
	} else {
		cut = param_add(p, renew_before, -1);
		snprintf(row, sizeof(row), " WHERE dedup.seen_ms < $%d", cut);
		sql_add(p, " ON CONFLICT (key) DO UPDATE SET"
		           " message_id = excluded.message_id,"
		           " seen_ms = excluded.seen_ms");
		sql_add(p, row);
		sql_add(p, " RETURNING key");
	}
	if ((res = params_run(sp, p, PGRES_TUPLES_OK, "store events in",
	                      err)) == NULL)
		return FR_ESTORE;
	for (r = 0; r < PQntuples(res); r++)
		for (i = 0; i < n; i++)
			if (refs[i].same_as < 0 &&
			    strcmp(refs[i].key, PQgetvalue(res, r, 0)) == 0)
				refs[i].fresh = 1;
	PQclear(res);
	if (read_originals(sp, p, refs, n, err) != FR_OK)
		return FR_ESTORE;
	resolve_repeats(refs, n);
	return FR_OK;
}

/* ---- the group ------------------------------------------------------------
 */

struct group {
	struct spool_append *const *items;
	size_t n;
	size_t keys;            /* submission and event keys of valid ones */
	size_t events;          /* events of the valid ones */
	struct keyref *refs;    /* room for keys; owned */
	unsigned char **stored; /* per item, per event: to insert; owned */
};

/* Set each result to FR_EINTERNAL (invalid) or FR_OK, and count. */
static void
group_sort(struct group *g)
{
	size_t i, k;

	g->keys = g->events = 0;
	for (i = 0; i < g->n; i++) {
		struct spool_append *a = g->items[i];

		a->original[0] = '\0';
		/* CAPTCHA holds are SQLite's only, for now */
		a->result = spool_append_valid(a) && a->hold == NULL
		                    ? FR_OK
		                    : FR_EINTERNAL;
		if (a->result != FR_OK)
			continue;
		g->keys += a->dedup_key != NULL;
		for (k = 0; k < a->n; k++)
			g->keys += a->evs[k].dedup_key != NULL;
		g->events += a->n;
	}
}

static int
group_alloc(struct group *g)
{
	size_t i, n;

	g->refs = calloc(g->keys ? g->keys : 1, sizeof(*g->refs));
	g->stored = calloc(g->n ? g->n : 1, sizeof(*g->stored));
	if (g->refs == NULL || g->stored == NULL)
		return -1;
	for (i = 0; i < g->n; i++) {
		n = g->items[i]->n ? g->items[i]->n : 1;
		if ((g->stored[i] = malloc(n)) == NULL)
			return -1;
		memset(g->stored[i], 1, n);
	}
	return 0;
}

static void
group_free(struct group *g)
{
	size_t i;

	for (i = 0; g->stored != NULL && i < g->n; i++)
		free(g->stored[i]);
	free(g->stored);
	free(g->refs);
}

/* The submissions' own keys of window window_ms (see struct
 * spool_append), remembered with their first messageId: a submission
 * whose key was seen stores nothing. */
static int
submission_keys_of(struct spool *sp, struct params *p, struct group *g,
                   int64_t window_ms, int64_t now, struct fr_error *err)
{
	struct spool_append *a;
	char before[24];
	size_t i, m = 0;

	for (i = 0; i < g->n; i++) {
		a = g->items[i];
		if (a->result == FR_OK && a->dedup_key != NULL &&
		    a->dedup_window_ms == window_ms) {
			g->refs[m].key = a->dedup_key;
			g->refs[m++].message_id = a->evs[0].message_id;
		}
	}
	if (remember_keys(sp, p, g->refs, m,
	                  window_ms > 0 ? spool_pg_int(before, now - window_ms)
	                                : NULL,
	                  err) != FR_OK)
		return FR_ESTORE;
	for (i = 0, m = 0; i < g->n; i++) {
		a = g->items[i];
		if (a->result != FR_OK || a->dedup_key == NULL ||
		    a->dedup_window_ms != window_ms)
			continue;
		if (!g->refs[m].fresh) {
			a->result = FR_EDUPLICATE;
			strlcopy(a->original, g->refs[m].original,
			         sizeof(a->original));
		}
		m++;
	}
	return FR_OK;
}

/* Every submission key, one statement per window (one, in practice). */
static int
submission_keys(struct spool *sp, struct params *p, struct group *g,
                int64_t now, struct fr_error *err)
{
	const struct spool_append *a;
	size_t i, j;
	int seen;

	for (i = 0; i < g->n; i++) {
		a = g->items[i];
		if (a->result != FR_OK || a->dedup_key == NULL)
			continue;
		for (j = 0, seen = 0; j < i && !seen; j++)
			seen = g->items[j]->dedup_key != NULL &&
			       g->items[j]->dedup_window_ms ==
			               a->dedup_window_ms;
		if (!seen && submission_keys_of(sp, p, g, a->dedup_window_ms,
		                                now, err) != FR_OK)
			return FR_ESTORE;
	}
	return FR_OK;
}

/* One submission's events once their keys are remembered: those seen
 * are not stored; all of them seen makes it a duplicate, of the first
 * one's original. */
static void
settle_events(struct spool_append *a, unsigned char *stored,
              const struct keyref *refs, size_t *m)
{
	const struct keyref *ref;
	size_t k, kept = 0;

	for (k = 0; k < a->n; k++) {
		if (a->evs[k].dedup_key == NULL) {
			kept++;
			continue;
		}
		ref = &refs[(*m)++];
		stored[k] = (unsigned char)ref->fresh;
		kept += (size_t)ref->fresh;
		if (!ref->fresh && kept == 0 && a->original[0] == '\0')
			strlcopy(a->original, ref->original,
			         sizeof(a->original));
	}
	if (a->n > 0 && kept == 0)
		a->result = FR_EDUPLICATE;
	else
		a->original[0] = '\0';
}

/* The events' own keys (a client's messageId), of the submissions still
 * to store. */
static int
event_keys(struct spool *sp, struct params *p, struct group *g,
           struct fr_error *err)
{
	struct spool_append *a;
	size_t i, k, m = 0;

	for (i = 0; i < g->n; i++) {
		a = g->items[i];
		for (k = 0; a->result == FR_OK && k < a->n; k++)
			if (a->evs[k].dedup_key != NULL) {
				g->refs[m].key = a->evs[k].dedup_key;
				g->refs[m++].message_id = a->evs[k].message_id;
			}
	}
	if (m == 0)
		return FR_OK;
	if (remember_keys(sp, p, g->refs, m, NULL, err) != FR_OK)
		return FR_ESTORE;
	for (i = 0, m = 0; i < g->n; i++)
		if (g->items[i]->result == FR_OK)
			settle_events(g->items[i], g->stored[i], g->refs, &m);
	return FR_OK;
}

/* ---- the events ------------------------------------------------------------
 */

#define INSERT_EVENTS                                                          \
	"INSERT INTO events (message_id, body, created_ms, due_ms) VALUES "

/* Run the events statement built so far (if it holds any). */
static int
flush_events(struct spool *sp, struct params *p, struct fr_error *err)
{
	PGresult *res;

	if (p->count == 1)
		return FR_OK;
	res = params_run(sp, p, PGRES_COMMAND_OK, "store events in", err);
	if (res == NULL)
		return FR_ESTORE;
	PQclear(res);
	params_reset(p, INSERT_EVENTS);
	return FR_OK;
}

/* Insert the events still to store, CHUNK_EVENTS a statement. */
static int
insert_events(struct spool *sp, struct params *p, const struct group *g,
              struct fr_error *err)
{
	const struct spool_event *ev;
	char row[64];
	size_t i, k;

	params_reset(p, INSERT_EVENTS);
	for (i = 0; i < g->n; i++) {
		for (k = 0; g->items[i]->result == FR_OK && k < g->items[i]->n;
		     k++) {
			ev = &g->items[i]->evs[k];
			if (!g->stored[i][k])
				continue;
			if (p->count > 2 * CHUNK_EVENTS &&
			    flush_events(sp, p, err) != FR_OK)
				return FR_ESTORE;
			snprintf(row, sizeof(row), "%s($%d, $%d, $1, $1)",
			         p->count > 1 ? "," : "", p->count + 1,
			         p->count + 2);
			param_add(p, ev->message_id, -1);
			param_add(p, ev->body, (int)ev->len);
			sql_add(p, row);
		}
	}
	return flush_events(sp, p, err);
}

/* COMMIT, and whether it committed (an aborted transaction's COMMIT
 * answers ROLLBACK). */
static int
commit(struct spool *sp, struct fr_error *err)
{
	PGresult *res = PQexec(sp->pg->conn, "COMMIT");
	int rc = FR_OK;

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = spool_pg_fail(sp, res, "commit events to", err);
	else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
		rc = spool_pg_fail(sp, NULL, "commit events to", err);
	PQclear(res);
	return rc;
}

static int
store_group(struct spool *sp, struct params *p, struct group *g, int64_t now,
            struct fr_error *err)
{
	int in_tx = g->keys > 0 || g->events > CHUNK_EVENTS, rc = FR_OK;

	if (in_tx)
		rc = spool_pg_exec(sp, "BEGIN", PGRES_COMMAND_OK,
		                   "store events in", err);
	if (rc == FR_OK && g->keys > 0)
		rc = submission_keys(sp, p, g, now, err);
	if (rc == FR_OK && g->keys > 0)
		rc = event_keys(sp, p, g, err);
	if (rc == FR_OK)
		rc = insert_events(sp, p, g, err);
	if (rc == FR_OK && in_tx)
		rc = commit(sp, err);
	if (rc != FR_OK && in_tx && sp->pg->conn != NULL)
		PQclear(PQexec(sp->pg->conn, "ROLLBACK"));
	return rc;
}

int
spool_pg_append_begin(struct spool *sp)
{
	return spool_pg_ready(sp, NULL);
}

/* The group's statements, once begun (a connection) and counted. */
static int
append_group(struct spool *sp, struct group *g, int64_t now,
             struct fr_error *err)
{
	char now_s[24];
	struct params p;
	int rc;

	memset(&p, 0, sizeof(p));
	if (g->keys + g->events == 0)
		return FR_OK;
	if (group_alloc(g) != 0 ||
	    params_init(&p, 2 * (CHUNK_EVENTS + (int)g->keys) + 2,
	                spool_pg_int(now_s, now)) != 0)
		rc = fr_fail(err, FR_ESTORE, NULL, NULL,
		             "out of memory storing events");
	else
		rc = store_group(sp, &p, g, now, err);
	params_free(&p);
	return rc;
}

int
spool_pg_append_finish(struct spool *sp, int begun,
                       struct spool_append *const *items, size_t n, int64_t now,
                       struct fr_error *err)
{
	struct group g = {items, n, 0, 0, NULL, NULL};
	int64_t start = mono_us();
	int rc = begun;
	size_t i;

	group_sort(&g);
	if (rc != FR_OK && err != NULL)
		*err = sp->err; /* why there is no connection */
	if (rc == FR_OK)
		rc = append_group(sp, &g, now, err);
	group_free(&g);
	sp->last_sync_us = mono_us() - start;
	if (rc == FR_OK)
		return FR_OK;
	for (i = 0; i < n; i++)
		items[i]->result = FR_ESTORE;
	return FR_ESTORE;
}
