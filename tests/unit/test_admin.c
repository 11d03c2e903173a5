/*
 * The administration commands against a real spool: output (text and
 * --json), exit codes, usage errors, and flush delivering to the
 * stand-in Customer.io (tests/standin.py).
 */
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "admin.h"
#include "config.h"
#include "spool.h"
#include "standin.h"
#include "tap.h"

/* "Now" for the commands: real time, since flush expires by it. */
static int64_t NOW;
static struct config cfg;
static char dir[256];
static char out_text[8192], err_text[1024];

/* Run a command line (space-separated words); output in out_text and
 * err_text; returns the exit code. */
static int
run(const char *line, int64_t now)
{
	char copy[256], *argv[16], *save = NULL, *w;
	FILE *out = tmpfile(), *errs = tmpfile();
	int argc = 0, rc;
	size_t n;

	strlcopy(copy, line, sizeof(copy));
	for (w = strtok_r(copy, " ", &save); w != NULL && argc < 15;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	rc = admin_run(&cfg, argc, argv, out, errs, now);
	rewind(out);
	rewind(errs);
	n = fread(out_text, 1, sizeof(out_text) - 1, out);
	out_text[n] = '\0';
	n = fread(err_text, 1, sizeof(err_text) - 1, errs);
	err_text[n] = '\0';
	fclose(out);
	fclose(errs);
	return rc;
}

static int
has(const char *text, const char *needle)
{
	return strstr(text, needle) != NULL;
}

/* ok() that text contains needle; shows text as TAP comments if not. */
static void
like(const char *text, const char *needle, const char *name)
{
	const char *p = text, *nl;

	if (ok(has(text, needle), "%s", name))
		return;
	printf("#   wanted '%s' in:\n", needle);
	for (; *p != '\0'; p = *nl ? nl + 1 : nl) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		printf("#   %.*s\n", (int)(nl - p), p);
	}
}

/* One member of a JSON object from out_text, as an integer (-1 if not). */
static int64_t
json_int(const char *key)
{
	struct json_object *o = json_tokener_parse(out_text), *v;
	int64_t r = -1;

	if (o != NULL && json_object_object_get_ex(o, key, &v) && v != NULL)
		r = json_object_get_int64(v);
	json_object_put(o);
	return r;
}

/* Three events at NOW - 90 s; the first dead-lettered with a 400.
 * Returns the dead letter's id. */
static int64_t
fill_spool(char mids[3][UUID_STR_LEN])
{
	struct spool *sp = NULL;
	struct spool_batch b = {NULL, 0};
	int64_t id = -1;
	int i;

	spool_open(cfg.spool_path, &sp, NULL);
	for (i = 0; i < 3; i++) {
		struct spool_event ev = {mids[i], "{\"type\":\"identify\"}",
		                         19};

		uuid_v4(mids[i]);
		spool_append(sp, &ev, 1, NULL, NOW - 90000, NULL);
	}
	spool_claim(sp, "t", NOW - 90000, 1000, 1, 100000, &b);
	if (b.count == 1) {
		id = b.items[0].id;
		spool_dead_letter(sp, &id, 1, 400, "HTTP 400: \"userId\" bad",
		                  NOW - 60000);
	}
	spool_batch_free(&b);
	spool_close(sp);
	return id;
}

static void
test_status(void)
{
	is_int(run("status", NOW), ADMIN_EXIT_DEAD,
	       "status with dead letters exits 3");
	ok(has(out_text, "pending       2 (oldest 1m 30s)"),
	   "pending count and oldest age");
	ok(has(out_text, "dead          1"), "dead count");
	ok(has(out_text, cfg.spool_path), "names the spool");
	is_int(run("status --json", NOW), ADMIN_EXIT_DEAD, "status --json");
	is_int(json_int("pending"), 2, "json pending");
	is_int(json_int("inflight"), 0, "json inflight");
	is_int(json_int("dead"), 1, "json dead");
	is_int(json_int("oldest_pending_age_s"), 90, "json oldest age");
	ok(has(out_text, "\"paused\":false"), "json not paused");
}

