/*
 * Unit tests for ratelimit: budgets, windows, address grouping, sharing
 * between handles, threads and processes, damaged files, eviction.
 * Time is passed explicitly: no sleeps.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ratelimit.h"
#include "tap.h"

#define T0     1700000000000LL /* an arbitrary "now" in ms */
#define MINUTE 60000

static char dir[] = "/tmp/test_ratelimit.XXXXXX";
static char path[sizeof(dir) + 32];

static struct ratelimit *
open_rl(unsigned limit, int64_t window_ms)
{
	struct ratelimit *rl = NULL;
	struct fr_error err;

	if (ratelimit_open(path, limit, window_ms, &rl, &err) != FR_OK)
		printf("# ratelimit_open: %s\n", err.message);
	return rl;
}

/* Send n requests from addr at now; how many were allowed. */
static int
burst(struct ratelimit *rl, const char *addr, int64_t now, int n)
{
	int allowed = 0;

	while (n-- > 0)
		allowed += ratelimit_check(rl, addr, now, NULL) == FR_OK;
	return allowed;
}

static void
test_off_and_config(void)
{
	struct ratelimit *rl = (struct ratelimit *)&rl;
	struct fr_error err;
	int64_t retry = -1;

	is_int(ratelimit_open(path, 0, MINUTE, &rl, &err), FR_OK, "limit 0");
	ok(rl == NULL, "... gives no handle");
	ok(access(path, F_OK) != 0, "... and creates no file");
	is_int(ratelimit_check(NULL, "192.0.2.1", T0, &retry), FR_OK,
	       "NULL handle allows");
	is_int(retry, 0, "... with no retry");
	is_int(ratelimit_open(path, 5, 0, &rl, &err), FR_ECONFIG,
	       "zero window refused");
	ok(strstr(err.message, "window") != NULL, "... naming it: %s",
	   err.message);
	is_int(ratelimit_open(path, 5000, 1, &rl, &err), FR_ECONFIG,
	       "5000 per ms refused (under 1 us each)");
}

static void
test_budget_and_window(void)
{
	struct ratelimit *rl = open_rl(3, MINUTE);
	struct stat st;
	int64_t retry = 0;

	ok(rl != NULL, "open 3/min");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	   "file created 0600");
	is_int(burst(rl, "192.0.2.1", T0, 3), 3, "3 allowed at once");
	is_int(ratelimit_check(rl, "192.0.2.1", T0, &retry), FR_ERATELIMIT,
	       "4th limited");
	is_int(retry, 20000, "retry after 20 s (one request per 20 s)");
	is_int(ratelimit_retry_after_s(retry), 20, "Retry-After: 20");
	is_int(ratelimit_check(rl, "192.0.2.1", T0 + 19999, &retry),
	       FR_ERATELIMIT, "still limited 1 ms early");
	is_int(retry, 1, "... retry after 1 ms");
	is_int(ratelimit_retry_after_s(retry), 1, "... Retry-After: 1");
	is_int(ratelimit_check(rl, "192.0.2.1", T0 + 20000, &retry), FR_OK,
	       "allowed once 20 s have passed");
	is_int(retry, 0, "... retry cleared");
	is_int(burst(rl, "192.0.2.1", T0 + 20000, 1), 0, "... only one");
	is_int(burst(rl, "192.0.2.1", T0 + 80000, 4), 3,
	       "a full window later: the whole burst again");
	is_int(burst(rl, "192.0.2.2", T0, 3), 3, "another address: own budget");
	is_int(burst(rl, "192.0.2.1", T0 - 10 * MINUTE, 3), 3,
	       "clock went back 10 min: budget reset, no lock-out");
	ratelimit_close(rl);

	rl = open_rl(20, MINUTE);
	burst(rl, "198.51.100.1", T0, 20);
	is_int(ratelimit_check(rl, "198.51.100.1", T0 + 500, &retry),
	       FR_ERATELIMIT, "20/min: 21st limited");
	is_int(ratelimit_retry_after_s(retry), 3, "... Retry-After: 3 s");
	ratelimit_close(rl);
}

