/* A sorted list of domains, mapped and bisected in place. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domainlist.h"

/* A domain name is at most 253 characters (RFC 1035, 2.3.4). */
#define DOMAIN_MAX 253

struct domain_list {
	const char *map; /* the whole file, mapped */
	size_t map_len;
	const char *data; /* the first domain line */
	const char *end;
	size_t count;
};

/* ASCII in lower case, or UTF-8 (internationalised names are listed as
 * written, and emails keep their UTF-8 domains). */
static int
domain_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_' || (unsigned char)c >= 0x80;
}

/* Compare key[0..n) with the line [a, b) as sort(1) does in the C
 * locale: bytewise, a prefix first. */
static int
line_cmp(const char *key, size_t n, const char *a, const char *b)
{
	size_t len = (size_t)(b - a);
	int c = memcmp(key, a, n < len ? n : len);

	if (c != 0)
		return c;
	return n < len ? -1 : n > len ? 1 : 0;
}

/* Skip the leading comment lines. */
static const char *
skip_comments(const char *p, const char *end)
{
	const char *nl;

	while (p < end && *p == '#') {
		nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : end;
	}
	return p;
}

/* Every line a domain, each after the one before.  0, or the 1-based
 * line (counted from the first domain) at fault. */
static size_t
check_lines(struct domain_list *l, const char **why)
{
	const char *p = l->data, *prev = NULL, *prev_end = NULL, *nl, *q;
	size_t line = 0;

	while (p < l->end) {
		nl = memchr(p, '\n', (size_t)(l->end - p));
		if (nl == NULL)
			nl = l->end;
		line++;
		if (nl == p || nl - p > DOMAIN_MAX) {
			*why = "not a domain (empty or too long)";
			return line;
		}
		for (q = p; q < nl; q++)
			if (!domain_char(*q)) {
				*why = "not a lower-case domain";
				return line;
			}
		if (prev != NULL &&
		    line_cmp(p, (size_t)(nl - p), prev, prev_end) <= 0) {
			*why = "not in sorted order (LC_ALL=C sort -u)";
			return line;
		}
		prev = p;
		prev_end = nl;
		p = nl + 1;
	}
	l->count = line;
	return 0;
}

static int
map_file(const char *path, struct domain_list *l, struct fr_error *err)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), e;
	void *m;

	if (fd < 0 || fstat(fd, &sb) != 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		return fr_fail(err, FR_ECONFIG, NULL, NULL, "%s: %s", path,
		               strerror(e));
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size == 0) {
		close(fd);
		return fr_fail(err, FR_ECONFIG, NULL, NULL,
		               "%s: not a non-empty regular file", path);
	}
	m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	e = errno;
	close(fd); /* the mapping stays */
	if (m == MAP_FAILED)
		return fr_fail(err, FR_ECONFIG, NULL, NULL, "%s: %s", path,
		               strerror(e));
	l->map = m;
	l->map_len = (size_t)sb.st_size;
	return FR_OK;
}

int
domain_list_open(const char *path, struct domain_list **out,
                 struct fr_error *err)
{
	struct domain_list *l = calloc(1, sizeof(*l));
	const char *why = NULL;
	size_t bad;
	int rc;

	if (l == NULL)
		return fr_fail(err, FR_ENOMEM, NULL, NULL, "out of memory");
	if ((rc = map_file(path, l, err)) != FR_OK) {
		free(l);
		return rc;
	}
	l->end = l->map + l->map_len;
	if (l->end[-1] == '\n')
		l->end--;
	l->data = skip_comments(l->map, l->end);
	if ((bad = check_lines(l, &why)) != 0) {
		domain_list_close(l);
		return fr_fail(err, FR_ECONFIG, NULL, NULL,
		               "%s: domain %zu: %s", path, bad, why);
	}
	*out = l;
	return FR_OK;
}

/* Bisect [lo, hi), whose ends are line boundaries, for key. */
static int
find(const char *lo, const char *hi, const char *key, size_t n)
{
	const char *mid, *start, *stop;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		start = mid;
		while (start > lo && start[-1] != '\n')
			start--;
		stop = memchr(start, '\n', (size_t)(hi - start));
		if (stop == NULL)
			stop = hi;
		c = line_cmp(key, n, start, stop);
		if (c == 0)
			return 1;
		if (c < 0)
			hi = start;
		else
			lo = stop + (stop < hi);
	}
	return 0;
}

int
domain_list_match(const struct domain_list *l, const char *domain)
{
	const char *d = domain;

	if (l == NULL || domain == NULL)
		return 0;
	while (*d != '\0') {
		if (find(l->data, l->end, d, strlen(d)))
			return 1;
		d = strchr(d, '.');
		if (d == NULL)
			break;
		d++;
	}
	return 0;
}

size_t
domain_list_count(const struct domain_list *l)
{
	return l ? l->count : 0;
}

void
domain_list_close(struct domain_list *l)
{
	if (l == NULL)
		return;
	if (l->map != NULL)
		munmap((void *)l->map, l->map_len);
	free(l);
}
