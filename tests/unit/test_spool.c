/*
 * The spool against real SQLite files in a temporary directory: the
 * round trip, claim order and limits, leases across handles and
 * processes, retries, dead letters, expiry, administration, dedup keys,
 * shared state, and the failures that must store nothing (read-only,
 * locked, disk full).  Time is always passed explicitly: no sleeps.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "spool.h"
#include "tap.h"
#include "tmpdir.h"

#define NOBODY 65534

static char tmpdir[256];

/* A path inside the temporary directory (one of a few rotating buffers). */
static const char *
tmp_path(const char *name)
{
	static char bufs[4][512];
	static int next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", tmpdir, name);
	return b;
}

/* One integer from sql on a separate raw connection (-1 on error). */
static int64_t
sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) ==
	            SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static int64_t
rows(const char *path)
{
	return sql_int(path, "SELECT count(*) FROM events");
}

static struct spool *
open_ok(const char *path)
{
	struct spool *sp = NULL;
	struct fr_error err;

	fr_error_clear(&err);
	if (spool_open(path, &sp, &err) != FR_OK)
		printf("# spool_open %s: %s\n", path, err.message);
	return sp;
}

/* Append one event with a fresh messageId (copied to mid when set). */
static int
add(struct spool *sp, const char *body, int64_t now, char *mid)
{
	char id[UUID_STR_LEN];
	struct spool_event ev = {id, body, strlen(body)};

	uuid_v4(id);
	if (mid != NULL)
		memcpy(mid, id, UUID_STR_LEN);
	return spool_append(sp, &ev, 1, NULL, now, NULL);
}

static struct spool_batch
claim(struct spool *sp, const char *owner, int64_t now, size_t max_events,
      size_t max_bytes)
{
	struct spool_batch b = {NULL, 0};

	if (spool_claim(sp, owner, now, 1000, max_events, max_bytes, &b) !=
	    FR_OK)
		printf("# claim failed: %s\n", spool_last_error(sp)->message);
	return b;
}

/* A settle names its events by id in one JSON list: ids of several
 * digits, and ids of no event at the extremes of int64, among them. */
static void
test_ack_many_ids(void)
{
	const char *path = tmp_path("ids.db");
	struct spool *sp = open_ok(path);
	int64_t ids[16];
	struct spool_batch b;
	size_t i, n = 0;

	for (i = 0; i < 12; i++)
		add(sp, "{}", 1000, NULL);
	b = claim(sp, "me", 1000, 100, 100000);
	is_int(b.count, 12, "twelve events claimed");
	ids[n++] = INT64_MIN;
	for (i = 0; i < b.count; i++)
		ids[n++] = b.items[i].id;
	ids[n++] = INT64_MAX;
	ids[n++] = -1;
	ids[n++] = 0;
	is_int(spool_ack(sp, ids, n), FR_OK,
	       "one ack for all, and four others");
	is_int(spool_changes(sp), 12, "it deletes exactly the twelve");
	is_int(rows(path), 0, "none left");
	spool_batch_free(&b);
	spool_close(sp);
}

static void
test_round_trip(void)
{
	const char *path = tmp_path("trip.db");
	struct spool *sp = open_ok(path);
	char mid[UUID_STR_LEN];
	struct spool_batch b;
	struct stat st;

	ok(sp != NULL, "open creates the spool");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	   "spool file mode is 0600 (it holds personal data)");
	is_int(sql_int(path, "PRAGMA user_version"), SPOOL_SCHEMA_VERSION,
	       "schema version recorded");
	is_int(add(sp, "{\"type\":\"identify\"}", 1000, mid), FR_OK, "append");
	ok(stat(tmp_path("trip.db-wal"), &st) == 0 &&
	           (st.st_mode & 0777) == 0600,
	   "the WAL file is 0600 too");
	ok(stat(tmp_path("trip.db.wake"), &st) == 0 &&
	           (st.st_mode & 0777) == 0600,
	   "and the file that wakes waiting writers");
	b = claim(sp, "me", 1000, 10, 100000);
	is_int(b.count, 1, "claim gets the event");
	if (b.count == 1) {
		is_str(b.items[0].message_id, mid, "messageId preserved");
		is_str(b.items[0].body, "{\"type\":\"identify\"}", "body");
		is_int(b.items[0].len, 19, "length");
		is_int(b.items[0].created_ms, 1000, "created_ms");
		is_int(b.items[0].attempts, 0, "no attempts yet");
		is_int(spool_ack(sp, &b.items[0].id, 1), FR_OK, "ack");
		is_int(spool_changes(sp), 1, "ack changed one row");
	}
	spool_batch_free(&b);
	is_int(rows(path), 0, "acked event deleted");
	b = claim(sp, "me", 5000, 10, 100000);
	is_int(b.count, 0, "nothing left to claim");
	spool_batch_free(&b);
	spool_close(sp);
	sp = open_ok(path);
	ok(sp != NULL, "reopening an existing spool works");
	spool_close(sp);
}

static void
test_missing_dir(void)
{
	struct spool *sp = NULL;
	struct fr_error err;
	int rc;

	fr_error_clear(&err);
	rc = spool_open(tmp_path("nope/spool.db"), &sp, &err);
	is_int(rc, FR_ESTORE, "missing directory refused");
	ok(sp == NULL, "no handle on failure");
	ok(strstr(err.message, "does not exist") != NULL &&
	           strstr(err.message, "/nope") != NULL,
	   "error names the directory: %s", err.message);
	ok(access(tmp_path("nope"), F_OK) != 0, "directory not created");
}

static void
test_not_a_spool(void)
{
	const char *path = tmp_path("foreign.db");
	struct spool *sp = NULL;
	struct fr_error err;
	sqlite3 *db;

	sqlite3_open(path, &db);
	sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL);
	sqlite3_close(db);
	fr_error_clear(&err);
	is_int(spool_open(path, &sp, &err), FR_ESTORE, "foreign db refused");
	ok(strstr(err.message, "not a formrelay spool") != NULL, "%s",
	   err.message);

	path = tmp_path("newer.db");
	spool_close(open_ok(path));
	sqlite3_open(path, &db);
	sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
	sqlite3_close(db);
	is_int(spool_open(path, &sp, &err), FR_ESTORE, "newer schema refused");
	ok(strstr(err.message, "newer") != NULL, "%s", err.message);
}

