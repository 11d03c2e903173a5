/*
 * Waking writers of one spool across processes (internal to the spool).
 *
 * SQLite's write lock has no wait queue: a writer that finds it taken
 * can only sleep and try again.  Sleeping a fixed time either oversleeps
 * (the lock was free long ago) or loses the race to a writer that
 * commits in a loop (strace under load: one FastCGI process committed
 * six times in a row while the other slept 1 ms at a time).  So the
 * writers of a spool share a counter in a small file beside it
 * (<spool>.wake, mode 0600): every end of a write transaction bumps it,
 * and a waiting writer sleeps on it (futex(2)) until it moves, then tries
 * the lock again at once.  SQLite stays the only lock: the counter only
 * says when to look.  A writer that dies, or one that is not formrelay
 * (the sqlite3 shell), bumps nothing; waiters still look again after
 * a short slice.
 *
 * The same file serialises spool_open's set-up (WAL mode, schema)
 * between processes opening a new spool at once (flock(2)).
 */
#ifndef FORMRELAY_SPOOL_WAKE_H
#define FORMRELAY_SPOOL_WAKE_H

#include <stdint.h>

struct spool_wake;

/*
 * Map <spool_path>.wake, creating it.  NULL when that is not possible (a
 * read-only directory, say): the spool then sleeps in fixed steps.
 * Owned by the caller (spool_wake_close).
 */
struct spool_wake *spool_wake_open(const char *spool_path);

/* Unmap and close; NULL is a no-op. */
void spool_wake_close(struct spool_wake *w);

/* The counter now: read it before trying the lock. */
uint32_t spool_wake_count(const struct spool_wake *w);

/* Sleep until the counter differs from seen, or max_us pass. */
void spool_wake_wait(struct spool_wake *w, uint32_t seen, int64_t max_us);

/* A write transaction ended (committed, rolled back or checkpointed):
 * bump the counter and wake whoever waits. */
void spool_wake_released(struct spool_wake *w);

/* Hold the set-up lock (flock, polled for at most timeout_ms); 0 or -1. */
int spool_wake_setup_lock(struct spool_wake *w, int timeout_ms);
void spool_wake_setup_unlock(struct spool_wake *w);

#endif
