/*
 * The spool: durable storage of events between receipt and delivery, in
 * SQLite (WAL; every append fsync'd; the default) or in PostgreSQL (every
 * append committed with synchronous_commit on; include/spool_pg.h).  Both
 * backends keep the same states, rules and answers; what follows says
 * SQLite's words, and spool_pg.h what PostgreSQL does instead.  The only
 * SQLite and libpq user.  Any number of
 * processes may share one spool file; claims carry a lease so that no
 * event is in flight twice at once and a crashed owner's claims return.
 *
 * States: pending (due_ms says when) -> inflight (claimed, lease) ->
 * deleted on ack | pending again on retry | dead (with status and reason).
 *
 * Who may settle a claim.  Every handle has a random claim token, stored
 * with the events it claims.  spool_ack, spool_retry_later and
 * spool_dead_letter only touch events that are still claimed (or handed,
 * see spool_hand_appends) under the calling handle's token; ids claimed
 * by another handle, or re-claimed by another process after this
 * handle's lease ran out, are left alone (the new holder decides their
 * fate).  So an ack can never delete an event that its holder has not
 * delivered, and a lease that runs out mid-send costs at worst a second
 * delivery with the same messageId (which Customer.io de-duplicates):
 * at-least-once, never lost.  A handle whose lease ran out but whose
 * events nobody re-claimed may still settle them.  spool_changes tells
 * how many rows a settle call really changed.
 *
 * Durability.  spool_append, spool_append_group, spool_requeue and
 * spool_purge return only once their commit is fsync'd (the WAL): a 2xx
 * means stored.  Appends fsync after the write lock is released, so one
 * process's fsync does not hold up another's writes; requeue and purge
 * use synchronous=FULL.  Delivery's bookkeeping
 * (spool_claim, spool_ack, spool_retry_later, spool_dead_letter,
 * spool_release, spool_expire, spool_state_set) commits atomically but
 * without its own fsync (synchronous=NORMAL); the next durable commit or
 * checkpoint makes it durable too.  A power cut may undo the latest of
 * these, which at worst delivers an event a second time, as a crash
 * between send and ack does: never loses one.
 *
 * Errors: every failure returns FR_ESTORE (or the code documented) and
 * records a sentence naming the cause ("disk full: …", "spool is
 * read-only: …", "spool is locked: …") readable with spool_last_error;
 * the calls taking err also copy it there.  A failed write changes
 * nothing: each call is one transaction, rolled back on any error.
 */
#ifndef FORMRELAY_SPOOL_H
#define FORMRELAY_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "util.h"

/* The schema version this build writes (PRAGMA user_version). */
#define SPOOL_SCHEMA_VERSION 7
/* How long a write waits for another process's transaction. */
#define SPOOL_BUSY_TIMEOUT_MS 5000
/* How long de-duplication keys are remembered (at least the 24 h a
 * browser or a webhook sender retries for). */
#define SPOOL_DEDUP_TTL_MS (48LL * 3600 * 1000)
/* The due time of events held for a CAPTCHA verdict: never, until
 * spool_verify_settle releases them. */
#define SPOOL_HELD_MS INT64_MAX
/* How long dry_run's previews are kept (spool_preview). */
#define SPOOL_PREVIEW_TTL_MS (24LL * 3600 * 1000)
/* The reason given to events dead-lettered by spool_expire. */
#define SPOOL_REASON_MAX_AGE "max_age exceeded"
/* The WAL's length in pages at which a delivery handle
 * (spool_for_delivery) checkpoints it into the spool file, and at which
 * any other handle does (delivery stopped or paused). */
#define SPOOL_CHECKPOINT_PAGES          4000
#define SPOOL_CHECKPOINT_BACKSTOP_PAGES 10000

struct spool;

/*
 * De-duplication.  A key names what a sender may send twice, in a
 * namespace of its own: "msg:<client messageId>" (a browser's retry),
 * "webhook:<webhook-id>" (Standard Webhooks), "typeform:<event_id>", ...
 * The spool remembers each key with the messageId stored under it, in
 * the transaction that stores the events, for SPOOL_DEDUP_TTL_MS
 * (spool_expire forgets older ones).  The same key again stores nothing
 * and tells the messageId first stored, so that a retry is answered with
 * the id of the event that is delivered.  Keys are at most
 * SPOOL_DEDUP_KEY_MAX bytes.
 */
#define SPOOL_DEDUP_KEY_MAX 512

/* One event to store. */
struct spool_event {
	const char *message_id; /* < MESSAGE_ID_SIZE bytes */
	const char *body;       /* serialised JSON call */
	size_t len;
	const char *dedup_key; /* this event's own key (a client's
	                          messageId), or NULL: when seen before, the
	                          event is not stored again */
};