static void
test_order_and_limits(void)
{
	const char *path = tmp_path("order.db");
	struct spool *sp = open_ok(path);
	char body[101];
	struct spool_batch b;

	memset(body, 'x', 100);
	body[100] = '\0';
	/* appended out of time order: claims go by due time */
	add(sp, body, 3000, NULL); /* id 1 */
	add(sp, body, 1000, NULL); /* id 2 */
	add(sp, body, 2000, NULL); /* id 3 */
	add(sp, body, 1000, NULL); /* id 4: same due as 2, later id */
	add(sp, body, 9000, NULL); /* id 5: not due at 5000 */
	b = claim(sp, "o", 5000, 10, 100000);
	is_int(b.count, 4, "only due events claimed");
	if (b.count == 4) {
		is_int(b.items[0].id, 2, "oldest due first");
		is_int(b.items[1].id, 4, "ties by arrival");
		is_int(b.items[2].id, 3, "then later due");
		is_int(b.items[3].id, 1, "then the latest due");
	}
	spool_release(sp, "o");
	spool_batch_free(&b);

	b = claim(sp, "o", 10000, 2, 100000);
	is_int(b.count, 2, "max_events respected");
	spool_batch_free(&b);
	spool_release(sp, "o");
	b = claim(sp, "o", 10000, 10, 250);
	is_int(b.count, 2, "max_bytes respected (2 x 100 <= 250)");
	spool_batch_free(&b);
	spool_release(sp, "o");
	b = claim(sp, "o", 10000, 10, 10);
	is_int(b.count, 1, "always at least one, even over max_bytes");
	spool_batch_free(&b);
	b = claim(sp, "o", 10000, 0, 1000);
	is_int(b.count, 0, "max_events 0 claims nothing");
	spool_batch_free(&b);
	spool_close(sp);
}

/* 1 when no id of a appears in b and vice versa. */
static int
disjoint(const struct spool_batch *a, const struct spool_batch *b)
{
	size_t i, j;

	for (i = 0; i < a->count; i++)
		for (j = 0; j < b->count; j++)
			if (a->items[i].id == b->items[j].id)
				return 0;
	return 1;
}

static void
test_two_handles(void)
{
	const char *path = tmp_path("two.db");
	struct spool *h1 = open_ok(path), *h2 = open_ok(path);
	struct spool_batch a, b;
	int i;

	for (i = 0; i < 10; i++)
		add(h1, "{}", 1000, NULL);
	a = claim(h1, "p1", 1000, 3, 100000);
	b = claim(h2, "p2", 1000, 100, 100000);
	is_int(a.count, 3, "first handle claims 3");
	is_int(b.count, 7, "second handle gets the other 7");
	ok(disjoint(&a, &b), "no event claimed twice");
	spool_batch_free(&b);
	b = claim(h2, "p2", 1500, 100, 100000);
	is_int(b.count, 0, "live leases are not re-claimed");
	spool_batch_free(&b);
	spool_batch_free(&a);
	spool_close(h1);
	spool_close(h2);
}

static void
test_lease_expiry(void)
{
	const char *path = tmp_path("lease.db");
	struct spool *h1 = open_ok(path), *h2 = open_ok(path);
	struct spool_batch a, b;

	add(h1, "{}", 1000, NULL);
	/* lease 1000 ms: held until 2000 */
	a = claim(h1, "crashed", 1000, 10, 100000);
	b = claim(h2, "p2", 2000, 10, 100000);
	is_int(b.count, 0, "lease still held at its last millisecond");
	spool_batch_free(&b);
	b = claim(h2, "p2", 2001, 10, 100000);
	is_int(b.count, 1, "expired lease: the event comes back");
	if (b.count == 1 && a.count == 1) {
		is_int(b.items[0].id, a.items[0].id, "the same event");
		is_int(b.items[0].attempts, 0, "a lost lease is no attempt");
		is_int(spool_ack(h1, &a.items[0].id, 1), FR_OK,
		       "late ack by the old holder succeeds");
		is_int(spool_changes(h1), 0, "but deletes nothing");
		is_int(rows(path), 1, "event kept for its new holder");
		spool_retry_later(h1, &a.items[0].id, 1, 99999, "late");
		spool_dead_letter(h1, &a.items[0].id, 1, 400, "late", 3000);
		is_int(sql_int(path, "SELECT count(*) FROM events WHERE "
		                     "state='inflight' AND owner='p2'"),
		       1, "old holder cannot retry or dead-letter it either");
		spool_ack(h2, &b.items[0].id, 1);
		is_int(spool_changes(h2), 1, "new holder's ack deletes");
	}
	spool_batch_free(&a);
	spool_batch_free(&b);

	add(h1, "{}", 5000, NULL);
	a = claim(h1, "slow", 5000, 10, 100000);
	if (a.count == 1)
		spool_ack(h1, &a.items[0].id, 1);
	is_int(spool_changes(h1), 1,
	       "an expired lease nobody took can still be acked");
	spool_batch_free(&a);
	spool_close(h1);
	spool_close(h2);
}

/* How many events match the SQL condition where. */
static int64_t
count_where(const char *path, const char *where)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE %s",
	         where);
	return sql_int(path, sql);
}

/* spool_hand_appends / spool_take_handed: what a FastCGI process stores
 * is its own delivery process's at once, read without a claim's write;
 * nobody else's until the lease would have run out, then anybody's. */
