/*
 * Spool administration commands (see include/admin.h and docs/admin.md).
 * Text for people by default, one JSON line with --json for scripts;
 * exit codes a monitoring check can use.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "admin.h"
#include "deliver_child.h"
#include "metrics.h"
#include "spam.h"
#include "payload.h"
#include "preflight.h"
#include "spool.h"
#include "spool_pg.h"
#include "util.h"

struct admin {
	const struct config *cfg;
	const char *cmd;
	FILE *out;
	FILE *errs;
	int64_t now;
	int json;
	size_t limit;    /* dead: at most this many (0: all) */
	const char *arg; /* requeue, purge: ID or "all" */
	struct spool *sp;
};

static const char *const commands[] = {"status", "dead",    "requeue", "purge",
                                       "flush",  "migrate", "list",    "show"};

int
admin_is_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(name, commands[i]) == 0)
			return 1;
	return 0;
}

/* "formrelay: <command>: <why>" on stderr; returns ADMIN_EXIT_ERROR. */
static int __attribute__((format(printf, 2, 3)))
fail(struct admin *a, const char *fmt, ...)
{
	va_list ap;

	fprintf(a->errs, "formrelay: %s: ", a->cmd);
	va_start(ap, fmt);
	vfprintf(a->errs, fmt, ap);
	va_end(ap);
	fputc('\n', a->errs);
	return ADMIN_EXIT_ERROR;
}

static int __attribute__((format(printf, 2, 3)))
usage(struct admin *a, const char *fmt, ...)
{
	va_list ap;

	fprintf(a->errs, "formrelay: %s: ", a->cmd);
	va_start(ap, fmt);
	vfprintf(a->errs, fmt, ap);
	va_end(ap);
	fprintf(a->errs,
	        "\nusage: formrelay [-c FILE] status|dead|flush [--json]\n"
	        "       formrelay [-c FILE] dead|list [--limit N] [--json]\n"
	        "       formrelay [-c FILE] requeue|purge ID|all [--json]\n"
	        "       formrelay [-c FILE] migrate [--json]\n"
	        "       formrelay [-c FILE] show ID|MESSAGE-ID\n");
	return ADMIN_EXIT_USAGE;
}

/* ---- formatting ------------------------------------------------------- */

/* A duration for people: "42s", "3m 12s", "5h 2m", "3d 4h". */
static void
format_age(int64_t ms, char *buf, size_t size)
{
	int64_t s = ms > 0 ? ms / 1000 : 0;

	if (s < 60)
		snprintf(buf, size, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(buf, size, "%" PRId64 "m %" PRId64 "s", s / 60,
		         s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%" PRId64 "h %" PRId64 "m", s / 3600,
		         s % 3600 / 60);
	else
		snprintf(buf, size, "%" PRId64 "d %" PRId64 "h", s / 86400,
		         s % 86400 / 3600);
}

/* Print obj as one JSON line and release it. */
static void
emit_json(struct admin *a, struct json_object *obj)
{
	fprintf(a->out, "%s\n",
	        json_object_to_json_string_ext(
	                obj, JSON_C_TO_STRING_PLAIN |
	                             JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
}

static void
json_add_int(struct json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

static void
json_add_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v));
}

/* An RFC 3339 time, or null when ms is 0 (never). */
static void
json_add_time(struct json_object *o, const char *key, int64_t ms)
{
	char buf[40];

	if (ms > 0 && rfc3339_ms(ms, buf, sizeof(buf)) == 0)
		json_add_str(o, key, buf);
	else
		json_object_object_add(o, key, NULL);
}

/* ---- arguments ---------------------------------------------------------- */

static int
parse_limit(struct admin *a, const char *s)
{
	char *end;
	long long n;

	errno = 0;
	n = s ? strtoll(s, &end, 10) : -1;
	if (s == NULL || errno != 0 || *end != '\0' || end == s || n < 0)
		return usage(a, "--limit needs a number, got '%s'", s ? s : "");
	a->limit = (size_t)n;
	return ADMIN_EXIT_OK;
}

/* Options anywhere after the command; at most one operand. */
static int
parse_args(struct admin *a, int argc, char **argv)
{
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			a->json = 1;
		else if (strcmp(argv[i], "--limit") == 0 &&
		         (strcmp(a->cmd, "dead") == 0 ||
		          strcmp(a->cmd, "list") == 0)) {
			rc = parse_limit(a, i + 1 < argc ? argv[++i] : NULL);
			if (rc != ADMIN_EXIT_OK)
				return rc;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return usage(a, "unknown option %s", argv[i]);
		else if (a->arg == NULL)
			a->arg = argv[i];
		else
			return usage(a, "unexpected argument %s", argv[i]);
	}
	return ADMIN_EXIT_OK;
}

/* "all" gives -1, a positive number itself; else -2. */
static int64_t
parse_id(const char *s)
{
	char *end;
	long long id;

	if (strcmp(s, "all") == 0)
		return -1;
	errno = 0;
	id = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || id <= 0)
		return -2;
	return id;
}

