/*
 * Delivery against the stand-in Customer.io and a real spool: batches,
 * keep-alive, retries with back-off and Retry-After, bisection of a
 * refused batch, auth pause, max_age, transport errors, dry run, the
 * delivery thread, and a rough drain rate.  Time is driven by passing
 * `now` to deliver_round, so nothing waits for a back-off to pass.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "deliver.h"
#include "log.h"
#include "spool.h"
#include "standin.h"
#include "tap.h"
#include "upstream.h"
#include "util.h"

#define KEY "test-key-123"

static struct standin sd;
static char tmpdir[256];
static int spool_seq;

struct fixture {
	struct config cfg;
	char spool_path[300];
	struct spool *sp; /* the "receiver" handle that appends */
	struct deliverer *d;
	char ids[16][UUID_STR_LEN]; /* messageIds of the first events */
};

static void
fixture_config(struct fixture *f, const char *base)
{
	memset(&f->cfg, 0, sizeof(f->cfg));
	f->cfg.api_base = xstrdup(base);
	f->cfg.api_key = xstrdup(KEY);
	f->cfg.timeout_ms = 5000;
	f->cfg.spool_path = f->spool_path;
	f->cfg.max_age_ms = 72LL * 3600 * 1000;
	f->cfg.retry_min_ms = 1000;
	f->cfg.retry_max_ms = 15 * 60 * 1000;
	f->cfg.lease_ms = 60000;
}

/* A fresh spool file and deliverer; cfg tweaks applied by the caller
 * through setup(). */
static int
fixture_open(struct fixture *f)
{
	struct fr_error err;

	if (spool_open(f->spool_path, &f->sp, &err) != FR_OK) {
		printf("# spool_open: %s\n", err.message);
		return -1;
	}
	if (deliverer_new(&f->cfg, "test:1:0", &f->d, &err) != FR_OK) {
		printf("# deliverer_new: %s\n", err.message);
		return -1;
	}
	return 0;
}

static int
fixture_init(struct fixture *f, const char *base,
             void (*setup)(struct config *))
{
	memset(f, 0, sizeof(*f));
	snprintf(f->spool_path, sizeof(f->spool_path), "%s/spool-%d.db", tmpdir,
	         ++spool_seq);
	fixture_config(f, base ? base : sd.base);
	if (setup != NULL)
		setup(&f->cfg);
	standin_reset(&sd);
	return fixture_open(f);
}

static void
fixture_free(struct fixture *f)
{
	deliverer_free(f->d);
	spool_close(f->sp);
	free(f->cfg.api_base);
	free(f->cfg.api_key);
}

#define APPEND_CHUNK 100

/* Store n identify calls created at now (APPEND_CHUNK per transaction);
 * the first 16 ids kept. */
static int
append_events(struct fixture *f, size_t n, int64_t now)
{
	static char ids[APPEND_CHUNK][UUID_STR_LEN], bodies[APPEND_CHUNK][256];
	struct spool_event evs[APPEND_CHUNK];
	struct fr_error err;
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		uuid_v4(ids[k]);
		if (i < 16)
			strlcopy(f->ids[i], ids[k], UUID_STR_LEN);
		snprintf(bodies[k], sizeof(bodies[k]),
		         "{\"type\":\"identify\",\"messageId\":\"%s\","
		         "\"userId\":\"u%zu\",\"traits\":{\"email\":"
		         "\"jane%zu@example.com\"}}",
		         ids[k], i, i);
		evs[k].message_id = ids[k];
		evs[k].body = bodies[k];
		evs[k].len = strlen(bodies[k]);
		evs[k].dedup_key = NULL;
		if (++k < APPEND_CHUNK && i + 1 < n)
			continue;
		if (spool_append(f->sp, evs, k, NULL, now, &err) != FR_OK) {
			printf("# spool_append: %s\n", err.message);
			return -1;
		}
		k = 0;
	}
	return 0;
}

static size_t
count_of(const char *what)
{
	struct json_object *a = standin_get(&sd, what);
	size_t n = a ? json_object_array_length(a) : 0;

	json_object_put(a);
	return n;
}

/* Poll the stand-in until it has n messages, for at most 10 s; the
 * count it has then. */