static void
test_handed(void)
{
	const char *path = tmp_path("handed.db");
	struct spool *w = open_ok(path), *d = open_ok(path),
	             *other = open_ok(path);
	struct spool_stats st;
	struct spool_batch b;
	int64_t id1 = 0, id;

	is_int(spool_hand_appends(w, "tok-1", 1000), 0, "hand appends");
	is_int(spool_take_handed(d, "tok-1"), 0, "take what is handed");
	add(w, "{\"n\":1}", 1000, NULL);
	add(w, "{\"n\":2}", 1000, NULL);
	is_int(count_where(path, "state = 'pending' AND claim = 'tok-1' AND "
	                         "due_ms = 2000 AND owner IS NULL"),
	       2, "stored pending under the token, due when the lease ends");
	spool_stats(w, 1500, &st);
	ok(st.pending == 2 && st.inflight == 0 && st.oldest_pending_ms == 1000,
	   "handed events count as pending, and for the oldest");
	b = claim(other, "o", 1500, 10, 100000);
	is_int(b.count, 0, "no other handle claims them while the lease runs");
	spool_batch_free(&b);

	b = claim(d, "d", 1500, 1, 100000);
	is_int(b.count, 1, "the token's handle takes them, a batch at a time");
	ok(b.more_handed, "and says that more are handed");
	if (b.count == 1) {
		id1 = b.items[0].id;
		is_str(b.items[0].body, "{\"n\":1}", "oldest first");
		is_int(b.items[0].attempts, 0, "no attempt yet");
	}
	spool_batch_free(&b);
	is_int(count_where(path, "state = 'inflight'"), 0,
	       "taking writes nothing");
	b = claim(d, "d", 1500, 10, 100000);
	is_int(b.count, 1, "the next take starts after the last one taken");
	ok(!b.more_handed, "and nothing more is handed");
	if (b.count == 1) {
		is_str(b.items[0].body, "{\"n\":2}", "the second event");
		spool_ack(d, &b.items[0].id, 1);
		is_int(spool_changes(d), 1,
		       "a handed event is acked as claimed");
	}
	spool_batch_free(&b);
	b = claim(d, "d", 1600, 10, 100000);
	is_int(b.count, 0, "taken events are not taken again");
	spool_batch_free(&b);

	/* id1 was taken and never settled (its taker stopped): */
	b = claim(other, "o", 2001, 10, 100000);
	is_int(b.count, 1, "once the lease has run out anybody claims it");
	if (b.count == 1) {
		is_int(b.items[0].id, id1, "the event left unsettled");
		spool_ack(d, &id1, 1);
		is_int(spool_changes(d), 0,
		       "its old taker's ack deletes nothing");
		spool_ack(other, &id1, 1);
		is_int(spool_changes(other), 1, "its new holder's does");
	}
	spool_batch_free(&b);

	add(w, "{\"n\":3}", 3000, NULL);
	b = claim(d, "d", 3000, 10, 100000);
	is_int(b.count, 1, "taken again after a while");
	if (b.count == 1) {
		id = b.items[0].id;
		spool_retry_later(d, &id, 1, 9000, "503");
		is_int(count_where(path, "state = 'pending' AND claim IS NULL "
		                         "AND due_ms = 9000 AND attempts = 1"),
		       1, "a retry settles a handed event as a claimed one");
	}
	spool_batch_free(&b);

	add(w, "{\"n\":4}", 5000, NULL);
	b = claim(d, "d", 6000, 10, 100000);
	is_int(b.count, 1,
	       "its own handed event past the lease: claimed, not taken");
	is_int(count_where(path, "state = 'inflight' AND claim = 'tok-1'"), 1,
	       "so it is marked inflight");
	if (b.count == 1)
		spool_ack(d, &b.items[0].id, 1);
	spool_batch_free(&b);

	add(w, "{\"n\":7}", 6500, NULL);
	add(w, "{\"n\":8}", 6500, NULL);
	b = claim(d, "d", 6500, 1, 100000);
	spool_batch_free(&b);
	is_int(spool_release(d, "d"), FR_OK, "release the taking handle");
	is_int(spool_changes(d), 1, "its one handed event not taken");
	is_int(count_where(path, "claim IS NULL AND due_ms = 6500"), 1,
	       "is due as stored, for anyone");
	is_int(count_where(path, "claim = 'tok-1' AND due_ms = 7500"), 1,
	       "the one taken keeps its lease");
	b = claim(other, "o", 6500, 10, 100000);
	is_int(b.count, 1, "another handle claims the released one");
	if (b.count == 1)
		spool_ack(other, &b.items[0].id, 1);
	spool_batch_free(&b);

	is_int(spool_hand_appends(other, "tok-2", 1000), 0, "another token");
	add(other, "{\"n\":5}", 7000, NULL);
	b = claim(d, "d", 7000, 10, 100000);
	is_int(b.count, 0, "events handed to another token are not taken");
	spool_batch_free(&b);
	is_int(spool_hand_appends(w, NULL, 0), 0, "stop handing");
	add(w, "{\"n\":6}", 7000, NULL);
	is_int(count_where(path, "claim IS NULL AND due_ms = 7000"), 1,
	       "stored plainly pending again");
	is_int(spool_hand_appends(w, "0123456789012345678901234567890123456789",
	                          1000),
	       -1, "a token too long is refused");
	is_int(spool_hand_appends(w, "t", 0), -1, "so is a lease of 0");
	is_int(spool_take_handed(d, ""), -1, "and an empty token");
	spool_close(w);
	spool_close(d);
	spool_close(other);
}

static void
test_release(void)
{
	const char *path = tmp_path("release.db");
	struct spool *sp = open_ok(path);
	struct spool_batch b;

	add(sp, "{}", 1000, NULL);
	add(sp, "{}", 1000, NULL);
	b = claim(sp, "a", 1000, 1, 100000);
	spool_batch_free(&b);
	b = claim(sp, "b", 1000, 1, 100000);
	spool_batch_free(&b);
	is_int(spool_release(sp, "a"), FR_OK, "release");
	is_int(spool_changes(sp), 1, "only a's claim released");
	b = claim(sp, "c", 1001, 10, 100000);
	is_int(b.count, 1, "released event claimable at once");
	if (b.count == 1)
		is_int(b.items[0].attempts, 0, "release counts no attempt");
	spool_batch_free(&b);
	spool_close(sp);
}

static void
test_retry(void)
{
	const char *path = tmp_path("retry.db");
	struct spool *sp = open_ok(path);
	struct spool_batch b;
	int64_t due = 0;

	add(sp, "{}", 1000, NULL);
	is_int(spool_next_due(sp, &due), FR_OK, "next_due");
	is_int(due, 1000, "due at receipt");
	b = claim(sp, "o", 1000, 10, 100000);
	if (b.count == 1)
		spool_retry_later(sp, &b.items[0].id, 1, 5000, "HTTP 503");
	spool_batch_free(&b);
	spool_next_due(sp, &due);
	is_int(due, 5000, "next_due is the retry time");
	b = claim(sp, "o", 4999, 10, 100000);
	is_int(b.count, 0, "not before its due time");
	spool_batch_free(&b);
	b = claim(sp, "o", 5000, 10, 100000);
	is_int(b.count, 1, "claimed when due");
	if (b.count == 1)
		is_int(b.items[0].attempts, 1, "attempt counted");
	spool_next_due(sp, &due);
	is_int(due, 6001, "a held lease falls due after it ends");
	if (b.count == 1)
		spool_ack(sp, &b.items[0].id, 1);
	spool_batch_free(&b);
	spool_next_due(sp, &due);
	ok(due == INT64_MAX, "nothing due: INT64_MAX");
	spool_close(sp);
}

static void
test_dead_letters(void)
{
	const char *path = tmp_path("dead.db");
	struct spool *sp = open_ok(path);
	char mid[UUID_STR_LEN];
	struct spool_dead *d = NULL;
	struct spool_batch b;
	size_t n = 0;

	add(sp, "{}", 1000, mid);
	b = claim(sp, "o", 1000, 10, 100000);
	if (b.count == 1)
		spool_dead_letter(sp, &b.items[0].id, 1, 400,
		                  "HTTP 400: invalid userId", 7000);
	spool_batch_free(&b);
	b = claim(sp, "o", 99000, 10, 100000);
	is_int(b.count, 0, "dead letters are never claimed");
	spool_batch_free(&b);
	is_int(spool_list_dead(sp, 100, &d, &n), FR_OK, "list dead");
	is_int(n, 1, "one dead letter");
	if (n == 1) {
		is_str(d[0].message_id, mid, "its messageId");
		is_int(d[0].http_status, 400, "its status");
		is_str(d[0].reason, "HTTP 400: invalid userId", "its reason");
		is_int(d[0].died_ms, 7000, "when it died");
		is_int(d[0].created_ms, 1000, "when it came");
		is_int(d[0].attempts, 1, "the failed attempt counts");
	}
	free(d);
	spool_close(sp);
}

