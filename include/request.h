/*
 * One HTTP request from the web server, start to finish: route it,
 * check it, parse, normalise, store, reply and log.  Independent of how
 * the request arrived (FastCGI or CGI): all I/O goes through http_io.
 */
#ifndef FORMRELAY_REQUEST_H
#define FORMRELAY_REQUEST_H

#include "config.h"
#include "parse.h"
#include "reply.h"

struct domain_list;
struct ingest;
struct ratelimit;

/* What a worker thread brings to each request; it owns none of it. */
struct app {
	const struct config *cfg;
	struct ingest *ingest;          /* the process's spool writer */
	struct ratelimit *rl;           /* NULL when rate limiting is off */
	struct domain_list *disposable; /* NULL unless disposable_domains */
	struct parse_limits limits;
};

/* request_handle: the spool writer answers this request later. */
#define REQUEST_DEFERRED 1

/*
 * Handle one request.  Returns 0, or -1 when the reply could not be
 * written (the client went away); the error is logged either way.  With
 * io->finish set, a submission may instead be handed to the spool
 * writer: REQUEST_DEFERRED, and from then on the request is the
 * writer's, which replies, logs and calls io->finish(io->ctx) (perhaps
 * before request_handle has returned).  The caller must not touch it.
 */
int request_handle(struct app *app, const struct http_io *io);

#endif