static void
test_dead(const char mid[UUID_STR_LEN], int64_t id)
{
	struct json_object *o, *list, *d, *v;
	char idtext[32];

	snprintf(idtext, sizeof(idtext), "%" PRId64 " ", id);
	is_int(run("dead", NOW), ADMIN_EXIT_OK, "dead");
	ok(has(out_text, "MESSAGE ID") && has(out_text, mid) &&
	           has(out_text, idtext),
	   "lists the id and messageId");
	ok(has(out_text, "HTTP 400: \"userId\" bad") && has(out_text, "1m 30s"),
	   "with reason and age");
	is_int(run("dead --json", NOW), ADMIN_EXIT_OK, "dead --json");
	o = json_tokener_parse(out_text);
	ok(o != NULL && json_object_object_get_ex(o, "dead", &list) &&
	           json_object_array_length(list) == 1,
	   "one dead letter in JSON");
	d = o ? json_object_array_get_idx(list, 0) : NULL;
	ok(d != NULL && json_object_object_get_ex(d, "messageId", &v) &&
	           strcmp(json_object_get_string(v), mid) == 0,
	   "its messageId");
	ok(d != NULL && json_object_object_get_ex(d, "reason", &v) &&
	           strcmp(json_object_get_string(v),
	                  "HTTP 400: \"userId\" bad") == 0,
	   "its reason, JSON-escaped");
	ok(d != NULL && json_object_object_get_ex(d, "status", &v) &&
	           json_object_get_int(v) == 400,
	   "its status");
	json_object_put(o);
	is_int(run("dead --limit 0", NOW), ADMIN_EXIT_OK, "--limit 0: all");
	is_int(run("dead --limit x", NOW), ADMIN_EXIT_USAGE, "bad --limit");
}

static void
test_usage(void)
{
	is_int(run("frobnicate", NOW), ADMIN_EXIT_USAGE, "unknown command");
	like(err_text, "formrelay: frobnicate: unknown command",
	     "names the command");
	is_int(run("status --verbose", NOW), ADMIN_EXIT_USAGE,
	       "unknown option");
	is_int(run("status extra", NOW), ADMIN_EXIT_USAGE, "extra argument");
	is_int(run("requeue", NOW), ADMIN_EXIT_USAGE, "requeue needs an id");
	is_int(run("requeue abc", NOW), ADMIN_EXIT_USAGE, "not an id");
	is_int(run("purge -3", NOW), ADMIN_EXIT_USAGE, "negative id");
	ok(has(err_text, "usage:"), "usage printed");
}

static void
test_requeue_purge(int64_t id)
{
	char line[64];

	is_int(run("requeue 999999", NOW), ADMIN_EXIT_ERROR,
	       "requeue of an unknown id fails");
	like(err_text, "formrelay: requeue: no dead letter with id 999999",
	     "says which id");
	snprintf(line, sizeof(line), "requeue %" PRId64, id);
	is_int(run(line, NOW), ADMIN_EXIT_OK, "requeue by id");
	like(out_text, "requeued 1 dead letter\n", "says how many");
	is_int(run("status", NOW), ADMIN_EXIT_OK,
	       "status exits 0 without dead letters");
	ok(has(out_text, "pending       3"), "requeued event pending");
	is_int(run("purge all --json", NOW), ADMIN_EXIT_OK, "purge all");
	is_int(json_int("purged"), 0, "nothing to purge");
	is_int(run("requeue all", NOW), ADMIN_EXIT_OK, "requeue all");
	like(out_text, "requeued 0 dead letters", "zero is fine for all");
}

static void
test_cannot_open(void)
{
	char *saved = cfg.spool_path, missing[] = "/nonexistent/fr/spool.db";

	cfg.spool_path = missing;
	is_int(run("status", NOW), ADMIN_EXIT_ERROR, "missing spool: exit 1");
	like(err_text, "formrelay: status: cannot open spool: ",
	     "one line naming the command");
	like(err_text, "/nonexistent/fr", "and the directory");
	cfg.spool_path = saved;
}

/*
 * flush runs formrelay-deliver, which reads a configuration file: write
 * the settings the test changed into one and point cfg.path at it.
 */
static void
config_to_file(void)
{
	static char path[300];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/formrelay.conf", dir);
	if ((fp = fopen(path, "w")) == NULL)
		return;
	fprintf(fp, "[customerio]\napi_key_file = %s/key\ndry_run = %s\n", dir,
	        cfg.dry_run ? "yes" : "no");
	if (cfg.api_base != NULL &&
	    strcmp(cfg.api_base, "https://cdp.customer.io/v1") != 0)
		fprintf(fp, "api_base = %s\n", cfg.api_base);
	fprintf(fp, "[spool]\npath = %s\nretry_min = 1s\n", cfg.spool_path);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/key", dir);
	if ((fp = fopen(path, "w")) != NULL) {
		fprintf(fp, "%s\n", cfg.api_key);
		fclose(fp);
		chmod(path, 0600);
	}
	free(cfg.path);
	snprintf(path, sizeof(path), "%s/formrelay.conf", dir);
	cfg.path = xstrdup(path);
}

