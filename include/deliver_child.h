/*
 * The delivery process beside a FastCGI process.  Delivery runs in its
 * own executable, formrelay-deliver, so that the request-serving process
 * never links libcurl and its TLS stack: that alone is several megabytes
 * resident per process (issue 7).  The FastCGI process starts it, writes
 * a byte to a pipe after each commit (the delivery thread reads the pipe
 * only while it waits for work), restarts it if it dies, and stops it
 * with SIGTERM; it stops by itself when the pipe closes.  The events the
 * FastCGI process stores are handed to it (spool_hand_appends): every
 * run of it gets the same token (--take-handed), so a restarted one
 * takes what its predecessor left.
 */
#ifndef FORMRELAY_DELIVER_CHILD_H
#define FORMRELAY_DELIVER_CHILD_H

#include <stddef.h>
#include <sys/types.h>

struct deliver_child {
	pid_t pid;          /* 0 when not running */
	int wake_fd;        /* write end of the wake pipe, -1 when none */
	int listen_fd;      /* the FastCGI socket, never given to the child */
	const char *config; /* the configuration file to pass, borrowed */
	const char *handed_token; /* spool_hand_appends' token, or NULL;
	                             borrowed */
	long long started_ms;     /* the last attempt to start it */
	int failures;             /* attempts in a row that failed */
};

/*
 * Where formrelay-deliver is: $FORMRELAY_DELIVER_BIN, else beside this
 * executable, else SBINDIR.  Writes the path into buf.  0 or -1.
 */
int deliver_binary(char *buf, size_t size);

/*
 * Start it (posix_spawn).  c->listen_fd and c->config must be set.  0, or
 * -1 with a log line naming the cause.
 */
int deliver_child_start(struct deliver_child *c);

/* Nudge it: events were committed.  Never blocks.  Safe from threads. */
void deliver_child_wake(const struct deliver_child *c);

/*
 * Reap it if it died and start it again: a second after the last
 * attempt, twice as long after each attempt that failed (descriptors or
 * processes run out), at most a minute; each failed attempt is logged
 * with when the next one comes.
 */
void deliver_child_check(struct deliver_child *c);

/* SIGTERM, then wait: it finishes its batch and releases its claims. */
void deliver_child_stop(struct deliver_child *c);

/*
 * Run formrelay-deliver with args (argv[0] is set here) and its stdout
 * and stderr on out_fd and err_fd; wait for it.  Returns its exit status,
 * or -1 when it could not be run.
 */
int deliver_run(const char *const *args, int out_fd, int err_fd);

/*
 * CGI: deliver what is due now, without delaying the reply or holding
 * the web server.  Starts `formrelay-deliver --flush -c config` in a
 * process of its own session (a double fork: nobody waits for it, and
 * Apache's clean-up of the CGI process does not reach it) with
 * /dev/null on stdin, stdout and stderr and no other descriptor of the
 * caller, so that the server's pipes see their end as soon as the CGI
 * process exits.  It is killed by SIGALRM after seconds (a claim's lease
 * brings back anything it held).  Detached flushes wait for each other
 * on an flock of lock_path (created 0600), so a burst of submissions
 * starts one delivery after another, not a crowd; each delivers all that
 * is due, so the one that comes after the last commit sends it.
 * Call only from a single-threaded process, after the reply has been
 * written and flushed.  Returns once the intermediate process is
 * reaped: 0, or -1 (logged) when it could not be started.
 */
int deliver_detached_flush(const char *config, const char *lock_path,
                           unsigned seconds);

#endif
