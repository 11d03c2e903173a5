/*
 * The spool's public calls (include/spool.h), dispatched to the
 * handle's backend (include/spool_ops.h), and what is the same for
 * every backend.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "spool.h"
#include "spool_internal.h"
#include "config.h"
#include "spool_ops.h"
#include "spool_pg.h"
#include "util.h"

static int
no_wake_fd(struct spool *sp)
{
	(void)sp;
	return -1;
}

static int
no_wake_drain(struct spool *sp)
{
	(void)sp;
	return 0;
}

const struct spool_ops spool_sqlite_ops = {
        .name = "sqlite",
        .close = spool_sqlite_close,
        .for_delivery = spool_sqlite_for_delivery,
        .set_max_size = spool_sqlite_set_max_size,
        .append_begin = spool_sqlite_append_begin,
        .append_finish = spool_sqlite_append_finish,
        .claim = spool_sqlite_claim,
        .ack = spool_sqlite_ack,
        .retry_later = spool_sqlite_retry_later,
        .renew = spool_sqlite_renew,
        .release = spool_sqlite_release,
        .dead_letter = spool_sqlite_dead_letter,
        .expire = spool_sqlite_expire,
        .next_due = spool_sqlite_next_due,
        .stats = spool_sqlite_stats,
        .list_dead = spool_sqlite_list_dead,
        .requeue = spool_sqlite_requeue,
        .purge = spool_sqlite_purge,
        .state_set = spool_sqlite_state_set,
        .state_get = spool_sqlite_state_get,
        .verify_take = spool_sqlite_verify_take,
        .verify_settle = spool_sqlite_verify_settle,
        .preview = spool_sqlite_preview,
        .list_previews = spool_sqlite_list_previews,
        .find_call = spool_sqlite_find_call,
        .wake_fd = no_wake_fd,
        .wake_drain = no_wake_drain,
};

/* ---- opening -------------------------------------------------------- */

int
spool_open(const char *path, struct spool **out, struct fr_error *err)
{
	return spool_sqlite_open(path, out, err);
}

int
spool_open_target(const struct spool_target *t, struct spool **out,
                  struct fr_error *err)
{
	if (t->backend == SPOOL_POSTGRESQL)
		return spool_pg_open(t->url, t->password_file, out, err);
	return spool_sqlite_open(t->path, out, err);
}

const char *
spool_backend_name(const struct spool *sp)
{
	return sp->ops->name;
}

const char *
spool_where(const struct spool_target *t, char *buf, size_t size)
{
	if (t->backend == SPOOL_POSTGRESQL)
		spool_pg_url_masked(t->url ? t->url : "", buf, size);
	else
		strlcopy(buf, t->path ? t->path : "", size);
	return buf;
}

void
spool_target_of(const struct config *cfg, struct spool_target *t)
{
	t->backend = cfg->spool_postgresql ? SPOOL_POSTGRESQL : SPOOL_SQLITE;
	t->path = cfg->spool_path;
	t->url = cfg->spool_url;
	t->password_file = cfg->spool_password_file;
}

int
spool_open_config(const struct config *cfg, struct spool **out,
                  struct fr_error *err)
{
	struct spool_target t;

	spool_target_of(cfg, &t);
	return spool_open_target(&t, out, err);
}

void
spool_close(struct spool *sp)
{
	if (sp != NULL)
		sp->ops->close(sp);
}

int
spool_for_delivery(struct spool *sp, struct fr_error *err)
{
	return sp->ops->for_delivery(sp, err);
}

int
spool_set_max_size(struct spool *sp, int64_t max_bytes)
{
	return sp->ops->set_max_size(sp, max_bytes);
}

int
spool_wake_fd(struct spool *sp)
{
	return sp->ops->wake_fd(sp);
}

int
spool_wake_drain(struct spool *sp)
{
	return sp->ops->wake_drain(sp);
}

/* ---- appending ------------------------------------------------------ */

static int
key_valid(const char *key)
{
	return key == NULL ||
	       (*key != '\0' && strlen(key) <= SPOOL_DEDUP_KEY_MAX);
}

static int
event_valid(const struct spool_event *ev)
{
	return ev->message_id != NULL && ev->body != NULL &&
	       strlen(ev->message_id) < MESSAGE_ID_SIZE &&
	       ev->len <= INT32_MAX && key_valid(ev->dedup_key);
}

