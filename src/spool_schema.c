/*
 * The spool's SQL (see include/spool_internal.h): the schema, its
 * migrations, and every statement the other files run.
 */
#include <inttypes.h>
#include <stdio.h>

#include <sqlite3.h>

#include "spool.h"
#include "spool_internal.h"
#include "util.h"

/* 'FRLY': marks the file as a formrelay spool (PRAGMA application_id). */
#define SPOOL_APPLICATION_ID 0x46524c59

/*
 * Schema steps: step i moves user_version i to i + 1.  To change the
 * schema, append a step (never edit a shipped one) and bump
 * SPOOL_SCHEMA_VERSION; spool_migrate runs the missing steps in one
 * transaction.
 *
 * events: one row per stored call.  requeued_ms restarts the max_age
 * clock of a requeued dead letter without losing created_ms.  claim is
 * the claiming handle's token (see spool.h, "Who may settle a claim"),
 * or that of the delivery process a pending event was handed to
 * (spool_hand_appends).
 * AUTOINCREMENT: ids are never reused, so an id in a log or a dead-letter
 * listing always means one event.
 *
 * 1 -> 2: bodies move to their own table, and message_id loses its
 * UNIQUE index.  A claim rewrites its events' rows (state, owner, claim,
 * lease): with the ~800-byte body inline that rewrote every page holding
 * them, once more into the WAL and once more at checkpoint; rows without
 * bodies are a few dozen bytes.  The index on random UUIDs put each
 * insert and each delete on its own page of it (an ack of 500 events
 * dirtied ~400 index pages) and guarded nothing: message ids are random
 * UUIDs made here.  The state CHECK is spelled with OR: SQLite
 * evaluates "state IN (...)" by building a temporary b-tree of the list
 * on every insert and update (half the instructions of a claim went
 * there).  The trigger keeps bodies and events together
 * whoever deletes an event.  The table is rebuilt (SQLite cannot drop a
 * UNIQUE constraint), carrying the AUTOINCREMENT counter over so that no
 * id is reused.
 *
 * 2 -> 3: partial indexes, one a state.  Both indexes began with state,
 * so a claim moved each event's two entries (four b-tree writes) and an
 * ack deleted two; SQLite spent most of delivery's instructions there
 * (50,700 an event in a drain of 20,000).  Now a pending event has an
 * entry by due time (claims) and one by age (expiry, the oldest-pending
 * gauge); a claim replaces both with one among the inflight, which an
 * ack deletes; dead letters have their own for listing.  Every query
 * names the state its index covers, which is how SQLite picks a
 * partial index.
 *
 * 3 -> 4: webhook_ids becomes dedup, keyed by a namespaced key
 * ("webhook:<id>", "msg:<client messageId>", ...) and remembering the
 * messageId stored under it, so that a duplicate is answered with the
 * original's id.  Ids recorded before did not keep it: their
 * message_id is ''.
 *
 * 4 -> 5: [antispam] captcha.  verify holds a CAPTCHA token until
 * formrelay-deliver has asked the vendor about it: the submission's
 * events (ids first_event .. first_event + events - 1, appended in one
 * transaction) are stored pending but due only at SPOOL_HELD_MS, so
 * that no claim takes them before the verdict releases or deletes them.
 *
 * 5 -> 6: previews.  Under dry_run a claimed event leaves the queue as
 * a preview with its body, kept for SPOOL_PREVIEW_TTL_MS, so that
 * `formrelay list` and `show` print exactly what would have been sent.
 * A table of its own: the queue's state CHECK cannot take a new state
 * without rebuilding events, and previews are never claimed.
 *
 * 6 -> 7: verify.sent.  Set (durably) before formrelay-deliver asks the
 * vendor about a token: tokens are single use, so a deliverer that died
 * after asking and before recording the answer leaves a token the
 * vendor now calls a duplicate; sent says that answer is no verdict on
 * the visitor (captcha.c: captcha_unknown).
 */