static void
test_grouping(void)
{
	struct ratelimit *rl = open_rl(2, MINUTE);

	burst(rl, "2001:db8:1:2::1", T0, 2);
	is_int(burst(rl, "2001:db8:1:2:ffff:eeee:dddd:9", T0, 1), 0,
	       "IPv6: same /64 shares the budget");
	is_int(burst(rl, "2001:db8:1:3::1", T0, 2), 2,
	       "IPv6: next /64 has its own");
	burst(rl, "203.0.113.5", T0, 2);
	is_int(burst(rl, "::ffff:203.0.113.5", T0, 1), 0,
	       "IPv4-mapped spelling is the same client");
	is_int(burst(rl, "203.0.113.6", T0, 2), 2, "IPv4 is not grouped");
	burst(rl, "unix:", T0, 2);
	is_int(burst(rl, "unix:", T0, 1), 0, "a non-address is keyed as text");
	is_int(burst(rl, "", T0, 2), 2, "... apart from other text");
	is_int(burst(rl, NULL, T0, 2), 0, "NULL is keyed as \"\"");
	ratelimit_close(rl);
}

static void
test_two_handles(void)
{
	struct ratelimit *a = open_rl(4, MINUTE), *b = open_rl(4, MINUTE);
	int allowed = 0, i;

	for (i = 0; i < 3; i++) {
		allowed += ratelimit_check(a, "192.0.2.9", T0, NULL) == FR_OK;
		allowed += ratelimit_check(b, "192.0.2.9", T0, NULL) == FR_OK;
	}
	is_int(allowed, 4, "two handles on one file share one budget");
	ratelimit_close(a);
	is_int(ratelimit_check(b, "192.0.2.9", T0 + 15000, NULL), FR_OK,
	       "closing one handle leaves the other working");
	ratelimit_close(b);
}

/* Per-child results, in memory shared with the children. */
static int *results;

/*
 * In child number k: n checks at now, through the inherited handle or
 * (NULL) a handle of its own for limit per minute; results[k] = how
 * many passed.
 */
static pid_t
spawn_checks(int k, struct ratelimit *inherited, unsigned limit,
             const char *addr, int64_t now, int n)
{
	pid_t pid = fork();
	struct ratelimit *rl;

	if (pid != 0)
		return pid;
	rl = inherited != NULL ? inherited : open_rl(limit, MINUTE);
	results[k] = burst(rl, addr, now, n);
	if (inherited == NULL)
		ratelimit_close(rl); /* valgrind's leak check runs at _exit */
	_exit(0);
}

/* results[k] once child pid exited cleanly, else -1000000. */
static int
reap(int k, pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return -1000000;
	return results[k];
}

