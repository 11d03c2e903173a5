/*
 * Preflight checks (see include/preflight.h): what a configuration must
 * also get right for formrelay to serve and deliver.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "config_int.h"
#include "preflight.h"
#include "util.h"

#define MAX_GROUPS 64

/* Who the spool must be usable by. */
struct account {
	const char *name;
	uid_t uid;
	gid_t groups[MAX_GROUPS];
	int ngroups;
	int self; /* the effective user: ask the kernel (ACLs, capabilities) */
};

/* Append "file[:line]: text" to *out.  1 (a problem), or FR_ENOMEM. */
static int __attribute__((format(printf, 4, 5)))
problem(const struct config *cfg, unsigned line, char **out, const char *fmt,
        ...)
{
	const char *file = cfg->path ? cfg->path : "(configuration)";
	char text[600], full[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(full, sizeof(full), "%s:%u: %s", file, line, text);
	else
		snprintf(full, sizeof(full), "%s: %s", file, text);
	return cv_append_line(out, full) == FR_OK ? 1 : FR_ENOMEM;
}

/* The directory part of path ("." for a bare name).  0, or -1 when it
 * does not fit. */
static int
dir_of(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t len;

	if (slash == NULL)
		return strlcopy(buf, ".", size) < size ? 0 : -1;
	len = slash == path ? 1 : (size_t)(slash - path);
	if (len >= size)
		return -1;
	memcpy(buf, path, len);
	buf[len] = '\0';
	return 0;
}

int
preflight_no_key(const struct config *cfg)
{
	return !cfg->dry_run &&
	       (cfg->api_key == NULL || cfg->api_key[0] == '\0');
}

static int
check_key(const struct config *cfg, char **out)
{
	if (!preflight_no_key(cfg))
		return 0;
	if (cfg->where.api_key > 0)
		return problem(cfg, cfg->where.api_key, out,
		               "customerio.api_key is empty and dry_run = no: "
		               "nothing could be delivered (put the key in "
		               "api_key_file or FORMRELAY_API_KEY, or set "
		               "dry_run = yes)");
	return problem(cfg, cfg->where.dry_run, out,
	               "customerio.dry_run = no but no API key is "
	               "configured: nothing could be delivered (set "
	               "api_key_file or FORMRELAY_API_KEY, or dry_run = yes)");
}

static int
account_of(const char *user, struct account *a)
{
	struct passwd *pw;

	memset(a, 0, sizeof(*a));
	if (user == NULL) {
		a->self = 1;
		a->uid = geteuid();
		pw = getpwuid(a->uid);
		a->name = pw ? pw->pw_name : "this user";
		return 0;
	}
	pw = getpwnam(user);
	if (pw == NULL)
		return -1;
	a->name = user;
	a->uid = pw->pw_uid;
	a->ngroups = MAX_GROUPS;
	if (getgrouplist(user, pw->pw_gid, a->groups, &a->ngroups) < 0)
		a->ngroups = MAX_GROUPS; /* the first MAX_GROUPS */
	return 0;
}

static int
in_groups(const struct account *a, gid_t gid)
{
	int i;

	for (i = 0; i < a->ngroups; i++)
		if (a->groups[i] == gid)
			return 1;
	return 0;
}

/* Whether a may use path for want (R_OK, W_OK, X_OK bits): the kernel's
 * answer for ourselves, the mode bits for another user (root: all). */
static int
may(const struct account *a, const char *path, const struct stat *sb, int want)
{
	mode_t bits;

	if (a->self)
		return faccessat(AT_FDCWD, path, want, AT_EACCESS) == 0;
	if (a->uid == 0)
		return 1;
	if (sb->st_uid == a->uid)
		bits = (sb->st_mode >> 6) & 7;
	else if (in_groups(a, sb->st_gid))
		bits = (sb->st_mode >> 3) & 7;
	else
		bits = sb->st_mode & 7;
	return ((int)bits & want) == want;
}

static int
check_file(const struct config *cfg, const struct account *a, char **out)
{
	const char *path = cfg->spool_path;
	unsigned line = cfg->where.spool_path;
	struct stat sb;

	if (stat(path, &sb) != 0)
		return 0; /* created on first use */
	if (!S_ISREG(sb.st_mode))
		return problem(cfg, line, out,
		               "spool.path: %s is not a regular file", path);
	if (!may(a, path, &sb, R_OK | W_OK))
		return problem(cfg, line, out,
		               "spool.path: %s cannot be read and written by "
		               "%s (uid %ld), the user formrelay serves as: "
		               "chown %s %s",
		               path, a->name, (long)a->uid, a->name, path);
	return 0;
}

static int
check_dir(const struct config *cfg, const struct account *a, char **out)
{
	char dir[4096];
	unsigned line = cfg->where.spool_path;
	struct statvfs vfs;
	struct stat sb;

	if (dir_of(cfg->spool_path, dir, sizeof(dir)) != 0)
		return problem(cfg, line, out, "spool.path: path too long");
	if (stat(dir, &sb) != 0)
		return problem(cfg, line, out,
		               "spool.path: the directory %s %s: create it "
		               "for %s, the user formrelay serves as "
		               "(install -d -o %s -m 0700 %s)",
		               dir,
		               errno == ENOENT ? "does not exist"
		                               : strerror(errno),
		               a->name, a->name, dir);
	if (!S_ISDIR(sb.st_mode))
		return problem(cfg, line, out,
		               "spool.path: %s is not a directory", dir);
	if (statvfs(dir, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
		return problem(cfg, line, out,
		               "spool.path: %s is on a read-only file system",
		               dir);
	if (!may(a, dir, &sb, W_OK | X_OK))
		return problem(cfg, line, out,
		               "spool.path: the directory %s is not writable "
		               "by %s (uid %ld), the user formrelay serves as: "
		               "chown %s %s",
		               dir, a->name, (long)a->uid, a->name, dir);
	return check_file(cfg, a, out);
}

int
preflight_check(const struct config *cfg, const char *user, char **out)
{
	struct account a;
	int key, sp;

	key = check_key(cfg, out);
	if (cfg->spool_postgresql)
		sp = 0; /* no directory: --check-config connects instead */
	else if (account_of(user, &a) != 0)
		sp = problem(cfg, 0, out, "--user %s: no such user", user);
	else
		sp = check_dir(cfg, &a, out);
	if (key < 0 || sp < 0)
		return FR_ENOMEM;
	return (key > 0 ? PREFLIGHT_NO_KEY : 0) |
	       (sp > 0 ? PREFLIGHT_SPOOL : 0);
}