static void
test_expire(void)
{
	const char *path = tmp_path("expire.db");
	struct spool *sp = open_ok(path);
	struct spool_dead *d = NULL;
	struct spool_batch b;
	int64_t count = -1;
	size_t n = 0;

	add(sp, "{}", 0, NULL);            /* old, pending */
	add(sp, "{}", 10, NULL);           /* old, but inflight */
	add(sp, "{}", 100, NULL);          /* young */
	b = claim(sp, "o", 10, 1, 100000); /* takes id 1 (due 0) */
	spool_release(sp, "o");
	spool_batch_free(&b);
	b = claim(sp, "o", 10, 1, 100000); /* id 1 again: release keeps due */
	spool_batch_free(&b);
	is_int(spool_expire(sp, 1000, 950, &count), FR_OK, "expire");
	is_int(count, 1, "only old pending events expire (not inflight)");
	spool_list_dead(sp, 10, &d, &n);
	is_int(n, 1, "one dead letter");
	if (n == 1) {
		is_int(d[0].id, 2, "the old pending one");
		is_str(d[0].reason, SPOOL_REASON_MAX_AGE, "reason max_age");
		is_int(d[0].http_status, 0, "no HTTP status");
		is_int(d[0].died_ms, 1000, "died now");
	}
	free(d);
	is_int(spool_expire(sp, 1000, 0, &count), FR_OK, "max_age 0: off");
	is_int(count, 0, "nothing expired when off");
	spool_close(sp);
}

static void
test_requeue_purge(void)
{
	const char *path = tmp_path("requeue.db");
	struct spool *sp = open_ok(path);
	int64_t count = -1, ids[4];
	struct spool_batch b;
	size_t i;

	for (i = 0; i < 4; i++)
		add(sp, "{}", 1000, NULL);
	b = claim(sp, "o", 1000, 10, 100000);
	for (i = 0; i < b.count && i < 4; i++)
		ids[i] = b.items[i].id;
	spool_dead_letter(sp, ids, 4, 400, "bad", 2000);
	spool_batch_free(&b);
	is_int(spool_requeue(sp, ids[0], 500000, &count), FR_OK, "requeue id");
	is_int(count, 1, "one requeued");
	is_int(spool_requeue(sp, 999, 500000, &count), FR_OK, "unknown id");
	is_int(count, 0, "nothing requeued");
	spool_expire(sp, 500001, 1000, &count);
	is_int(count, 0, "a requeued event gets a fresh max_age");
	b = claim(sp, "o", 500000, 10, 100000);
	is_int(b.count, 1, "requeued event claimable now");
	if (b.count == 1) {
		is_int(b.items[0].id, ids[0], "the one requeued");
		is_int(b.items[0].attempts, 0, "attempts reset");
		spool_ack(sp, &b.items[0].id, 1);
	}
	spool_batch_free(&b);
	is_int(spool_purge(sp, ids[1], &count), FR_OK, "purge id");
	is_int(count, 1, "one purged");
	is_int(spool_requeue(sp, -1, 600000, &count), FR_OK, "requeue all");
	is_int(count, 2, "both remaining dead letters");
	b = claim(sp, "o", 600000, 10, 100000);
	spool_dead_letter(sp, &b.items[0].id, 1, 0, "x", 600001);
	spool_batch_free(&b);
	is_int(spool_purge(sp, -1, &count), FR_OK, "purge all");
	is_int(count, 1, "the dead one");
	is_int(spool_purge(sp, ids[3], &count), FR_OK, "purge a live id");
	is_int(count, 0, "purge never touches live events");
	is_int(rows(path), 1, "the live event is left");
	is_int(sql_int(path, "SELECT count(*) FROM bodies"), 1,
	       "acks and purges delete the bodies too");
	spool_close(sp);
}

/*
 * A spool as formrelay wrote it at schema version 1 (bodies inline,
 * message_id UNIQUE): the DDL of that version, verbatim.
 */
static const char v1_schema[] =
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
        " value TEXT NOT NULL) WITHOUT ROWID;"
        "PRAGMA user_version = 1;"
        "PRAGMA application_id = 1179798617;"
        "INSERT INTO events (message_id, body, created_ms, due_ms)"
        " VALUES ('m-1', '{\"n\":1}', 1000, 1000),"
        " ('m-2', '{\"n\":2}', 1001, 1001),"
        " ('m-3', '{\"n\":3}', 1002, 1002),"
        " ('m-4', '{\"n\":4}', 1003, 1003);"
        "UPDATE events SET state = 'dead', last_status = 400,"
        " last_reason = 'bad', died_ms = 2000, attempts = 1 WHERE id = 2;"
        "UPDATE events SET state = 'inflight', owner = 'gone',"
        " claim = 'c-1', lease_until_ms = 1500 WHERE id = 3;"
        "DELETE FROM events WHERE id = 4;"
        "INSERT INTO webhook_ids (id, seen_ms) VALUES ('msg_old', 1000);";

static void
test_migrate_v1(void)
{
	const char *path = tmp_path("v1.db");
	struct spool_dead *dead = NULL;
	struct spool_stats st;
	struct spool_batch b;
	struct spool *sp;
	sqlite3 *db = NULL;
	size_t n = 0;

	sqlite3_open(path, &db);
	is_int(sqlite3_exec(db, v1_schema, NULL, NULL, NULL), SQLITE_OK,
	       "a version 1 spool: pending, dead, acked, claimed");
	sqlite3_close(db);
	sp = open_ok(path);
	ok(sp != NULL, "opening it migrates");
	is_int(sql_int(path, "PRAGMA user_version"), SPOOL_SCHEMA_VERSION,
	       "to the current version");
	is_int(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE "
	                     "type = 'index' AND tbl_name = 'events'"),
	       4, "message_id has no index left, each state its own");
	is_int(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE "
	                     "type = 'index' AND tbl_name = 'events' AND "
	                     "sql LIKE '%WHERE state = %'"),
	       4, "all of them partial");
	spool_stats(sp, 5000, &st);
	ok(st.pending == 1 && st.inflight == 1 && st.dead == 1 &&
	           st.oldest_pending_ms == 1000,
	   "one pending (the oldest), one claimed, one dead");
	b = claim(sp, "o", 5000, 10, 100000);
	is_int(b.count, 2, "the claim whose lease ran out and the pending");
	if (b.count == 2) {
		is_str(b.items[0].message_id, "m-3", "the claimed one first");
		is_str(b.items[1].message_id, "m-1", "its messageId");
		is_str(b.items[1].body, "{\"n\":1}", "its body");
		is_int(b.items[1].created_ms, 1000, "its created_ms");
	}
	spool_batch_free(&b);
	spool_list_dead(sp, 10, &dead, &n);
	is_int(n, 1, "the dead letter is kept");
	if (n == 1) {
		is_int(dead[0].id, 2, "with its id");
		is_str(dead[0].reason, "bad", "its reason");
		is_int(dead[0].http_status, 400, "its status");
	}
	free(dead);
	add(sp, "{}", 6000, NULL);
	is_int(sql_int(path, "SELECT max(id) FROM events"), 5,
	       "ids go on after the highest ever given (4 was acked)");
	is_int(sql_int(path, "SELECT count(*) FROM bodies"), 4,
	       "one body per event");
	is_int(sql_int(path, "SELECT count(*) FROM dedup WHERE key ="
	                     " 'webhook:msg_old' AND message_id = ''"
	                     " AND seen_ms = 1000"),
	       1, "webhook ids become webhook: keys (no messageId known)");
	is_int(sql_int(path, "SELECT count(*) FROM sqlite_master"
	                     " WHERE name = 'webhook_ids'"),
	       0, "and their table is gone");
	is_int(spool_append(sp, &(struct spool_event){"m-9", "{}", 2, NULL}, 1,
	                    "webhook:msg_old", 6000, NULL),
	       FR_EDUPLICATE, "a webhook seen before the upgrade is still one");
	spool_close(sp);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Ten events of the same body, each with its own messageId, in one
 * append: what the checkpoint tests fill the WAL with. */
