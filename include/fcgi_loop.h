/*
 * The serving loops: FastCGI (inherited socket on fd 0, a systemd socket,
 * or one opened with --listen) with several acceptor threads and one
 * delivery thread, and plain CGI (one request on stdin/stdout).
 */
#ifndef FORMRELAY_FCGI_LOOP_H
#define FORMRELAY_FCGI_LOOP_H

#include "config.h"

struct serve_options {
	const char *listen; /* "127.0.0.1:9000", ":9000" or a socket path */
	int threads;        /* acceptor threads per process (>= 1) */
};

/* 1 when started as a CGI program: stdin is not a listening socket and
 * systemd passed none (LISTEN_FDS). */
int serve_is_cgi(void);

/*
 * Serve FastCGI until SIGTERM/SIGINT: each request in hand is finished,
 * the delivery thread stops after its batch and releases its claims.
 * Returns 0, or 1 after printing "formrelay: what: why" to stderr.
 */
int serve_fastcgi(const struct config *cfg, const struct serve_options *opt);

/* Answer the one CGI request in the environment.  0 or 1. */
int serve_cgi(const struct config *cfg);

#endif
