/*
 * The spool's [antispam] parts: double-submit keys that count only
 * within their window, and events held for a CAPTCHA verdict (never
 * claimed before it; released, dropped, or asked again).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool.h"
#include "tap.h"
#include "tmpdir.h"
#include "util.h"

static char tmpdir[256];

static const char *
tmp_path(const char *name)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s/%s", tmpdir, name);
	return buf;
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

/* Store two events under key (window_ms) with hold; a->result. */
static int
store(struct spool *sp, const char *key, int64_t window_ms,
      const struct spool_hold *hold, int64_t now, char *mid,
      struct spool_append *a)
{
	static char m2[UUID_STR_LEN];
	static struct spool_event ev[2];
	struct spool_append *items[1] = {a};

	uuid_v4(mid);
	uuid_v4(m2);
	ev[0] = (struct spool_event){mid, "{\"n\":1}", 7, NULL};
	ev[1] = (struct spool_event){m2, "{\"n\":2}", 7, NULL};
	memset(a, 0, sizeof(*a));
	a->evs = ev;
	a->n = 2;
	a->dedup_key = key;
	a->dedup_window_ms = window_ms;
	a->hold = hold;
	return spool_append_group(sp, items, 1, now, NULL);
}

static size_t
claimable(struct spool *sp, int64_t now)
{
	struct spool_batch b = {NULL, 0, 0};
	size_t n;

	if (spool_claim(sp, "t", now, 1000, 100, 1 << 20, &b) != FR_OK)
		return (size_t)-1;
	n = b.count;
	if (n > 0) {
		int64_t *ids = calloc(n, sizeof(*ids));
		size_t i;

		for (i = 0; ids != NULL && i < n; i++)
			ids[i] = b.items[i].id;
		spool_ack(sp, ids, n);
		free(ids);
	}
	spool_batch_free(&b);
	return n;
}

static void
test_window(void)
{
	struct spool *sp = open_ok(tmp_path("window.db"));
	char first[UUID_STR_LEN], m[UUID_STR_LEN];
	struct spool_append a;

	store(sp, "submit:abc", 5000, NULL, 10000, first, &a);
	is_int(a.result, FR_OK, "first submission stored");
	store(sp, "submit:abc", 5000, NULL, 14999, m, &a);
	is_int(a.result, FR_EDUPLICATE,
	       "the same key within the window: "
	       "a duplicate");
	is_str(a.original, first, "named by the first's messageId");
	store(sp, "submit:abc", 5000, NULL, 15001, m, &a);
	is_int(a.result, FR_OK, "5 s after the first: stored again");
	store(sp, "submit:abc", 5000, NULL, 16000, first, &a);
	is_int(a.result, FR_EDUPLICATE, "and that one opens a new window");
	is_str(a.original, m, "named by the newer messageId");
	store(sp, "submit:abc", 0, NULL, 17000, first, &a);
	is_int(a.result, FR_EDUPLICATE,
	       "without a window the key is kept "
	       "as long as any dedup key");
	spool_close(sp);
}

static void
test_hold(void)
{
	const char *path = tmp_path("hold.db");
	struct spool *sp = open_ok(path);
	struct spool_hold h1 = {"tok-1", "203.0.113.7"}, h2 = {"tok-2", ""};
	struct spool_verify_item *it = NULL;
	struct spool_append a;
	char m[UUID_STR_LEN];
	int64_t due = 0;
	size_t n = 0;

	store(sp, NULL, 0, &h1, 1000, m, &a);
	is_int(a.result, FR_OK, "held submission stored");
	store(sp, NULL, 0, &h2, 1000, m, &a);
	store(sp, NULL, 0, NULL, 1000, m, &a);
	is_int(claimable(sp, 1000), 2,
	       "only the unheld submission's two "
	       "events can be claimed");
	is_int(claimable(sp, INT64_MAX - 1), 0, "held events are never due");
	spool_next_due(sp, &due);
	is_int(due, 1000, "the tokens are due for verification at once");
	is_int(spool_verify_take(sp, 1000, 60000, 10, &it, &n), FR_OK, "take");
	is_int(n, 2, "two tokens to verify");
	ok(n == 2 && strcmp(it[0].token, "tok-1") == 0 &&
	           strcmp(it[0].ip, "203.0.113.7") == 0 && it[0].events == 2 &&
	           it[0].tries == 0,
	   "with the token, the visitor's address and the events");
	spool_next_due(sp, &due);
	is_int(due, 61000, "taken tokens are leased");
	spool_verify_free(it, n);
	is_int(spool_verify_take(sp, 2000, 60000, 10, &it, &n), FR_OK, "take");
	is_int(n, 0, "a leased token is not taken twice");
	spool_verify_free(it, n);
	spool_verify_take(sp, 61001, 60000, 10, &it, &n);
	is_int(n, 2, "after the lease, taken again");
	is_int(spool_verify_settle(sp, &it[0], SPOOL_VERDICT_PASS, 62000, 0),
	       FR_OK, "pass");
	is_int(spool_verify_settle(sp, &it[1], SPOOL_VERDICT_RETRY, 62000,
	                           70000),
	       FR_OK, "retry");
	spool_verify_free(it, n);
	is_int(claimable(sp, 62000), 2,
	       "a passed submission's two events "
	       "become due");
	spool_verify_take(sp, 69999, 60000, 10, &it, &n);
	is_int(n, 0, "a retried token waits for its time");
	spool_verify_free(it, n);
	spool_verify_take(sp, 70000, 60000, 10, &it, &n);
	ok(n == 1 && it[0].tries == 1 && it[0].sent == 0,
	   "then comes back, one try counted, never sent");
	if (n == 1) {
		is_int(spool_verify_settle(sp, &it[0], SPOOL_VERDICT_SENT,
		                           70000, 0),
		       FR_OK, "sent recorded");
		it[0].sent = 0; /* the ask never connected */
		spool_verify_settle(sp, &it[0], SPOOL_VERDICT_RETRY, 70000,
		                    70000);
	}
	spool_verify_free(it, n);
	spool_verify_take(sp, 70000, 60000, 10, &it, &n);
	ok(n == 1 && it[0].sent == 0 && it[0].tries == 2,
	   "a retry after an ask that never left keeps sent unset");
	if (n == 1)
		spool_verify_settle(sp, &it[0], SPOOL_VERDICT_SENT, 70000, 0);
	spool_verify_free(it, n);
	spool_verify_take(sp, 70000 + 60000, 60000, 10, &it, &n);
	ok(n == 1 && it[0].sent == 1,
	   "a token sent by a deliverer that died is taken again marked "
	   "sent");
	if (n == 1)
		is_int(spool_verify_settle(sp, &it[0], SPOOL_VERDICT_DROP,
		                           71000, 0),
		       FR_OK, "drop");
	spool_verify_free(it, n);
	{
		struct spool_stats st;

		spool_stats(sp, 71000, &st);
		is_int(st.pending + st.inflight + st.dead, 0,
		       "a dropped submission's events are gone");
	}
	spool_next_due(sp, &due);
	is_int(due, INT64_MAX, "nothing left to verify or deliver");
	spool_verify_free(NULL, 0);
	spool_close(sp);
}

int
main(void)
{
	if (tmpdir_make(tmpdir, sizeof(tmpdir), "test_spool_verify") != 0)
		return 99;
	test_window();
	test_hold();
	tmpdir_remove(tmpdir);
	return done_testing();
}