static int
append_ten(struct spool *sp, const char *body, size_t len)
{
	struct spool_event ev[10];
	char ids[10][UUID_STR_LEN];
	int j;

	for (j = 0; j < 10; j++) {
		uuid_v4(ids[j]);
		ev[j] = (struct spool_event){ids[j], body, len};
	}
	return spool_append(sp, ev, 10, NULL, 1000, NULL);
}

/*
 * Only the delivery handle checkpoints at the usual WAL size, so that no
 * submission waits for one: the spool file itself is written only by a
 * checkpoint.
 */
static void
test_checkpoint_roles(void)
{
	const char *path = tmp_path("ckpt.db");
	const char *wal = tmp_path("ckpt.db-wal");
	struct spool *in = open_ok(path), *out = open_ok(path);
	static char body[3000];
	struct spool_batch b;
	off_t before;
	int i, rc = FR_OK;

	memset(body, 'x', sizeof(body) - 1);
	is_int(spool_for_delivery(out, NULL), FR_OK, "a delivery handle");
	before = file_size(path);
	/* a 3 KB event is about a page: at most 10,000 events */
	for (i = 0; i < 1000 && rc == FR_OK &&
	            file_size(wal) <= (SPOOL_CHECKPOINT_PAGES + 100) * 4096;
	     i++)
		rc = append_ten(in, body, sizeof(body) - 1);
	is_int(rc, FR_OK, "events of 3 KB appended");
	ok(file_size(wal) > (SPOOL_CHECKPOINT_PAGES + 100) * 4096 &&
	           file_size(wal) < SPOOL_CHECKPOINT_BACKSTOP_PAGES * 4096,
	   "the WAL passed delivery's checkpoint size, not the backstop");
	is_int(file_size(path), before,
	       "appends left the checkpoint to delivery (file unchanged)");
	b = claim(out, "o", 2000, 10, 100000);
	is_int(b.count, 10, "delivery claims");
	spool_batch_free(&b);
	ok(file_size(path) > 1000 * 4096,
	   "and its commit checkpointed the WAL into the file");
	spool_close(out);
	spool_close(in);
}

/*
 * With delivery stopped, nobody checkpoints at delivery's size: the
 * serving handles do it once the WAL reaches the backstop, so that the
 * WAL stays bounded (it is then reused from its start, not grown).
 */
static void
test_checkpoint_backstop(void)
{
	const char *path = tmp_path("backstop.db");
	const char *wal = tmp_path("backstop.db-wal");
	struct spool *in = open_ok(path);
	static char body[16000];
	off_t before, max_wal = 0;
	int i, rc = FR_OK;

	memset(body, 'y', sizeof(body) - 1);
	before = file_size(path);
	/* 16 KB events are ~4 pages: the backstop and a half at most */
	for (i = 0; i < SPOOL_CHECKPOINT_BACKSTOP_PAGES * 3 / 2 / 40 &&
	            rc == FR_OK && file_size(path) == before;
	     i++) {
		rc = append_ten(in, body, sizeof(body) - 1);
		if (file_size(wal) > max_wal)
			max_wal = file_size(wal);
	}
	is_int(rc, FR_OK, "16 KB events appended, no delivery handle");
	ok(file_size(path) > before + 1000 * 4096,
	   "the serving handle checkpointed the WAL into the file");
	ok(max_wal >= SPOOL_CHECKPOINT_BACKSTOP_PAGES * 4096 &&
	           max_wal < (SPOOL_CHECKPOINT_BACKSTOP_PAGES + 200) * 4120,
	   "once the WAL reached the backstop, not before or long after "
	   "(%lld bytes)",
	   (long long)max_wal);
	spool_close(in);
}

/* One submission under key, with two fresh messageIds (m1 first). */
static int
append_keyed(struct spool *sp, const char *key, char *m1, int64_t now,
             struct spool_append *a)
{
	static char m2[UUID_STR_LEN];
	static struct spool_event ev[2];
	struct spool_append *items[1] = {a};

	uuid_v4(m1);
	uuid_v4(m2);
	ev[0] = (struct spool_event){m1, "{}", 2, NULL};
	ev[1] = (struct spool_event){m2, "{}", 2, NULL};
	*a = (struct spool_append){ev, 2, key, -1, "junk"};
	return spool_append_group(sp, items, 1, now, NULL);
}

/* A submission's key (a webhook id) stores it once and remembers the
 * messageId first stored, for at least a day (two). */
static void
test_dedup_keys(void)
{
	const char *path = tmp_path("dedup.db");
	struct spool *sp = open_ok(path);
	char first[UUID_STR_LEN], m[UUID_STR_LEN];
	struct spool_event ev = {m, "{}", 2, NULL};
	struct spool_append a;
	struct fr_error err;
	int64_t count;

	append_keyed(sp, "webhook:msg_2Ka", first, 1000, &a);
	is_int(a.result, FR_OK, "webhook stored");
	is_str(a.original, "", "no original for a new key");
	append_keyed(sp, "webhook:msg_2Ka", m, 2000, &a);
	is_int(a.result, FR_EDUPLICATE, "same key again: duplicate");
	is_str(a.original, first, "it tells the messageId first stored");
	is_int(rows(path), 2, "nothing stored for the duplicate");
	uuid_v4(m);
	fr_error_clear(&err);
	is_int(spool_append(sp, &ev, 1, "webhook:msg_2Ka", 2000, &err),
	       FR_EDUPLICATE, "spool_append says so too");
	ok(strstr(err.message, "webhook:msg_2Ka") != NULL, "%s", err.message);
	append_keyed(sp, "typeform:msg_2Ka", m, 2000, &a);
	is_int(a.result, FR_OK, "the same id in another namespace is new");
	spool_expire(sp, 1000 + SPOOL_DEDUP_TTL_MS - 1, 0, &count);
	ok(SPOOL_DEDUP_TTL_MS >= 24 * 3600 * 1000LL, "kept at least 24 h");
	append_keyed(sp, "webhook:msg_2Ka", m, 3000, &a);
	is_int(a.result, FR_EDUPLICATE, "remembered just under 48 h");
	is_str(a.original, first, "with its original messageId");
	spool_expire(sp, 1000 + SPOOL_DEDUP_TTL_MS + 1, 0, &count);
	is_int(sql_int(path, "SELECT count(*) FROM dedup"), 1,
	       "old keys pruned by expire, newer ones kept");
	append_keyed(sp, "webhook:msg_2Ka", m, 4000, &a);
	is_int(a.result, FR_OK, "a key forgotten is new again");
	spool_close(sp);
}

/* Events with their own keys (a browser's messageIds in a batch): each
 * stored once; a batch whose every call was seen is a duplicate. */