/*
 * One submission in a group commit: its events, the key of the whole
 * submission (a webhook's id: remembered with evs[0]'s messageId; NULL
 * for none), and its own result, set by spool_append_group: FR_OK
 * (stored: every event, or those whose own keys were new),
 * FR_EDUPLICATE (the submission's key, or every event's own key, seen
 * before or earlier in the same group: nothing stored for it; original
 * holds the messageId remembered, "" for keys kept by a formrelay before
 * schema 4), FR_EINTERNAL (invalid event or key: nothing stored for it)
 * or FR_ESTORE (the whole group failed).
 */
struct spool_append {
	const struct spool_event *evs;
	size_t n;
	const char *dedup_key;
	int result;
	char original[MESSAGE_ID_SIZE]; /* set with FR_EDUPLICATE */
	/* > 0: dedup_key counts as seen only if remembered less than this
	 * long ago (double submits); an older one is remembered anew. */
	int64_t dedup_window_ms;
	/* A CAPTCHA token to verify before delivery (NULL: none): the
	 * events are held (SPOOL_HELD_MS) until spool_verify_settle. */
	const struct spool_hold *hold;
};

/* What formrelay-deliver needs to verify a submission's CAPTCHA. */
struct spool_hold {
	const char *token; /* the widget's response; never logged */
	const char *ip;    /* the visitor's address (remoteip), or "" */
};

/* One stored event handed out by spool_claim. */
struct spool_item {
	int64_t id;
	char message_id[MESSAGE_ID_SIZE];
	char *body; /* owned by the batch, NUL-terminated */
	size_t len;
	int64_t created_ms;
	int attempts; /* deliveries tried before this claim */
};

struct spool_batch {
	struct spool_item *items; /* owned */
	size_t count;
	int more_handed; /* the batch was full before every handed event */
	size_t handed;   /* items[0..handed) were handed (spool_claim) */
};

struct spool_stats {
	int64_t pending;
	int64_t inflight;
	int64_t dead;
	int64_t previewed;         /* dry_run's previews still kept */
	int64_t oldest_pending_ms; /* created_ms of the oldest pending, or 0 */
};

/* A call dry_run did not send, as it would have gone (spool_preview). */
struct spool_preview {
	int64_t id; /* the event's id, as it was in the queue */
	char message_id[MESSAGE_ID_SIZE];
	int64_t created_ms;
	int64_t previewed_ms; /* 0 for an event still in the queue */
	char *body;           /* the call's JSON, owned (spool_previews_free) */
	size_t len;
	char state[16]; /* "previewed", or the queue's state (show) */
};

struct spool_dead {
	int64_t id;
	char message_id[MESSAGE_ID_SIZE];
	int64_t created_ms;
	int64_t died_ms;
	int http_status; /* 0 when not an HTTP answer (max_age) */
	int attempts;
	char reason[256];
};

/*
 * Open (creating and migrating) the spool at path.  The directory must
 * exist (the operator creates it, owned by the user formrelay runs as);
 * a new spool file is created with mode 0600, since it holds personal
 * data.  Beside it, besides SQLite's -wal and -shm, path.wake (0600, one
 * page) lets writers of every process wake each other when the write
 * lock comes free, and serialises the set-up of a new spool.  A
 * read-only spool, or one written by a newer formrelay (schema
 * version above SPOOL_SCHEMA_VERSION), is refused.  *out is owned by the
 * caller (spool_close).  Each thread needs its own handle.  FR_OK or
 * FR_ESTORE with err naming the cause.
 */
int spool_open(const char *path, struct spool **out, struct fr_error *err);

/* Which backend holds a spool (SPEC "PostgreSQL spool"). */
enum spool_backend { SPOOL_SQLITE = 0, SPOOL_POSTGRESQL };

/* Where a spool is: a SQLite file, or a PostgreSQL database. */
struct spool_target {
	enum spool_backend backend;
	const char *path;          /* SQLite: the spool file */
	const char *url;           /* PostgreSQL: libpq's URI or key=value */
	const char *password_file; /* PostgreSQL: NULL for libpq's own
	                            * (PGPASSFILE, ~/.pgpass) */
};

/*
 * Open (creating and migrating the schema of) the spool t names: SQLite
 * as spool_open; PostgreSQL as spool_pg_open (include/spool_pg.h).
 * *out owned by the caller (spool_close).  FR_OK or FR_ESTORE with err
 * naming the cause (never the password).
 */
