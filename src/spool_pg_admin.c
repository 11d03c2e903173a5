/*
 * Expiry, counts, the operator's dead-letter queries and the shared
 * key/value state and dry run's previews of the PostgreSQL spool (see
 * include/spool.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "spool.h"
#include "spool_internal.h"
#include "spool_pg.h"
#include "spool_pg_internal.h"
#include "util.h"

/* Run id, expecting rows changed; *count gets how many (may be NULL). */
static int
run_count(struct spool *sp, enum pg_stmt id, int n, const char *const *params,
          int64_t *count, const char *what)
{
	PGresult *res;

	if (count != NULL)
		*count = 0;
	if (spool_pg_run(sp, id, n, params, PGRES_COMMAND_OK, &res, what) !=
	    FR_OK)
		return FR_ESTORE;
	if (count != NULL)
		*count = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return FR_OK;
}

int
spool_pg_expire(struct spool *sp, int64_t now, int64_t max_age_ms,
                int64_t *count)
{
	char now_s[24], before[24], keys[24], shown[24];
	const char *params[4] = {
	        spool_pg_int(now_s, now),
	        spool_pg_int(before, max_age_ms > 0 ? now - max_age_ms : -1),
	        spool_pg_int(keys, now - SPOOL_DEDUP_TTL_MS),
	        spool_pg_int(shown, now - SPOOL_PREVIEW_TTL_MS)};

	return run_count(sp, PG_EXPIRE, 4, params, count, "expire events in");
}

int
spool_pg_next_due(struct spool *sp, int64_t *due_ms)
{
	PGresult *res;

	*due_ms = INT64_MAX;
	if (spool_pg_run(sp, PG_NEXT_DUE, 0, NULL, PGRES_TUPLES_OK, &res,
	                 "read") != FR_OK)
		return FR_ESTORE;
	*due_ms = spool_pg_cell(res, 0, 0, INT64_MAX);
	PQclear(res);
	return FR_OK;
}

int
spool_pg_stats(struct spool *sp, int64_t now, struct spool_stats *st)
{
	PGresult *res;

	(void)now;
	memset(st, 0, sizeof(*st));
	if (spool_pg_run(sp, PG_COUNTS, 0, NULL, PGRES_TUPLES_OK, &res,
	                 "read") != FR_OK)
		return FR_ESTORE;
	st->pending = spool_pg_cell(res, 0, 0, 0);
	st->inflight = spool_pg_cell(res, 0, 1, 0);
	st->dead = spool_pg_cell(res, 0, 2, 0);
	st->oldest_pending_ms = spool_pg_cell(res, 0, 3, 0);
	st->previewed = spool_pg_cell(res, 0, 4, 0);
	PQclear(res);
	return FR_OK;
}

static void
take_dead(const PGresult *res, int r, struct spool_dead *d)
{
	memset(d, 0, sizeof(*d));
	d->id = spool_pg_cell(res, r, 0, 0);
	strlcopy(d->message_id, PQgetvalue(res, r, 1), sizeof(d->message_id));
	d->created_ms = spool_pg_cell(res, r, 2, 0);
	d->died_ms = spool_pg_cell(res, r, 3, 0);
	d->http_status = (int)spool_pg_cell(res, r, 4, 0);
	d->attempts = (int)spool_pg_cell(res, r, 5, 0);
	strlcopy(d->reason, PQgetvalue(res, r, 6), sizeof(d->reason));
}

int
spool_pg_list_dead(struct spool *sp, size_t max, struct spool_dead **out,
                   size_t *count)
{
	char max_s[24];
	const char *params[1] = {spool_pg_int(
	        max_s, max > INT64_MAX ? INT64_MAX : (int64_t)max)};
	PGresult *res;
	int rows, r;

	*out = NULL;
	*count = 0;
	if (spool_pg_run(sp, PG_LIST_DEAD, 1, params, PGRES_TUPLES_OK, &res,
	                 "read") != FR_OK)
		return FR_ESTORE;
	rows = PQntuples(res);
	if (rows > 0 && (*out = calloc((size_t)rows, sizeof(**out))) == NULL) {
		PQclear(res);
		fr_fail(&sp->err, FR_ESTORE, NULL, NULL,
		        "out of memory reading dead letters");
		return FR_ESTORE;
	}
	for (r = 0; r < rows; r++)
		take_dead(res, r, &(*out)[r]);
	*count = (size_t)rows;
	PQclear(res);
	return FR_OK;
}