static void
test_dedup_event_keys(void)
{
	const char *path = tmp_path("dedup_events.db");
	struct spool *sp = open_ok(path);
	struct spool_event ev[3] = {
	        {"ajs-next-0123456789abcdef0123456789abcdef", "{\"n\":1}", 7,
	         "msg:ajs-next-0123456789abcdef0123456789abcdef"},
	        {"c-2", "{\"n\":2}", 7, "msg:c-2"},
	        {"c-3", "{\"n\":3}", 7, "msg:c-3"}};
	struct spool_append a = {ev, 2, NULL, -1, ""};
	struct spool_append *items[1] = {&a};

	is_int(spool_append_group(sp, items, 1, 1000, NULL), FR_OK, "commit");
	is_int(a.result, FR_OK, "two calls stored");
	is_int(sql_int(path, "SELECT count(*) FROM events WHERE message_id ="
	                     " 'ajs-next-0123456789abcdef0123456789abcdef'"),
	       1, "a 41-character messageId is stored as it is");
	a = (struct spool_append){ev, 3, NULL, -1, ""};
	is_int(spool_append_group(sp, items, 1, 2000, NULL), FR_OK, "commit");
	is_int(a.result, FR_OK, "a batch with one new call is stored");
	is_int(rows(path), 3, "only the new call was added");
	a = (struct spool_append){ev + 1, 2, NULL, -1, ""};
	is_int(spool_append_group(sp, items, 1, 3000, NULL), FR_OK, "commit");
	is_int(a.result, FR_EDUPLICATE, "every call seen: a duplicate");
	is_str(a.original, "c-2", "named by the first call's messageId");
	is_int(rows(path), 3, "nothing stored");
	spool_close(sp);
}

static void
test_group(void)
{
	const char *path = tmp_path("group.db");
	struct spool *sp = open_ok(path);
	char m[4][UUID_STR_LEN];
	struct spool_event ev[4] = {{m[0], "{}", 2},
	                            {m[1], "{}", 2},
	                            {m[2], "{}", 2},
	                            {NULL, "{}", 2}};
	struct spool_append a[4] = {{&ev[0], 1, "webhook:w1", -1, ""},
	                            {&ev[1], 1, "webhook:w1", -1, ""},
	                            {&ev[2], 1, NULL, -1, ""},
	                            {&ev[3], 1, NULL, -1, ""}};
	struct spool_append *items[4] = {&a[0], &a[1], &a[2], &a[3]};
	int i;

	for (i = 0; i < 3; i++)
		uuid_v4(m[i]);
	is_int(spool_append_group(sp, items, 4, 1000, NULL), FR_OK, "group");
	is_int(a[0].result, FR_OK, "first stored");
	is_int(a[1].result, FR_EDUPLICATE, "same webhook id in the group");
	is_int(a[2].result, FR_OK, "third stored");
	is_int(a[3].result, FR_EINTERNAL, "invalid event refused alone");
	is_int(rows(path), 2, "two events stored");
	spool_close(sp);
}

static void
test_stats(void)
{
	const char *path = tmp_path("stats.db");
	struct spool *sp = open_ok(path);
	struct spool_stats st;
	struct spool_batch b;

	is_int(spool_stats(sp, 0, &st), FR_OK, "stats on an empty spool");
	ok(st.pending == 0 && st.inflight == 0 && st.dead == 0 &&
	           st.oldest_pending_ms == 0,
	   "all zero");
	add(sp, "{}", 1000, NULL);
	add(sp, "{}", 2000, NULL);
	add(sp, "{}", 3000, NULL);
	add(sp, "{}", 4000, NULL);
	b = claim(sp, "o", 2500, 2, 100000);
	if (b.count == 2)
		spool_dead_letter(sp, &b.items[1].id, 1, 400, "x", 2600);
	spool_batch_free(&b);
	spool_stats(sp, 5000, &st);
	is_int(st.pending, 2, "pending");
	is_int(st.inflight, 1, "inflight");
	is_int(st.dead, 1, "dead");
	is_int(st.oldest_pending_ms, 3000, "oldest pending created_ms");
	spool_close(sp);
}

static void
test_state(void)
{
	const char *path = tmp_path("state.db");
	struct spool *sp = open_ok(path), *other = open_ok(path);
	char buf[32], tiny[4];

	is_int(spool_state_get(sp, "paused_until", buf, sizeof(buf)), FR_OK,
	       "get unset");
	is_str(buf, "", "unset is empty");
	is_int(spool_state_set(sp, "paused_until", "12345"), FR_OK, "set");
	spool_state_get(other, "paused_until", buf, sizeof(buf));
	is_str(buf, "12345", "seen by another handle");
	spool_state_set(other, "paused_until", "");
	spool_state_get(sp, "paused_until", buf, sizeof(buf));
	is_str(buf, "", "overwritten");
	spool_state_set(sp, "k", "too long");
	is_int(spool_state_get(sp, "k", tiny, sizeof(tiny)), FR_ETOOLARGE,
	       "value too long for the buffer");
	is_str(tiny, "", "and nothing half-copied");
	spool_close(sp);
	spool_close(other);
}

static void
test_locked(void)
{
	const char *path = tmp_path("locked.db");
	struct spool *sp = open_ok(path);
	struct fr_error err;
	sqlite3 *db;

	sqlite3_open(path, &db);
	sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	spool_set_busy_timeout(sp, 50);
	fr_error_clear(&err);
	is_int(spool_append(sp, &(struct spool_event){"m1", "{}", 2}, 1, NULL,
	                    1000, &err),
	       FR_ESTORE, "write lock held elsewhere: FR_ESTORE");
	ok(strstr(err.message, "spool is locked") != NULL, "%s", err.message);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	is_int(spool_append(sp, &(struct spool_event){"m1", "{}", 2}, 1, NULL,
	                    1000, &err),
	       FR_OK, "works once the lock is gone");
	spool_close(sp);
}

/* How many of ids[0..n) are stored exactly once. */
static int
stored_once(const char *path, char (*ids)[UUID_STR_LEN], int n)
{
	char sql[128];
	int i, found = 0;

	for (i = 0; i < n; i++) {
		snprintf(sql, sizeof(sql),
		         "SELECT count(*) FROM events WHERE message_id='%s'",
		         ids[i]);
		found += sql_int(path, sql) == 1;
	}
	return found;
}

/* Append single 2 KB events until one fails; ids get the acked ones. */
static int
append_until_fail(struct spool *sp, char (*ids)[UUID_STR_LEN], int max,
                  int *acked, struct fr_error *err)
{
	static char body[2048];
	struct spool_event ev = {NULL, body, sizeof(body) - 1};
	int rc = FR_OK;

	memset(body, 'a', sizeof(body) - 1);
	for (*acked = 0; *acked < max; (*acked)++) {
		uuid_v4(ids[*acked]);
		ev.message_id = ids[*acked];
		rc = spool_append(sp, &ev, 1, NULL, 1000, err);
		if (rc != FR_OK)
			break;
	}
	return rc;
}

/*
 * Fill the spool at path until an append fails: every acknowledged
 * append must be there afterwards, exactly once, and a failed
 * many-event append not at all.  limit > 0 caps the file with
 * spool_set_max_size; else the filesystem itself fills.
 */
