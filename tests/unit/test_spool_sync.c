/*
 * When an append's fsync happens.  This program defines fdatasync and
 * fsync itself, so that SQLite's calls land here: each one records which
 * file it syncs and whether another connection could take the spool's
 * write lock at that moment, then syncs for real (or fails, when a test
 * asks).  An append must fsync the write-ahead log before it returns,
 * with the write lock already released; a failed fsync must fail the
 * append with a message naming it, and the handle until spool_recover
 * has undone that append and checkpointed the log (spool.h, "When an
 * fsync fails").
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sqlite3.h>

#include "spool.h"
#include "tap.h"
#include "tmpdir.h"

static char tmpdir[256];

static struct {
	int wal_syncs;        /* of a file whose name ends in -wal */
	int wal_syncs_locked; /* ... while the write lock was held */
	int fail_with;        /* errno for the next WAL sync, or 0 */
	sqlite3 *probe;       /* a second connection to the spool */
} seen;

static int
ends_with_wal(int fd)
{
	char link[64], path[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 4)
		return 0;
	path[n] = '\0';
	return strcmp(path + n - 4, "-wal") == 0;
}

/* 1 when another connection cannot take the write lock right now. */
static int
write_lock_held(void)
{
	int rc;

	if (seen.probe == NULL)
		return 0;
	rc = sqlite3_exec(seen.probe, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		sqlite3_exec(seen.probe, "ROLLBACK", NULL, NULL, NULL);
	return rc != SQLITE_OK;
}

static int
note_sync(int fd, long nr)
{
	if (ends_with_wal(fd)) {
		seen.wal_syncs++;
		seen.wal_syncs_locked += write_lock_held();
		if (seen.fail_with != 0) {
			errno = seen.fail_with;
			seen.fail_with = 0;
			return -1;
		}
	}
	return (int)syscall(nr, fd);
}

int
fdatasync(int fd)
{
	return note_sync(fd, SYS_fdatasync);
}

int
fsync(int fd)
{
	return note_sync(fd, SYS_fsync);
}

static int
append(struct spool *sp, const char *body, struct fr_error *err)
{
	char id[UUID_STR_LEN];
	struct spool_event ev = {id, body, strlen(body)};

	uuid_v4(id);
	return spool_append(sp, &ev, 1, NULL, 1000, err);
}

static int64_t
events(void)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_prepare_v2(seen.probe, "SELECT count(*) FROM events", -1,
	                       &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void
test_sync_after_unlock(struct spool *sp)
{
	struct fr_error err;
	int rc;

	seen.wal_syncs = seen.wal_syncs_locked = 0;
	fr_error_clear(&err);
	rc = append(sp, "{\"type\":\"identify\"}", &err);
	ok(rc == FR_OK, "an append succeeds (%s)", err.message);
	ok(seen.wal_syncs == 1,
	   "its WAL is fsync'd once before it returns "
	   "(%d)",
	   seen.wal_syncs);
	ok(seen.wal_syncs_locked == 0,
	   "with the write lock already released (%d under the lock)",
	   seen.wal_syncs_locked);
	ok(events() == 1, "the event is there");
}

/* The size of the spool's write-ahead log in bytes (-1: none). */
static long long
wal_size(void)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/spool.db-wal", tmpdir);
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void
test_sync_fails(struct spool *sp)
{
	struct fr_error err;
	int rc;

	fr_error_clear(&err);
	seen.fail_with = EIO;
	rc = append(sp, "{\"type\":\"identify\",\"n\":2}", &err);
	ok(rc == FR_ESTORE, "an append whose fsync fails fails (%d)", rc);
	ok(strstr(err.message, "cannot sync the write-ahead log") != NULL &&
	           strstr(err.message, strerror(EIO)) != NULL,
	   "naming the fsync and its cause: %s", err.message);
	ok(strstr(spool_last_error(sp)->message, "write-ahead log") != NULL,
	   "spool_last_error says the same");
	ok(spool_failed(sp), "the handle is failed");
	fr_error_clear(&err);
	rc = append(sp, "{\"type\":\"identify\",\"n\":3}", &err);
	ok(rc == FR_ESTORE && strstr(err.message, "an fsync failed") != NULL,
	   "a failed handle stores nothing more, though fsync works again "
	   "(%s)",
	   err.message);
	ok(spool_recover(sp, &err) == FR_OK && !spool_failed(sp),
	   "spool_recover reopens it (%s)", err.message);
	ok(events() == 1,
	   "the event whose fsync failed was undone, the one before kept "
	   "(%lld events)",
	   (long long)events());
	ok(wal_size() == 0,
	   "the write-ahead log was checkpointed and "
	   "truncated (%lld bytes)",
	   wal_size());
	rc = append(sp, "{\"type\":\"identify\",\"n\":3}", &err);
	ok(rc == FR_OK, "then appends succeed again (%s)", err.message);
	ok(events() == 2, "and are stored (%lld events)", (long long)events());
}

/* A webhook id recorded by a commit whose fsync failed is forgotten:
 * the sender's retry is stored, not taken for a duplicate. */
static void
test_sync_fails_webhook(struct spool *sp)
{
	char id[UUID_STR_LEN];
	const char *body = "{\"type\":\"identify\",\"n\":4}";
	struct spool_event ev = {id, body, strlen(body)};
	struct fr_error err;
	int64_t before = events();
	int rc;

	fr_error_clear(&err);
	uuid_v4(id);
	seen.fail_with = EIO;
	rc = spool_append(sp, &ev, 1, "webhook:msg_retried", 1000, &err);
	ok(rc == FR_ESTORE, "a webhook whose fsync fails fails (%d)", rc);
	ok(spool_recover(sp, &err) == FR_OK, "recovered (%s)", err.message);
	uuid_v4(id);
	rc = spool_append(sp, &ev, 1, "webhook:msg_retried", 1000, &err);
	ok(rc == FR_OK,
	   "its retry is stored, not refused as a duplicate "
	   "(%d: %s)",
	   rc, err.message);
	ok(events() == before + 1, "once (%lld events, %lld before)",
	   (long long)events(), (long long)before);
	ev.dedup_key = "msg:client-retried-1";
	uuid_v4(id);
	seen.fail_with = EIO;
	rc = spool_append(sp, &ev, 1, NULL, 1000, &err);
	ok(rc == FR_ESTORE, "a call with its own key whose fsync fails (%d)",
	   rc);
	ok(spool_recover(sp, &err) == FR_OK, "recovered (%s)", err.message);
	rc = spool_append(sp, &ev, 1, NULL, 1000, &err);
	ok(rc == FR_OK, "its retry is stored too (%d: %s)", rc, err.message);
	rc = spool_append(sp, &ev, 1, NULL, 1000, &err);
	ok(rc == FR_EDUPLICATE, "and its key is remembered again (%d)", rc);
}

int
main(void)
{
	char path[512];
	struct spool *sp = NULL;
	struct fr_error err;

	if (tmpdir_make(tmpdir, sizeof(tmpdir), "test_spool_sync") != 0) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/spool.db", tmpdir);
	fr_error_clear(&err);
	if (spool_open(path, &sp, &err) != FR_OK ||
	    sqlite3_open_v2(path, &seen.probe, SQLITE_OPEN_READWRITE, NULL) !=
	            SQLITE_OK) {
		printf("Bail out! cannot open %s: %s\n", path, err.message);
		return 1;
	}
	test_sync_after_unlock(sp);
	test_sync_fails(sp);
	test_sync_fails_webhook(sp);
	spool_close(sp);
	sqlite3_close(seen.probe);
	tmpdir_remove(tmpdir);
	return done_testing();
}