int
spool_append_valid(const struct spool_append *a)
{
	size_t i;

	if ((a->n > 0 && a->evs == NULL) || !key_valid(a->dedup_key) ||
	    (a->dedup_key != NULL && a->n == 0) ||
	    (a->hold != NULL && a->hold->token == NULL))
		return 0;
	for (i = 0; i < a->n; i++)
		if (!event_valid(&a->evs[i]))
			return 0;
	return 1;
}

int
spool_append_begin(struct spool *sp)
{
	return sp->ops->append_begin(sp);
}

int
spool_append_finish(struct spool *sp, int begun,
                    struct spool_append *const *items, size_t n, int64_t now,
                    struct fr_error *err)
{
	return sp->ops->append_finish(sp, begun, items, n, now, err);
}

/* ---- claims --------------------------------------------------------- */

int
spool_claim(struct spool *sp, const char *owner, int64_t now, int64_t lease_ms,
            size_t max_events, size_t max_bytes, struct spool_batch *out)
{
	return sp->ops->claim(sp, owner, now, lease_ms, max_events, max_bytes,
	                      out);
}

int
spool_ack(struct spool *sp, const int64_t *ids, size_t n)
{
	return sp->ops->ack(sp, ids, n);
}

int
spool_retry_later(struct spool *sp, const int64_t *ids, size_t n,
                  int64_t due_ms, const char *reason)
{
	return sp->ops->retry_later(sp, ids, n, due_ms, reason);
}

int
spool_renew(struct spool *sp, const int64_t *ids, size_t n, int64_t until)
{
	return sp->ops->renew(sp, ids, n, until);
}

int
spool_release(struct spool *sp, const char *owner)
{
	return sp->ops->release(sp, owner);
}

int
spool_dead_letter(struct spool *sp, const int64_t *ids, size_t n,
                  int http_status, const char *reason, int64_t now)
{
	return sp->ops->dead_letter(sp, ids, n, http_status, reason, now);
}

/* ---- administration and state --------------------------------------- */

int
spool_expire(struct spool *sp, int64_t now, int64_t max_age_ms, int64_t *count)
{
	return sp->ops->expire(sp, now, max_age_ms, count);
}

int
spool_next_due(struct spool *sp, int64_t *due_ms)
{
	return sp->ops->next_due(sp, due_ms);
}

int
spool_stats(struct spool *sp, int64_t now, struct spool_stats *st)
{
	return sp->ops->stats(sp, now, st);
}

int
spool_list_dead(struct spool *sp, size_t max, struct spool_dead **out,
                size_t *count)
{
	return sp->ops->list_dead(sp, max, out, count);
}

int
spool_preview(struct spool *sp, const int64_t *ids, size_t n, int64_t now)
{
	return sp->ops->preview(sp, ids, n, now);
}

int
spool_list_previews(struct spool *sp, size_t max, struct spool_preview **out,
                    size_t *count)
{
	return sp->ops->list_previews(sp, max, out, count);
}

int
spool_find_call(struct spool *sp, const char *which, struct spool_preview **out,
                size_t *count)
{
	return sp->ops->find_call(sp, which, out, count);
}

int
spool_requeue(struct spool *sp, int64_t id, int64_t now, int64_t *count)
{
	return sp->ops->requeue(sp, id, now, count);
}

int
spool_purge(struct spool *sp, int64_t id, int64_t *count)
{
	return sp->ops->purge(sp, id, count);
}

int
spool_state_set(struct spool *sp, const char *key, const char *value)
{
	return sp->ops->state_set(sp, key, value);
}

int
spool_state_get(struct spool *sp, const char *key, char *buf, size_t size)
{
	return sp->ops->state_get(sp, key, buf, size);
}

int
spool_verify_take(struct spool *sp, int64_t now, int64_t lease_ms, size_t max,
                  struct spool_verify_item **out, size_t *count)
{
	return sp->ops->verify_take(sp, now, lease_ms, max, out, count);
}

int
spool_verify_settle(struct spool *sp, const struct spool_verify_item *it,
                    enum spool_verdict v, int64_t now, int64_t retry_ms)
{
	return sp->ops->verify_settle(sp, it, v, now, retry_ms);
}
