/*
 * Loading the PostgreSQL spool (see include/spool_pg.h): formrelay-pg.so
 * is opened by the first spool_pg_open, so that a process on a SQLite
 * spool never maps libpq and what libpq brings.
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"
#include "spool_internal.h"
#include "spool_ops.h"
#include "spool_pg.h"
#include "util.h"

#ifndef PKGLIBDIR
#define PKGLIBDIR "/usr/local/lib/formrelay"
#endif

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static const struct spool_pg_entry *entry;
static char load_error[PATH_MAX + 512];

/* dir/SPOOL_PG_MODULE into buf when it exists; 0, else -1. */
static int
module_in(const char *dir, size_t dirlen, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%.*s/%s", (int)dirlen, dir,
	                 SPOOL_PG_MODULE);

	if (n < 0 || (size_t)n >= size)
		return -1;
	return access(buf, R_OK) == 0 ? 0 : -1;
}

/* Where the module is: beside the running program (a build tree), else
 * the installed one in PKGLIBDIR. */
static void
module_path(char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *slash;

	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash != NULL &&
		    module_in(exe, (size_t)(slash - exe), buf, size) == 0)
			return;
	}
	snprintf(buf, size, "%s/%s", PKGLIBDIR, SPOOL_PG_MODULE);
}

/* A module of this very build, or NULL with load_error saying why. */
static const struct spool_pg_entry *
entry_checked(void *handle, const char *path)
{
	const struct spool_pg_entry *e = dlsym(handle, SPOOL_PG_ENTRY);

	if (e == NULL) {
		snprintf(load_error, sizeof(load_error),
		         "%s is not formrelay's PostgreSQL module", path);
		return NULL;
	}
	if (strcmp(e->version, PACKAGE_VERSION) != 0 ||
	    e->spool_size != sizeof(struct spool) ||
	    e->ops_size != sizeof(struct spool_ops)) {
		snprintf(load_error, sizeof(load_error),
		         "%s is from formrelay %s, not from this build of %s: "
		         "install both from one build",
		         path, e->version, PACKAGE_VERSION);
		return NULL;
	}
	return e;
}

static void
module_load(void)
{
	char path[PATH_MAX + sizeof(SPOOL_PG_MODULE) + 1];
	void *handle;
	const char *why;

	module_path(path, sizeof(path));
	/* Kept open for the life of the process: its handles point into it. */
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL) {
		why = dlerror();
		snprintf(load_error, sizeof(load_error),
		         "the PostgreSQL spool cannot be loaded: %s",
		         why ? why : path);
		return;
	}
	entry = entry_checked(handle, path);
	if (entry == NULL)
		dlclose(handle);
}

/* The module's entry, loading it the first time; NULL with err set. */
static const struct spool_pg_entry *
module_entry(struct fr_error *err)
{
	pthread_once(&load_once, module_load);
	if (entry == NULL)
		fr_fail(err, FR_ESTORE, NULL, NULL, "%s", load_error);
	return entry;
}

int
spool_pg_open(const char *url, const char *password_file, struct spool **out,
              struct fr_error *err)
{
	const struct spool_pg_entry *e = module_entry(err);

	*out = NULL;
	if (e == NULL)
		return FR_ESTORE;
	return e->open(url, password_file, out, err);
}

int
spool_pg_migrate(struct spool *sp, int migrate, int *version,
                 struct fr_error *err)
{
	const struct spool_pg_entry *e = module_entry(err);

	if (e == NULL)
		return FR_ESTORE;
	return e->migrate(sp, migrate, version, err);
}
