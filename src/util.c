/* Small shared helpers: clocks, UUIDs, timestamps, bounded strings. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "util.h"

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Random bytes from the kernel's CSPRNG, fetched RANDOM_POOL at a time:
 * one getrandom(2) per UUID was a system call on every submission.  The
 * pool is per thread, so it needs no lock.  A forked child empties the
 * pool it inherited (the forking thread's is the only one it has):
 * otherwise parent and child would make the same UUIDs.
 */
#define RANDOM_POOL 256
static __thread unsigned char random_pool[RANDOM_POOL];
static __thread size_t random_left;
static pthread_once_t random_once = PTHREAD_ONCE_INIT;
static int random_pooled; /* 0: the fork handler is missing; no pool */

static void
random_forget(void)
{
	random_left = 0;
}

static void
random_watch_forks(void)
{
	random_pooled = pthread_atfork(NULL, NULL, random_forget) == 0;
}

/*
 * getrandom(2): up to 256 bytes are never returned short once the
 * kernel's pool is initialised, but the call may block (and so be
 * interrupted) before that; loop regardless.
 */
int
random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = getrandom(p + got, n - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* The last size bytes of the pool, fresh (random_take reads the tail). */
static int
random_fill(size_t size)
{
	if (random_bytes(random_pool + RANDOM_POOL - size, size) != 0)
		return -1;
	random_left = size;
	return 0;
}

static int
random_take(unsigned char *out, size_t n)
{
	pthread_once(&random_once, random_watch_forks);
	if (random_left < n &&
	    random_fill(random_pooled ? RANDOM_POOL : n) != 0)
		return -1;
	memcpy(out, random_pool + RANDOM_POOL - random_left, n);
	random_left -= n;
	return 0;
}

/* RFC 9562, 5.4: 122 random bits, version 4, variant 10. */
int
uuid_v4(char out[UUID_STR_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	size_t i, o = 0;

	if (random_take(b, sizeof(b)) != 0)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	for (i = 0; i < sizeof(b); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0x0f];
	}
	out[o] = '\0';
	return 0;
}

/* v as exactly width decimal digits at p (v < 10^width); past them. */
static char *
put_digits(char *p, unsigned v, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + width;
}

/* The stamp written by hand: snprintf's format parsing cost as much as
 * the rest of the payload's small strings together (bench/callgrind.sh).
 * Years outside 0..9999 and times before 1970 keep the snprintf path,
 * whose output for them is what it always was. */
int
rfc3339_ms(int64_t ms, char *buf, size_t size)
{
	time_t secs = (time_t)(ms / 1000);
	int frac = (int)(ms % 1000), n;
	struct tm tm;
	char *p = buf;

	if (gmtime_r(&secs, &tm) == NULL)
		return -1;
	if (frac < 0 || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900 ||
	    size < sizeof("0000-00-00T00:00:00.000Z")) {
		n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		             tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
		return (n < 0 || (size_t)n >= size) ? -1 : 0;
	}
	p = put_digits(p, (unsigned)(tm.tm_year + 1900), 4);
	*p++ = '-';
	p = put_digits(p, (unsigned)(tm.tm_mon + 1), 2);
	*p++ = '-';
	p = put_digits(p, (unsigned)tm.tm_mday, 2);
	*p++ = 'T';
	p = put_digits(p, (unsigned)tm.tm_hour, 2);
	*p++ = ':';
	p = put_digits(p, (unsigned)tm.tm_min, 2);
	*p++ = ':';
	p = put_digits(p, (unsigned)tm.tm_sec, 2);
	*p++ = '.';
	p = put_digits(p, (unsigned)frac, 3);
	memcpy(p, "Z", 2);
	return 0;
}

/* ---- parsing RFC 3339 ---------------------------------------------------- */

/* n decimal digits at s, or -1.  Stops at the first non-digit, so never
 * reads past a NUL. */
static int
dec_digits(const char *s, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Days in month m (1-12) of year y, proleptic Gregorian. */
static int
days_in_month(int y, int m)
{
	static const unsigned char days[12] = {31, 28, 31, 30, 31, 30,
	                                       31, 31, 30, 31, 30, 31};
	int leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);

	return m == 2 && leap ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The fraction at *p ('.' and digits, or nothing) in milliseconds,
 * *p moved past it; -1 for a '.' without a digit. */
static int
fraction_ms(const char **p)
{
	const char *s = *p;
	int frac = 0, scale = 100;

	if (*s != '.')
		return 0;
	for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
		frac += (*s - '0') * scale;
	if (s == *p + 1)
		return -1;
	*p = s;
	return frac;
}

/* The zone at s ("Z", "+hh:mm", "-hhmm") in minutes east, ending the
 * string; -1 on error (*minutes untouched).  Each digit is checked
 * before the next byte is read: "+0" ends right after its digit. */
static int
zone_offset(const char *s, int *minutes)
{
	int h, m, sign;

	if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
		*minutes = 0;
		return 0;
	}
	if (s[0] != '+' && s[0] != '-')
		return -1;
	sign = s[0] == '-' ? -1 : 1;
	if ((h = dec_digits(s + 1, 2)) < 0 || h > 23)
		return -1;
	s += 3;
	if (*s == ':')
		s++;
	if ((m = dec_digits(s, 2)) < 0 || m > 59 || s[2] != '\0')
		return -1;
	*minutes = sign * (h * 60 + m);
	return 0;
}

int
rfc3339_parse(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, frac, zone;
	const char *p;

	/* The shortest is "YYYY-MM-DDThh:mm:ssZ": 20 bytes to look at. */
	if (s == NULL || strlen(s) < 20 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
	    s[16] != ':')
		return -1;
	y = dec_digits(s, 4), mo = dec_digits(s + 5, 2);
	d = dec_digits(s + 8, 2), h = dec_digits(s + 11, 2);
	mi = dec_digits(s + 14, 2), sec = dec_digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
		return -1;
	p = s + 19;
	if ((frac = fraction_ms(&p)) < 0 || zone_offset(p, &zone) < 0)
		return -1;
	*ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi - zone) * 60000 +
	      (int64_t)(sec > 59 ? 59 : sec) * 1000 + frac;
	return 0;
}

