/*
 * Preflight: the mistakes that a configuration can parse through but
 * that stop formrelay from doing its job, found before serving
 * (--check-config, start-up of every program):
 *
 *   - dry_run = no without an API key (none configured, or an empty
 *     api_key): nothing could be delivered;
 *   - with a SQLite spool, a directory that is missing, not a directory,
 *     on a read-only file system, or not writable by the user formrelay
 *     serves as (a spool file there that this user cannot read and
 *     write, too).
 *
 * Each problem is one line "file:line: reason" (the line of the key
 * concerned; "file: reason" when the key is not in the file), naming the
 * user for the spool's problems.
 */
#ifndef FORMRELAY_PREFLIGHT_H
#define FORMRELAY_PREFLIGHT_H

#include "config.h"

#define PREFLIGHT_NO_KEY 1 /* dry_run = no without a key */
#define PREFLIGHT_SPOOL  2 /* the spool's directory or file */

/*
 * Delivery without a key (dry_run = no) sends nothing and sets the
 * shared spool state PREFLIGHT_STATE_NO_KEY (when, in ms); a deliverer
 * with a key clears it.  While it is set, status and /healthz report
 * delivery as paused for PREFLIGHT_NO_KEY_REASON.  Unlike a 401's pause
 * it holds back no other deliverer.
 */
#define PREFLIGHT_STATE_NO_KEY  "no_key_since"
#define PREFLIGHT_NO_KEY_REASON "no API key configured"

/*
 * Check cfg for the user named user (NULL: the effective user of this
 * process, where the kernel's own access check decides).  Every problem
 * found is appended to *out (owned by the caller, one a line).  Returns
 * the PREFLIGHT_* bits of the problems found (0: ready) or FR_ENOMEM.
 */
int preflight_check(const struct config *cfg, const char *user, char **out);

/* Only the key check: 1 when dry_run = no and no key is configured. */
int preflight_no_key(const struct config *cfg);

#endif