static void
test_fork(void)
{
	struct ratelimit *rl = open_rl(3, MINUTE);
	pid_t kids[4];
	int i, total = 0;

	results = mmap(NULL, 4 * sizeof(int), PROT_READ | PROT_WRITE,
	               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	is_int(burst(rl, "192.0.2.77", T0, 2), 2, "parent uses 2 of 3");
	is_int(reap(0, spawn_checks(0, rl, 3, "192.0.2.77", T0, 2)), 1,
	       "forked child with the inherited handle gets the last one");
	is_int(burst(rl, "192.0.2.77", T0, 1), 0, "parent then limited");
	ratelimit_close(rl);

	/* 4 processes race 5000 requests each for a budget of 12000 per
	 * minute at one instant; a lost update would let more through. */
	rl = open_rl(12000, MINUTE);
	for (i = 0; i < 4; i++)
		kids[i] = spawn_checks(i, i % 2 ? rl : NULL, 12000,
		                       "192.0.2.88", T0, 5000);
	for (i = 0; i < 4; i++)
		total += reap(i, kids[i]);
	is_int(total, 12000, "4 racing processes: exactly the budget passes");
	ratelimit_close(rl);
	munmap(results, 4 * sizeof(int));
}

struct thread_arg {
	struct ratelimit *rl;
	int allowed;
};

static void *
thread_checks(void *p)
{
	struct thread_arg *a = p;

	a->allowed = burst(a->rl, "192.0.2.99", T0, 5000);
	return NULL;
}

static void
test_threads(void)
{
	struct ratelimit *one = open_rl(12000, MINUTE);
	struct ratelimit *two = open_rl(12000, MINUTE);
	struct thread_arg args[4];
	pthread_t t[4];
	int i, total = 0;

	for (i = 0; i < 4; i++) {
		args[i].rl = i < 2 ? one : two;
		pthread_create(&t[i], NULL, thread_checks, &args[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		total += args[i].allowed;
	}
	is_int(total, 12000,
	       "4 threads on 2 handles: exactly the budget passes");
	ratelimit_close(one);
	ratelimit_close(two);
}

static void
scribble(const char *what, off_t offset, size_t len)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || pwrite(fd, what, len, offset) != (ssize_t)len)
		printf("# scribble failed: %s\n", strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void
test_damage(void)
{
	struct ratelimit *rl;
	struct fr_error err;
	int fd;

	rl = open_rl(2, MINUTE);
	burst(rl, "192.0.2.50", T0, 2);
	scribble("garbage!", 0, 8);
	is_int(ratelimit_check(rl, "192.0.2.50", T0, NULL), FR_OK,
	       "header overwritten under an open handle: table rebuilt");
	ok(truncate(path, 10) == 0, "file cut to 10 bytes under the handle");
	is_int(ratelimit_check(rl, "192.0.2.50", T0, NULL), FR_OK,
	       "... no SIGBUS, table rebuilt");
	ratelimit_close(rl);

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ok(fd >= 0 && write(fd, "not a table\n", 12) == 12,
	   "a small junk file, mode 0644");
	close(fd);
	rl = open_rl(2, MINUTE);
	ok(rl != NULL, "... is recreated on open");
	is_int(burst(rl, "192.0.2.51", T0, 3), 2, "... and works");
	ratelimit_close(rl);

	ok(truncate(path, 1 << 20) == 0, "file grown to 1 MiB");
	scribble("\x07", 8, 1); /* version */
	rl = open_rl(2, MINUTE);
	ok(rl != NULL, "wrong version, wrong size: recreated");
	is_int(burst(rl, "192.0.2.52", T0, 3), 2, "... and works");
	ratelimit_close(rl);

	unlink(path);
	mkdir(path, 0700);
	is_int(ratelimit_open(path, 2, MINUTE, &rl, &err), FR_EIO,
	       "a directory is refused");
	ok(strstr(err.message, path) != NULL, "... naming it: %s", err.message);
	rmdir(path);
	ok(symlink("/etc/passwd", path) == 0, "a symlink planted");
	is_int(ratelimit_open(path, 2, MINUTE, &rl, &err), FR_EIO,
	       "... is not followed");
	unlink(path);
}

static void
test_eviction(void)
{
	struct ratelimit *rl = NULL;
	struct fr_error err;
	char addr[32];
	int i, limited = 0;

	unlink(path);
	ratelimit_open_slots(path, 2, MINUTE, 8, &rl, &err);
	ok(rl != NULL, "an 8-slot table");
	/* 192.0.2.0 used once early; 1..7 exhaust their budget later. */
	burst(rl, "192.0.2.0", T0, 1);
	for (i = 1; i < 8; i++) {
		snprintf(addr, sizeof(addr), "192.0.2.%d", i);
		burst(rl, addr, T0 + 40000, 2);
	}
	is_int(burst(rl, "198.51.100.200", T0 + 40000, 3), 2,
	       "9th client in a full table gets a slot");
	for (i = 1; i < 8; i++) {
		snprintf(addr, sizeof(addr), "192.0.2.%d", i);
		limited += burst(rl, addr, T0 + 40000, 1) == 0;
	}
	is_int(limited, 7, "... by evicting the expired slot, not the busy");
	for (i = 0; i < 20; i++) {
		snprintf(addr, sizeof(addr), "203.0.113.%d", i);
		burst(rl, addr, T0 + 40000, 2);
	}
	is_int(burst(rl, "203.0.113.19", T0 + 40000, 1), 0,
	       "when all are busy the newest still counts");
	ratelimit_close(rl);
}

/*
 * The SipHash reference implementation's vectors_sip64 table (Aumasson
 * and Bernstein, "SipHash: a fast short-input PRF"; its appendix A works
 * entry 15 through): key 00..0f, message 00..(len-1), for len 0..63,
 * read as little-endian 64-bit words.  Every message length mod 8, so
 * every shape of the final block and its length byte, is covered.
 */
static const uint64_t sip64_vectors[64] = {
        0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL,
        0x85676696d7fb7e2dULL, 0xcf2794e0277187b7ULL, 0x18765564cd99a68dULL,
        0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL, 0x93f5f5799a932462ULL,
        0x9e0082df0ba9e4b0ULL, 0x7a5dbbc594ddb9f3ULL, 0xf4b32f46226bada7ULL,
        0x751e8fbc860ee5fbULL, 0x14ea5627c0843d90ULL, 0xf723ca908e7af2eeULL,
        0xa129ca6149be45e5ULL, 0x3f2acc7f57c29bdbULL, 0x699ae9f52cbe4794ULL,
        0x4bc1b3f0968dd39cULL, 0xbb6dc91da77961bdULL, 0xbed65cf21aa2ee98ULL,
        0xd0f2cbb02e3b67c7ULL, 0x93536795e3a33e88ULL, 0xa80c038ccd5ccec8ULL,
        0xb8ad50c6f649af94ULL, 0xbce192de8a85b8eaULL, 0x17d835b85bbb15f3ULL,
        0x2f2e6163076bcfadULL, 0xde4daaaca71dc9a5ULL, 0xa6a2506687956571ULL,
        0xad87a3535c49ef28ULL, 0x32d892fad841c342ULL, 0x7127512f72f27cceULL,
        0xa7f32346f95978e3ULL, 0x12e0b01abb051238ULL, 0x15e034d40fa197aeULL,
        0x314dffbe0815a3b4ULL, 0x027990f029623981ULL, 0xcadcd4e59ef40c4dULL,
        0x9abfd8766a33735cULL, 0x0e3ea96b5304a7d0ULL, 0xad0c42d6fc585992ULL,
        0x187306c89bc215a9ULL, 0xd4a60abcf3792b95ULL, 0xf935451de4f21df2ULL,
        0xa9538f0419755787ULL, 0xdb9acddff56ca510ULL, 0xd06c98cd5c0975ebULL,
        0xe612a3cb9ecba951ULL, 0xc766e62cfcadaf96ULL, 0xee64435a9752fe72ULL,
        0xa192d576b245165aULL, 0x0a8787bf8ecb74b2ULL, 0x81b3e73d20b49b6fULL,
        0x7fa8220ba3b2eceaULL, 0x245731c13ca42499ULL, 0xb78dbfaf3a8d83bdULL,
        0xea1ad565322a1a0bULL, 0x60e61c23a3795013ULL, 0x6606d7e446282b93ULL,
        0x6ca4ecb15c5f91e1ULL, 0x9f626da15c9625f3ULL, 0xe51b38608ef25f57ULL,
        0x958a324ceb064572ULL,
};

static void
test_siphash(void)
{
	unsigned char key[16], msg[64];
	int i, len, same = 1;

	for (i = 0; i < 16; i++)
		key[i] = (unsigned char)i;
	for (i = 0; i < 64; i++)
		msg[i] = (unsigned char)i;
	/* SipHash paper, appendix A: key 00..0f, empty message. */
	ok(siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ULL,
	   "SipHash-2-4 reference vector");
	for (len = 0; len < 64; len++) {
		if (siphash24(key, msg, (size_t)len) == sip64_vectors[len])
			continue;
		printf("# SipHash-2-4 of %d bytes differs\n", len);
		same = 0;
	}
	ok(same, "SipHash-2-4 matches the reference vectors for lengths 0..63");
}

/*
 * Time n calls (FORMRELAY_BENCH=n; 100000 by default), each from a new
 * address (distinct) or all from one (same).  A diagnostic, not a test.
 */
static void
bench(int distinct)
{
	struct ratelimit *rl = open_rl(1000000, MINUTE);
	const char *env = getenv("FORMRELAY_BENCH");
	long n = env != NULL ? atol(env) : 100000, i;
	char addr[32] = "10.0.0.1";
	struct timespec a, b;
	int allowed = 0;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++) {
		if (distinct)
			snprintf(addr, sizeof(addr), "10.%ld.%ld.%ld",
			         (i >> 16) & 255, (i >> 8) & 255, i & 255);
		allowed += ratelimit_check(rl, addr, T0, NULL) == FR_OK;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("# ratelimit_check, %s address: %ld calls, %.0f ns per call "
	       "(%d allowed)\n",
	       distinct ? "a new" : "the same", n,
	       ((double)(b.tv_sec - a.tv_sec) * 1e9 +
	        (double)(b.tv_nsec - a.tv_nsec)) /
	               (double)(n > 0 ? n : 1),
	       allowed);
	ratelimit_close(rl);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/spool.db.ratelimit", dir);
	test_off_and_config();
	test_budget_and_window();
	test_grouping();
	test_two_handles();
	test_fork();
	test_threads();
	test_damage();
	test_eviction();
	test_siphash();
	bench(1);
	bench(0);
	unlink(path);
	rmdir(dir);
	return done_testing();
}
