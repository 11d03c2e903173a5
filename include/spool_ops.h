/*
 * The spool's backends (see include/spool.h for what each call does).
 * Every handle carries the table of its backend; src/spool.c's public
 * calls dispatch through it.  SQLite (src/spool_{open,append,claim,admin,
 * state}.c, "spool_sqlite_*") and PostgreSQL (src/spool_pg*.c,
 * "spool_pg_*") each fill one.
 *
 * What both backends share is written once and needs no entry here: the
 * handle's claim token, the last error, spool_changes, the hand-off
 * settings (spool_hand_appends, spool_take_handed: a backend may ignore
 * them), spool_append and spool_append_group (begin + finish), and
 * spool_batch_free.  The rules (states, leases, who may settle a claim,
 * retry bookkeeping) are spool.h's and hold for both.
 */
#ifndef FORMRELAY_SPOOL_OPS_H
#define FORMRELAY_SPOOL_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "spool.h"

struct spool_ops {
	const char *name; /* "sqlite" | "postgresql" */
	void (*close)(struct spool *sp);
	int (*for_delivery)(struct spool *sp, struct fr_error *err);
	int (*set_max_size)(struct spool *sp, int64_t max_bytes);
	int (*append_begin)(struct spool *sp);
	int (*append_finish)(struct spool *sp, int begun,
	                     struct spool_append *const *items, size_t n,
	                     int64_t now, struct fr_error *err);
	int (*claim)(struct spool *sp, const char *owner, int64_t now,
	             int64_t lease_ms, size_t max_events, size_t max_bytes,
	             struct spool_batch *out);
	int (*ack)(struct spool *sp, const int64_t *ids, size_t n);
	int (*retry_later)(struct spool *sp, const int64_t *ids, size_t n,
	                   int64_t due_ms, const char *reason);
	int (*renew)(struct spool *sp, const int64_t *ids, size_t n,
	             int64_t until);
	int (*release)(struct spool *sp, const char *owner);
	int (*dead_letter)(struct spool *sp, const int64_t *ids, size_t n,
	                   int http_status, const char *reason, int64_t now);
	int (*expire)(struct spool *sp, int64_t now, int64_t max_age_ms,
	              int64_t *count);
	int (*next_due)(struct spool *sp, int64_t *due_ms);
	int (*stats)(struct spool *sp, int64_t now, struct spool_stats *st);
	int (*list_dead)(struct spool *sp, size_t max, struct spool_dead **out,
	                 size_t *count);
	int (*requeue)(struct spool *sp, int64_t id, int64_t now,
	               int64_t *count);
	int (*purge)(struct spool *sp, int64_t id, int64_t *count);
	int (*state_set)(struct spool *sp, const char *key, const char *value);
	int (*state_get)(struct spool *sp, const char *key, char *buf,
	                 size_t size);
	int (*verify_take)(struct spool *sp, int64_t now, int64_t lease_ms,
	                   size_t max, struct spool_verify_item **out,
	                   size_t *count);
	int (*verify_settle)(struct spool *sp,
	                     const struct spool_verify_item *it,
	                     enum spool_verdict v, int64_t now,
	                     int64_t retry_ms);
	/* dry_run's previews (spool_preview, spool_list_previews,
	 * spool_find_call). */
	int (*preview)(struct spool *sp, const int64_t *ids, size_t n,
	               int64_t now);
	int (*list_previews)(struct spool *sp, size_t max,
	                     struct spool_preview **out, size_t *count);
	int (*find_call)(struct spool *sp, const char *which,
	                 struct spool_preview **out, size_t *count);
	/* A descriptor readable when another process stored events, or -1
	 * (spool_wake_fd); and taking what made it readable: 1 when it was a
	 * wake-up. */
	int (*wake_fd)(struct spool *sp);
	int (*wake_drain)(struct spool *sp);
};

extern const struct spool_ops spool_sqlite_ops;

/* ---- SQLite (the spool_sqlite_* of src/spool_*.c) ---- */

int spool_sqlite_open(const char *path, struct spool **out,
                      struct fr_error *err);
void spool_sqlite_close(struct spool *sp);
int spool_sqlite_for_delivery(struct spool *sp, struct fr_error *err);
int spool_sqlite_set_max_size(struct spool *sp, int64_t max_bytes);
int spool_sqlite_append_begin(struct spool *sp);
int spool_sqlite_append_finish(struct spool *sp, int begun,
                               struct spool_append *const *items, size_t n,
                               int64_t now, struct fr_error *err);
int spool_sqlite_claim(struct spool *sp, const char *owner, int64_t now,
                       int64_t lease_ms, size_t max_events, size_t max_bytes,
                       struct spool_batch *out);
int spool_sqlite_ack(struct spool *sp, const int64_t *ids, size_t n);
int spool_sqlite_retry_later(struct spool *sp, const int64_t *ids, size_t n,
                             int64_t due_ms, const char *reason);
int spool_sqlite_renew(struct spool *sp, const int64_t *ids, size_t n,
                       int64_t until);
int spool_sqlite_release(struct spool *sp, const char *owner);
int spool_sqlite_dead_letter(struct spool *sp, const int64_t *ids, size_t n,
                             int http_status, const char *reason, int64_t now);
int spool_sqlite_expire(struct spool *sp, int64_t now, int64_t max_age_ms,
                        int64_t *count);
int spool_sqlite_next_due(struct spool *sp, int64_t *due_ms);
int spool_sqlite_stats(struct spool *sp, int64_t now, struct spool_stats *st);
int spool_sqlite_preview(struct spool *sp, const int64_t *ids, size_t n,
                         int64_t now);
int spool_sqlite_list_previews(struct spool *sp, size_t max,
                               struct spool_preview **out, size_t *count);
int spool_sqlite_find_call(struct spool *sp, const char *which,
                           struct spool_preview **out, size_t *count);
int spool_sqlite_list_dead(struct spool *sp, size_t max,
                           struct spool_dead **out, size_t *count);
int spool_sqlite_requeue(struct spool *sp, int64_t id, int64_t now,
                         int64_t *count);
int spool_sqlite_purge(struct spool *sp, int64_t id, int64_t *count);
int spool_sqlite_state_set(struct spool *sp, const char *key,
                           const char *value);
int spool_sqlite_verify_take(struct spool *sp, int64_t now, int64_t lease_ms,
                             size_t max, struct spool_verify_item **out,
                             size_t *count);
int spool_sqlite_verify_settle(struct spool *sp,
                               const struct spool_verify_item *it,
                               enum spool_verdict v, int64_t now,
                               int64_t retry_ms);
int spool_sqlite_state_get(struct spool *sp, const char *key, char *buf,
                           size_t size);

#endif