static int
open_spool(struct admin *a)
{
	struct fr_error err;

	fr_error_clear(&err);
	if (a->sp == NULL && spool_open_config(a->cfg, &a->sp, &err) != FR_OK)
		return fail(a, "cannot open spool: %s", err.message);
	return ADMIN_EXIT_OK;
}

/* The spool for people: its file, or its database without the password. */
static const char *
spool_where_cfg(const struct admin *a, char *buf, size_t size)
{
	struct spool_target t;

	spool_target_of(a->cfg, &t);
	return spool_where(&t, buf, size);
}

/* A shared state value as a number (0 when unset or unreadable). */
static int64_t
state_int(struct spool *sp, const char *key)
{
	char buf[32];

	if (spool_state_get(sp, key, buf, sizeof(buf)) != FR_OK)
		return 0;
	return strtoll(buf, NULL, 10);
}

/* ---- status ----------------------------------------------------------------
 */

/* What the delivery side last recorded in the shared state. */
struct delivery_state {
	int64_t paused_until;
	int64_t no_key_since; /* a deliverer had no key (dry_run = no) */
	int64_t last_error_ms;
	int64_t last_success_ms;
	char pause_reason[256];
	char last_error[256];
};

static void
read_delivery_state(struct spool *sp, struct delivery_state *ds)
{
	memset(ds, 0, sizeof(*ds));
	ds->paused_until = state_int(sp, "paused_until");
	ds->no_key_since = state_int(sp, PREFLIGHT_STATE_NO_KEY);
	ds->last_error_ms = state_int(sp, "last_error_ms");
	ds->last_success_ms = state_int(sp, "last_success_ms");
	spool_state_get(sp, "pause_reason", ds->pause_reason,
	                sizeof(ds->pause_reason));
	spool_state_get(sp, "last_error", ds->last_error,
	                sizeof(ds->last_error));
}

/* Spam refused or not forwarded, by reason (the /metrics counters,
 * shared by every process through the file beside the spool). */
static void
status_spam_json(struct json_object *o)
{
	struct json_object *spam = json_object_new_object();
	int r;

	for (r = 0; r < SPAM_REASONS; r++)
		json_add_int(spam, spam_reason_name((enum spam_reason)r),
		             (int64_t)metrics_spam_count(r));
	json_object_object_add(o, "spam", spam);
}

static void
status_spam_text(struct admin *a)
{
	uint64_t total = 0, n;
	int r, shown = 0;

	for (r = 0; r < SPAM_REASONS; r++)
		total += metrics_spam_count(r);
	fprintf(a->out, "%-13s %" PRIu64, "spam", total);
	for (r = 0; r < SPAM_REASONS; r++) {
		if ((n = metrics_spam_count(r)) == 0)
			continue;
		fprintf(a->out, "%s%s %" PRIu64, shown++ ? ", " : " (",
		        spam_reason_name((enum spam_reason)r), n);
	}
	fprintf(a->out, "%s\n", shown ? ")" : "");
}

/* Why delivery is paused, or NULL when it is not. */
static const char *
pause_cause(const struct admin *a, const struct delivery_state *ds)
{
	if (ds->no_key_since > 0)
		return "no_api_key";
	if (ds->paused_until > a->now)
		return "key_refused";
	return NULL;
}