static const char *const schema_steps[] = {
        /* 0 -> 1 */
        "CREATE TABLE events ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " message_id TEXT NOT NULL UNIQUE,"
        " body TEXT NOT NULL,"
        " created_ms INTEGER NOT NULL,"
        " due_ms INTEGER NOT NULL,"
        " state TEXT NOT NULL DEFAULT 'pending'"
        "  CHECK (state IN ('pending', 'inflight', 'dead')),"
        " owner TEXT,"
        " claim TEXT,"
        " lease_until_ms INTEGER NOT NULL DEFAULT 0,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " last_status INTEGER NOT NULL DEFAULT 0,"
        " last_reason TEXT,"
        " died_ms INTEGER,"
        " requeued_ms INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX events_claim ON events (state, due_ms, id);"
        "CREATE INDEX events_age ON events (state, created_ms);"
        "CREATE TABLE webhook_ids ("
        " id TEXT PRIMARY KEY,"
        " seen_ms INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE INDEX webhook_ids_seen ON webhook_ids (seen_ms);"
        "CREATE TABLE state ("
        " key TEXT PRIMARY KEY,"
        " value TEXT NOT NULL) WITHOUT ROWID;",
        /* 1 -> 2 */
        "CREATE TABLE bodies ("
        " id INTEGER PRIMARY KEY,"
        " body TEXT NOT NULL);"
        "INSERT INTO bodies (id, body) SELECT id, body FROM events;"
        "CREATE TABLE events_v2 ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " message_id TEXT NOT NULL,"
        " created_ms INTEGER NOT NULL,"
        " due_ms INTEGER NOT NULL,"
        " state TEXT NOT NULL DEFAULT 'pending'"
        "  CHECK (state = 'pending' OR state = 'inflight'"
        "   OR state = 'dead'),"
        " owner TEXT,"
        " claim TEXT,"
        " lease_until_ms INTEGER NOT NULL DEFAULT 0,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " last_status INTEGER NOT NULL DEFAULT 0,"
        " last_reason TEXT,"
        " died_ms INTEGER,"
        " requeued_ms INTEGER NOT NULL DEFAULT 0);"
        "INSERT INTO events_v2 SELECT id, message_id, created_ms, due_ms,"
        " state, owner, claim, lease_until_ms, attempts, last_status,"
        " last_reason, died_ms, requeued_ms FROM events;"
        "DELETE FROM sqlite_sequence WHERE name = 'events_v2';"
        "UPDATE sqlite_sequence SET name = 'events_v2'"
        " WHERE name = 'events';"
        "DROP TABLE events;"
        "ALTER TABLE events_v2 RENAME TO events;"
        "CREATE INDEX events_claim ON events (state, due_ms, id);"
        "CREATE INDEX events_age ON events (state, created_ms);"
        "CREATE TRIGGER events_body_gone AFTER DELETE ON events"
        " BEGIN DELETE FROM bodies WHERE id = old.id; END;",
        /* 2 -> 3 */
        "DROP INDEX events_claim;"
        "DROP INDEX events_age;"
        "CREATE INDEX events_due ON events (due_ms, id)"
        " WHERE state = 'pending';"
        "CREATE INDEX events_age ON events (created_ms)"
        " WHERE state = 'pending';"
        "CREATE INDEX events_leased ON events (id) WHERE state = 'inflight';"
        "CREATE INDEX events_dead ON events (id) WHERE state = 'dead';",
        /* 3 -> 4 */
        "CREATE TABLE dedup ("
        " key TEXT PRIMARY KEY,"
        " message_id TEXT NOT NULL,"
        " seen_ms INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE INDEX dedup_seen ON dedup (seen_ms);"
        "INSERT INTO dedup (key, message_id, seen_ms)"
        " SELECT 'webhook:' || id, '', seen_ms FROM webhook_ids;"
        "DROP TABLE webhook_ids;",
        /* 4 -> 5 */
        "CREATE TABLE verify ("
        " id INTEGER PRIMARY KEY,"
        " first_event INTEGER NOT NULL,"
        " events INTEGER NOT NULL,"
        " token TEXT NOT NULL,"
        " ip TEXT NOT NULL,"
        " created_ms INTEGER NOT NULL,"
        " due_ms INTEGER NOT NULL,"
        " tries INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX verify_due ON verify (due_ms);",
        /* 5 -> 6 */
        "CREATE TABLE previews ("
        " id INTEGER PRIMARY KEY,"
        " message_id TEXT NOT NULL,"
        " created_ms INTEGER NOT NULL,"
        " previewed_ms INTEGER NOT NULL,"
        " body TEXT NOT NULL);"
        "CREATE INDEX previews_age ON previews (previewed_ms);",
        /* 6 -> 7 */
        "ALTER TABLE verify ADD COLUMN sent INTEGER NOT NULL DEFAULT 0;",
};

