/*
 * An LD_PRELOAD shim for the fsync fault tests (tests/integration/
 * test_fsync.py): fsync(2) and fdatasync(2) fail with EIO, on demand.
 *
 *   FAILSYNC_FILE   while this file exists, calls fail (unset: never)
 *   FAILSYNC_MATCH  ... only for descriptors whose path contains this
 *                   (e.g. "-wal"; unset: every descriptor)
 *   FAILSYNC_PROG   ... only in processes of this name (e.g.
 *                   "formrelay-deliver"; unset: every process)
 *   FAILSYNC_LOG    each failure appends "pid path" here
 *
 * Without a failure the real call runs (through syscall(2), so no
 * symbol lookup is needed).  Test code only: not installed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int fsync(int fd);
int fdatasync(int fd);

/* The path of fd into buf ("" when unknown). */
static void
fd_path(int fd, char *buf, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
}

static void
note_failure(const char *path)
{
	const char *log = getenv("FAILSYNC_LOG");
	char line[4200];
	int fd, len;

	if (log == NULL)
		return;
	len = snprintf(line, sizeof(line), "%ld %s\n", (long)getpid(), path);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (len > 0 && (size_t)len < sizeof(line))
		(void)!write(fd, line, (size_t)len);
	close(fd);
}

/* 1 when this call must fail. */
static int
should_fail(int fd)
{
	const char *ctl = getenv("FAILSYNC_FILE");
	const char *match = getenv("FAILSYNC_MATCH");
	const char *prog = getenv("FAILSYNC_PROG");
	char path[4096];

	if (ctl == NULL || access(ctl, F_OK) != 0)
		return 0;
	if (prog != NULL && strcmp(prog, program_invocation_short_name) != 0)
		return 0;
	fd_path(fd, path, sizeof(path));
	if (match != NULL && strstr(path, match) == NULL)
		return 0;
	note_failure(path);
	return 1;
}

int
fsync(int fd)
{
	if (should_fail(fd)) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fsync, fd);
}

int
fdatasync(int fd)
{
	if (should_fail(fd)) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fdatasync, fd);
}