int spool_open_target(const struct spool_target *t, struct spool **out,
                      struct fr_error *err);

/* The spool a configuration names ([spool] backend, path, url,
 * password_file; t borrows cfg's strings), and opening it. */
struct config;
void spool_target_of(const struct config *cfg, struct spool_target *t);
int spool_open_config(const struct config *cfg, struct spool **out,
                      struct fr_error *err);

/* "sqlite" or "postgresql". */
const char *spool_backend_name(const struct spool *sp);

/*
 * Where the spool is, for messages: the SQLite file, or the PostgreSQL
 * URL without its password, into buf.  Returns buf.
 */
const char *spool_where(const struct spool_target *t, char *buf, size_t size);

/*
 * A descriptor that becomes readable when another process committed
 * events (PostgreSQL's LISTEN/NOTIFY, on a delivery handle), or -1 when
 * the backend has none (SQLite: its writers wake deliverers of the same
 * host otherwise).  spool_wake_drain takes what made it readable, and
 * returns 1 when that was a wake-up (look for work before sleeping:
 * one may have come in during another call); both only between other
 * calls on sp.
 */
int spool_wake_fd(struct spool *sp);
int spool_wake_drain(struct spool *sp);

/* Close; NULL is a no-op. */
void spool_close(struct spool *sp);

/*
 * The last error on this handle (status FR_OK and "" when none yet).
 * Borrowed: valid until the next call on sp.
 */
const struct fr_error *spool_last_error(const struct spool *sp);

/*
 * Rows changed by the last spool_ack, spool_retry_later,
 * spool_dead_letter or spool_release on this handle: fewer than asked
 * means some claims had passed to another holder.
 */
int64_t spool_changes(const struct spool *sp);

/*
 * Make sp the delivery process's handle: it checkpoints the WAL into the
 * spool file after its own commits once the WAL holds 1000 pages, and
 * keeps a larger page cache.  Other handles (ingest, administration)
 * checkpoint only when the WAL has grown ten times as large (no delivery
 * running), so that a submission seldom waits for a checkpoint.  FR_OK
 * or FR_ESTORE (err names the cause).
 */
int spool_for_delivery(struct spool *sp, struct fr_error *err);

/*
 * Handing appends to one delivery process.  A FastCGI process and the
 * formrelay-deliver it starts share a token.  The process's appends
 * store each event already reserved for that deliverer: pending, under
 * the token, and due only once lease_ms has passed, so that no other
 * deliverer claims it before then (spool_hand_appends).  The
 * deliverer's handle takes the token as its claim token
 * (spool_take_handed), and its spool_claim then first takes the events
 * handed to it whose lease still runs, oldest first, by reading them:
 * they need no claim's write (marking rows inflight was the larger part
 * of delivering an event).  They are settled as claimed ones are.
 *
 * Nothing is lost when that deliverer is slow, stopped or gone: an
 * event it has not settled becomes due when the lease runs out, and any
 * deliverer claims it then as any pending event.  Handed events count
 * as pending (spool_stats); spool_release on the taking handle makes
 * those it has not taken due at once for anyone.  A token is at most
 * UUID_STR_LEN - 1 bytes; "" or NULL stops handing.  0, or -1 (too
 * long, or lease_ms not positive).
 */
int spool_hand_appends(struct spool *sp, const char *token, int64_t lease_ms);
int spool_take_handed(struct spool *sp, const char *token);

/* How long a write waits for a lock before "spool is locked"
 * (default SPOOL_BUSY_TIMEOUT_MS). */
void spool_set_busy_timeout(struct spool *sp, int ms);

/*
 * Cap the spool file at about max_bytes (SQLite's max_page_count) for
 * this handle, so that a flood cannot fill the disk: appends beyond it
 * fail as "disk full".  0 restores SQLite's limit.  FR_OK or FR_ESTORE.
 */
int spool_set_max_size(struct spool *sp, int64_t max_bytes);

/*
 * Store evs[0..n) in one transaction and return only after it is durably
 * committed (WAL fsync'd).  With dedup_key set, the key is remembered in
 * the same transaction (see "De-duplication"); a key seen before stores
 * nothing and returns FR_EDUPLICATE.  Returns FR_OK, FR_EDUPLICATE,
 * FR_EINTERNAL (an invalid event: NULL body or message_id too long) or
 * FR_ESTORE (nothing written).
 */
int spool_append(struct spool *sp, const struct spool_event *evs, size_t n,
                 const char *dedup_key, int64_t now, struct fr_error *err);

