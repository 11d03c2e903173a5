/*
 * Claiming events from the PostgreSQL spool and settling the claims
 * (see include/spool_pg.h and include/spool.h, "Who may settle a
 * claim").  A claim is one statement: the due rows locked with FOR
 * UPDATE SKIP LOCKED, so that deliverers on several hosts never wait
 * for each other's rows, and marked inflight under this handle's token
 * in the same UPDATE.
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

/* ---- claiming ------------------------------------------------------------ */

/* Copy row r of a claim's result into it. */
static int
take_row(const PGresult *res, int r, struct spool_item *it)
{
	memset(it, 0, sizeof(*it));
	it->len = (size_t)PQgetlength(res, r, 2);
	it->body = xstrndup(PQgetvalue(res, r, 2), it->len);
	if (it->body == NULL)
		return -1;
	it->id = spool_pg_cell(res, r, 0, 0);
	strlcopy(it->message_id, PQgetvalue(res, r, 1), sizeof(it->message_id));
	it->created_ms = spool_pg_cell(res, r, 3, 0);
	it->attempts = (int)spool_pg_cell(res, r, 4, 0);
	return 0;
}

/* The result's rows into out, in the claim's order (column n). */
static int
take_rows(const PGresult *res, struct spool_batch *out)
{
	int rows = PQntuples(res), r;

	if (rows == 0)
		return 0;
	out->items = calloc((size_t)rows, sizeof(*out->items));
	if (out->items == NULL)
		return -1;
	for (r = 0; r < rows; r++) {
		int64_t n = spool_pg_cell(res, r, 5, 0);

		if (n < 1 || n > rows || out->items[n - 1].body != NULL ||
		    take_row(res, r, &out->items[n - 1]) != 0)
			return -1;
		out->count++;
	}
	return 0;
}

int
spool_pg_claim(struct spool *sp, const char *owner, int64_t now,
               int64_t lease_ms, size_t max_events, size_t max_bytes,
               struct spool_batch *out)
{
	char now_s[24], max_s[24], bytes_s[24], until_s[24];
	const char *params[6] = {
	        spool_pg_int(now_s, now),
	        spool_pg_int(max_s,
	                     (int64_t)(max_events > INT32_MAX ? INT32_MAX
	                                                      : max_events)),
	        spool_pg_int(bytes_s,
	                     (int64_t)(max_bytes > INT64_MAX ? INT64_MAX
	                                                     : max_bytes)),
	        owner ? owner : "",
	        sp->claim,
	        spool_pg_int(until_s, now + lease_ms)};
	PGresult *res;

	out->items = NULL;
	out->count = 0;
	out->more_handed = 0;
	if (max_events == 0)
		return FR_OK;
	if (spool_pg_run(sp, PG_CLAIM, 6, params, PGRES_TUPLES_OK, &res,
	                 "claim events from") != FR_OK)
		return FR_ESTORE;
	if (take_rows(res, out) != 0) {
		/* claimed but not taken: their lease brings them back */
		PQclear(res);
		spool_batch_free(out);
		fr_fail(&sp->err, FR_ESTORE, NULL, NULL,
		        "out of memory claiming events");
		return FR_ESTORE;
	}
	PQclear(res);
	return FR_OK;
}

/* ---- settling claims ------------------------------------------------------
 */

/* ids[0..n) as an array literal, "{12,13,20}"; owned by the caller. */
static char *
ids_array(const int64_t *ids, size_t n)
{
	size_t size, len = 1, i;
	char *s;

	if (n > (SIZE_MAX - 3) / 21)
		return NULL;
	size = n * 21 + 3;
	if ((s = malloc(size)) == NULL)
		return NULL;
	s[0] = '{';
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, size - len, "%s%lld",
		                        i ? "," : "", (long long)ids[i]);
	s[len++] = '}';
	s[len] = '\0';
	return s;
}

/* Run id with $1 the ids and $2 the claim token, then extra[0..extras)
 * as $3…; sp->changes gets the rows changed. */
static int
settle(struct spool *sp, enum pg_stmt id, const int64_t *ids, size_t n,
       const char *const *extra, int extras, const char *what)
{
	const char *params[6];
	char *array = ids_array(ids, n);
	PGresult *res;
	int i, rc;

	sp->changes = 0;
	if (array == NULL) {
		fr_fail(&sp->err, FR_ESTORE, NULL, NULL,
		        "out of memory: cannot %s the spool", what);
		return FR_ESTORE;
	}
	params[0] = array;
	params[1] = sp->claim;
	for (i = 0; i < extras && i < 4; i++)
		params[2 + i] = extra[i];
	rc = spool_pg_run(sp, id, 2 + extras, params, PGRES_COMMAND_OK, &res,
	                  what);
	free(array);
	if (rc != FR_OK)
		return FR_ESTORE;
	sp->changes = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return FR_OK;
}

int
spool_pg_ack(struct spool *sp, const int64_t *ids, size_t n)
{
	return settle(sp, PG_ACK, ids, n, NULL, 0, "acknowledge events in");
}

int
spool_pg_preview(struct spool *sp, const int64_t *ids, size_t n, int64_t now)
{
	char now_s[24];
	const char *extra[1] = {spool_pg_int(now_s, now)};

	return settle(sp, PG_PREVIEW, ids, n, extra, 1, "keep previews in");
}

int
spool_pg_retry_later(struct spool *sp, const int64_t *ids, size_t n,
                     int64_t due_ms, const char *reason)
{
	char due[24];
	const char *extra[2] = {spool_pg_int(due, due_ms),
	                        reason ? reason : ""};

	return settle(sp, PG_RETRY, ids, n, extra, 2, "reschedule events in");
}

int
spool_pg_renew(struct spool *sp, const int64_t *ids, size_t n, int64_t until)
{
	char until_s[24];
	const char *extra[1] = {spool_pg_int(until_s, until)};

	return settle(sp, PG_RENEW, ids, n, extra, 1, "renew leases in");
}

int
spool_pg_dead_letter(struct spool *sp, const int64_t *ids, size_t n,
                     int http_status, const char *reason, int64_t now)
{
	char status[24], now_s[24];
	const char *extra[3] = {spool_pg_int(status, http_status),
	                        reason ? reason : "", spool_pg_int(now_s, now)};

	return settle(sp, PG_DEAD, ids, n, extra, 3, "dead-letter events in");
}

int
spool_pg_release(struct spool *sp, const char *owner)
{
	const char *params[1] = {owner ? owner : ""};
	PGresult *res;

	sp->changes = 0;
	if (spool_pg_run(sp, PG_RELEASE, 1, params, PGRES_COMMAND_OK, &res,
	                 "release claims in") != FR_OK)
		return FR_ESTORE;
	sp->changes = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return FR_OK;
}
