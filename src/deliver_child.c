/* Starting and stopping formrelay-deliver (see deliver_child.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "deliver_child.h"
#include "util.h"

extern char **environ;

#define DELIVER_NAME "formrelay-deliver"

int
deliver_binary(char *buf, size_t size)
{
	const char *env = getenv("FORMRELAY_DELIVER_BIN");
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env != NULL && *env != '\0')
		return strlcopy(buf, env, size) < size ? 0 : -1;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			slash[1] = '\0';
			if ((size_t)snprintf(buf, size, "%s%s", self,
			                     DELIVER_NAME) < size &&
			    access(buf, X_OK) == 0)
				return 0;
		}
	}
	return (size_t)snprintf(buf, size, "%s/%s", SBINDIR, DELIVER_NAME) <
	                       size
	               ? 0
	               : -1;
}

/*
 * posix_spawn: safe from a multi-threaded process, unlike fork + work.
 * The child gets /dev/null on fd 0 (never the FastCGI socket there, nor
 * close_fd) and fd_in, when given, as fd 3.
 */
static pid_t
spawn(const char *const *args, int fd_in, int close_fd, int out_fd, int err_fd)
{
	posix_spawn_file_actions_t fa;
	char path[PATH_MAX];
	pid_t pid = -1;
	int rc;

	if (deliver_binary(path, sizeof(path)) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (close_fd > 2 && close_fd != 3)
		posix_spawn_file_actions_addclose(&fa, close_fd);
	if (fd_in >= 0)
		posix_spawn_file_actions_adddup2(&fa, fd_in, 3);
	if (out_fd >= 0 && out_fd != 1)
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	if (err_fd >= 0 && err_fd != 2)
		posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	rc = posix_spawn(&pid, path, &fa, NULL, (char *const *)args, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		log_msg(LOG_ERROR, "cannot run %s: %s", path, strerror(rc));
		return -1;
	}
	return pid;
}

int
deliver_run(const char *const *args, int out_fd, int err_fd)
{
	pid_t pid = spawn(args, -1, -1, out_fd, err_fd);
	int status;

	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The pipe's read end must not already be fd 3: dup2(3, 3) would leave
 * its close-on-exec flag set. */
static int
wake_pipe(int fds[2])
{
	int moved;

	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	if (fds[0] == 3) {
		moved = fcntl(fds[0], F_DUPFD_CLOEXEC, 10);
		close(fds[0]);
		if (moved < 0) {
			close(fds[1]);
			return -1;
		}
		fds[0] = moved;
	}
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	return 0;
}

/*
 * Other threads write to c->wake_fd at any time, so its number never
 * becomes free while we run: a new pipe replaces the old one in place
 * (dup3 swaps atomically) instead of close-then-assign, which could let
 * a wake-up land in whatever file reused the number.
 */
static void
wake_fd_install(struct deliver_child *c, int fd)
{
	int old = __atomic_load_n(&c->wake_fd, __ATOMIC_ACQUIRE);

	if (old >= 0 && dup3(fd, old, O_CLOEXEC) == old) {
		close(fd);
		return;
	}
	__atomic_store_n(&c->wake_fd, fd, __ATOMIC_RELEASE);
	if (old >= 0)
		close(old);
}

/* How long after a start attempt the next may come (ms). */
static long long
restart_delay_ms(const struct deliver_child *c)
{
	int shift = c->failures < 6 ? c->failures : 6;

	return (1000LL << shift) < 60000 ? 1000LL << shift : 60000;
}

/* A start that failed: counted, so that the next waits longer (a
 * process out of descriptors would otherwise log twice a second). */
static int
start_failed(struct deliver_child *c)
{
	c->failures++;
	log_msg(LOG_ERROR,
	        "delivery process not started (attempt %d); next attempt in "
	        "%lld s",
	        c->failures, restart_delay_ms(c) / 1000);
	return -1;
}

int
deliver_child_start(struct deliver_child *c)
{
	const char *args[8] = {"formrelay-deliver", "--wake-fd", "3"};
	int fds[2], n = 3;

	if (c->handed_token != NULL) {
		args[n++] = "--take-handed";
		args[n++] = c->handed_token;
	}
	if (c->config != NULL) {
		args[n++] = "-c";
		args[n++] = c->config;
	}
	args[n] = NULL;
	c->started_ms = mono_ms();
	if (wake_pipe(fds) != 0) {
		log_msg(LOG_ERROR, "delivery: cannot make a pipe: %s",
		        strerror(errno));
		return start_failed(c);
	}
	c->pid = spawn(args, fds[0], c->listen_fd, -1, -1);
	close(fds[0]);
	if (c->pid < 0) {
		c->pid = 0;
		close(fds[1]);
		return start_failed(c);
	}
	wake_fd_install(c, fds[1]);
	if (c->failures > 0)
		log_msg(LOG_INFO,
		        "delivery process started after %d failed attempts",
		        c->failures);
	c->failures = 0;
	return 0;
}

void
deliver_child_wake(const struct deliver_child *c)
{
	int fd =
	        c != NULL ? __atomic_load_n(&c->wake_fd, __ATOMIC_ACQUIRE) : -1;
	ssize_t r;

	if (fd < 0)
		return;
	/* A full pipe already holds a wake-up: EAGAIN is fine. */
	r = write(fd, "", 1);
	(void)r;
}

void
deliver_child_check(struct deliver_child *c)
{
	int status;

	if (c->pid > 0 && waitpid(c->pid, &status, WNOHANG) == c->pid) {
		log_msg(LOG_ERROR,
		        "delivery process %ld ended (%s %d); "
		        "starting it again",
		        (long)c->pid, WIFSIGNALED(status) ? "signal" : "exit",
		        WIFSIGNALED(status) ? WTERMSIG(status)
		                            : WEXITSTATUS(status));
		c->pid = 0;
	}
	if (c->pid == 0 && mono_ms() - c->started_ms >= restart_delay_ms(c))
		deliver_child_start(c);
}

void
deliver_child_stop(struct deliver_child *c)
{
	int status;

	if (c->pid > 0) {
		kill(c->pid, SIGTERM);
		while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	c->pid = 0;
	c->wake_fd = -1;
}

/* The detached process: its descriptors, its deadline, its turn; then
 * formrelay-deliver.  Never returns. */
static void __attribute__((noreturn))
detached_exec(const char *config, const char *lock_path, unsigned seconds)
{
	const char *args[] = {DELIVER_NAME, "--flush", "-c", config, NULL};
	char path[PATH_MAX];
	int null = open("/dev/null", O_RDWR), lock, fd;

	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
	    dup2(null, 2) < 0)
		_exit(1);
	for (fd = 3; fd < 1024; fd++)
		close(fd); /* the server's pipes and sockets, our spool */
	alarm(seconds);    /* kept across execve */
	lock = open(lock_path, O_RDWR | O_CREAT | O_NOCTTY, 0600);
	if (lock >= 0)
		while (flock(lock, LOCK_EX) != 0 && errno == EINTR)
			;
	if (deliver_binary(path, sizeof(path)) != 0)
		_exit(1);
	execv(path, (char *const *)args);
	_exit(1);
}

int
deliver_detached_flush(const char *config, const char *lock_path,
                       unsigned seconds)
{
	pid_t pid;
	int status;

	if (config == NULL || lock_path == NULL)
		return -1;
	pid = fork();
	if (pid < 0) {
		log_msg(LOG_ERROR, "cannot start delivery: fork: %s",
		        strerror(errno));
		return -1;
	}
	if (pid == 0) {
		signal(SIGHUP, SIG_IGN);
		if (setsid() < 0 || (pid = fork()) < 0)
			_exit(1);
		if (pid > 0)
			_exit(0);
		detached_exec(config, lock_path, seconds);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
