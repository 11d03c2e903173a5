/*
 * The PostgreSQL spool's connection (see include/spool_pg.h): opening,
 * the session's settings, reconnecting with back-off, errors, running
 * the prepared statements, and waking delivery (LISTEN).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "spool.h"
#include "spool_internal.h"
#include "spool_ops.h"
#include "spool_pg.h"
#include "spool_pg_internal.h"
#include "util.h"

/* The longest password file read. */
#define PASSWORD_FILE_MAX 4096

/* ---- small helpers ----------------------------------------------------- */

char *
spool_pg_int(char *buf, int64_t v)
{
	snprintf(buf, 21, "%" PRId64, v);
	return buf;
}

int64_t
spool_pg_cell(const PGresult *res, int row, int col, int64_t dflt)
{
	if (row >= PQntuples(res) || PQgetisnull(res, row, col))
		return dflt;
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* The first line of path, without its line end, into *out (owned; wiped
 * by the caller). */
static int
read_password(const char *path, char **out, struct fr_error *err)
{
	char buf[PASSWORD_FILE_MAX + 1];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	*out = NULL;
	if (fd < 0)
		return fr_fail(err, FR_ESTORE, NULL, NULL,
		               "spool.password_file %s: %s", path,
		               strerror(errno));
	do
		n = read(fd, buf, PASSWORD_FILE_MAX);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return fr_fail(err, FR_ESTORE, NULL, NULL,
		               "spool.password_file %s: %s", path,
		               strerror(errno));
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0')
		return fr_fail(err, FR_ESTORE, NULL, NULL,
		               "spool.password_file %s is empty", path);
	*out = xstrdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return *out ? FR_OK
	            : fr_fail(err, FR_ESTORE, NULL, NULL, "out of memory");
}

/* ---- errors ------------------------------------------------------------- */

/* libpq's message, first line only (the rest repeats it or adds the
 * query's position). */
static void
first_line(const char *msg, char *buf, size_t size)
{
	size_t len = strcspn(msg ? msg : "", "\n");

	if (len >= size)
		len = size - 1;
	memcpy(buf, msg ? msg : "", len);
	buf[len] = '\0';
}

/* Whether a failure means this connection is no use any more: lost,
 * the server shutting down, or a server that takes no writes (a
 * standby, after a failover). */
static int
connection_lost(const struct spool_pg *pg, const PGresult *res)
{
	const char *state =
	        res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK)
		return 1;
	if (state == NULL)
		return res == NULL;
	return strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
	       strcmp(state, "25006") == 0;
}

static void
drop_connection(struct spool_pg *pg)
{
	if (pg->conn != NULL)
		PQfinish(pg->conn);
	pg->conn = NULL;
	pg->prepared = 0;
}

int
spool_pg_fail(struct spool *sp, PGresult *res, const char *what,
              struct fr_error *err)
{
	struct spool_pg *pg = sp->pg;
	char msg[256];
	int lost = connection_lost(pg, res);

	first_line(res && PQresultErrorMessage(res)[0]
	                   ? PQresultErrorMessage(res)
	                   : (pg->conn ? PQerrorMessage(pg->conn)
	                               : "not connected"),
	           msg, sizeof(msg));
	if (lost) {
		fr_fail(&sp->err, FR_ESTORE, NULL, NULL,
		        "database unreachable: cannot %s %s: %s", what,
		        pg->where, msg);
		drop_connection(pg);
	} else {
		fr_fail(&sp->err, FR_ESTORE, NULL, NULL,
		        "database error: cannot %s %s: %s", what, pg->where,
		        msg);
	}
	if (err != NULL)
		*err = sp->err;
	return FR_ESTORE;
}

/* ---- connecting ---------------------------------------------------------- */

/* synchronous_commit on for a session found at off or local: a 2xx
 * waits for the COMMIT on disk (and on a synchronous standby). */
static int
session_durable(struct spool *sp, struct fr_error *err)
{
	PGresult *res = PQexec(sp->pg->conn, "SHOW synchronous_commit");
	const char *v;
	int weak;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		spool_pg_fail(sp, res, "set up", err);
		PQclear(res);
		return FR_ESTORE;
	}
	v = PQgetvalue(res, 0, 0);
	weak = strcmp(v, "off") == 0 || strcmp(v, "local") == 0;
	PQclear(res);
	if (!weak)
		return FR_OK;
	return spool_pg_exec(sp, "SET synchronous_commit = on",
	                     PGRES_COMMAND_OK, "set up", err);
}

/* The settings of a new connection: delivery's LISTEN and async
 * bookkeeping, else durable commits. */
static int
session_setup(struct spool *sp, struct fr_error *err)
{
	if (!sp->pg->delivery)
		return session_durable(sp, err);
	if (spool_pg_exec(sp, "SET synchronous_commit = off", PGRES_COMMAND_OK,
	                  "set up", err) != FR_OK)
		return FR_ESTORE;
	return spool_pg_exec(sp, "LISTEN " SPOOL_PG_CHANNEL, PGRES_COMMAND_OK,
	                     "listen on", err);
}

