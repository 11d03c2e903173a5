/*
 * The PostgreSQL spool (SPEC "PostgreSQL spool"): the calls of
 * include/spool.h on a database that the formrelay of several hosts
 * share.  What differs from SQLite:
 *
 *  - Durability: an append returns once its COMMIT returned with
 *    synchronous_commit on (a session found at off or local is set to
 *    on; remote_write and remote_apply are kept), so a 2xx means the
 *    row is on the server's disk, and on a synchronous standby's when
 *    synchronous_standby_names is set.  The delivery handle's bookkeeping
 *    commits with synchronous_commit off (as SQLite's NORMAL: a crash may
 *    undo the last acks, which delivers an event twice, never loses one).
 *  - Claims: UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED) RETURNING,
 *    one statement, so deliverers on every host share the due rows
 *    without waiting for each other; leases and tokens as spool.h says.
 *  - No hand-off: spool_hand_appends and spool_take_handed are accepted
 *    and change nothing (every append is pending at once, for anyone).
 *  - Waking: every INSERT into events NOTIFYs formrelay_events (a
 *    statement trigger), delivered after the commit; a delivery handle
 *    LISTENs, and spool_wake_fd is its connection's socket.
 *  - A lost connection: the call fails (FR_ESTORE, "database
 *    unreachable: …", so a submission gets a 503, never a 2xx for a row
 *    whose COMMIT did not return), and the next call reconnects, at most
 *    once per back-off (100 ms doubling to 5 s) meanwhile.  libpq picks
 *    the host: with several in the URL and target_session_attrs=
 *    read-write, the one that takes writes.
 *  - spool_set_max_size does nothing (the database's space is the
 *    DBA's); spool_last_sync_us is the last COMMIT's round trip.
 *
 * The schema (src/spool_pg_schema.c) is created and migrated at open, or
 * by spool_pg_migrate (formrelay migrate), under an advisory lock so
 * that hosts starting at once migrate once; a database whose schema is
 * newer than this build is refused.
 *
 * The backend is a module, formrelay-pg.so (src/spool_pg*.c, linked with
 * libpq), loaded by the first spool_pg_open (src/spool_pg_load.c): libpq
 * brings OpenSSL, GnuTLS, Kerberos and LDAP, about 4.5 MB resident in
 * every FastCGI process, which a SQLite spool never needs.  It is looked
 * for beside the running program (a build tree) and then in PKGLIBDIR.
 */
#ifndef FORMRELAY_SPOOL_PG_H
#define FORMRELAY_SPOOL_PG_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "spool.h"

/* The schema version this build writes (table formrelay_schema). */
#define SPOOL_PG_SCHEMA_VERSION 2
/* The channel every append NOTIFYs. */
#define SPOOL_PG_CHANNEL "formrelay_events"
/* Reconnection back-off after a lost connection (ms). */
#define SPOOL_PG_BACKOFF_MIN_MS 100
#define SPOOL_PG_BACKOFF_MAX_MS 5000

/*
 * Connect to url (libpq's URI or key=value string), with the password
 * read from password_file when not NULL (its first line; else libpq's
 * PGPASSFILE or ~/.pgpass, or the URL's), and bring the schema to
 * SPOOL_PG_SCHEMA_VERSION.  *out owned by the caller (spool_close).
 * FR_OK or FR_ESTORE with err saying what is wrong (never the password).
 */
int spool_pg_open(const char *url, const char *password_file,
                  struct spool **out, struct fr_error *err);

/*
 * The schema version of the database (0: none yet) into *version, and
 * migrate it when migrate is set: formrelay migrate.  FR_OK or
 * FR_ESTORE.
 */
int spool_pg_migrate(struct spool *sp, int migrate, int *version,
                     struct fr_error *err);

/* url with any password in it replaced by "***", into buf. */
void spool_pg_url_masked(const char *url, char *buf, size_t size);

/* ---- the module's side ---- */

/* The module's file name, and its one exported symbol. */
#define SPOOL_PG_MODULE "formrelay-pg.so"
#define SPOOL_PG_ENTRY  "spool_pg_entry"

/*
 * What the module hands the program.  version and the sizes let a module
 * of another build be refused rather than trusted with struct spool.
 */
struct spool_pg_entry {
	const char *version; /* PACKAGE_VERSION */
	size_t spool_size;   /* sizeof(struct spool) */
	size_t ops_size;     /* sizeof(struct spool_ops) */
	int (*open)(const char *url, const char *password_file,
	            struct spool **out, struct fr_error *err);
	int (*migrate)(struct spool *sp, int migrate, int *version,
	               struct fr_error *err);
};

#endif