static void
status_json(struct admin *a, const struct spool_stats *st,
            const struct delivery_state *ds)
{
	struct json_object *o = json_object_new_object();
	char where[1024];
	const char *cause = pause_cause(a, ds);

	json_add_str(o, "spool", spool_where_cfg(a, where, sizeof(where)));
	json_add_int(o, "pending", st->pending);
	json_add_int(o, "inflight", st->inflight);
	json_add_int(o, "dead", st->dead);
	json_add_int(o, "previewed", st->previewed);
	if (st->pending > 0)
		json_add_int(o, "oldest_pending_age_s",
		             (a->now - st->oldest_pending_ms) / 1000);
	else
		json_object_object_add(o, "oldest_pending_age_s", NULL);
	json_add_time(o, "oldest_pending", st->oldest_pending_ms);
	json_object_object_add(o, "dry_run",
	                       json_object_new_boolean(a->cfg->dry_run));
	json_object_object_add(o, "paused",
	                       json_object_new_boolean(cause != NULL));
	if (cause != NULL) {
		json_add_str(o, "pause_cause", cause);
		json_add_str(o, "pause_reason",
		             ds->no_key_since > 0 ? PREFLIGHT_NO_KEY_REASON
		                                  : ds->pause_reason);
	}
	if (cause != NULL && ds->no_key_since == 0)
		json_add_time(o, "paused_until", ds->paused_until);
	json_add_time(o, "last_success", ds->last_success_ms);
	json_add_time(o, "last_error_at", ds->last_error_ms);
	if (ds->last_error[0] != '\0')
		json_add_str(o, "last_error", ds->last_error);
	status_spam_json(o);
	emit_json(a, o);
}

/* "  (10s ago)" style suffix for a past time. */
static void
print_when(struct admin *a, const char *label, int64_t ms, const char *what)
{
	char age[32];

	if (ms <= 0)
		return;
	format_age(a->now - ms, age, sizeof(age));
	fprintf(a->out, "%-13s %s ago%s%s\n", label, age, what ? ": " : "",
	        what ? what : "");
}

static void
status_text(struct admin *a, const struct spool_stats *st,
            const struct delivery_state *ds)
{
	char age[32], where[1024];

	fprintf(a->out, "%-13s %s\n", "spool",
	        spool_where_cfg(a, where, sizeof(where)));
	fprintf(a->out, "%-13s %" PRId64, "pending", st->pending);
	if (st->pending > 0) {
		format_age(a->now - st->oldest_pending_ms, age, sizeof(age));
		fprintf(a->out, " (oldest %s)", age);
	}
	fprintf(a->out, "\n%-13s %" PRId64 "\n", "inflight", st->inflight);
	fprintf(a->out, "%-13s %" PRId64 "%s\n", "dead", st->dead,
	        st->dead > 0 ? " (list them: formrelay dead)" : "");
	if (a->cfg->dry_run || st->previewed > 0)
		fprintf(a->out, "%-13s %" PRId64 "%s\n", "previewed",
		        st->previewed,
		        st->previewed > 0 ? " (not sent; see them: formrelay "
		                            "list, formrelay show ID)"
		                          : "");
	if (a->cfg->dry_run)
		fprintf(a->out,
		        "%-13s dry run: nothing is sent to Customer.io "
		        "(customerio.dry_run = yes)\n",
		        "mode");
	if (ds->no_key_since > 0) {
		fprintf(a->out, "%-13s paused: %s (customerio.dry_run = no)\n",
		        "delivery", PREFLIGHT_NO_KEY_REASON);
	} else if (ds->paused_until > a->now) {
		format_age(ds->paused_until - a->now, age, sizeof(age));
		fprintf(a->out,
		        "%-13s paused for %s more: Customer.io refused the "
		        "API key (%s)\n",
		        "delivery", age, ds->pause_reason);
	}
	print_when(a, "last success", ds->last_success_ms, NULL);
	if (ds->last_error[0] != '\0')
		print_when(a, "last error", ds->last_error_ms, ds->last_error);
	status_spam_text(a);
}