/*
 * Group commit: store every item of items[0..n) in one transaction (one
 * fsync) and set each item's result (see struct spool_append).  Returns
 * FR_OK once committed, else FR_ESTORE with every result FR_ESTORE and
 * nothing written.
 */
int spool_append_group(struct spool *sp, struct spool_append *const *items,
                       size_t n, int64_t now, struct fr_error *err);

/*
 * spool_append_group in two steps, for a writer that chooses its group
 * once it holds the write lock: submissions that arrive while another
 * process commits then join this group instead of waiting for the next.
 * spool_append_begin opens the transaction (BEGIN IMMEDIATE, waiting for
 * the lock as any write does) and returns a status that
 * spool_append_finish, which must follow whatever it is, takes with the
 * group; finish returns as spool_append_group does.
 */
int spool_append_begin(struct spool *sp);
int spool_append_finish(struct spool *sp, int begun,
                        struct spool_append *const *items, size_t n,
                        int64_t now, struct fr_error *err);

/*
 * When an fsync fails.  An fsync that fails (the append's own, or a
 * checkpoint's) is fatal for the handle, as in PostgreSQL: the append
 * returns FR_ESTORE for its whole group (never a 2xx for it), what it
 * committed is noted for undoing, and every later write on the handle
 * fails with FR_ESTORE until spool_recover succeeds.  spool_recover
 * reopens the connection, deletes the failed group's events and the
 * webhook ids it recorded (a client's retry then stores the submission
 * once), checkpoints the write-ahead log into the spool file and
 * truncates it.  FR_OK when done (or nothing had failed); else
 * FR_ESTORE with err set, the handle still failed: call it again
 * before the next write.  A deliverer that claimed a failed group's
 * event in the moment between its commit and its fsync may still send
 * it once.  spool_failed: 1 while the handle is failed.
 */
int spool_failed(const struct spool *sp);
int spool_recover(struct spool *sp, struct fr_error *err);

/* How long the last fsync of the write-ahead log took (spool_append's
 * and spool_append_finish's), in microseconds; 0 before any. */
int64_t spool_last_sync_us(const struct spool *sp);

/*
 * Claim up to max_events due events, whose bodies total at most
 * max_bytes (always at least one).  Order: first inflight events whose
 * lease ended before now (a crashed or stalled holder), then pending
 * events with due_ms <= now by due time, oldest first (ties by id, i.e.
 * arrival).  They become inflight for owner and this handle until
 * now + lease_ms.  On a handle that takes handed events
 * (spool_take_handed), those come first, as they are (still pending,
 * no write), and out->more_handed says the batch filled before all
 * were taken.  out is owned by the caller (spool_batch_free).  Returns
 * FR_OK (count may be 0) or FR_ESTORE.
 */
int spool_claim(struct spool *sp, const char *owner, int64_t now,
                int64_t lease_ms, size_t max_events, size_t max_bytes,
                struct spool_batch *out);

/*
 * Renew the lease of ids still held by this handle until until: the
 * claimed ones (inflight) hold their claim that long, the handed ones
 * (pending) are due no earlier.  For a holder whose delivery takes
 * longer than one request (a batch split to find a refused event).
 * spool_changes says how many were still held.  FR_OK or FR_ESTORE.
 */
int spool_renew(struct spool *sp, const int64_t *ids, size_t n, int64_t until);

/* Free the items; b itself (often on the stack) is reset.  NULL-safe. */
void spool_batch_free(struct spool_batch *b);

/* Delivered: remove ids (still claimed by this handle).  FR_OK or
 * FR_ESTORE. */
int spool_ack(struct spool *sp, const int64_t *ids, size_t n);

/* Back to pending, due at due_ms, attempts + 1, reason kept.  Only ids
 * still claimed by this handle. */
int spool_retry_later(struct spool *sp, const int64_t *ids, size_t n,
                      int64_t due_ms, const char *reason);

/* Every inflight event of owner (any handle) back to pending, due as
 * before, without counting an attempt (shutdown, pause); on a handle
 * that takes handed events, those not taken yet as well. */
int spool_release(struct spool *sp, const char *owner);

/* Dead letters, with the HTTP status (0 for none) and reason; the
 * failed attempt counts.  Only ids still claimed by this handle. */
int spool_dead_letter(struct spool *sp, const int64_t *ids, size_t n,
                      int http_status, const char *reason, int64_t now);

/*
 * dry_run's settle: ids (still claimed by this handle, as for
 * spool_ack) leave the queue as previews, kept with their bodies for
 * SPOOL_PREVIEW_TTL_MS so that an operator sees exactly what would have
 * been sent (spool_list_previews), then forgotten by spool_expire.  One
 * transaction; spool_changes tells how many.  FR_OK or FR_ESTORE.
 */