int
spool_pg_requeue(struct spool *sp, int64_t id, int64_t now, int64_t *count)
{
	char id_s[24], now_s[24];
	const char *params[2] = {spool_pg_int(id_s, id < 0 ? -1 : id),
	                         spool_pg_int(now_s, now)};
	PGresult *res;

	if (count != NULL)
		*count = 0;
	if (spool_pg_run(sp, PG_REQUEUE, 2, params, PGRES_TUPLES_OK, &res,
	                 "requeue in") != FR_OK)
		return FR_ESTORE;
	if (count != NULL)
		*count = spool_pg_cell(res, 0, 0, 0);
	PQclear(res);
	return FR_OK;
}

int
spool_pg_purge(struct spool *sp, int64_t id, int64_t *count)
{
	char id_s[24];
	const char *params[1] = {spool_pg_int(id_s, id < 0 ? -1 : id)};

	return run_count(sp, PG_PURGE, 1, params, count, "purge");
}

/* ---- dry run's previews ------------------------------------------------ */

/* Row r of a previews query into p (its body copied: owned by p). */
static int
take_preview(const PGresult *res, int r, struct spool_preview *p)
{
	size_t len = (size_t)PQgetlength(res, r, 4);

	memset(p, 0, sizeof(*p));
	p->id = spool_pg_cell(res, r, 0, 0);
	strlcopy(p->message_id, PQgetvalue(res, r, 1), sizeof(p->message_id));
	p->created_ms = spool_pg_cell(res, r, 2, 0);
	p->previewed_ms = spool_pg_cell(res, r, 3, 0);
	strlcopy(p->state, PQgetvalue(res, r, 5), sizeof(p->state));
	if ((p->body = malloc(len + 1)) == NULL)
		return -1;
	memcpy(p->body, PQgetvalue(res, r, 4), len);
	p->body[len] = '\0';
	p->len = len;
	return 0;
}

/* Statement id's rows as previews into *out (owned by the caller). */
static int
read_previews(struct spool *sp, enum pg_stmt id, int n,
              const char *const *params, struct spool_preview **out,
              size_t *count)
{
	PGresult *res;
	int rows, r;

	*out = NULL;
	*count = 0;
	if (spool_pg_run(sp, id, n, params, PGRES_TUPLES_OK, &res, "read") !=
	    FR_OK)
		return FR_ESTORE;
	rows = PQntuples(res);
	if (rows > 0 && (*out = calloc((size_t)rows, sizeof(**out))) == NULL)
		rows = -1;
	for (r = 0; r < rows; r++, (*count)++)
		if (take_preview(res, r, &(*out)[r]) != 0)
			break;
	PQclear(res);
	if (rows >= 0 && *count == (size_t)rows)
		return FR_OK;
	spool_previews_free(*out, *count);
	*out = NULL;
	*count = 0;
	return fr_fail(&sp->err, FR_ESTORE, NULL, NULL,
	               "out of memory reading previews");
}

int
spool_pg_list_previews(struct spool *sp, size_t max, struct spool_preview **out,
                       size_t *count)
{
	char max_s[24];
	const char *params[1] = {spool_pg_int(
	        max_s, max > INT64_MAX ? INT64_MAX : (int64_t)max)};

	return read_previews(sp, PG_LIST_PREVIEWS, 1, params, out, count);
}

int
spool_pg_find_call(struct spool *sp, const char *which,
                   struct spool_preview **out, size_t *count)
{
	char id_s[24];
	const char *params[2] = {spool_pg_int(id_s, spool_call_id(which)),
	                         which};

	return read_previews(sp, PG_FIND_CALL, 2, params, out, count);
}

/* ---- shared state ------------------------------------------------------- */

int
spool_pg_state_set(struct spool *sp, const char *key, const char *value)
{
	const char *params[2] = {key, value ? value : ""};

	return run_count(sp, PG_STATE_SET, 2, params, NULL, "write state to");
}

int
spool_pg_state_get(struct spool *sp, const char *key, char *buf, size_t size)
{
	const char *params[1] = {key};
	PGresult *res;
	int status = FR_OK;

	if (size > 0)
		buf[0] = '\0';
	if (spool_pg_run(sp, PG_STATE_GET, 1, params, PGRES_TUPLES_OK, &res,
	                 "read state from") != FR_OK)
		return FR_ESTORE;
	if (PQntuples(res) > 0 &&
	    strlcopy(buf, PQgetvalue(res, 0, 0), size) >= size) {
		status = FR_ETOOLARGE;
		if (size > 0)
			buf[0] = '\0';
	}
	PQclear(res);
	return status;
}