_Static_assert(sizeof(schema_steps) / sizeof(schema_steps[0]) ==
                       SPOOL_SCHEMA_VERSION,
               "one schema step per version");

/* Events joined to their bodies, events first (by the claim index). */
#define CLAIM_SELECT                                                           \
	"SELECT e.id, e.message_id, b.body, e.created_ms, e.attempts"          \
	" FROM events AS e CROSS JOIN bodies AS b ON b.id = e.id"
#define SETTLED "owner = NULL, claim = NULL, lease_until_ms = 0"
/* ?1: the ids as a JSON array (see ids_json) */
#define IDS_IN "id IN (SELECT value FROM json_each(?1))"
/* claimed (inflight) or handed (pending) under this handle's token */
#define HELD IDS_IN " AND state <> 'dead' AND claim = ?2"

const char *const spool_stmt_sql[ST_COUNT] = {
        [ST_BEGIN] = "BEGIN IMMEDIATE",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
        [ST_INSERT_EVENT] = "INSERT INTO events (message_id, created_ms,"
                            " due_ms) VALUES (?1, ?2, ?2)",
        [ST_INSERT_HANDED] = "INSERT INTO events (message_id, created_ms,"
                             " due_ms, claim) VALUES (?1, ?2, ?3, ?4)",
        [ST_INSERT_BODY] = "INSERT INTO bodies (id, body)"
                           " VALUES (last_insert_rowid(), ?1)",
        [ST_DEDUP_INSERT] = "INSERT OR IGNORE INTO dedup (key, message_id,"
                            " seen_ms) VALUES (?1, ?2, ?3)",
        [ST_DEDUP_GET] = "SELECT message_id FROM dedup WHERE key = ?1",
        /* a key remembered before ?4 counts as new (double submits) */
        [ST_DEDUP_RENEW] = "INSERT INTO dedup (key, message_id, seen_ms)"
                           " VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE"
                           " SET message_id = excluded.message_id,"
                           " seen_ms = excluded.seen_ms"
                           " WHERE dedup.seen_ms < ?4",
        [ST_INSERT_HELD] = "INSERT INTO events (message_id, created_ms,"
                           " due_ms) VALUES (?1, ?2, ?3)",
        [ST_INSERT_VERIFY] = "INSERT INTO verify (first_event, events,"
                             " token, ip, created_ms, due_ms)"
                             " VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        [ST_VERIFY_DUE] = "SELECT id, first_event, events, token, ip,"
                          " created_ms, tries, sent FROM verify"
                          " WHERE due_ms <= ?1 ORDER BY due_ms LIMIT ?2",
        [ST_VERIFY_LEASE] = "UPDATE verify SET due_ms = ?2 WHERE id = ?1",
        [ST_VERIFY_RETRY] = "UPDATE verify SET due_ms = ?2,"
                            " tries = tries + 1, sent = ?3 WHERE id = ?1",
        [ST_VERIFY_SENT] = "UPDATE verify SET sent = 1 WHERE id = ?1",
        [ST_VERIFY_DONE] = "DELETE FROM verify WHERE id = ?1",
        [ST_VERIFY_RELEASE] = "UPDATE events SET due_ms = ?3 WHERE id >= ?1"
                              " AND id < ?1 + ?2 AND state = 'pending'",
        [ST_VERIFY_DROP] = "DELETE FROM events WHERE id >= ?1"
                           " AND id < ?1 + ?2 AND state = 'pending'",
        [ST_VERIFY_NEXT] = "SELECT min(due_ms) FROM verify",
        [ST_PRUNE_VERIFY] = "DELETE FROM verify WHERE created_ms < ?1",
        [ST_TOP_ID] = "SELECT max(id) FROM events",
        /* by id (the newest rows); "+" keeps SQLite off events_due */
        [ST_TAKE_HANDED] = CLAIM_SELECT " WHERE e.id > ?3 AND e.id <= ?4"
                                        " AND e.state = 'pending'"
                                        " AND e.claim = ?5"
                                        " AND +e.due_ms > ?1"
                                        " ORDER BY e.id LIMIT ?2",
        [ST_CLAIM_EXPIRED] = CLAIM_SELECT " WHERE e.state = 'inflight'"
                                          " AND e.lease_until_ms < ?1"
                                          " ORDER BY e.id LIMIT ?2",
        [ST_CLAIM_PENDING] =
                CLAIM_SELECT " WHERE e.state = 'pending' AND e.due_ms <= ?1"
                             " ORDER BY e.due_ms, e.id LIMIT ?2",
        [ST_MARK_INFLIGHT] = "UPDATE events SET state = 'inflight',"
                             " owner = ?2, claim = ?3, lease_until_ms = ?4"
                             " WHERE " IDS_IN,
        [ST_ACK] = "DELETE FROM events WHERE " HELD,
        [ST_RETRY] = "UPDATE events SET state = 'pending', due_ms = ?3,"
                     " attempts = attempts + 1, last_reason = ?4, " SETTLED
                     " WHERE " HELD,
        [ST_DEAD] = "UPDATE events SET state = 'dead', last_status = ?3,"
                    " last_reason = ?4, died_ms = ?5,"
                    " attempts = attempts + 1, " SETTLED " WHERE " HELD,
        [ST_RELEASE] = "UPDATE events SET state = 'pending', " SETTLED
                       " WHERE state = 'inflight' AND owner = ?1",
        [ST_RELEASE_HANDED] = "UPDATE events SET due_ms = created_ms,"
                              " claim = NULL WHERE id > ?1"
                              " AND state = 'pending' AND claim = ?2",
        [ST_EXPIRE] = "UPDATE events SET state = 'dead', last_status = 0,"
                      " last_reason = '" SPOOL_REASON_MAX_AGE "',"
                      " died_ms = ?1, " SETTLED " WHERE state = 'pending'"
                      " AND created_ms < ?2 AND requeued_ms < ?2",
        [ST_PRUNE_DEDUP] = "DELETE FROM dedup WHERE seen_ms < ?1",
        [ST_NEXT_DUE] =
                "SELECT min(t) FROM ("
                " SELECT min(due_ms) AS t FROM events WHERE state = 'pending'"
                " UNION ALL SELECT min(lease_until_ms) + 1 FROM events"
                " WHERE state = 'inflight')",
        [ST_COUNTS] = "SELECT 'pending', count(*) FROM events"
                      " WHERE state = 'pending' UNION ALL"
                      " SELECT 'inflight', count(*) FROM events"
                      " WHERE state = 'inflight' UNION ALL"
                      " SELECT 'dead', count(*) FROM events"
                      " WHERE state = 'dead' UNION ALL"
                      " SELECT 'previewed', count(*) FROM previews",
        [ST_OLDEST] = "SELECT min(created_ms) FROM events"
                      " WHERE state = 'pending'",
        [ST_LIST_DEAD] = "SELECT id, message_id, created_ms, died_ms,"
                         " last_status, attempts, last_reason FROM events"
                         " WHERE state = 'dead' ORDER BY id LIMIT ?1",
        [ST_REQUEUE] = "UPDATE events SET state = 'pending', due_ms = ?2,"
                       " requeued_ms = ?2, attempts = 0, died_ms = NULL"
                       " WHERE state = 'dead' AND (?1 < 0 OR id = ?1)",
        [ST_PURGE] = "DELETE FROM events"
                     " WHERE state = 'dead' AND (?1 < 0 OR id = ?1)",
        [ST_STATE_SET] =
                "INSERT INTO state (key, value) VALUES (?1, ?2)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [ST_STATE_GET] = "SELECT value FROM state WHERE key = ?1",
        [ST_UNDO_EVENTS] = "DELETE FROM events WHERE id BETWEEN ?1 AND ?2",
        [ST_UNDO_DEDUP] = "DELETE FROM dedup WHERE message_id IN"
                          " (SELECT message_id FROM events"
                          " WHERE id BETWEEN ?1 AND ?2)",
        [ST_RENEW] = "UPDATE events SET lease_until_ms = CASE state"
                     " WHEN 'inflight' THEN ?3 ELSE lease_until_ms END,"
                     " due_ms = CASE WHEN state = 'pending' AND due_ms < ?3"
                     " THEN ?3 ELSE due_ms END WHERE " HELD,
        /* ?3: now; the events are then deleted by ST_ACK */
        [ST_PREVIEW_COPY] = "INSERT OR REPLACE INTO previews (id, message_id,"
                            " created_ms, previewed_ms, body)"
                            " SELECT e.id, e.message_id, e.created_ms, ?3,"
                            " b.body FROM events AS e CROSS JOIN bodies AS b"
                            " ON b.id = e.id WHERE e." HELD,
        [ST_PRUNE_PREVIEWS] = "DELETE FROM previews WHERE previewed_ms < ?1",
        [ST_LIST_PREVIEWS] = "SELECT id, message_id, created_ms, previewed_ms,"
                             " body, 'previewed' FROM previews"
                             " ORDER BY previewed_ms DESC, id DESC LIMIT ?1",
        /* ?1: an id (0 when which is none), ?2: a messageId */
        [ST_FIND_CALL] = "SELECT id, message_id, created_ms, previewed_ms,"
                         " body, 'previewed' FROM previews"
                         " WHERE id = ?1 OR message_id = ?2 UNION ALL"
                         " SELECT e.id, e.message_id, e.created_ms, 0,"
                         " b.body, e.state FROM events AS e"
                         " CROSS JOIN bodies AS b ON b.id = e.id"
                         " WHERE e.id = ?1 OR e.message_id = ?2 LIMIT 1",
};

