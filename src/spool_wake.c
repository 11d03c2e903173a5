/* Waking writers of one spool across processes (see spool_wake.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "spool_wake.h"

#define WAKE_FILE_SIZE 4096
#define SETUP_POLL_US  1000

/* The shared page.  Both words are only touched with atomics. */
struct wake_page {
	uint32_t count;   /* bumped at every end of a write transaction */
	uint32_t waiters; /* writers asleep on count (a hint: may overcount
	                     after a waiter died; then wakes are spent) */
};

struct spool_wake {
	int fd;
	struct wake_page *page;
};

struct spool_wake *
spool_wake_open(const char *spool_path)
{
	char path[4200];
	struct spool_wake *w;
	struct stat st;
	void *map;
	int fd;

	if (snprintf(path, sizeof(path), "%s.wake", spool_path) >=
	    (int)sizeof(path))
		return NULL;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return NULL;
	/* Allocated, not just sized: a store into a hole of a mapped file
	 * on a full disk is SIGBUS.  Idempotent, so racing openers agree. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    posix_fallocate(fd, 0, WAKE_FILE_SIZE) != 0)
		goto fail;
	map = mmap(NULL, WAKE_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	           0);
	if (map == MAP_FAILED)
		goto fail;
	w = malloc(sizeof(*w));
	if (w == NULL) {
		munmap(map, WAKE_FILE_SIZE);
		goto fail;
	}
	w->fd = fd;
	w->page = map;
	return w;
fail:
	close(fd);
	return NULL;
}

void
spool_wake_close(struct spool_wake *w)
{
	if (w == NULL)
		return;
	munmap(w->page, WAKE_FILE_SIZE);
	close(w->fd);
	free(w);
}

uint32_t
spool_wake_count(const struct spool_wake *w)
{
	return __atomic_load_n(&w->page->count, __ATOMIC_SEQ_CST);
}

/*
 * futex(2) FUTEX_WAIT returns at once when count is no longer seen, so a
 * bump between the caller's look and this sleep is never missed.  Not
 * FUTEX_PRIVATE: the word is shared between processes (a MAP_SHARED
 * file mapping).
 */
void
spool_wake_wait(struct spool_wake *w, uint32_t seen, int64_t max_us)
{
	struct timespec ts;

	if (max_us <= 0)
		return;
	ts.tv_sec = (time_t)(max_us / 1000000);
	ts.tv_nsec = (long)(max_us % 1000000) * 1000;
	__atomic_add_fetch(&w->page->waiters, 1, __ATOMIC_SEQ_CST);
	(void)syscall(SYS_futex, &w->page->count, FUTEX_WAIT, seen, &ts, NULL,
	              0);
	__atomic_sub_fetch(&w->page->waiters, 1, __ATOMIC_SEQ_CST);
}

/* Bump, then wake only when someone sleeps: a waiter counts itself
 * before it sleeps, so either it sees the new count or we see it. */
void
spool_wake_released(struct spool_wake *w)
{
	__atomic_add_fetch(&w->page->count, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&w->page->waiters, __ATOMIC_SEQ_CST) > 0)
		(void)syscall(SYS_futex, &w->page->count, FUTEX_WAKE, INT_MAX,
		              NULL, NULL, 0);
}

int
spool_wake_setup_lock(struct spool_wake *w, int timeout_ms)
{
	struct timespec pause = {0, SETUP_POLL_US * 1000};
	int64_t waited_us = 0;

	while (flock(w->fd, LOCK_EX | LOCK_NB) != 0) {
		if ((errno != EWOULDBLOCK && errno != EINTR) ||
		    waited_us >= (int64_t)timeout_ms * 1000)
			return -1;
		nanosleep(&pause, NULL);
		waited_us += SETUP_POLL_US;
	}
	return 0;
}

void
spool_wake_setup_unlock(struct spool_wake *w)
{
	(void)flock(w->fd, LOCK_UN);
}
