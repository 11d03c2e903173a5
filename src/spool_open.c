/*
 * Opening a spool (see include/spool.h): the file, its pragmas and
 * schema, and each handle's settings.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "spool.h"
#include "spool_internal.h"
#include "spool_wake.h"
#include "util.h"

/* Keep the WAL from staying huge after a burst (bytes). */
#define SPOOL_WAL_SIZE_LIMIT (64 * 1024 * 1024)
/*
 * Page caches (KiB).  A connection's cache is emptied whenever another
 * one commits in between (WAL mode), so under load each transaction
 * starts cold anyway: a small cache for ingest keeps a FastCGI process
 * small; delivery, which reads and rewrites whole batches, gets more.
 */
#define CACHE_KIB_DEFAULT  512
#define CACHE_KIB_DELIVERY 4096

/* ---- opening ------------------------------------------------------------ */

/* The directory part of path ("." when none) into buf. */
static void
parent_dir(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t len;

	if (slash == NULL) {
		strlcopy(buf, ".", size);
		return;
	}
	len = slash == path ? 1 : (size_t)(slash - path);
	if (len >= size)
		len = size - 1;
	memcpy(buf, path, len);
	buf[len] = '\0';
}

/* Make a new file's name durable: fsync its directory (the redis and
 * postfix habit; SQLite syncs the directory for its journals only). */
static void
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/*
 * Check the directory, and create the file ourselves with mode 0600 (the
 * spool holds personal data; SQLite would use 0644 & ~umask, and gives
 * its -wal and -shm files the main file's mode).
 */
static int
prepare_file(struct spool *sp, struct fr_error *err)
{
	char dir[4096];
	struct stat st;
	int fd;

	parent_dir(sp->path, dir, sizeof(dir));
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return fr_fail(err, FR_ESTORE, NULL, NULL,
		               "spool directory %s does not exist: create it, "
		               "owned by the user formrelay runs as",
		               dir);
	fd = open(sp->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		close(fd);
		sync_dir(dir);
		return FR_OK;
	}
	if (errno == EEXIST)
		return FR_OK;
	return fr_fail(err, FR_ESTORE, NULL, NULL, "cannot create spool %s: %s",
	               sp->path, strerror(errno));
}

/* journal_mode=WAL answers the mode it ended in: anything else (a
 * filesystem without shared memory, say) is refused. */
static int
set_wal(struct spool *sp, struct fr_error *err)
{
	char mode[16] = "";
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(sp->db, "PRAGMA journal_mode = WAL", -1,
	                            &st, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_text(st, 0) != NULL)
			strlcopy(mode, (const char *)sqlite3_column_text(st, 0),
			         sizeof(mode));
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		spool_store_fail(sp, rc, "set up", err);
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return FR_ESTORE;
	if (ascii_casecmp(mode, "wal") != 0)
		return fr_fail(err, FR_ESTORE, NULL, NULL,
		               "cannot put spool %s in WAL mode "
		               "(journal_mode is %s)",
		               sp->path, mode);
	return FR_OK;
}