static int
cmd_status(struct admin *a)
{
	struct delivery_state ds;
	struct spool_stats st;

	if (a->arg != NULL)
		return usage(a, "unexpected argument %s", a->arg);
	if (open_spool(a) != ADMIN_EXIT_OK)
		return ADMIN_EXIT_ERROR;
	if (spool_stats(a->sp, a->now, &st) != FR_OK)
		return fail(a, "%s", spool_last_error(a->sp)->message);
	read_delivery_state(a->sp, &ds);
	metrics_open_beside(a->cfg->spool_path);
	if (a->json)
		status_json(a, &st, &ds);
	else
		status_text(a, &st, &ds);
	if (pause_cause(a, &ds) != NULL)
		return ADMIN_EXIT_PAUSED;
	return st.dead > 0 ? ADMIN_EXIT_DEAD : ADMIN_EXIT_OK;
}

/* ---- dead ------------------------------------------------------------------
 */

static struct json_object *
dead_object(struct admin *a, const struct spool_dead *d)
{
	struct json_object *o = json_object_new_object();

	json_add_int(o, "id", d->id);
	json_add_str(o, "messageId", d->message_id);
	json_add_time(o, "received", d->created_ms);
	json_add_time(o, "died", d->died_ms);
	json_add_int(o, "age_s", (a->now - d->created_ms) / 1000);
	json_add_int(o, "status", d->http_status);
	json_add_int(o, "attempts", d->attempts);
	json_add_str(o, "reason", d->reason);
	return o;
}

static void
dead_json(struct admin *a, const struct spool_dead *d, size_t n)
{
	struct json_object *o = json_object_new_object();
	struct json_object *list = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_array_add(list, dead_object(a, &d[i]));
	json_object_object_add(o, "dead", list);
	emit_json(a, o);
}

static void
dead_text(struct admin *a, const struct spool_dead *d, size_t n)
{
	char age[32];
	size_t i;

	if (n == 0) {
		fprintf(a->out, "no dead letters\n");
		return;
	}
	fprintf(a->out, "%-8s %-36s %-8s %-6s %-8s %s\n", "ID", "MESSAGE ID",
	        "AGE", "STATUS", "ATTEMPTS", "REASON");
	for (i = 0; i < n; i++) {
		format_age(a->now - d[i].created_ms, age, sizeof(age));
		fprintf(a->out, "%-8" PRId64 " %-36s %-8s %-6d %-8d %s\n",
		        d[i].id, d[i].message_id, age, d[i].http_status,
		        d[i].attempts, d[i].reason);
	}
}

static int
cmd_dead(struct admin *a)
{
	struct spool_dead *d = NULL;
	size_t n = 0;

	if (a->arg != NULL)
		return usage(a, "unexpected argument %s", a->arg);
	if (open_spool(a) != ADMIN_EXIT_OK)
		return ADMIN_EXIT_ERROR;
	if (spool_list_dead(a->sp, a->limit ? a->limit : SIZE_MAX, &d, &n) !=
	    FR_OK)
		return fail(a, "%s", spool_last_error(a->sp)->message);
	if (a->json)
		dead_json(a, d, n);
	else
		dead_text(a, d, n);
	free(d);
	return ADMIN_EXIT_OK;
}

/* ---- requeue and purge -----------------------------------------------------
 */

static int
cmd_requeue_purge(struct admin *a, int requeue)
{
	const char *done = requeue ? "requeued" : "purged";
	int64_t id, count = 0;
	struct json_object *o;
	int rc;

	if (a->arg == NULL)
		return usage(a, "which dead letter? give an ID or 'all'");
	if ((id = parse_id(a->arg)) == -2)
		return usage(a, "'%s' is neither an id nor 'all'", a->arg);
	if (open_spool(a) != ADMIN_EXIT_OK)
		return ADMIN_EXIT_ERROR;
	rc = requeue ? spool_requeue(a->sp, id, a->now, &count)
	             : spool_purge(a->sp, id, &count);
	if (rc != FR_OK)
		return fail(a, "%s", spool_last_error(a->sp)->message);
	if (id > 0 && count == 0)
		return fail(a, "no dead letter with id %" PRId64, id);
	if (a->json) {
		o = json_object_new_object();
		json_add_int(o, done, count);
		emit_json(a, o);
	} else
		fprintf(a->out, "%s %" PRId64 " dead letter%s\n", done, count,
		        count == 1 ? "" : "s");
	return ADMIN_EXIT_OK;
}

