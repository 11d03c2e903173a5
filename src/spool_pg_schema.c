/*
 * The PostgreSQL spool's SQL (see include/spool_pg.h): the schema, its
 * migrations, and the statements the other spool_pg files run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "spool.h"
#include "spool_internal.h"
#include "spool_pg.h"
#include "spool_pg_internal.h"
#include "util.h"

/* pg_advisory_xact_lock's key while migrating: 'FRLY'. */
#define MIGRATE_LOCK "1179798617"

/*
 * Schema steps: step i moves version i to i + 1.  To change the schema,
 * append a step (never edit a shipped one) and bump
 * SPOOL_PG_SCHEMA_VERSION; the missing steps run in one transaction.
 * The columns and their meaning are SQLite's (src/spool_schema.c), with
 * the body inline: PostgreSQL keeps a large body out of line (TOAST)
 * by itself, and a claim's UPDATE writes a new version of the row
 * either way.  dedup is SQLite's (schema 4): a key, the messageId
 * first stored under it, when.  The partial indexes, one a state, are SQLite's
 * too: a claim finds due rows by events_due, an expired lease by events_leased.
 * The statement trigger NOTIFYs once a transaction, after its COMMIT, whoever
 * inserts.
 */
static const char *const schema_steps[] = {
        /* 0 -> 1 */
        "CREATE TABLE events ("
        " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " message_id text NOT NULL,"
        " body text NOT NULL,"
        " created_ms bigint NOT NULL,"
        " due_ms bigint NOT NULL,"
        " state text NOT NULL DEFAULT 'pending'"
        "  CHECK (state IN ('pending', 'inflight', 'dead')),"
        " owner text,"
        " claim text,"
        " lease_until_ms bigint NOT NULL DEFAULT 0,"
        " attempts integer NOT NULL DEFAULT 0,"
        " last_status integer NOT NULL DEFAULT 0,"
        " last_reason text,"
        " died_ms bigint,"
        " requeued_ms bigint NOT NULL DEFAULT 0);"
        "CREATE INDEX events_due ON events (due_ms, id)"
        " WHERE state = 'pending';"
        "CREATE INDEX events_age ON events (created_ms)"
        " WHERE state = 'pending';"
        "CREATE INDEX events_leased ON events (lease_until_ms)"
        " WHERE state = 'inflight';"
        "CREATE INDEX events_dead ON events (id) WHERE state = 'dead';"
        "CREATE TABLE dedup ("
        " key text PRIMARY KEY,"
        " message_id text NOT NULL,"
        " seen_ms bigint NOT NULL);"
        "CREATE INDEX dedup_seen ON dedup (seen_ms);"
        "CREATE TABLE state ("
        " key text PRIMARY KEY,"
        " value text NOT NULL);"
        "CREATE FUNCTION formrelay_notify() RETURNS trigger"
        " LANGUAGE plpgsql AS $$ BEGIN"
        " PERFORM pg_notify('" SPOOL_PG_CHANNEL "', '');"
        " RETURN NULL; END $$;"
        "CREATE TRIGGER events_notify AFTER INSERT ON events"
        " FOR EACH STATEMENT EXECUTE FUNCTION formrelay_notify();",
        /* 1 -> 2: dry run's previews, kept SPOOL_PREVIEW_TTL_MS */
        "CREATE TABLE previews ("
        " id bigint PRIMARY KEY,"
        " message_id text NOT NULL,"
        " created_ms bigint NOT NULL,"
        " previewed_ms bigint NOT NULL,"
        " body text NOT NULL);"
        "CREATE INDEX previews_age ON previews (previewed_ms);",
};

_Static_assert(sizeof(schema_steps) / sizeof(schema_steps[0]) ==
                       SPOOL_PG_SCHEMA_VERSION,
               "one schema step per version");

#define SETTLED "owner = NULL, claim = NULL, lease_until_ms = 0"
/* $1: the ids as an array literal, $2: this handle's claim token */
#define HELD "id = ANY ($1::bigint[]) AND state <> 'dead' AND claim = $2"

