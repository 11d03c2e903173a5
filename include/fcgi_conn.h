/*
 * One FastCGI request through libfcgi, for the serving loop's workers
 * (fcgi_loop.c): the only code that touches FCGX_Request.
 */
#ifndef FORMRELAY_FCGI_CONN_H
#define FORMRELAY_FCGI_CONN_H

#include "request.h"

struct fcgi_conn;

/* A request to accept into on listen_fd (non-blocking); NULL when out
 * of memory.  The caller's until fcgi_conn_serve defers it. */
struct fcgi_conn *fcgi_conn_new(int listen_fd);

/*
 * Accept the next request into c: from a connection the server keeps
 * open (FCGI_KEEP_CONN) if there is one, else from the listening
 * socket.  0, or -errno as FCGX_Accept_r returns it (-EAGAIN: nothing
 * to accept; below -9000: libfcgi's own failure, without errno).
 */
int fcgi_conn_accept(struct fcgi_conn *c);

/*
 * Answer the accepted request with app.  A stored submission is handed
 * to the spool writer, which answers it once committed and frees it:
 * *cp is then NULL.  Otherwise *cp is ready for the next accept.
 */
void fcgi_conn_serve(struct app *app, struct fcgi_conn **cp);

/* Release c (NULL is fine), closing a connection still open. */
void fcgi_conn_free(struct fcgi_conn *c);

#endif