/* Connect (once); FR_OK or FR_ESTORE. */
static int
connect_once(struct spool *sp, struct fr_error *err)
{
	struct spool_pg *pg = sp->pg;
	/* the URL's own values win over the first two (expand_dbname);
	 * the password file's over the URL's */
	const char *keys[] = {"connect_timeout", "fallback_application_name",
	                      "dbname",          "client_encoding",
	                      "password",        NULL};
	const char *values[] = {"5",    "formrelay",  pg->url,
	                        "UTF8", pg->password, NULL};
	char msg[256];

	drop_connection(pg);
	if (pg->password == NULL)
		keys[4] = NULL;
	pg->conn = PQconnectdbParams(keys, values, 1);
	if (pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK)
		return session_setup(sp, err);
	first_line(pg->conn ? PQerrorMessage(pg->conn) : "out of memory", msg,
	           sizeof(msg));
	drop_connection(pg);
	fr_fail(&sp->err, FR_ESTORE, NULL, NULL,
	        "database unreachable: cannot connect to %s: %s", pg->where,
	        msg);
	if (err != NULL)
		*err = sp->err;
	return FR_ESTORE;
}

int
spool_pg_ready(struct spool *sp, struct fr_error *err)
{
	struct spool_pg *pg = sp->pg;
	int64_t now = mono_ms();

	if (pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK)
		return FR_OK;
	if (now < pg->retry_at) {
		/* sp->err still says why the last attempt failed */
		if (err != NULL)
			*err = sp->err;
		return FR_ESTORE;
	}
	if (connect_once(sp, err) == FR_OK) {
		pg->backoff = SPOOL_PG_BACKOFF_MIN_MS;
		pg->retry_at = 0;
		return FR_OK;
	}
	pg->retry_at = now + pg->backoff;
	pg->backoff = pg->backoff * 2 > SPOOL_PG_BACKOFF_MAX_MS
	                      ? SPOOL_PG_BACKOFF_MAX_MS
	                      : pg->backoff * 2;
	return FR_ESTORE;
}

/* ---- statements ---------------------------------------------------------- */

int
spool_pg_exec(struct spool *sp, const char *sql, ExecStatusType ok,
              const char *what, struct fr_error *err)
{
	PGresult *res = PQexec(sp->pg->conn, sql);
	int rc = FR_OK;

	if (PQresultStatus(res) != ok)
		rc = spool_pg_fail(sp, res, what, err);
	PQclear(res);
	return rc;
}