/* ---- flush ------------------------------------------------------------------
 */

/*
 * Delivery lives in formrelay-deliver, the only program that links
 * libcurl (deliver_child.h); flush runs it in the foreground on our streams.
 */
static int
cmd_flush(struct admin *a)
{
	const char *args[7] = {"formrelay-deliver", "--flush"};
	size_t n = 2;
	int rc;

	if (a->arg != NULL)
		return usage(a, "unexpected argument %s", a->arg);
	if (a->cfg->path != NULL) {
		args[n++] = "-c";
		args[n++] = a->cfg->path;
	}
	if (a->json)
		args[n++] = "--json";
	args[n] = NULL;
	fflush(a->out);
	fflush(a->errs);
	rc = deliver_run(args, fileno(a->out), fileno(a->errs));
	if (rc < 0)
		return fail(a, "cannot run formrelay-deliver (see the log)");
	return rc;
}

/* ---- migrate ---------------------------------------------------------------
 */

/* Opening creates or migrates the schema; say what the spool now is. */
static int
cmd_migrate(struct admin *a)
{
	struct fr_error err;
	char where[1024];
	int version = SPOOL_SCHEMA_VERSION;
	struct json_object *o;

	if (a->arg != NULL)
		return usage(a, "unexpected argument %s", a->arg);
	if (open_spool(a) != ADMIN_EXIT_OK)
		return ADMIN_EXIT_ERROR;
	fr_error_clear(&err);
	if (a->cfg->spool_postgresql &&
	    spool_pg_migrate(a->sp, 1, &version, &err) != FR_OK)
		return fail(a, "%s", err.message);
	spool_where_cfg(a, where, sizeof(where));
	if (!a->json) {
		fprintf(a->out, "spool %s (%s): schema version %d\n", where,
		        spool_backend_name(a->sp), version);
		return ADMIN_EXIT_OK;
	}
	o = json_object_new_object();
	json_add_str(o, "spool", where);
	json_add_str(o, "backend", spool_backend_name(a->sp));
	json_add_int(o, "schema_version", version);
	emit_json(a, o);
	return ADMIN_EXIT_OK;
}

/* ---- list and show: what dry_run kept, what would be sent ------------ */

/* A call's "type" and "userId" for the listing ("" when absent). */
static void
call_summary(const struct spool_preview *p, char *type, char *user, size_t size)
{
	struct json_object *o = json_tokener_parse(p->body), *v;

	type[0] = user[0] = '\0';
	if (o != NULL && json_object_object_get_ex(o, "type", &v))
		strlcopy(type, json_object_get_string(v), size);
	if (o != NULL && json_object_object_get_ex(o, "userId", &v))
		strlcopy(user, json_object_get_string(v), size);
	json_object_put(o);
}

static void
list_text(struct admin *a, const struct spool_preview *p, size_t n)
{
	char age[32], type[32], user[80];
	size_t i;

	if (n == 0) {
		fprintf(a->out, "no previews%s\n",
		        a->cfg->dry_run ? " yet (dry run: submissions show up "
		                          "here once delivery has taken them)"
		                        : " (dry_run is off)");
		return;
	}
	fprintf(a->out, "%-8s %-36s %-8s %-8s %s\n", "ID", "MESSAGE ID", "AGE",
	        "TYPE", "USER ID");
	for (i = 0; i < n; i++) {
		format_age(a->now - p[i].created_ms, age, sizeof(age));
		call_summary(&p[i], type, user, sizeof(user));
		fprintf(a->out, "%-8" PRId64 " %-36s %-8s %-8s %s\n", p[i].id,
		        p[i].message_id, age, type, user);
	}
	fprintf(a->out, "dry run: none of these was sent; formrelay show ID "
	                "prints the JSON that would have been\n");
}