char *
xstrndup(const char *s, size_t len)
{
	char *p = malloc(len + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
xstrdup(const char *s)
{
	return s == NULL ? NULL : xstrndup(s, strlen(s));
}

size_t
strlcopy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

void
mask_email(const char *email, char *buf, size_t size)
{
	const char *at = email ? strrchr(email, '@') : NULL;

	if (at == NULL || at == email) {
		strlcopy(buf, "***", size);
		return;
	}
	snprintf(buf, size, "%c***%s", email[0], at);
}

int
ascii_casecmp(const char *a, const char *b)
{
	unsigned char ca, cb;

	do {
		ca = (unsigned char)*a++;
		cb = (unsigned char)*b++;
		if (ca >= 'A' && ca <= 'Z')
			ca = (unsigned char)(ca + 32);
		if (cb >= 'A' && cb <= 'Z')
			cb = (unsigned char)(cb + 32);
	} while (ca != '\0' && ca == cb);
	return (int)ca - (int)cb;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

int
percent_decode(const char *s, size_t len, char *buf, size_t size,
               size_t *outlen)
{
	size_t i, n = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (n + 1 >= size)
			return -1;
		if (s[i] == '%' && i + 2 < len &&
		    (hi = hex_digit(s[i + 1])) >= 0 &&
		    (lo = hex_digit(s[i + 2])) >= 0) {
			buf[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			buf[n++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	if (n >= size)
		return -1;
	buf[n] = '\0';
	if (outlen != NULL)
		*outlen = n;
	return 0;
}