static size_t
wait_for_messages(size_t n)
{
	size_t got = count_of("messages");
	int i;

	for (i = 0; i < 1000 && got < n; i++) {
		usleep(10000);
		got = count_of("messages");
	}
	return got;
}

/* How many times messageId id was accepted by the stand-in. */
static int
times_delivered(const char *id)
{
	struct json_object *a = standin_get(&sd, "messages"), *m, *v;
	size_t i, n = a ? json_object_array_length(a) : 0;
	int times = 0;

	for (i = 0; i < n; i++) {
		m = json_object_array_get_idx(a, i);
		if (json_object_object_get_ex(m, "messageId", &v) &&
		    strcmp(json_object_get_string(v), id) == 0)
			times++;
	}
	json_object_put(a);
	return times;
}

static int64_t
next_due(struct fixture *f)
{
	int64_t due = -1;

	spool_next_due(f->sp, &due);
	return due;
}

static struct spool_stats
stats_of(struct fixture *f, int64_t now)
{
	struct spool_stats st;

	memset(&st, 0, sizeof(st));
	spool_stats(f->sp, now, &st);
	return st;
}

static void
test_backoff(void)
{
	int64_t v, lo = INT64_MAX, hi = 0;
	int i, in_range = 1;

	is_int(deliver_backoff_ms(1, 1000, 900000), 1000, "attempt 1: min");
	for (i = 0; i < 200; i++) {
		v = deliver_backoff_ms(3, 1000, 900000);
		in_range &= v >= 1000 && v <= 4000;
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	ok(in_range, "attempt 3 within [1 s, 4 s]");
	ok(hi - lo > 1000, "jittered (%" PRId64 "..%" PRId64 ")", lo, hi);
	in_range = 1;
	for (i = 0; i < 200; i++) {
		v = deliver_backoff_ms(40, 1000, 900000);
		in_range &= v >= 1000 && v <= 900000;
	}
	ok(in_range, "attempt 40 capped at max");
}

static void
test_delivered(void)
{
	struct deliver_report rep = {0};
	struct fixture f;
	struct json_object *reqs, *req, *js, *batch;
	int64_t now = now_ms();
	int more = -1;

	if (fixture_init(&f, NULL, NULL) != 0 || append_events(&f, 3, now))
		goto out;
	is_int(deliver_round(f.d, now, &rep, &more), FR_OK, "round FR_OK");
	is_int(rep.delivered, 3, "3 delivered");
	is_int(rep.batches, 1, "in one batch");
	is_int(more, 0, "nothing more due");
	is_int(stats_of(&f, now).pending + stats_of(&f, now).inflight, 0,
	       "spool empty after the ack");
	reqs = standin_get(&sd, "requests");
	req = reqs ? json_object_array_get_idx(reqs, 0) : NULL;
	js = NULL;
	batch = NULL;
	if (req != NULL && json_object_object_get_ex(req, "json", &js))
		json_object_object_get_ex(js, "batch", &batch);
	ok(batch && json_object_is_type(batch, json_type_array) &&
	           json_object_array_length(batch) == 3,
	   "body is {\"batch\":[3 calls]}");
	json_object_put(reqs);
	ok(times_delivered(f.ids[0]) == 1 && times_delivered(f.ids[2]) == 1,
	   "each messageId received once");
out:
	fixture_free(&f);
}

static void
test_keepalive(void)
{
	struct deliver_report rep = {0};
	struct fixture f;
	struct json_object *reqs;
	int64_t now = now_ms(), a = 0, b = -1;
	int more;

	if (fixture_init(&f, NULL, NULL) != 0)
		goto out;
	append_events(&f, 1, now);
	deliver_round(f.d, now, &rep, &more);
	append_events(&f, 1, now + 1);
	deliver_round(f.d, now + 1, &rep, &more);
	reqs = standin_get(&sd, "requests");
	if (reqs && json_object_array_length(reqs) == 2) {
		struct json_object *v;
		json_object_object_get_ex(json_object_array_get_idx(reqs, 0),
		                          "connection_id", &v);
		a = json_object_get_int64(v);
		json_object_object_get_ex(json_object_array_get_idx(reqs, 1),
		                          "connection_id", &v);
		b = json_object_get_int64(v);
	}
	json_object_put(reqs);
	ok(a == b, "two batches over one connection (%" PRId64 ", %" PRId64 ")",
	   a, b);
out:
	fixture_free(&f);
}

/* 503 three times, then 200: same messageIds each time, delivered once,
 * each retry due only after its back-off. */
static void
test_retry_then_ok(void)
{
	struct deliver_report rep = {0};
	struct fixture f;
	int64_t now = now_ms(), due;
	int more, i, waited = 1;

	if (fixture_init(&f, NULL, NULL) != 0)
		goto out;
	standin_script(&sd, "{\"responses\":[{\"status\":503,\"count\":3}]}");
	append_events(&f, 2, now);
	for (i = 0; i < 3; i++) {
		deliver_round(f.d, now, &rep, &more);
		due = next_due(&f);
		waited &= due >= now + 1000;
		/* Just before it is due: nothing happens. */
		deliver_round(f.d, due - 1, &rep, &more);
		now = due;
	}
	ok(waited, "each retry due after at least retry_min");
	is_int(rep.retried, 6, "2 events retried 3 times");
	is_int(rep.batches, 3, "no post before the due time");
	deliver_round(f.d, now, &rep, &more);
	is_int(rep.delivered, 2, "delivered on the 4th attempt");
	is_int(count_of("requests"), 4, "4 requests in all");
	is_int(times_delivered(f.ids[0]), 1, "first delivered exactly once");
	is_int(times_delivered(f.ids[1]), 1, "second delivered exactly once");
out:
	fixture_free(&f);
}

static void
test_retry_after(void)
{
	struct deliver_report rep = {0};
	struct fixture f;
	int64_t now = now_ms();
	int more;

	if (fixture_init(&f, NULL, NULL) != 0)
		goto out;
	standin_script(&sd, "{\"responses\":[{\"status\":429,"
	                    "\"headers\":{\"Retry-After\":\"7\"}}]}");
	append_events(&f, 1, now);
	deliver_round(f.d, now, &rep, &more);
	is_int(rep.retried, 1, "429 retried");
	ok(next_due(&f) >= now + 7000,
	   "Retry-After: 7 honoured (due +%" PRId64 " ms)", next_due(&f) - now);
	deliver_round(f.d, next_due(&f), &rep, &more);
	is_int(rep.delivered, 1, "delivered when due");
out:
	fixture_free(&f);
}

static void
test_poison_bisected(void)
{
	struct deliver_report rep = {0};
	struct fixture f;
	struct spool_dead *dead = NULL;
	size_t ndead = 0, i;
	char script[256];
	int64_t now = now_ms();
	int more, others = 1;

	if (fixture_init(&f, NULL, NULL) != 0 || append_events(&f, 10, now))
		goto out;
	snprintf(script, sizeof(script), "{\"reject_message_ids\":[\"%s\"]}",
	         f.ids[6]);
	standin_script(&sd, script);
	deliver_round(f.d, now, &rep, &more);
	is_int(rep.delivered, 9, "9 good events delivered");
	is_int(rep.dead, 1, "the refused event dead-lettered");
	ok(rep.batches <= 9, "found in %zu posts", rep.batches);
	spool_list_dead(f.sp, 10, &dead, &ndead);
	is_int(ndead, 1, "one dead letter");
	if (ndead == 1) {
		is_str(dead[0].message_id, f.ids[6], "it is the poison event");
		is_int(dead[0].http_status, 400, "with status 400");
		ok(strncmp(dead[0].reason, "HTTP 400", 8) == 0,
		   "and the reason: %s", dead[0].reason);
	}
	free(dead);
	for (i = 0; i < 10; i++)
		if (i != 6)
			others &= times_delivered(f.ids[i]) == 1;
	ok(others, "every other event delivered exactly once");
	is_int(times_delivered(f.ids[6]), 0, "poison never accepted");
out:
	fixture_free(&f);
}

/* A 413 for a batch over the service's size limit: split, all arrive. */
static void
test_too_large_split(void)
{
	struct deliver_report rep = {0};
	struct fixture f;
	int64_t now = now_ms();
	int more;

	if (fixture_init(&f, NULL, NULL) != 0 || append_events(&f, 4, now))
		goto out;
	standin_script(&sd, "{\"max_body_bytes\":500}");
	deliver_round(f.d, now, &rep, &more);
	is_int(rep.delivered, 4, "413: halves delivered");
	is_int(rep.dead, 0, "nothing dead");
	ok(rep.batches >= 3, "after splitting (%zu posts)", rep.batches);
out:
	fixture_free(&f);
}

static void
test_auth_pause(void)
{
	struct deliver_report rep = {0}, rep2 = {0};
	struct fixture f;
	struct spool_batch b = {NULL, 0, 0, 0};
	char buf[256];
	int64_t now = now_ms();
	int more;

	if (fixture_init(&f, NULL, NULL) != 0 || append_events(&f, 2, now))
		goto out;
	standin_script(&sd, "{\"default\":{\"status\":401,"
	                    "\"body\":\"key " KEY " unknown\"}}");
	deliver_round(f.d, now, &rep, &more);
	ok(rep.paused, "401 pauses delivery");
	is_int(rep.dead, 0, "nothing dead-lettered");
	is_int(stats_of(&f, now).pending, 2, "events pending again");
	spool_state_get(f.sp, "paused_until", buf, sizeof(buf));
	ok(strtoll(buf, NULL, 10) >= now + 60000, "paused for a minute");
	spool_state_get(f.sp, "pause_reason", buf, sizeof(buf));
	ok(strstr(buf, "401") && !strstr(buf, KEY), "pause_reason: %s", buf);
	spool_state_get(f.sp, "pause_key", buf, sizeof(buf));
	ok(strlen(buf) == 64 && !strstr(buf, KEY),
	   "the key's fingerprint is kept, not the key: %s", buf);
	is_int(deliver_resume(f.d), FR_OK, "a restart with the same key ...");
	spool_state_get(f.sp, "paused_until", buf, sizeof(buf));
	ok(strtoll(buf, NULL, 10) >= now + 60000, "... keeps the pause");
	spool_claim(f.sp, "peek", now, 1000, 10, 100000, &b);
	ok(b.count == 2 && b.items[0].attempts == 0,
	   "attempts not counted for an auth failure");
	spool_batch_free(&b);
	spool_release(f.sp, "peek");
	deliver_round(f.d, now + 30000, &rep2, &more);
	ok(rep2.paused && rep2.batches == 0, "still paused 30 s later");
	is_int(count_of("requests"), 1, "no request while paused");
	standin_script(&sd, "{}");
	memset(&rep2, 0, sizeof(rep2));
	deliver_round(f.d, now + 61000, &rep2, &more);
	ok(!rep2.paused && rep2.delivered == 2, "tries again after the pause");
out:
	fixture_free(&f);
}

static void
short_max_age(struct config *cfg)
{
	cfg->max_age_ms = 1000;
}

static void
test_max_age(void)
{
	struct deliver_report rep = {0};
	struct fixture f;
	struct spool_dead *dead = NULL;
	size_t ndead = 0;
	int64_t now = now_ms();
	int more;

	if (fixture_init(&f, NULL, short_max_age) != 0)
		goto out;
	standin_script(&sd, "{\"default\":{\"status\":503}}");
	append_events(&f, 1, now);
	deliver_round(f.d, now, &rep, &more);
	is_int(rep.retried, 1, "retried while young");
	deliver_round(f.d, now + 5000, &rep, &more);
	is_int(rep.dead, 1, "dead after max_age");
	spool_list_dead(f.sp, 10, &dead, &ndead);
	ok(ndead == 1 && dead[0].http_status == 0,
	   "dead letter without an HTTP status");
	free(dead);
out:
	fixture_free(&f);
}

static void
test_transport_error(void)
{
	struct deliver_report rep = {0};
	struct fixture f;
	char base[64], buf[256];
	int64_t now = now_ms();
	int more;

	snprintf(base, sizeof(base), "http://127.0.0.1:%d/v1",
	         standin_dead_port());
	if (fixture_init(&f, base, NULL) != 0 || append_events(&f, 1, now))
		goto out;
	deliver_round(f.d, now, &rep, &more);
	is_int(rep.retried, 1, "connection refused: retried");
	is_int(rep.dead, 0, "not dead");
	ok(next_due(&f) >= now + 1000, "due after back-off");
	spool_state_get(f.sp, "last_error", buf, sizeof(buf));
	ok(buf[0] && !strstr(buf, KEY), "last_error: %s", buf);
out:
	fixture_free(&f);
}

static void
dry_run_on(struct config *cfg)
{
	cfg->dry_run = 1;
}

/* Run a dry round with stderr captured into buf. */
static void
dry_round(struct fixture *f, int64_t now, struct deliver_report *rep, char *buf,
          size_t size)
{
	char path[300];
	int fd, saved, more;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stderr.txt", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	deliver_round(f->d, now, rep, &more);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, buf, size - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
}

static void
test_dry_run(void)
{
	struct deliver_report rep = {0};
	struct fixture f;
	char log[8192];
	int64_t now = now_ms();

	if (fixture_init(&f, NULL, dry_run_on) != 0 ||
	    append_events(&f, 2, now))
		goto out;
	struct spool_preview *p = NULL;
	size_t np = 0;
	int64_t expired = 0;

	dry_round(&f, now, &rep, log, sizeof(log));
	is_int(rep.delivered, 0, "dry run delivers nothing");
	is_int(rep.previewed, 2, "it keeps both as previews");
	is_int(rep.batches, 0, "and posts nothing");
	is_int(count_of("requests"), 0, "the stand-in saw nothing");
	ok(strstr(log, "dry run") && strstr(log, f.ids[1]),
	   "one line per event, with its messageId");
	ok(strstr(log, "j***@example.com") && !strstr(log, "jane1@example"),
	   "emails masked in the logged payload");
	is_int(stats_of(&f, now).pending, 0, "the queue is empty");
	is_int(stats_of(&f, now).previewed, 2, "two previews kept");
	if (spool_list_previews(f.sp, 10, &p, &np) == FR_OK && np == 2) {
		ok(strcmp(p[0].message_id, f.ids[1]) == 0 ||
		           strcmp(p[1].message_id, f.ids[1]) == 0,
		   "the previews carry the events' messageIds");
		ok(strstr(p[0].body, "\"type\":\"identify\"") != NULL &&
		           strcmp(p[0].state, "previewed") == 0,
		   "with the calls' JSON as stored");
	} else
		ok(0, "two previews listed (%zu)", np);
	spool_previews_free(p, np);
	spool_expire(f.sp, now + SPOOL_PREVIEW_TTL_MS - 1000, 0, &expired);
	is_int(stats_of(&f, now).previewed, 2, "kept just under a day");
	spool_expire(f.sp, now + SPOOL_PREVIEW_TTL_MS + 1000, 0, &expired);
	is_int(stats_of(&f, now).previewed, 0, "forgotten after a day");
out:
	fixture_free(&f);
}

static void
test_thread(void)
{
	struct deliver_thread *t = NULL;
	struct fr_error err;
	struct fixture f;

	if (fixture_init(&f, NULL, NULL) != 0)
		goto out;
	/* A pause for another key than this one: a start clears it. */
	spool_state_set(f.sp, "paused_until", "99999999999999");
	spool_state_set(f.sp, "pause_key", "the fingerprint of another key");
	if (!ok(deliver_thread_start(&f.cfg, -1, NULL, &t, &err) == FR_OK,
	        "thread started"))
		goto out;
	append_events(&f, 5, now_ms());
	deliver_thread_wake(t);
	is_int(wait_for_messages(5), 5, "thread delivered 5 events");
	append_events(&f, 1, now_ms()); /* no wake: found by polling */
	is_int(wait_for_messages(6), 6, "thread polls for other writers");
	deliver_thread_stop(t);
	is_int(stats_of(&f, now_ms()).inflight, 0, "no claim left after stop");
out:
	fixture_free(&f);
}

/* A thread given the token the writer hands its appends to delivers
 * them at once, though they are not due for the lease's 60 s. */
static void
test_thread_handed(void)
{
	struct deliver_thread *t = NULL;
	struct fr_error err;
	struct fixture f;

	if (fixture_init(&f, NULL, NULL) != 0)
		goto out;
	is_int(deliver_thread_start(&f.cfg, -1, "", &t, &err), FR_ECONFIG,
	       "an empty token is refused");
	/* Handed before the thread exists: a running thread polls and
	 * could take them before the count below. */
	spool_hand_appends(f.sp, "handed-1", f.cfg.lease_ms);
	append_events(&f, 5, now_ms());
	is_int(stats_of(&f, now_ms()).pending, 5, "5 handed, pending");
	if (!ok(deliver_thread_start(&f.cfg, -1, "handed-1", &t, &err) == FR_OK,
	        "thread started with a token"))
		goto out;
	deliver_thread_wake(t);
	is_int(wait_for_messages(5), 5, "taken and delivered before the lease");
	deliver_thread_stop(t);
	ok(stats_of(&f, now_ms()).pending == 0 &&
	           stats_of(&f, now_ms()).inflight == 0,
	   "and acked");
out:
	fixture_free(&f);
}

/* Poll until nothing is left to read in fd, for at most 10 s. */
static int
pipe_drained(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};
	int i;

	for (i = 0; i < 1000 && poll(&p, 1, 0) != 0; i++)
		usleep(10000);
	return poll(&p, 1, 0) == 0;
}