int spool_preview(struct spool *sp, const int64_t *ids, size_t n, int64_t now);

/*
 * Previews, newest first, at most max.  *out owned by the caller
 * (spool_previews_free), NULL when *count is 0.
 */
int spool_list_previews(struct spool *sp, size_t max,
                        struct spool_preview **out, size_t *count);

/*
 * One call by id or messageId (which): a preview, else an event still in
 * the queue (pending, inflight or dead, named in state).  *out owned by
 * the caller (spool_previews_free); *count is 0 when there is none.
 */
int spool_find_call(struct spool *sp, const char *which,
                    struct spool_preview **out, size_t *count);

void spool_previews_free(struct spool_preview *p, size_t n);

/*
 * Dead-letter every pending event created (or requeued) before
 * now - max_age_ms, with status 0 and reason SPOOL_REASON_MAX_AGE; *count
 * gets how many.  Also forgets de-duplication keys older than
 * SPOOL_DEDUP_TTL_MS and CAPTCHA tokens older than max_age, and previews older
 * than SPOOL_PREVIEW_TTL_MS.
 */
int spool_expire(struct spool *sp, int64_t now, int64_t max_age_ms,
                 int64_t *count);

/*
 * CAPTCHA tokens held with their events (struct spool_hold).  A
 * deliverer takes those due (spool_verify_take: each leased for
 * lease_ms, so that one deliverer asks the vendor at a time), asks the
 * vendor, and settles each: SPOOL_VERDICT_PASS makes its events due now;
 * SPOOL_VERDICT_DROP deletes them (spam: never forwarded);
 * SPOOL_VERDICT_RETRY asks again at retry_ms (vendor unreachable),
 * keeping it->sent as the item's sent; SPOOL_VERDICT_SENT records, before
 * the vendor is asked, that a request carrying the token may reach it.
 * Pass, drop and sent commit durably: a verdict undone by a power cut
 * would be asked again, and vendors answer "already used" the second
 * time; sent is how the next deliverer knows such an answer is no
 * verdict on the visitor.
 * Events dead-lettered meanwhile (max_age) are left alone.
 */
struct spool_verify_item {
	int64_t id;
	int64_t first_event; /* the events are first_event .. + events - 1 */
	int64_t events;
	int64_t created_ms;
	int tries;   /* vendor attempts that failed before this one */
	int sent;    /* an earlier request may have reached the vendor
	                (its answer lost or no verdict) */
	char *token; /* owned by the array */
	char ip[64];
};

enum spool_verdict {
	SPOOL_VERDICT_PASS = 0,
	SPOOL_VERDICT_DROP,
	SPOOL_VERDICT_RETRY,
	SPOOL_VERDICT_SENT
};

/* Up to max due items into *out (the caller's: spool_verify_free);
 * FR_OK (*count may be 0) or FR_ESTORE. */
int spool_verify_take(struct spool *sp, int64_t now, int64_t lease_ms,
                      size_t max, struct spool_verify_item **out,
                      size_t *count);
int spool_verify_settle(struct spool *sp, const struct spool_verify_item *it,
                        enum spool_verdict v, int64_t now, int64_t retry_ms);
/* Wipes the tokens.  NULL is a no-op. */
void spool_verify_free(struct spool_verify_item *items, size_t count);

/* When something next falls due: the earliest pending due_ms, the end
 * of the earliest lease, or the earliest CAPTCHA to verify (INT64_MAX
 * when none). */
int spool_next_due(struct spool *sp, int64_t *due_ms);

int spool_stats(struct spool *sp, int64_t now, struct spool_stats *st);

/*
 * Dead letters, oldest first (by id), at most max; *out owned by the
 * caller (free()), NULL when *count is 0.
 */
int spool_list_dead(struct spool *sp, size_t max, struct spool_dead **out,
                    size_t *count);

/* Dead -> pending, due now, attempts reset, and its max_age counted
 * from now.  id < 0 means all.  *count gets how many. */
int spool_requeue(struct spool *sp, int64_t id, int64_t now, int64_t *count);

/* Delete dead letters (id < 0: all of them).  *count gets how many. */
int spool_purge(struct spool *sp, int64_t id, int64_t *count);

/*
 * Small shared key/value state seen by every process (e.g. "paused_until",
 * "last_success_ms", "last_error").  get copies into buf ("" when unset);
 * a value that does not fit gives FR_ETOOLARGE and "".
 */
int spool_state_set(struct spool *sp, const char *key, const char *value);
int spool_state_get(struct spool *sp, const char *key, char *buf, size_t size);

#endif