/* ---- migrations ---- */

/* A file with tables but no formrelay version is someone else's. */
static int
check_foreign(struct spool *sp, int64_t version, struct fr_error *err)
{
	int64_t app = 0, tables = 0;
	int rc = spool_query_int(sp, "PRAGMA application_id", &app);

	if (rc == SQLITE_OK)
		rc = spool_query_int(sp, "SELECT count(*) FROM sqlite_master",
		                     &tables);
	if (rc != SQLITE_OK)
		return spool_store_fail(sp, rc, "read", err);
	if ((version == 0 && tables > 0) ||
	    (version > 0 && app != SPOOL_APPLICATION_ID))
		return fr_fail(err, FR_ESTORE, NULL, NULL,
		               "%s is not a formrelay spool", sp->path);
	if (version > SPOOL_SCHEMA_VERSION)
		return fr_fail(err, FR_ESTORE, NULL, NULL,
		               "spool %s has schema version %" PRId64
		               ", newer than this formrelay knows (%d): "
		               "upgrade formrelay",
		               sp->path, version, SPOOL_SCHEMA_VERSION);
	return FR_OK;
}

/* Run the missing schema steps inside the write lock. */
static int
apply_steps(struct spool *sp)
{
	char sql[96];
	int64_t v;
	int rc = spool_query_int(sp, "PRAGMA user_version", &v);

	for (; rc == SQLITE_OK && v < SPOOL_SCHEMA_VERSION; v++)
		rc = sqlite3_exec(sp->db, schema_steps[v], NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return rc;
	snprintf(sql, sizeof(sql),
	         "PRAGMA user_version = %d; PRAGMA application_id = %d",
	         SPOOL_SCHEMA_VERSION, SPOOL_APPLICATION_ID);
	return sqlite3_exec(sp->db, sql, NULL, NULL, NULL);
}

/*
 * Bring the schema to SPOOL_SCHEMA_VERSION.  The common case (already
 * current) reads one pragma and takes no write lock; otherwise the steps
 * run under BEGIN IMMEDIATE, so two processes starting at once migrate
 * once (the second re-reads the version and finds nothing to do).
 */
int
spool_migrate(struct spool *sp, struct fr_error *err)
{
	int64_t v = 0;
	int rc = spool_query_int(sp, "PRAGMA user_version", &v);

	if (rc != SQLITE_OK)
		return spool_store_fail(sp, rc, "read", err);
	if (check_foreign(sp, v, err) != FR_OK)
		return FR_ESTORE;
	if (v == SPOOL_SCHEMA_VERSION)
		return FR_OK;
	rc = spool_tx_begin(sp, DURABLE);
	if (rc == SQLITE_OK)
		rc = apply_steps(sp);
	return spool_tx_end(sp, rc, "create the schema of", err);
}
