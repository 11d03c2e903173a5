/*
 * Spool administration from the shell (SPEC, "How it runs"), for
 * operators and for scripts, cron jobs and monitoring:
 *
 *   formrelay [-c FILE] status          counts by state, oldest pending age,
 *                                       delivery pause and last error
 *   formrelay [-c FILE] dead [--limit N] dead letters: id, messageId, age,
 *                                       HTTP status, attempts, reason
 *   formrelay [-c FILE] requeue ID|all  dead letters back to pending, with a
 *                                       fresh max_age
 *   formrelay [-c FILE] purge ID|all    delete dead letters
 *   formrelay [-c FILE] flush           deliver until nothing is due now
 *                                       (CGI deployments: cron, timers)
 *   formrelay [-c FILE] migrate         create or migrate the spool's
 *                                       schema and say its version (every
 *                                       process also does on opening)
 *   formrelay [-c FILE] list [--limit N] dry_run's previews, newest first
 *   formrelay [-c FILE] show ID|MSGID   the /v1/batch body that carries
 *                                       this call (a preview or queued)
 *
 * Every command takes --json (anywhere after the command name) for one
 * line of JSON on stdout instead of text.  See docs/admin.md.
 *
 * Exit codes (ADMIN_EXIT_*):
 *   0  done
 *   1  error: the spool cannot be opened or written, or ID is not a dead
 *      letter; one line "formrelay: <command>: <why>" on stderr
 *   2  usage: unknown command, option or argument
 *   3  status: dead letters exist (everything else may be fine);
 *      flush: events were dead-lettered during this run
 *   4  flush: not everything due was delivered: events were put back for
 *      a later retry, or delivery is paused after a 401/403 (4 wins
 *      over 3 when both apply)
 *   5  status: delivery is paused, and status says why: "no API key
 *      configured" (dry_run = no without a key) or "Customer.io refused
 *      the API key" (after a 401/403); 5 wins over 3
 */
#ifndef FORMRELAY_ADMIN_H
#define FORMRELAY_ADMIN_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"

#define ADMIN_EXIT_OK         0
#define ADMIN_EXIT_ERROR      1
#define ADMIN_EXIT_USAGE      2
#define ADMIN_EXIT_DEAD       3
#define ADMIN_EXIT_INCOMPLETE 4
#define ADMIN_EXIT_PAUSED     5

/* 1 when name is one of the commands above. */
int admin_is_command(const char *name);

/*
 * Run the command argv[0] with its arguments argv[1..argc) against the
 * spool of cfg, writing to stdout and stderr.  Returns an exit code.
 */
int admin_main(const struct config *cfg, int argc, char **argv);

/* admin_main with its streams and clock given (for tests). */
int admin_run(const struct config *cfg, int argc, char **argv, FILE *out,
              FILE *errs, int64_t now);

#endif