static void
fill_until_full(const char *path, int64_t limit, const char *what)
{
	static char ids[4096][UUID_STR_LEN];
	char m[3][UUID_STR_LEN], body[4096];
	struct spool_event ev[3];
	struct spool *sp = open_ok(path);
	struct fr_error err;
	int rc, acked = 0, i;

	if (sp == NULL) {
		ok(0, "%s: open", what);
		return;
	}
	if (limit > 0)
		spool_set_max_size(sp, limit);
	fr_error_clear(&err);
	rc = append_until_fail(sp, ids, 4096, &acked, &err);
	is_int(rc, FR_ESTORE, "%s: full after %d appends: FR_ESTORE", what,
	       acked);
	ok(strstr(err.message, "disk full") != NULL, "%s: %s", what,
	   err.message);
	memset(body, 'b', sizeof(body));
	for (i = 0; i < 3; i++) {
		uuid_v4(m[i]);
		ev[i] = (struct spool_event){m[i], body, sizeof(body)};
	}
	is_int(spool_append(sp, ev, 3, "webhook:wh-full", 1000, NULL),
	       FR_ESTORE, "%s: a three-event append fails too", what);
	spool_close(sp);
	sp = open_ok(path);
	ok(sp != NULL, "%s: the spool opens again", what);
	spool_close(sp);
	is_int(rows(path), acked, "%s: exactly the acknowledged rows", what);
	is_int(stored_once(path, ids, acked), acked,
	       "%s: every acknowledged event intact", what);
	is_int(stored_once(path, m, 3), 0, "%s: nothing half-written", what);
	is_int(sql_int(path, "SELECT count(*) FROM dedup"), 0,
	       "%s: its key not remembered", what);
}

static void
test_full_max_size(void)
{
	fill_until_full(tmp_path("capped.db"), 128 * 1024, "max_size");
}

/* A real full filesystem: a small tmpfs (needs CAP_SYS_ADMIN). */
static void
test_full_tmpfs(void)
{
	const char *mnt = tmp_path("tmpfs");
	char path[600];

	mkdir(mnt, 0700);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=512k,mode=0700") != 0) {
		ok(1, "# SKIP cannot mount a tmpfs: %s", strerror(errno));
		rmdir(mnt);
		return;
	}
	snprintf(path, sizeof(path), "%s/spool.db", mnt);
	fill_until_full(path, 0, "tmpfs");
	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
}

/* ---- read-only spools: checked in a child running as nobody, since
 * root ignores file modes ---------------------------------------------- */

/* In a child (as nobody when root): open path and try to append.  0 when
 * that failed with FR_ESTORE; the message is written to fd. */
static int
child_try_store(const char *path, int fd)
{
	struct spool *sp = NULL;
	struct fr_error err;
	int rc;

	if (geteuid() == 0 && (setgid(NOBODY) != 0 || setuid(NOBODY) != 0))
		return 2;
	fr_error_clear(&err);
	rc = spool_open(path, &sp, &err);
	if (rc == FR_OK)
		rc = spool_append(sp, &(struct spool_event){"ro", "{}", 2}, 1,
		                  NULL, 1000, &err);
	spool_close(sp);
	if (write(fd, err.message, strlen(err.message)) < 0)
		return 3;
	return rc == FR_ESTORE ? 0 : 1;
}