static int
set_pragmas(struct spool *sp, struct fr_error *err)
{
	char sql[192];
	int rc;

	if (sqlite3_db_readonly(sp->db, "main") == 1) {
		fr_fail(&sp->err, FR_ESTORE, NULL, NULL,
		        "spool is read-only: %s", sp->path);
		if (err != NULL)
			*err = sp->err;
		return FR_ESTORE;
	}
	if (set_wal(sp, err) != FR_OK)
		return FR_ESTORE;
	/* secure_delete: Debian builds SQLite with SECURE_DELETE, which
	 * zeroes and writes back every page an ack frees; FAST zeroes
	 * deleted bodies only in pages written anyway (sqlite.org/pragma.html
	 * #pragma_secure_delete).  Freed pages keep old bodies until reused,
	 * as the WAL does until overwritten: the file is 0600 either way. */
	snprintf(sql, sizeof(sql),
	         "PRAGMA synchronous = FULL; PRAGMA journal_size_limit = %d;"
	         " PRAGMA secure_delete = FAST; PRAGMA cache_size = -%d",
	         SPOOL_WAL_SIZE_LIMIT, CACHE_KIB_DEFAULT);
	rc = sqlite3_exec(sp->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? FR_OK
	                       : spool_store_fail(sp, rc, "set up", err);
}

/*
 * Pragmas and schema, one opening process at a time: two FastCGI
 * processes starting on a new spool used to race (one switching to WAL
 * while the other read the empty file: "spool is locked" at once, or
 * "not a formrelay spool" when it saw the tables before the version).
 * Without the wake file (read-only directory) SQLite's locks still keep
 * the file consistent.
 */
static int
set_up(struct spool *sp, struct fr_error *err)
{
	int locked, rc;

	sp->checkpoint_pages = SPOOL_CHECKPOINT_BACKSTOP_PAGES;
	sp->wake = spool_wake_open(sp->path);
	locked = sp->wake != NULL &&
	         spool_wake_setup_lock(sp->wake, sp->busy_ms) == 0;
	rc = set_pragmas(sp, err);
	sp->sync_full = 1; /* set_pragmas' synchronous = FULL */
	if (rc == FR_OK)
		rc = spool_migrate(sp, err);
	if (locked)
		spool_wake_setup_unlock(sp->wake);
	return rc;
}

/* Open the connection, with the handle's busy handler and WAL hook. */
static int
open_db(struct spool *sp, struct fr_error *err)
{
	int rc =
	        sqlite3_open_v2(sp->path, &sp->db, SQLITE_OPEN_READWRITE, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_extended_result_codes(sp->db, 1);
		rc = sqlite3_busy_handler(sp->db, spool_busy_wait, sp);
	}
	if (rc != SQLITE_OK)
		return spool_store_fail(sp, rc, "open", err);
	/* replaces wal_autocheckpoint, itself a WAL hook */
	sqlite3_wal_hook(sp->db, spool_note_wal_size, sp);
	return FR_OK;
}

int
spool_sqlite_open(const char *path, struct spool **out, struct fr_error *err)
{
	struct spool *sp = calloc(1, sizeof(*sp));

	*out = NULL;
	if (sp == NULL || (sp->path = xstrdup(path)) == NULL ||
	    uuid_v4(sp->claim)) {
		spool_sqlite_close(sp);
		return fr_fail(err, FR_ESTORE, NULL, NULL,
		               "cannot open spool %s: out of memory or "
		               "randomness",
		               path);
	}
	sp->ops = &spool_sqlite_ops;
	sp->busy_ms = SPOOL_BUSY_TIMEOUT_MS;
	if (prepare_file(sp, err) != FR_OK) {
		spool_sqlite_close(sp);
		return FR_ESTORE;
	}
	if (open_db(sp, err) != FR_OK || set_up(sp, err) != FR_OK) {
		spool_sqlite_close(sp);
		return FR_ESTORE;
	}
	fr_error_clear(&sp->err);
	*out = sp;
	return FR_OK;
}

/* Finalize the cached statements and close the connection. */
static void
close_db(struct spool *sp)
{
	size_t i;

	for (i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(sp->stmt[i]);
		sp->stmt[i] = NULL;
	}
	sqlite3_close(sp->db);
	sp->db = NULL;
}

int
spool_reconnect(struct spool *sp, struct fr_error *err)
{
	int rc;

	close_db(sp);
	rc = open_db(sp, err);
	if (rc == FR_OK)
		rc = set_pragmas(sp, err);
	sp->sync_full = 1; /* set_pragmas' synchronous = FULL */
	if (rc == FR_OK && sp->max_bytes > 0)
		rc = spool_set_max_size(sp, sp->max_bytes);
	if (rc == FR_OK && sp->for_delivery)
		rc = spool_for_delivery(sp, err);
	if (rc != FR_OK && err != NULL)
		*err = sp->err;
	return rc;
}

void
spool_sqlite_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	close_db(sp);
	spool_undo_clear(sp);
	spool_wake_close(sp->wake);
	free(sp->path);
	free(sp);
}

int
spool_sqlite_for_delivery(struct spool *sp, struct fr_error *err)
{
	char sql[64];
	int rc;

	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d",
	         CACHE_KIB_DELIVERY);
	rc = sqlite3_exec(sp->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return spool_store_fail(sp, rc, "set up", err);
	sp->checkpoint_pages = SPOOL_CHECKPOINT_PAGES;
	sp->for_delivery = 1;
	return FR_OK;
}

/* A token fits a claim column's buffer (hand_token, claim). */
static int
token_fits(const char *token)
{
	return token != NULL && *token != '\0' && strlen(token) < UUID_STR_LEN;
}

int
spool_hand_appends(struct spool *sp, const char *token, int64_t lease_ms)
{
	sp->hand_token[0] = '\0';
	if (token == NULL || *token == '\0')
		return 0;
	if (!token_fits(token) || lease_ms <= 0)
		return -1;
	strlcopy(sp->hand_token, token, sizeof(sp->hand_token));
	sp->hand_lease_ms = lease_ms;
	return 0;
}

int
spool_take_handed(struct spool *sp, const char *token)
{
	if (!token_fits(token))
		return -1;
	strlcopy(sp->claim, token, sizeof(sp->claim));
	sp->takes_handed = 1;
	sp->handed_seen = 0;
	return 0;
}

void
spool_set_busy_timeout(struct spool *sp, int ms)
{
	sp->busy_ms = ms > 0 ? ms : 0;
}

int
spool_sqlite_set_max_size(struct spool *sp, int64_t max_bytes)
{
	char sql[96];
	int64_t page = 4096, pages;
	int rc = spool_query_int(sp, "PRAGMA page_size", &page);

	if (rc != SQLITE_OK)
		return spool_store_fail(sp, rc, "read", NULL);
	sp->max_bytes = max_bytes;
	/* 0 pages is not accepted; SQLite's own ceiling is 4294967294 */
	pages = max_bytes > 0 ? max_bytes / (page > 0 ? page : 4096)
	                      : 4294967294LL;
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %" PRId64,
	         pages > 0 ? pages : 1);
	rc = sqlite3_exec(sp->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? FR_OK
	                       : spool_store_fail(sp, rc, "limit", NULL);
}
