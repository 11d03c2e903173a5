/*
 * One FastCGI request through libfcgi (see fcgi_conn.h): the http_io
 * callbacks over libfcgi's streams, and how a request ends, here or on
 * the spool writer's thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#include "fcgi_conn.h"

static long
fcgx_read(void *ctx, char *buf, size_t len)
{
	FCGX_Request *rq = ctx;
	int n = FCGX_GetStr(buf, len > 65536 ? 65536 : (int)len, rq->in);

	return n < 0 ? -1 : n;
}

static int
fcgx_write(void *ctx, const char *buf, size_t len)
{
	FCGX_Request *rq = ctx;

	return FCGX_PutStr(buf, (int)len, rq->out) == (int)len ? 0 : -1;
}

/*
 * FCGX_GetParam's search, with the first byte compared before the rest:
 * a submission looks up ~20 names among the ~30 lighttpd sends, and
 * FCGX_GetParam's strncmp on every pair was 2 % of our CPU under load.
 */
static const char *
fcgx_getenv(void *ctx, const char *name)
{
	FCGX_Request *rq = ctx;
	size_t len = strlen(name);
	char **p;

	if (rq->envp == NULL || len == 0)
		return NULL;
	for (p = rq->envp; *p != NULL; p++)
		if ((*p)[0] == name[0] && strncmp(*p, name, len) == 0 &&
		    (*p)[len] == '=')
			return *p + len + 1;
	return NULL;
}

/*
 * libfcgi closes a connection the careful way: shutdown, then poll and
 * read until the server closes its end, so that unread input cannot
 * make the kernel reset the connection before the server has read the
 * reply.  When the whole input has been read there is nothing to reset:
 * a plain close spares three system calls and a wait on the server per
 * request.  (FCGX_Detach only marks the request for that plain close.)
 */
static void
close_fast_when_read(FCGX_Request *rq)
{
	if (rq->in != NULL && FCGX_HasSeenEOF(rq->in) == EOF)
		FCGX_Detach(rq);
}

struct fcgi_conn {
	FCGX_Request rq; /* first: the io callbacks' ctx is either */
	struct http_io io;
};

/* The end of a request: the reply goes out, the connection closes. */
static void
conn_end(struct fcgi_conn *c)
{
	close_fast_when_read(&c->rq);
	FCGX_Finish_r(&c->rq);
}

/* The end of a deferred request, from the spool writer's thread. */
static void
conn_finish(void *ctx)
{
	conn_end(ctx);
	free(ctx);
}

/*
 * The server asked to keep the connection for its next request (nginx's
 * fastcgi_keep_conn, FCGI_KEEP_CONN).  libfcgi then leaves the socket
 * open after FCGX_Finish_r for FCGX_Accept_r to read the next request
 * from: only the thread that serves the connection can do that, so such
 * a request is not handed to the spool writer (this thread waits for its
 * commit, as CGI does).  libfcgi has no call for the flag it parsed from
 * FCGI_BEGIN_REQUEST, so this reads (never writes) the field fcgiapp.h
 * marks internal; tests/unit/test_fcgi_loop checks that libfcgi still
 * sets it as the server asked and keeps the connection by it.
 */
static int
conn_keeps_open(const FCGX_Request *rq)
{
	return rq->keepConnection;
}

struct fcgi_conn *
fcgi_conn_new(int listen_fd)
{
	struct fcgi_conn *c = malloc(sizeof(*c));

	if (c == NULL || FCGX_InitRequest(&c->rq, listen_fd, 0)) {
		free(c);
		return NULL;
	}
	/* finish: set for each request accepted (conn_keeps_open) */
	c->io = (struct http_io){fcgx_read, fcgx_write, fcgx_getenv, c, NULL};
	return c;
}

int
fcgi_conn_accept(struct fcgi_conn *c)
{
	return FCGX_Accept_r(&c->rq);
}

void
fcgi_conn_serve(struct app *app, struct fcgi_conn **cp)
{
	struct fcgi_conn *c = *cp;

	c->io.finish = conn_keeps_open(&c->rq) ? NULL : conn_finish;
	/* A stored submission is answered by the spool writer once
	 * committed: this thread accepts the next request meanwhile. */
	if (request_handle(app, &c->io) == REQUEST_DEFERRED) {
		*cp = NULL;
		return;
	}
	conn_end(c);
}

void
fcgi_conn_free(struct fcgi_conn *c)
{
	if (c == NULL)
		return;
	FCGX_Free(&c->rq, 1);
	free(c);
}