static void
test_flush_dry_run(void)
{
	cfg.dry_run = 1;
	config_to_file();
	is_int(run("flush", now_ms()), ADMIN_EXIT_OK, "flush (dry run)");
	like(out_text, "delivered 0,", "none delivered");
	like(out_text, "3 kept as previews, not sent", "all three previewed");
	run("status --json", NOW);
	is_int(json_int("pending"), 0, "the queue is empty");
	is_int(json_int("previewed"), 3, "status counts three previews");
	is_int(run("list", NOW), ADMIN_EXIT_OK, "list");
	like(out_text, "identify", "list names each call's type");
	cfg.dry_run = 0;
}

/* Three fresh events, due now, carrying their messageIds (the stand-in
 * refuses by messageId); the ids into mids. */
static void
add_three(char mids[3][UUID_STR_LEN])
{
	struct spool *sp = NULL;
	char body[3][128];
	int i;

	spool_open(cfg.spool_path, &sp, NULL);
	for (i = 0; i < 3; i++) {
		struct spool_event ev = {mids[i], body[i], 0};

		uuid_v4(mids[i]);
		ev.len = (size_t)snprintf(body[i], sizeof(body[i]),
		                          "{\"type\":\"identify\",\"userId\":"
		                          "\"u%d\",\"messageId\":\"%s\"}",
		                          i, mids[i]);
		spool_append(sp, &ev, 1, NULL, now_ms() - 1000, NULL);
	}
	spool_close(sp);
}

static void
test_flush_upstream(void)
{
	char mids[3][UUID_STR_LEN], script[256];
	struct standin sd;
	int rc = standin_start(&sd);

	if (rc != 0) {
		ok(rc == 77, "# SKIP stand-in Customer.io not available");
		return;
	}
	free(cfg.api_base);
	cfg.api_base = xstrdup(sd.base);
	config_to_file();
	add_three(mids);
	snprintf(script, sizeof(script), "{\"reject_message_ids\":[\"%s\"]}",
	         mids[1]);
	standin_script(&sd, script);
	is_int(run("flush --json", now_ms()), ADMIN_EXIT_DEAD,
	       "flush that dead-letters an event exits 3");
	is_int(json_int("delivered"), 2, "two delivered");
	is_int(json_int("dead"), 1, "one refused");
	run("dead --json", NOW);
	ok(has(out_text, mids[1]), "the refused one is the dead letter");
	run("purge all", NOW);

	add_three(mids);
	standin_script(&sd, "{\"responses\":[{\"status\":503}]}");
	is_int(run("flush", now_ms()), ADMIN_EXIT_INCOMPLETE,
	       "flush leaving events for a retry exits 4");
	like(out_text, "retry later 3", "all three put back");
	standin_stop(&sd);
}

/* Remove the spool and its -wal and -shm files, then the directory. */
static void
remove_spool(void)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	char path[320];
	size_t i;

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", cfg.spool_path, suffix[i]);
		unlink(path);
	}
	rmdir(dir);
}

int
main(void)
{
	char mids[3][UUID_STR_LEN];
	int64_t id;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	NOW = now_ms();
	snprintf(dir, sizeof(dir), "/tmp/test_admin.XXXXXX");
	if (mkdtemp(dir) == NULL || config_defaults(&cfg) != FR_OK) {
		printf("Bail out! setup failed\n");
		return 1;
	}
	free(cfg.spool_path);
	cfg.spool_path = malloc(300);
	snprintf(cfg.spool_path, 300, "%s/spool.db", dir);
	cfg.api_key = xstrdup("test-key");
	id = fill_spool(mids);
	test_status();
	test_dead(mids[0], id);
	test_usage();
	test_requeue_purge(id);
	test_cannot_open();
	test_flush_dry_run();
	test_flush_upstream();
	{
		char path[300];

		snprintf(path, sizeof(path), "%s/formrelay.conf", dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/key", dir);
		unlink(path);
	}
	remove_spool();
	config_free(&cfg);
	curl_global_cleanup();
	return done_testing();
}