static int
prepare(struct spool *sp, enum pg_stmt id, const char *what)
{
	struct spool_pg *pg = sp->pg;
	char name[16];
	PGresult *res;
	int rc = FR_OK;

	if (pg->prepared & (1u << id))
		return FR_OK;
	snprintf(name, sizeof(name), "fr%d", (int)id);
	res = PQprepare(pg->conn, name, spool_pg_sql[id], 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = spool_pg_fail(sp, res, what, NULL);
	else
		pg->prepared |= 1u << id;
	PQclear(res);
	return rc;
}

int
spool_pg_run(struct spool *sp, enum pg_stmt id, int n,
             const char *const *params, ExecStatusType ok, PGresult **res,
             const char *what)
{
	char name[16];

	*res = NULL;
	if (spool_pg_ready(sp, NULL) != FR_OK || prepare(sp, id, what) != FR_OK)
		return FR_ESTORE;
	snprintf(name, sizeof(name), "fr%d", (int)id);
	*res = PQexecPrepared(sp->pg->conn, name, n, params, NULL, NULL, 0);
	if (PQresultStatus(*res) == ok)
		return FR_OK;
	spool_pg_fail(sp, *res, what, NULL);
	PQclear(*res);
	*res = NULL;
	return FR_ESTORE;
}

/* ---- opening and closing --------------------------------------------------
 */

static void
pg_close(struct spool *sp)
{
	struct spool_pg *pg;

	if (sp == NULL)
		return;
	pg = sp->pg;
	if (pg != NULL) {
		drop_connection(pg);
		if (pg->password != NULL) {
			explicit_bzero(pg->password, strlen(pg->password));
			free(pg->password);
		}
		free(pg->url);
		free(pg);
	}
	free(sp);
}

static int
pg_open(const char *url, const char *password_file, struct spool **out,
        struct fr_error *err)
{
	struct spool *sp = calloc(1, sizeof(*sp));
	struct spool_pg *pg = calloc(1, sizeof(*pg));

	*out = NULL;
	if (sp == NULL || pg == NULL || uuid_v4(sp->claim) ||
	    (pg->url = xstrdup(url ? url : "")) == NULL) {
		free(pg);
		free(sp);
		return fr_fail(err, FR_ESTORE, NULL, NULL,
		               "cannot open the spool database: out of memory "
		               "or randomness");
	}
	sp->ops = &spool_pg_ops;
	sp->pg = pg;
	pg->backoff = SPOOL_PG_BACKOFF_MIN_MS;
	spool_pg_url_masked(pg->url, pg->where, sizeof(pg->where));
	if ((password_file != NULL && *password_file != '\0' &&
	     read_password(password_file, &pg->password, err) != FR_OK) ||
	    connect_once(sp, err) != FR_OK ||
	    spool_pg_schema_migrate(sp, err) != FR_OK) {
		pg_close(sp);
		return FR_ESTORE;
	}
	fr_error_clear(&sp->err);
	*out = sp;
	return FR_OK;
}

static int
pg_migrate(struct spool *sp, int migrate, int *version, struct fr_error *err)
{
	if (sp->pg == NULL)
		return fr_fail(err, FR_ESTORE, NULL, NULL,
		               "not a PostgreSQL spool");
	if (spool_pg_ready(sp, err) != FR_OK)
		return FR_ESTORE;
	if (migrate && spool_pg_schema_migrate(sp, err) != FR_OK)
		return FR_ESTORE;
	return spool_pg_schema_version(sp, version, err);
}

/* ---- delivery ---------------------------------------------------------------
 */

static int
pg_for_delivery(struct spool *sp, struct fr_error *err)
{
	sp->pg->delivery = 1;
	if (spool_pg_ready(sp, err) != FR_OK)
		return FR_ESTORE;
	return session_setup(sp, err);
}

static int
pg_set_max_size(struct spool *sp, int64_t max_bytes)
{
	(void)sp;
	(void)max_bytes;
	return FR_OK;
}

static int
pg_wake_fd(struct spool *sp)
{
	struct spool_pg *pg = sp->pg;

	if (!pg->delivery || pg->conn == NULL ||
	    PQstatus(pg->conn) != CONNECTION_OK)
		return -1;
	return PQsocket(pg->conn);
}

/* Take the notifications that arrived; 1 when there was one. */
static int
pg_wake_drain(struct spool *sp)
{
	struct spool_pg *pg = sp->pg;
	PGnotify *n;
	int woken = 0;

	if (pg_wake_fd(sp) < 0)
		return 0;
	if (!PQconsumeInput(pg->conn)) {
		drop_connection(pg); /* the next call reconnects */
		return 1;
	}
	while ((n = PQnotifies(pg->conn)) != NULL) {
		woken = 1;
		PQfreemem(n);
	}
	return woken;
}

/* CAPTCHA holds are not kept in PostgreSQL yet (an append holding one
 * is refused as invalid): nothing to verify. */
static int
pg_verify_take(struct spool *sp, int64_t now, int64_t lease_ms, size_t max,
               struct spool_verify_item **out, size_t *count)
{
	(void)sp;
	(void)now;
	(void)lease_ms;
	(void)max;
	*out = NULL;
	*count = 0;
	return FR_OK;
}

static int
pg_verify_settle(struct spool *sp, const struct spool_verify_item *it,
                 enum spool_verdict v, int64_t now, int64_t retry_ms)
{
	(void)it;
	(void)v;
	(void)now;
	(void)retry_ms;
	fr_fail(&sp->err, FR_ESTORE, NULL, NULL,
	        "CAPTCHA holds are not kept in a PostgreSQL spool");
	return FR_ESTORE;
}

const struct spool_ops spool_pg_ops = {
        .name = "postgresql",
        .close = pg_close,
        .for_delivery = pg_for_delivery,
        .set_max_size = pg_set_max_size,
        .append_begin = spool_pg_append_begin,
        .append_finish = spool_pg_append_finish,
        .claim = spool_pg_claim,
        .ack = spool_pg_ack,
        .retry_later = spool_pg_retry_later,
        .renew = spool_pg_renew,
        .release = spool_pg_release,
        .dead_letter = spool_pg_dead_letter,
        .expire = spool_pg_expire,
        .next_due = spool_pg_next_due,
        .stats = spool_pg_stats,
        .list_dead = spool_pg_list_dead,
        .requeue = spool_pg_requeue,
        .purge = spool_pg_purge,
        .state_set = spool_pg_state_set,
        .state_get = spool_pg_state_get,
        .verify_take = pg_verify_take,
        .verify_settle = pg_verify_settle,
        .preview = spool_pg_preview,
        .list_previews = spool_pg_list_previews,
        .find_call = spool_pg_find_call,
        .wake_fd = pg_wake_fd,
        .wake_drain = pg_wake_drain,
};

/* The module's one exported symbol: the rest of it is hidden
 * (-fvisibility=hidden, mk/spool_pg.am). */
__attribute__((visibility("default")))
const struct spool_pg_entry spool_pg_entry = {
        .version = PACKAGE_VERSION,
        .spool_size = sizeof(struct spool),
        .ops_size = sizeof(struct spool_ops),
        .open = pg_open,
        .migrate = pg_migrate,
};
