/*
 * The floor: the least a FastCGI responder can do per form post.  It
 * accepts a request, reads the whole body (as any real handler must),
 * and answers 202 with a tiny JSON body, so the benchmark measures
 * lighttpd + mod_fastcgi + libfcgi and nothing else.  formrelay's
 * figures are reported as a fraction of this one's.
 *
 * Run by lighttpd through "bin-path": the listening socket is fd 0,
 * where libfcgi looks for it (FastCGI spec, 3.2).  One thread, one
 * request at a time, like a classic FCGI_Accept responder.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

/* Read and discard the body; returns the bytes read. */
static long
drain_body(FCGX_Request *req)
{
	char buf[16384];
	long total = 0;
	int n;

	while ((n = FCGX_GetStr(buf, (int)sizeof(buf), req->in)) > 0)
		total += n;
	return total;
}

static void
answer(FCGX_Request *req, long body_len)
{
	/* CGI response (RFC 3875, 6.3.3): "Status" sets the HTTP status. */
	FCGX_FPrintF(req->out,
	             "Status: 202 Accepted\r\n"
	             "Content-Type: application/json\r\n"
	             "\r\n"
	             "{\"ok\":true,\"bytes\":%ld}\n",
	             body_len);
}

int
main(void)
{
	FCGX_Request req;

	/* A client that goes away mid-reply must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0) {
		fputs("floor: FCGX_Init failed\n", stderr);
		return 1;
	}
	if (FCGX_InitRequest(&req, 0, 0) != 0) {
		fputs("floor: FCGX_InitRequest failed\n", stderr);
		return 1;
	}
	while (FCGX_Accept_r(&req) >= 0) {
		answer(&req, drain_body(&req));
		FCGX_Finish_r(&req);
	}
	return 0;
}
