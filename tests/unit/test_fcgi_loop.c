/*
 * What src/fcgi_loop.c and src/fcgi_conn.c rely on in libfcgi, checked
 * against the libfcgi they are built with, so that an upgrade that
 * changes any of it fails here, loudly, rather than in production:
 *   - FCGX_Accept_r on a non-blocking listening socket with nothing to
 *     accept returns -EAGAIN (the workers then wait in epoll);
 *   - FCGX_Request.keepConnection, a field fcgiapp.h marks internal and
 *     fcgi_conn.c reads (never writes), is 1 exactly when the server
 *     sent FCGI_KEEP_CONN, and libfcgi keeps the connection open after
 *     FCGX_Finish_r by it;
 *   - FCGX_Accept_r reads the next request from a kept connection.
 * The server side is a real FastCGI exchange on an AF_UNIX socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fastcgi.h>
#include <fcgiapp.h>

#include "tap.h"
#include "tmpdir.h"

static void
header(unsigned char *h, int type, size_t len)
{
	h[0] = FCGI_VERSION_1;
	h[1] = (unsigned char)type;
	h[2] = 0;
	h[3] = 1; /* request id 1 */
	h[4] = (unsigned char)(len >> 8);
	h[5] = (unsigned char)len;
	h[6] = 0; /* no padding */
	h[7] = 0;
}

/* BEGIN_REQUEST (responder, flags), one parameter, empty STDIN. */
static int
send_request(int fd, int flags)
{
	static const char param[] = "\x0e\x04REQUEST_METHODPOST";
	unsigned char buf[128], *p = buf;

	header(p, FCGI_BEGIN_REQUEST, 8);
	memset(p + 8, 0, 8);
	p[9] = FCGI_RESPONDER;
	p[10] = (unsigned char)flags;
	p += 16;
	header(p, FCGI_PARAMS, sizeof(param) - 1);
	memcpy(p + 8, param, sizeof(param) - 1);
	p += 8 + sizeof(param) - 1;
	header(p, FCGI_PARAMS, 0);
	p += 8;
	header(p, FCGI_STDIN, 0);
	p += 8;
	return write(fd, buf, (size_t)(p - buf)) == p - buf ? 0 : -1;
}

/* Read records until FCGI_END_REQUEST; 0 when it came. */
static int
read_to_end(int fd)
{
	unsigned char h[8], body[65536 + 256];
	size_t len, got;
	ssize_t n;

	for (;;) {
		for (got = 0; got < 8; got += (size_t)n)
			if ((n = read(fd, h + got, 8 - got)) <= 0)
				return -1;
		len = ((size_t)h[4] << 8 | h[5]) + h[6];
		for (got = 0; got < len; got += (size_t)n)
			if ((n = read(fd, body + got, len - got)) <= 0)
				return -1;
		if (h[1] == FCGI_END_REQUEST)
			return 0;
	}
}

/* 1 when the peer closed fd's connection, 0 when it is open and quiet. */
static int
peer_closed(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

	return n == 0 ? 1 : (n < 0 && errno == EAGAIN) ? 0 : -1;
}

static int
listen_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (fd < 0 ||
	    (size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >=
	            sizeof(sa.sun_path) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 8) != 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)
		return -1;
	return fd;
}

static int
connect_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (fd < 0 ||
	    (size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >=
	            sizeof(sa.sun_path) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -1;
	return fd;
}

static void
answer(FCGX_Request *rq)
{
	FCGX_PutS("Status: 204 No Content\r\n\r\n", rq->out);
	FCGX_Finish_r(rq);
}

static void
test_keep_conn(int lfd, const char *path)
{
	FCGX_Request rq;
	int cfd;

	FCGX_InitRequest(&rq, lfd, 0);
	is_int(FCGX_Accept_r(&rq), -EAGAIN,
	       "nothing to accept on a non-blocking socket: -EAGAIN");
	cfd = connect_unix(path);
	ok(cfd >= 0 && send_request(cfd, FCGI_KEEP_CONN) == 0,
	   "a request with FCGI_KEEP_CONN sent");
	is_int(FCGX_Accept_r(&rq), 0, "accepted");
	is_int(rq.keepConnection, 1, "keepConnection is 1: FCGI_KEEP_CONN");
	is_str(FCGX_GetParam("REQUEST_METHOD", rq.envp), "POST",
	       "its parameters read");
	answer(&rq);
	is_int(read_to_end(cfd), 0, "answered to FCGI_END_REQUEST");
	is_int(peer_closed(cfd), 0, "and the connection kept open");

	ok(send_request(cfd, 0) == 0, "a second request on that connection, "
	                              "without FCGI_KEEP_CONN");
	is_int(FCGX_Accept_r(&rq), 0, "read from the kept connection");
	is_int(rq.keepConnection, 0, "keepConnection is 0: no FCGI_KEEP_CONN");
	answer(&rq);
	is_int(read_to_end(cfd), 0, "answered");
	is_int(peer_closed(cfd), 1, "and the connection closed");
	close(cfd);
	is_int(FCGX_Accept_r(&rq), -EAGAIN, "nothing left to accept");
	FCGX_Free(&rq, 1);
}

int
main(void)
{
	char dir[4096], path[4200];
	int lfd;

	if (tmpdir_make(dir, sizeof(dir), "test_fcgi_loop") != 0) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/sock", dir);
	if (!ok(FCGX_Init() == 0, "libfcgi initialised") ||
	    !ok((lfd = listen_unix(path)) >= 0, "a non-blocking listener")) {
		tmpdir_remove(dir);
		return done_testing();
	}
	test_keep_conn(lfd, path);
	close(lfd);
	tmpdir_remove(dir);
	return done_testing();
}