const char *const spool_pg_sql[PG_STMT_COUNT] = {
        /*
         * $1 now, $2 max events, $3 max bytes, $4 owner, $5 claim,
         * $6 lease end.  Expired leases first, then due rows by due
         * time; rows another deliverer holds are skipped, not waited
         * for.  n orders the batch; the running sum of body lengths
         * stops it at max bytes (the first row always fits).
         */
        [PG_CLAIM] =
                "WITH x AS (SELECT id, 0 AS k, id AS o1, 0::bigint AS o2,"
                "  octet_length(body) AS len FROM events"
                "  WHERE state = 'inflight' AND lease_until_ms < $1"
                "  ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED),"
                " p AS (SELECT id, 1 AS k, due_ms AS o1, id AS o2,"
                "  octet_length(body) AS len FROM events"
                "  WHERE state = 'pending' AND due_ms <= $1"
                "  ORDER BY due_ms, id LIMIT $2 FOR UPDATE SKIP LOCKED),"
                " c AS (SELECT * FROM x UNION ALL SELECT * FROM p),"
                " s AS (SELECT id, row_number() OVER w AS n,"
                "  sum(len) OVER w AS run FROM c"
                "  WINDOW w AS (ORDER BY k, o1, o2))"
                " UPDATE events AS e SET state = 'inflight', owner = $4,"
                " claim = $5, lease_until_ms = $6 FROM s"
                " WHERE e.id = s.id AND s.n <= $2 AND (s.n = 1 OR s.run <= $3)"
                " RETURNING e.id, e.message_id, e.body, e.created_ms,"
                " e.attempts, s.n",
        [PG_ACK] = "DELETE FROM events WHERE " HELD,
        [PG_RETRY] = "UPDATE events SET state = 'pending', due_ms = $3,"
                     " attempts = attempts + 1, last_reason = $4, " SETTLED
                     " WHERE " HELD,
        /* no hand-off here: only claims (inflight) have a lease */
        [PG_RENEW] = "UPDATE events SET lease_until_ms = $3"
                     " WHERE " HELD " AND state = 'inflight'",
        [PG_DEAD] = "UPDATE events SET state = 'dead', last_status = $3,"
                    " last_reason = $4, died_ms = $5,"
                    " attempts = attempts + 1, " SETTLED " WHERE " HELD,
        [PG_RELEASE] = "UPDATE events SET state = 'pending', " SETTLED
                       " WHERE state = 'inflight' AND owner = $1",
        /* $1 now, $2 created before (max_age), $3 keys seen before,
         * $4 previews kept since */
        [PG_EXPIRE] = "WITH k AS (DELETE FROM dedup WHERE seen_ms < $3),"
                      " v AS (DELETE FROM previews WHERE previewed_ms < $4)"
                      " UPDATE events SET state = 'dead', last_status = 0,"
                      " last_reason = '" SPOOL_REASON_MAX_AGE "',"
                      " died_ms = $1, " SETTLED " WHERE state = 'pending'"
                      " AND created_ms < $2 AND requeued_ms < $2",
        [PG_NEXT_DUE] = "SELECT least((SELECT min(due_ms) FROM events"
                        " WHERE state = 'pending'),"
                        " (SELECT min(lease_until_ms) + 1 FROM events"
                        " WHERE state = 'inflight'))",
        [PG_COUNTS] = "SELECT"
                      " (SELECT count(*) FROM events WHERE state = 'pending'),"
                      " (SELECT count(*) FROM events"
                      " WHERE state = 'inflight'),"
                      " (SELECT count(*) FROM events WHERE state = 'dead'),"
                      " (SELECT min(created_ms) FROM events"
                      " WHERE state = 'pending'),"
                      " (SELECT count(*) FROM previews)",
        [PG_LIST_DEAD] = "SELECT id, message_id, created_ms, died_ms,"
                         " last_status, attempts, last_reason FROM events"
                         " WHERE state = 'dead' ORDER BY id LIMIT $1",
        [PG_REQUEUE] = "WITH r AS (UPDATE events SET state = 'pending',"
                       " due_ms = $2, requeued_ms = $2, attempts = 0,"
                       " died_ms = NULL"
                       " WHERE state = 'dead' AND ($1 < 0 OR id = $1)"
                       " RETURNING 1)"
                       " SELECT count(*), pg_notify('" SPOOL_PG_CHANNEL
                       "', '') FROM r",
        [PG_PURGE] = "DELETE FROM events"
                     " WHERE state = 'dead' AND ($1 < 0 OR id = $1)",
        [PG_STATE_SET] =
                "INSERT INTO state (key, value) VALUES ($1, $2)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [PG_STATE_GET] = "SELECT value FROM state WHERE key = $1",
        /* $3 now: the held events leave the queue as previews */
        [PG_PREVIEW] = "WITH m AS (DELETE FROM events WHERE " HELD
                       " RETURNING id, message_id, created_ms, body)"
                       " INSERT INTO previews (id, message_id, created_ms,"
                       " previewed_ms, body)"
                       " SELECT id, message_id, created_ms, $3, body FROM m"
                       " ON CONFLICT (id) DO UPDATE SET"
                       " message_id = excluded.message_id,"
                       " created_ms = excluded.created_ms,"
                       " previewed_ms = excluded.previewed_ms,"
                       " body = excluded.body",
        [PG_LIST_PREVIEWS] = "SELECT id, message_id, created_ms,"
                             " previewed_ms, body, 'previewed'"
                             " FROM previews ORDER BY previewed_ms DESC,"
                             " id DESC LIMIT $1",
        /* $1 an id (0 when which is none), $2 a messageId */
        [PG_FIND_CALL] = "(SELECT id, message_id, created_ms, previewed_ms,"
                         " body, 'previewed' AS state FROM previews"
                         " WHERE id = $1 OR message_id = $2)"
                         " UNION ALL (SELECT id, message_id, created_ms,"
                         " 0, body, state FROM events"
                         " WHERE id = $1 OR message_id = $2) LIMIT 1",
};