static void
list_json(struct admin *a, const struct spool_preview *p, size_t n)
{
	struct json_object *o = json_object_new_object();
	struct json_object *list = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object();

		json_add_int(e, "id", p[i].id);
		json_add_str(e, "messageId", p[i].message_id);
		json_add_time(e, "received", p[i].created_ms);
		json_add_time(e, "previewed", p[i].previewed_ms);
		json_object_object_add(e, "call",
		                       json_tokener_parse(p[i].body));
		json_object_array_add(list, e);
	}
	json_object_object_add(o, "previewed", list);
	emit_json(a, o);
}

static int
cmd_list(struct admin *a)
{
	struct spool_preview *p = NULL;
	size_t n = 0;

	if (a->arg != NULL)
		return usage(a, "unexpected argument %s", a->arg);
	if (open_spool(a) != ADMIN_EXIT_OK)
		return ADMIN_EXIT_ERROR;
	if (spool_list_previews(a->sp, a->limit ? a->limit : SIZE_MAX, &p,
	                        &n) != FR_OK)
		return fail(a, "%s", spool_last_error(a->sp)->message);
	if (a->json)
		list_json(a, p, n);
	else
		list_text(a, p, n);
	spool_previews_free(p, n);
	return ADMIN_EXIT_OK;
}

/*
 * The exact body of the POST /v1/batch that carries this call alone:
 * what dry_run kept, or what delivery will send for an event still
 * queued.  Nothing but the JSON on stdout, for piping; the state on
 * stderr.
 */
static int
cmd_show(struct admin *a)
{
	struct spool_preview *p = NULL;
	char *batch = NULL;
	size_t n = 0, len = 0;
	const char *texts[1];
	int rc;

	if (a->arg == NULL)
		return usage(a, "which call? give an ID or a messageId");
	if (open_spool(a) != ADMIN_EXIT_OK)
		return ADMIN_EXIT_ERROR;
	if (spool_find_call(a->sp, a->arg, &p, &n) != FR_OK)
		return fail(a, "%s", spool_last_error(a->sp)->message);
	if (n == 0)
		return fail(a,
		            "no call with id or messageId %s (previews are "
		            "kept %d hours)",
		            a->arg, (int)(SPOOL_PREVIEW_TTL_MS / 3600000));
	texts[0] = p[0].body;
	rc = payload_batch(texts, &p[0].len, 1, &batch, &len);
	if (rc == FR_OK) {
		fprintf(a->out, "%s\n", batch);
		if (!a->json)
			fprintf(a->errs,
			        "# %s%s: POST /v1/batch with this body\n",
			        p[0].state,
			        strcmp(p[0].state, "previewed") == 0
			                ? " (dry run, not sent)"
			                : "");
	}
	free(batch);
	spool_previews_free(p, n);
	return rc == FR_OK ? ADMIN_EXIT_OK : fail(a, "out of memory");
}

/* ---- entry
 * ------------------------------------------------------------------- */

static int
dispatch(struct admin *a)
{
	if (strcmp(a->cmd, "status") == 0)
		return cmd_status(a);
	if (strcmp(a->cmd, "dead") == 0)
		return cmd_dead(a);
	if (strcmp(a->cmd, "requeue") == 0)
		return cmd_requeue_purge(a, 1);
	if (strcmp(a->cmd, "purge") == 0)
		return cmd_requeue_purge(a, 0);
	if (strcmp(a->cmd, "migrate") == 0)
		return cmd_migrate(a);
	if (strcmp(a->cmd, "list") == 0)
		return cmd_list(a);
	if (strcmp(a->cmd, "show") == 0)
		return cmd_show(a);
	return cmd_flush(a);
}

int
admin_run(const struct config *cfg, int argc, char **argv, FILE *out,
          FILE *errs, int64_t now)
{
	struct admin a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.cfg = cfg;
	a.out = out;
	a.errs = errs;
	a.now = now;
	a.cmd = argc > 0 ? argv[0] : "";
	if (!admin_is_command(a.cmd))
		return usage(&a, "unknown command '%s'", a.cmd);
	rc = parse_args(&a, argc, argv);
	if (rc == ADMIN_EXIT_OK)
		rc = dispatch(&a);
	spool_close(a.sp);
	fflush(out);
	return rc;
}

int
admin_main(const struct config *cfg, int argc, char **argv)
{
	return admin_run(cfg, argc, argv, stdout, stderr, now_ms());
}