/* Run child_try_store in a child; its exit status, message in msg. */
static int
try_store_as_nobody(const char *path, char *msg, size_t size)
{
	int fds[2], status = -1;
	ssize_t got;
	pid_t pid;

	msg[0] = '\0';
	if (pipe(fds) != 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		_exit(child_try_store(path, fds[1]));
	}
	close(fds[1]);
	got = read(fds[0], msg, size - 1);
	msg[got > 0 ? got : 0] = '\0';
	close(fds[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A directory with a three-event spool, owned by nobody when root. */
static const char *
spool_for_nobody(const char *dirname)
{
	const char *dir = tmp_path(dirname);
	static char path[600];
	struct spool *sp;
	int i;

	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/spool.db", dir);
	sp = open_ok(path);
	for (i = 0; i < 3; i++)
		add(sp, "{}", 1000, NULL);
	spool_close(sp);
	if (geteuid() == 0 && (chown(dir, NOBODY, NOBODY) != 0 ||
	                       chown(path, NOBODY, NOBODY) != 0))
		printf("# chown: %s\n", strerror(errno));
	return path;
}

static void
test_read_only_file(void)
{
	const char *path = spool_for_nobody("rofile");
	char msg[300];

	chmod(path, 0400);
	is_int(try_store_as_nobody(path, msg, sizeof(msg)), 0,
	       "read-only spool file: FR_ESTORE");
	ok(strstr(msg, "read-only") != NULL && strstr(msg, path) != NULL,
	   "error names the cause and the path: %s", msg);
	chmod(path, 0600);
	is_int(rows(path), 3, "earlier rows intact, nothing added");
}

static void
test_read_only_dir(void)
{
	const char *path = spool_for_nobody("rodir");
	const char *dir = tmp_path("rodir");
	char msg[300];

	chmod(dir, 0555);
	is_int(try_store_as_nobody(path, msg, sizeof(msg)), 0,
	       "read-only spool directory: FR_ESTORE");
	ok(strstr(msg, path) != NULL, "error names the path: %s", msg);
	chmod(dir, 0755);
	is_int(rows(path), 3, "earlier rows intact, nothing added");
}

/* ---- several processes -------------------------------------------------- */

/* A child appending rounds submissions of 1-3 events, reporting each
 * acknowledged messageId on fd as one line (one write: atomic). */
static int
child_append(const char *path, int fd, int rounds)
{
	char m[3][UUID_STR_LEN], line[3 * UUID_STR_LEN + 1];
	struct spool_event ev[3];
	struct spool *sp = open_ok(path);
	struct fr_error err;
	size_t len;
	int r, i, n;

	if (sp == NULL)
		return 1;
	/* Six processes under valgrind (make valgrind) on a busy machine
	 * can wait longer than the default for each other's fsyncs: this
	 * tests that none is lost, not how long the lock is held. */
	spool_set_busy_timeout(sp, 60000);
	for (r = 0; r < rounds; r++) {
		n = r % 3 + 1;
		for (i = 0, len = 0; i < n; i++) {
			uuid_v4(m[i]);
			ev[i] = (struct spool_event){m[i], "{\"x\":1}", 7};
			len += (size_t)snprintf(line + len, sizeof(line) - len,
			                        "%s\n", m[i]);
		}
		if (spool_append(sp, ev, (size_t)n, NULL, 1000 + r, &err) !=
		    FR_OK) {
			/* not acknowledged: need not be there */
			fprintf(stderr, "# append: %s\n", err.message);
			continue;
		}
		if (write(fd, line, len) < 0)
			return 1;
	}
	spool_close(sp);
	return 0;
}

/* A child claiming batches of 7 until nothing is due, reporting ids. */
static int
child_claim(const char *path, int fd)
{
	struct spool *sp = open_ok(path);
	struct spool_batch b;
	char line[32];
	size_t i;

	if (sp == NULL)
		return 1;
	do {
		if (spool_claim(sp, "child", 5000, 600000, 7, 1 << 20, &b))
			return 1;
		for (i = 0; i < b.count; i++) {
			int len = snprintf(line, sizeof(line), "%" PRId64 "\n",
			                   b.items[i].id);
			if (write(fd, line, (size_t)len) < 0)
				return 1;
		}
		spool_batch_free(&b);
	} while (i > 0);
	spool_close(sp);
	return 0;
}

/* Fork n children running fn (0 append, 1 claim); read their report
 * lines into out (NUL-separated); returns children that failed. */
static int
run_children(const char *path, int n, int kind, char *out, size_t size)
{
	int fds[2], i, failed = 0, status;
	size_t len = 0;
	ssize_t got;

	if (pipe(fds) != 0)
		return n;
	fflush(stdout);
	for (i = 0; i < n; i++)
		if (fork() == 0) {
			close(fds[0]);
			_exit(kind == 0 ? child_append(path, fds[1], 40)
			                : child_claim(path, fds[1]));
		}
	close(fds[1]);
	while (len + 1 < size &&
	       (got = read(fds[0], out + len, size - 1 - len)) > 0)
		len += (size_t)got;
	out[len] = '\0';
	close(fds[0]);
	for (i = 0; i < n; i++)
		if (wait(&status) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed++;
	return failed;
}

/* Open path once the parent closes the start pipe; 0 on success. */
static int
child_open(const char *path, int start)
{
	struct spool *sp = NULL;
	struct fr_error err;
	char c;

	if (read(start, &c, 1) < 0)
		return 2;
	fr_error_clear(&err);
	if (spool_open(path, &sp, &err) != FR_OK) {
		printf("# child open: %s\n", err.message);
		return 1;
	}
	spool_close(sp);
	return 0;
}

/*
 * FastCGI processes starting together on a new spool: each opening must
 * succeed.  Without the set-up lock 3 to 9 % of openings failed here
 * ("spool is locked" at once while another switched the file to WAL, or
 * "not a formrelay spool" between another's schema and its version).
 */
static void
test_processes_open(void)
{
	char name[32];
	int round, i, fds[2], status, failed = 0;
	pid_t pid;

	for (round = 0; round < 25; round++) {
		snprintf(name, sizeof(name), "open%d.db", round);
		if (pipe(fds) != 0)
			break;
		fflush(stdout);
		for (i = 0; i < 4; i++) {
			pid = fork();
			if (pid == 0) {
				close(fds[1]);
				_exit(child_open(tmp_path(name), fds[0]));
			}
			failed += pid < 0;
		}
		close(fds[0]);
		close(fds[1]); /* go */
		while (wait(&status) > 0)
			failed +=
			        !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	}
	is_int(failed, 0, "100 openings of 25 new spools, 4 at once: all work");
}

static void
test_processes_append(void)
{
	const char *path = tmp_path("procs.db");
	static char report[65536];
	char sql[128], *line, *save = NULL;
	int failed, acked = 0, once = 0;

	spool_close(open_ok(path));
	failed = run_children(path, 6, 0, report, sizeof(report));
	is_int(failed, 0, "six appending processes finished");
	for (line = strtok_r(report, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		acked++;
		snprintf(sql, sizeof(sql),
		         "SELECT count(*) FROM events WHERE message_id='%s'",
		         line);
		once += sql_int(path, sql) == 1;
	}
	/* 40 rounds of 1, 2, 3, 1, … events: 14 + 13 * 2 + 13 * 3 = 79 */
	is_int(acked, 6 * 79, "every append acknowledged");
	is_int(once, acked, "every acknowledged event stored exactly once");
	is_int(rows(path), acked, "and nothing else");
}

static void
test_processes_claim(void)
{
	const char *path = tmp_path("claims.db");
	static char report[65536];
	static int seen[400];
	char *line, *save = NULL;
	struct spool *sp = open_ok(path);
	int i, dup = 0, bad = 0, total = 0;

	for (i = 0; i < 300; i++)
		add(sp, "{}", 1000, NULL);
	spool_close(sp);
	is_int(run_children(path, 4, 1, report, sizeof(report)), 0,
	       "four claiming processes finished");
	for (line = strtok_r(report, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		long id = strtol(line, NULL, 10);

		if (id < 1 || id >= 400) {
			bad++;
			continue;
		}
		dup += seen[id]++ > 0;
		total++;
	}
	is_int(bad, 0, "only real ids claimed");
	is_int(dup, 0, "no event claimed by two processes");
	is_int(total, 300, "every event claimed");
}

/* ---- several threads, each with its own handle --------------------------- */

struct claimer {
	const char *path;
	int64_t ids[300];
	size_t count;
	int failed;
};

static void *
thread_claim(void *arg)
{
	struct claimer *c = arg;
	struct spool *sp = open_ok(c->path);
	struct spool_batch b;
	size_t i;

	if (sp == NULL) {
		c->failed = 1;
		return NULL;
	}
	do {
		if (spool_claim(sp, "thread", 5000, 600000, 5, 1 << 20, &b)) {
			c->failed = 1;
			break;
		}
		for (i = 0; i < b.count && c->count < 300; i++)
			c->ids[c->count++] = b.items[i].id;
		spool_batch_free(&b);
	} while (i > 0);
	spool_close(sp);
	return NULL;
}

static void
test_threads_claim(void)
{
	static struct claimer c[4];
	static int seen[300];
	const char *path = tmp_path("threads.db");
	struct spool *sp = open_ok(path);
	int i, failed = 0, dup = 0, total = 0;
	pthread_t t[4];
	size_t j;

	for (i = 0; i < 200; i++)
		add(sp, "{}", 1000, NULL);
	spool_close(sp);
	for (i = 0; i < 4; i++) {
		c[i].path = path;
		pthread_create(&t[i], NULL, thread_claim, &c[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		failed += c[i].failed;
		for (j = 0; j < c[i].count; j++, total++)
			if (c[i].ids[j] > 0 && c[i].ids[j] < 300)
				dup += seen[c[i].ids[j]]++ > 0;
	}
	is_int(failed, 0, "four claiming threads finished");
	is_int(dup, 0, "no event claimed by two threads");
	is_int(total, 200, "every event claimed once");
}

/* ---- main ---------------------------------------------------------------- */

int
main(void)
{
	if (tmpdir_make(tmpdir, sizeof(tmpdir), "test_spool") != 0 ||
	    chmod(tmpdir, 0711) != 0) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_round_trip();
	test_ack_many_ids();
	test_missing_dir();
	test_not_a_spool();
	test_order_and_limits();
	test_two_handles();
	test_lease_expiry();
	test_handed();
	test_release();
	test_retry();
	test_dead_letters();
	test_expire();
	test_requeue_purge();
	test_migrate_v1();
	test_checkpoint_roles();
	test_checkpoint_backstop();
	test_dedup_keys();
	test_dedup_event_keys();
	test_group();
	test_stats();
	test_state();
	test_locked();
	test_full_max_size();
	test_full_tmpfs();
	test_read_only_file();
	test_read_only_dir();
	test_processes_append();
	test_processes_claim();
	test_processes_open();
	test_threads_claim();
	tmpdir_remove(tmpdir);
	return done_testing();
}
