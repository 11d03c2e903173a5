/*
 * A scratch directory for a unit test, under $TMPDIR (else /tmp), and
 * its removal with everything in it.  Header-only, like tap.h.
 */
#ifndef FORMRELAY_TEST_TMPDIR_H
#define FORMRELAY_TEST_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* Make NAME.XXXXXX into buf; 0, or -1 with errno set. */
static int
tmpdir_make(char *buf, size_t size, const char *name)
{
	const char *base = getenv("TMPDIR");

	snprintf(buf, size, "%s/%s.XXXXXX", base ? base : "/tmp", name);
	return mkdtemp(buf) == NULL ? -1 : 0;
}

static int
tmpdir_remove_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove dir and everything below it (best effort). */
static void
tmpdir_remove(const char *dir)
{
	nftw(dir, tmpdir_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