/* The wake pipe of formrelay-deliver: a byte wakes the thread; the
 * pipe's end leaves it polling, and stopping still works. */
static void
test_thread_pipe(void)
{
	struct deliver_thread *t = NULL;
	struct fr_error err;
	struct fixture f;
	int fds[2] = {-1, -1};

	if (fixture_init(&f, NULL, NULL) != 0 || pipe(fds) != 0)
		goto out;
	if (!ok(deliver_thread_start(&f.cfg, fds[0], NULL, &t, &err) == FR_OK,
	        "thread started on a wake pipe"))
		goto out;
	append_events(&f, 3, now_ms());
	is_int(write(fds[1], "", 1), 1, "one wake byte");
	is_int(wait_for_messages(3), 3, "the thread delivered");
	/* The round that delivered may have begun before the byte came:
	 * the byte is then read at the thread's next idle sleep. */
	ok(pipe_drained(fds[0]), "and read the wake byte");
	close(fds[1]);
	fds[1] = -1;
	append_events(&f, 1, now_ms());
	is_int(wait_for_messages(4), 4, "after the pipe's end it still polls");
	deliver_thread_stop(t);
	is_int(stats_of(&f, now_ms()).inflight, 0, "no claim left after stop");
out:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	fixture_free(&f);
}

static void
test_drain_rate(size_t n)
{
	struct deliver_report rep = {0};
	struct fixture f;
	int64_t t0, t1, t2;

	if (fixture_init(&f, NULL, NULL) != 0)
		goto out;
	t0 = mono_ms();
	append_events(&f, n, now_ms());
	t1 = mono_ms();
	is_int(deliver_flush(f.d, &rep), FR_OK, "flush FR_OK");
	t2 = mono_ms();
	is_int(rep.delivered, n, "flush delivered all %zu", n);
	is_int(count_of("messages"), n, "stand-in received all");
	printf("# spooled %zu events in %" PRId64 " ms; drained in %" PRId64
	       " ms (%.0f events/s, %zu batches)\n",
	       n, t1 - t0, t2 - t1,
	       (double)n * 1000.0 / (double)(t2 - t1 > 0 ? t2 - t1 : 1),
	       rep.batches);
out:
	fixture_free(&f);
}

int
main(void)
{
	const char *bench = getenv("FORMRELAY_BENCH_EVENTS");
	int rc;

	log_setup(LOG_WARN, 0);
	test_backoff();
	rc = standin_start(&sd);
	if (rc == 77) {
		printf("1..0 # SKIP python3 or tests/standin.py not found\n");
		return 77;
	}
	if (!ok(rc == 0, "stand-in started") ||
	    !ok(test_tmpdir(tmpdir, sizeof(tmpdir)) == 0, "temp dir")) {
		standin_stop(&sd);
		return done_testing();
	}
	test_delivered();
	test_keepalive();
	test_retry_then_ok();
	test_retry_after();
	test_poison_bisected();
	test_too_large_split();
	test_auth_pause();
	test_max_age();
	test_transport_error();
	log_setup(LOG_INFO, 0);
	test_dry_run();
	log_setup(LOG_WARN, 0);
	test_thread();
	test_thread_handed();
	test_thread_pipe();
	test_drain_rate(bench ? (size_t)strtoul(bench, NULL, 10) : 2000);
	standin_stop(&sd);
	test_rmdir(tmpdir);
	upstream_global_cleanup();
	return done_testing();
}