/* ---- migrations ---- */

/* The version row, or 0 when there is no formrelay_schema table. */
static int
read_version(struct spool *sp, int *version, struct fr_error *err)
{
	PGresult *res = PQexec(
	        sp->pg->conn, "SELECT to_regclass('formrelay_schema') IS NULL");
	int rc = FR_OK;

	*version = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = spool_pg_fail(sp, res, "read the schema version of", err);
	else if (strcmp(PQgetvalue(res, 0, 0), "f") == 0) {
		PQclear(res);
		res = PQexec(sp->pg->conn,
		             "SELECT max(version) FROM formrelay_schema");
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			rc = spool_pg_fail(sp, res,
			                   "read the schema version of", err);
		else
			*version = (int)spool_pg_cell(res, 0, 0, 0);
	}
	PQclear(res);
	return rc;
}

int
spool_pg_schema_version(struct spool *sp, int *version, struct fr_error *err)
{
	return read_version(sp, version, err);
}

static int
too_new(struct spool *sp, int version, struct fr_error *err)
{
	return fr_fail(err, FR_ESTORE, NULL, NULL,
	               "spool database %s has schema version %d, newer than "
	               "this formrelay knows (%d): upgrade formrelay",
	               sp->pg->where, version, SPOOL_PG_SCHEMA_VERSION);
}

/* Inside the transaction, holding the lock: the missing steps. */
static int
apply_steps(struct spool *sp, struct fr_error *err)
{
	char sql[96];
	int v;

	if (spool_pg_exec(sp,
	                  "CREATE TABLE IF NOT EXISTS formrelay_schema"
	                  " (version integer NOT NULL)",
	                  PGRES_COMMAND_OK, "create the schema of",
	                  err) != FR_OK ||
	    read_version(sp, &v, err) != FR_OK)
		return FR_ESTORE;
	if (v > SPOOL_PG_SCHEMA_VERSION)
		return too_new(sp, v, err);
	for (; v < SPOOL_PG_SCHEMA_VERSION; v++)
		if (spool_pg_exec(sp, schema_steps[v], PGRES_COMMAND_OK,
		                  "create the schema of", err) != FR_OK)
			return FR_ESTORE;
	snprintf(sql, sizeof(sql),
	         "DELETE FROM formrelay_schema;"
	         " INSERT INTO formrelay_schema VALUES (%d)",
	         SPOOL_PG_SCHEMA_VERSION);
	return spool_pg_exec(sp, sql, PGRES_COMMAND_OK, "create the schema of",
	                     err);
}

/*
 * The common case (current) reads the version and takes no lock;
 * otherwise the steps run in one transaction under an advisory lock, so
 * that hosts starting at once migrate once (the second re-reads the
 * version and finds nothing to do).
 */
int
spool_pg_schema_migrate(struct spool *sp, struct fr_error *err)
{
	int v = 0, rc;

	if (read_version(sp, &v, err) != FR_OK)
		return FR_ESTORE;
	if (v == SPOOL_PG_SCHEMA_VERSION)
		return FR_OK;
	if (v > SPOOL_PG_SCHEMA_VERSION)
		return too_new(sp, v, err);
	if (spool_pg_exec(
	            sp, "BEGIN; SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")",
	            PGRES_TUPLES_OK, "lock the schema of", err) != FR_OK)
		return FR_ESTORE;
	rc = apply_steps(sp, err);
	if (rc == FR_OK)
		return spool_pg_exec(sp, "COMMIT", PGRES_COMMAND_OK,
		                     "create the schema of", err);
	if (sp->pg->conn != NULL)
		PQclear(PQexec(sp->pg->conn, "ROLLBACK"));
	return rc;
}
