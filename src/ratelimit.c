/*
 * Per-client rate limits shared by all processes through a mmap'd file
 * (see ratelimit.h for the design).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netaddr.h"
#include "ratelimit.h"
#include "util.h"

#define RL_MAGIC      "FRRLIM\r\n" /* 8 bytes; \r\n catches text mangling */
#define RL_VERSION    1
#define RL_PROBE      16 /* slots looked at per key */
#define RL_MIN_SLOTS  8
#define RL_MAX_SLOTS  (1u << 20)
#define RL_MAX_WINDOW (10LL * 366 * 24 * 3600 * 1000) /* ten years */

/* The file header: 64 bytes, native byte order (one machine's file). */
struct rl_header {
	char magic[8];
	uint32_t version;
	uint32_t slot_count;
	uint32_t slot_size;
	uint32_t header_size;
	unsigned char hash_key[16];
	unsigned char reserved[24];
};

/* One client: its key and GCRA theoretical arrival time.  A slot whose
 * tat is not after now holds no information and is free. */
struct rl_slot {
	unsigned char key[16];
	int64_t tat_us;
	int64_t reserved;
};

_Static_assert(sizeof(struct rl_header) == 64, "header is 64 bytes");
_Static_assert(sizeof(struct rl_slot) == 32, "a slot is 32 bytes");

struct ratelimit {
	int fd;
	unsigned char *map;
	size_t map_size;
	unsigned slot_count;
	int64_t interval_us; /* window / limit: one request's cost */
	int64_t window_us;   /* interval * limit: the burst */
};

/*
 * fcntl() locks belong to the process, so threads (and two handles in
 * one process) are kept apart by this mutex; pthread_atfork keeps it
 * usable in a child forked while another thread held it.
 */
static pthread_mutex_t rl_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t rl_once = PTHREAD_ONCE_INIT;

static void
rl_mutex_lock(void)
{
	pthread_mutex_lock(&rl_mutex);
}

static void
rl_mutex_unlock(void)
{
	pthread_mutex_unlock(&rl_mutex);
}

static void
rl_register_atfork(void)
{
	pthread_atfork(rl_mutex_lock, rl_mutex_unlock, rl_mutex_unlock);
}

