/*
 * The PostgreSQL spool's private interface (include/spool_pg.h is the
 * public one), shared by its files:
 *   spool_pg.c         connecting, reconnecting, errors, statements
 *   spool_pg_schema.c  the schema, its migrations, the statements' SQL
 *   spool_pg_append.c  appends (group commit)
 *   spool_pg_claim.c   claims and settling them
 *   spool_pg_admin.c   expiry, counts, dead letters, shared state
 * A handle is a struct spool (spool_internal.h) whose pg holds this.
 */
#ifndef FORMRELAY_SPOOL_PG_INTERNAL_H
#define FORMRELAY_SPOOL_PG_INTERNAL_H

#include <stdint.h>

#include <libpq-fe.h>

#include "error.h"
#include "spool.h"

/* The prepared statements (SQL in spool_pg_schema.c). */
enum pg_stmt {
	PG_CLAIM,
	PG_ACK,
	PG_RETRY,
	PG_RENEW,
	PG_DEAD,
	PG_RELEASE,
	PG_EXPIRE,
	PG_NEXT_DUE,
	PG_COUNTS,
	PG_LIST_DEAD,
	PG_REQUEUE,
	PG_PURGE,
	PG_STATE_SET,
	PG_STATE_GET,
	PG_PREVIEW,
	PG_LIST_PREVIEWS,
	PG_FIND_CALL,
	PG_STMT_COUNT
};

extern const char *const spool_pg_sql[PG_STMT_COUNT];
extern const struct spool_ops spool_pg_ops;

struct spool_pg {
	PGconn *conn;      /* NULL or broken: reconnect (pg_ready) */
	char *url;         /* owned */
	char *password;    /* owned, wiped on close; NULL: libpq's own */
	char where[256];   /* url without its password, for messages */
	int delivery;      /* spool_for_delivery: LISTEN, async commits */
	int64_t retry_at;  /* no reconnection before (ms, monotonic) */
	int64_t backoff;   /* the next back-off (ms) */
	uint32_t prepared; /* bit per enum pg_stmt, on this connection */
};

/* ---- spool_pg.c ---- */

/* A usable connection (reconnecting if it is due): FR_OK, else
 * FR_ESTORE with sp->err (and err) saying why. */
int spool_pg_ready(struct spool *sp, struct fr_error *err);
/*
 * Run statement id with n text parameters (NULL: SQL NULL); *res gets
 * the result (PQclear it) when it is one of ok.  Else FR_ESTORE with
 * sp->err (and err) saying why while doing what; a lost connection is
 * noted for reconnection.
 */
int spool_pg_run(struct spool *sp, enum pg_stmt id, int n,
                 const char *const *params, ExecStatusType ok, PGresult **res,
                 const char *what);
/* Record why res (or the connection) failed doing what: FR_ESTORE. */
int spool_pg_fail(struct spool *sp, PGresult *res, const char *what,
                  struct fr_error *err);
/* Run SQL without parameters, expecting ok; FR_OK or FR_ESTORE. */
int spool_pg_exec(struct spool *sp, const char *sql, ExecStatusType ok,
                  const char *what, struct fr_error *err);
/* v in decimal into buf (room for 21 bytes); returns buf. */
char *spool_pg_int(char *buf, int64_t v);
/* The integer in a result cell; dflt when NULL. */
int64_t spool_pg_cell(const PGresult *res, int row, int col, int64_t dflt);

/* ---- spool_pg_schema.c ---- */

/* The version of the schema in the database (0: none). */
int spool_pg_schema_version(struct spool *sp, int *version,
                            struct fr_error *err);
/* Bring the schema to SPOOL_PG_SCHEMA_VERSION. */
int spool_pg_schema_migrate(struct spool *sp, struct fr_error *err);

/* ---- the backend's calls (spool_ops.h) ---- */

int spool_pg_append_begin(struct spool *sp);
int spool_pg_append_finish(struct spool *sp, int begun,
                           struct spool_append *const *items, size_t n,
                           int64_t now, struct fr_error *err);
int spool_pg_claim(struct spool *sp, const char *owner, int64_t now,
                   int64_t lease_ms, size_t max_events, size_t max_bytes,
                   struct spool_batch *out);
int spool_pg_ack(struct spool *sp, const int64_t *ids, size_t n);
int spool_pg_retry_later(struct spool *sp, const int64_t *ids, size_t n,
                         int64_t due_ms, const char *reason);
int spool_pg_renew(struct spool *sp, const int64_t *ids, size_t n,
                   int64_t until);
int spool_pg_release(struct spool *sp, const char *owner);
int spool_pg_dead_letter(struct spool *sp, const int64_t *ids, size_t n,
                         int http_status, const char *reason, int64_t now);
int spool_pg_expire(struct spool *sp, int64_t now, int64_t max_age_ms,
                    int64_t *count);
int spool_pg_next_due(struct spool *sp, int64_t *due_ms);
int spool_pg_stats(struct spool *sp, int64_t now, struct spool_stats *st);
int spool_pg_list_dead(struct spool *sp, size_t max, struct spool_dead **out,
                       size_t *count);
int spool_pg_requeue(struct spool *sp, int64_t id, int64_t now, int64_t *count);
int spool_pg_purge(struct spool *sp, int64_t id, int64_t *count);
int spool_pg_state_set(struct spool *sp, const char *key, const char *value);
int spool_pg_state_get(struct spool *sp, const char *key, char *buf,
                       size_t size);
/* dry run: the held events leave the queue as previews (spool.h) */
int spool_pg_preview(struct spool *sp, const int64_t *ids, size_t n,
                     int64_t now);
int spool_pg_list_previews(struct spool *sp, size_t max,
                           struct spool_preview **out, size_t *count);
int spool_pg_find_call(struct spool *sp, const char *which,
                       struct spool_preview **out, size_t *count);

#endif