static int
file_lock(int fd, short type)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET};

	while (fcntl(fd, F_SETLKW, &fl) != 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

static int
rl_lock(const struct ratelimit *rl)
{
	rl_mutex_lock();
	if (file_lock(rl->fd, F_WRLCK) == 0)
		return 0;
	rl_mutex_unlock();
	return -1;
}

static void
rl_unlock(const struct ratelimit *rl)
{
	file_lock(rl->fd, F_UNLCK);
	rl_mutex_unlock();
}

static uint64_t
rotl64(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static uint64_t
load_le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void
sip_rounds(uint64_t v[4], int n)
{
	while (n-- > 0) {
		v[0] += v[1];
		v[1] = rotl64(v[1], 13) ^ v[0];
		v[0] = rotl64(v[0], 32);
		v[2] += v[3];
		v[3] = rotl64(v[3], 16) ^ v[2];
		v[0] += v[3];
		v[3] = rotl64(v[3], 21) ^ v[0];
		v[2] += v[1];
		v[1] = rotl64(v[1], 17) ^ v[2];
		v[2] = rotl64(v[2], 32);
	}
}

static void
sip_absorb(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sip_rounds(v, 2);
	v[0] ^= m;
}

uint64_t
siphash24(const unsigned char key[16], const void *msg, size_t len)
{
	const unsigned char *p = msg;
	uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
	uint64_t v[4] = {k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL,
	                 k0 ^ 0x6c7967656e657261ULL,
	                 k1 ^ 0x7465646279746573ULL};
	uint64_t last = (uint64_t)(len & 0xff) << 56;
	size_t i;

	for (; len >= 8; p += 8, len -= 8)
		sip_absorb(v, load_le64(p));
	for (i = 0; i < len; i++)
		last |= (uint64_t)p[i] << (8 * i);
	sip_absorb(v, last);
	v[2] ^= 0xff;
	sip_rounds(v, 4);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static struct rl_header *
rl_header(const struct ratelimit *rl)
{
	return (struct rl_header *)(void *)rl->map;
}

static struct rl_slot *
rl_slots(const struct ratelimit *rl)
{
	return (struct rl_slot *)(void *)(rl->map + sizeof(struct rl_header));
}

static int
header_valid(const struct ratelimit *rl)
{
	const struct rl_header *h = rl_header(rl);

	return memcmp(h->magic, RL_MAGIC, sizeof(h->magic)) == 0 &&
	       h->version == RL_VERSION && h->slot_count == rl->slot_count &&
	       h->slot_size == sizeof(struct rl_slot) &&
	       h->header_size == sizeof(struct rl_header);
}

/* Start the table afresh: zero slots and a new random hash key. */
static int
rl_rebuild(struct ratelimit *rl)
{
	struct rl_header *h = rl_header(rl);

	memset(rl->map, 0, rl->map_size);
	/* a fresh SipHash key from the kernel's CSPRNG */
	if (random_bytes(h->hash_key, sizeof(h->hash_key)) != 0)
		return -1;
	h->version = RL_VERSION;
	h->slot_count = rl->slot_count;
	h->slot_size = sizeof(struct rl_slot);
	h->header_size = sizeof(struct rl_header);
	memcpy(h->magic, RL_MAGIC, sizeof(h->magic));
	return 0;
}

/*
 * Give the file our size with its blocks allocated, not just sized: a
 * store into a hole of a mapped file on a full disk is SIGBUS, where
 * this fails with ENOSPC.  posix_fallocate keeps what is there and
 * never shrinks the file, so processes opening it together agree.
 */
static int
rl_allocate(const struct ratelimit *rl)
{
	int rc = posix_fallocate(rl->fd, 0, (off_t)rl->map_size);

	if (rc != 0)
		errno = rc;
	return rc != 0 ? -1 : 0;
}

/*
 * With the lock held: make sure the file is at least our size (a file
 * cut short would fault the mapping) and holds our layout; rebuild it
 * otherwise.  A larger file is left larger: another process may map it.
 */
static int
rl_validate(struct ratelimit *rl)
{
	struct stat st;

	if (fstat(rl->fd, &st) != 0)
		return -1;
	if ((size_t)st.st_size < rl->map_size) {
		if (rl_allocate(rl) != 0)
			return -1;
		return rl_rebuild(rl);
	}
	return header_valid(rl) ? 0 : rl_rebuild(rl);
}

/* IPv4 whole, IPv6 by /64; other text by a keyed hash, tagged ff..ff. */
static void
client_key(const struct ratelimit *rl, const char *addr, unsigned char key[16])
{
	struct netaddr a;
	uint64_t h;

	if (addr != NULL && netaddr_parse(addr, &a) == 0) {
		if (!netaddr_is_v4(&a))
			memset(a.b + 8, 0, 8);
		memcpy(key, a.b, 16);
		return;
	}
	h = siphash24(rl_header(rl)->hash_key, addr ? addr : "",
	              addr ? strlen(addr) : 0);
	memset(key, 0xff, 8);
	memcpy(key + 8, &h, 8);
}

/*
 * The key's slot within its probe window, or a new one there: the slot
 * with the earliest tat (an expired one first, else the one nearest to
 * expiry, which loses the least if evicted).
 */
static struct rl_slot *
slot_for(const struct ratelimit *rl, const unsigned char key[16])
{
	struct rl_slot *slots = rl_slots(rl), *s, *victim = NULL;
	uint64_t h = siphash24(rl_header(rl)->hash_key, key, 16);
	unsigned i;

	for (i = 0; i < RL_PROBE && i < rl->slot_count; i++) {
		s = &slots[(h + i) % rl->slot_count];
		if (memcmp(s->key, key, 16) == 0)
			return s;
		if (victim == NULL || s->tat_us < victim->tat_us)
			victim = s;
	}
	memcpy(victim->key, key, 16);
	victim->tat_us = 0;
	return victim;
}

/*
 * GCRA: a request at now costs one interval; it passes while the debt
 * (tat - now) stays within the window.  A tat beyond now + window is
 * impossible unless the clock went back or the slot is garbage: reset.
 */
static int
gcra(int64_t interval_us, int64_t window_us, struct rl_slot *s, int64_t now_us,
     int64_t *retry_us)
{
	int64_t tat = s->tat_us;

	if (tat < now_us || tat > now_us + window_us)
		tat = now_us;
	if (tat + interval_us - now_us > window_us) {
		*retry_us = tat + interval_us - window_us - now_us;
		return FR_ERATELIMIT;
	}
	s->tat_us = tat + interval_us;
	return FR_OK;
}

/* One request under key with the budget interval_us a request within
 * window_us. */
static int
check_key(struct ratelimit *rl, const char *key_text, int64_t interval_us,
          int64_t window_us, int64_t now_ms, int64_t *retry_after_ms)
{
	unsigned char key[16];
	int64_t retry_us = 0;
	int rc;

	if (retry_after_ms != NULL)
		*retry_after_ms = 0;
	if (rl == NULL)
		return FR_OK;
	if (rl_lock(rl) != 0)
		return FR_EIO;
	rc = rl_validate(rl) == 0 ? FR_OK : FR_EIO;
	if (rc == FR_OK) {
		client_key(rl, key_text, key);
		rc = gcra(interval_us, window_us, slot_for(rl, key),
		          now_ms * 1000, &retry_us);
	}
	rl_unlock(rl);
	if (rc == FR_ERATELIMIT && retry_after_ms != NULL)
		*retry_after_ms = (retry_us + 999) / 1000;
	return rc;
}

int
ratelimit_check(struct ratelimit *rl, const char *addr, int64_t now_ms,
                int64_t *retry_after_ms)
{
	if (retry_after_ms != NULL)
		*retry_after_ms = 0;
	if (rl == NULL)
		return FR_OK;
	return check_key(rl, addr, rl->interval_us, rl->window_us, now_ms,
	                 retry_after_ms);
}

int
ratelimit_check_budget(struct ratelimit *rl, const char *key, unsigned limit,
                       int64_t window_ms, int64_t now_ms,
                       int64_t *retry_after_ms)
{
	int64_t interval_us;

	if (retry_after_ms != NULL)
		*retry_after_ms = 0;
	if (rl == NULL || limit == 0 || window_ms <= 0)
		return FR_OK;
	interval_us = window_ms * 1000 / limit;
	return check_key(rl, key, interval_us, interval_us * limit, now_ms,
	                 retry_after_ms);
}

int64_t
ratelimit_retry_after_s(int64_t retry_after_ms)
{
	int64_t s = (retry_after_ms + 999) / 1000;

	return s < 1 ? 1 : s;
}

static int
io_fail(struct fr_error *err, const char *path, const char *what)
{
	return fr_fail(err, FR_EIO, "ratelimit_file", NULL,
	               "rate limit file %s: %s: %s", path, what,
	               strerror(errno));
}

/* Open, check and map the file; the table is validated under the lock. */
static int
rl_map(struct ratelimit *rl, const char *path, struct fr_error *err)
{
	struct stat st;
	int bad;

	rl->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (rl->fd < 0)
		return io_fail(err, path, "open");
	if (fstat(rl->fd, &st) != 0)
		return io_fail(err, path, "fstat");
	if (!S_ISREG(st.st_mode))
		return fr_fail(err, FR_EIO, "ratelimit_file", NULL,
		               "rate limit file %s is not a regular file",
		               path);
	/* It holds client addresses: owner only. */
	if ((st.st_mode & 077) != 0 && fchmod(rl->fd, 0600) != 0)
		return io_fail(err, path, "chmod 0600");
	/* A file of our size may still have holes (a copy, an older
	 * formrelay's ftruncate): allocate before the first store. */
	if (rl_allocate(rl) != 0)
		return io_fail(err, path, "allocate");
	rl->map = mmap(NULL, rl->map_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	               rl->fd, 0);
	if (rl->map == MAP_FAILED) {
		rl->map = NULL;
		return io_fail(err, path, "mmap");
	}
	if (rl_lock(rl) != 0)
		return io_fail(err, path, "lock");
	bad = rl_validate(rl);
	rl_unlock(rl);
	return bad ? io_fail(err, path, "initialise") : FR_OK;
}

int
ratelimit_open_slots(const char *path, unsigned limit, int64_t window_ms,
                     unsigned slots, struct ratelimit **out,
                     struct fr_error *err)
{
	struct ratelimit *rl;
	int rc;

	*out = NULL;
	if (limit == 0)
		return FR_OK;
	if (window_ms <= 0 || window_ms > RL_MAX_WINDOW ||
	    window_ms * 1000 < (int64_t)limit)
		return fr_fail(err, FR_ECONFIG, "bad_rate_limit", NULL,
		               "rate limit %u per %lld ms: the window must be "
		               "positive, under ten years, and allow at least "
		               "1 us per request",
		               limit, (long long)window_ms);
	if (slots < RL_MIN_SLOTS || slots > RL_MAX_SLOTS)
		return fr_fail(err, FR_ECONFIG, "bad_rate_limit", NULL,
		               "rate limit table size %u is outside %u..%u",
		               slots, RL_MIN_SLOTS, RL_MAX_SLOTS);
	pthread_once(&rl_once, rl_register_atfork);
	rl = calloc(1, sizeof(*rl));
	if (rl == NULL)
		return fr_fail(err, FR_ENOMEM, NULL, NULL, "out of memory");
	rl->slot_count = slots;
	rl->map_size =
	        sizeof(struct rl_header) + slots * sizeof(struct rl_slot);
	rl->interval_us = window_ms * 1000 / limit;
	rl->window_us = rl->interval_us * limit;
	rc = rl_map(rl, path, err);
	if (rc != FR_OK) {
		ratelimit_close(rl);
		return rc;
	}
	*out = rl;
	return FR_OK;
}

int
ratelimit_open(const char *path, unsigned limit, int64_t window_ms,
               struct ratelimit **out, struct fr_error *err)
{
	return ratelimit_open_slots(path, limit, window_ms, RATELIMIT_SLOTS,
	                            out, err);
}

/*
 * Closing any descriptor of a file drops this process's fcntl() locks
 * on it, so close under the mutex: no other handle can be mid-update.
 */
void
ratelimit_close(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	rl_mutex_lock();
	if (rl->map != NULL)
		munmap(rl->map, rl->map_size);
	if (rl->fd >= 0)
		close(rl->fd);
	rl_mutex_unlock();
	free(rl);
}
