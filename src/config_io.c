/*
 * Configuration: the file, the secrets it points at, and the printout
 * for --check-config.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "spool_pg.h"
#include "webhook.h"
#include "config_int.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

const char *
config_choose_path(const char *opt)
{
	const char *env;

	if (opt != NULL && *opt != '\0')
		return opt;
	env = getenv("FORMRELAY_CONFIG");
	if (env != NULL && *env != '\0')
		return env;
	return SYSCONFDIR "/formrelay.conf";
}

/*
 * Read all of fd into a new NUL-terminated buffer.  Returns 0, -1 with
 * errno set, or 1 when the file holds more than max bytes.
 */
static int
read_bounded(int fd, size_t max, char **out, size_t *len)
{
	char *buf = malloc(max + 1);
	size_t got = 0;
	ssize_t n;

	if (buf == NULL)
		return -1;
	while (got <= max) {
		n = read(fd, buf + got, max + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > max) {
		free(buf);
		return 1;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

static void
free_wiped(char *buf, size_t len)
{
	if (buf != NULL) {
		explicit_bzero(buf, len);
		free(buf);
	}
}

/* Append one line to cfg->warnings. */
static int __attribute__((format(printf, 2, 3)))
warn_add(struct config *cfg, const char *fmt, ...)
{
	char line[512];
	size_t old = cfg->warnings ? strlen(cfg->warnings) : 0, add;
	char *grown;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	add = strlen(line);
	grown = realloc(cfg->warnings, old + add + 2);
	if (grown == NULL)
		return FR_ENOMEM;
	memcpy(grown + old, line, add);
	grown[old + add] = '\n';
	grown[old + add + 1] = '\0';
	cfg->warnings = grown;
	return FR_OK;
}

static const char *
readers(mode_t mode)
{
	if ((mode & 044) == 044)
		return "group and others";
	return (mode & 040) ? "group" : "others";
}

/* Where a secret is named: "/etc/formrelay.conf:3: customerio.api_key_file" */
struct secret_ref {
	const char *conf; /* the configuration file */
	unsigned line;
	const char *key; /* "customerio.api_key_file" */
	const char *path;
};

static int
secret_fail(const struct secret_ref *ref, struct fr_error *err,
            const char *reason)
{
	return fr_fail(err, FR_ECONFIG, NULL, NULL, "%s:%u: %s: %s: %s",
	               ref->conf, ref->line, ref->key, ref->path, reason);
}

/* Trim ASCII white space (a trailing newline above all) in place. */
static char *
trim_space(char *s)
{
	size_t len;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	                   s[len - 1] == '\r' || s[len - 1] == '\n'))
		s[--len] = '\0';
	return s;
}

/* Check the trimmed content of a secret file and copy it to *out. */
static int
secret_take(const struct secret_ref *ref, char *buf, char **out,
            struct fr_error *err)
{
	char *value = trim_space(buf);
	const char *why = NULL;

	if (*value == '\0')
		return secret_fail(ref, err, "the file is empty");
	if (cv_check_secret_chars(value, &why) != 0)
		return secret_fail(ref, err, why);
	*out = xstrdup(value);
	if (*out == NULL)
		return fr_fail(err, FR_ENOMEM, NULL, NULL, "out of memory");
	return FR_OK;
}

/* Read a key or secret file whole into *buf (owned, to be wiped),
 * warning when others may read it. */
static int
secret_file_read(struct config *cfg, const struct secret_ref *ref, char **buf,
                 size_t *len, struct fr_error *err)
{
	struct stat sb;
	int fd, rc;

	fd = open(ref->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return secret_fail(ref, err, strerror(errno));
	if (fstat(fd, &sb) != 0) {
		rc = errno;
		close(fd);
		return secret_fail(ref, err, strerror(rc));
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return secret_fail(ref, err, "not a regular file");
	}
	rc = read_bounded(fd, CONFIG_MAX_SECRET, buf, len);
	if (rc != 0) {
		rc = rc > 0 ? 0 : errno;
		close(fd);
		return secret_fail(ref, err,
		                   rc == 0 ? "file larger than 4096 bytes"
		                           : strerror(rc));
	}
	close(fd);
	if ((sb.st_mode & 004) &&
	    warn_add(cfg,
	             "%s:%u: %s %s is readable by others (mode %04o); "
	             "chmod o-r it",
	             ref->conf, ref->line, ref->key, ref->path,
	             (unsigned)(sb.st_mode & 07777)) != FR_OK) {
		free_wiped(*buf, *len);
		*buf = NULL;
		return fr_fail(err, FR_ENOMEM, NULL, NULL, "out of memory");
	}
	return FR_OK;
}

int
config_secret_file(struct config *cfg, const char *key, unsigned line,
                   const char *path, char **buf, size_t *len,
                   struct fr_error *err)
{
	struct secret_ref ref = {cfg->path ? cfg->path : "(config)", line, key,
	                         path};

	*buf = NULL;
	*len = 0;
	return secret_file_read(cfg, &ref, buf, len, err);
}

/* Read a key or secret file named by the configuration: one value. */
static int
secret_read(struct config *cfg, const struct secret_ref *ref, char **out,
            struct fr_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = secret_file_read(cfg, ref, &buf, &len, err);
	if (rc != FR_OK)
		return rc;
	rc = secret_take(ref, buf, out, err);
	free_wiped(buf, len);
	return rc;
}

static void
set_secret(char **slot, char *value)
{
	if (*slot != NULL) {
		explicit_bzero(*slot, strlen(*slot));
		free(*slot);
	}
	*slot = value;
}

/* FORMRELAY_API_KEY wins, then api_key_file, then api_key (SPEC). */
static int
load_api_key(struct config *cfg, const struct config_lines *lines,
             mode_t conf_mode, struct fr_error *err)
{
	const char *env = getenv("FORMRELAY_API_KEY"), *why = NULL;
	struct secret_ref ref = {cfg->path, lines->api_key_file,
	                         "customerio.api_key_file", cfg->api_key_file};
	char *value = NULL;
	int rc;

	if (cfg->api_key != NULL && (conf_mode & 044) &&
	    warn_add(cfg,
	             "%s:%u: customerio.api_key is set in a file readable by "
	             "%s (mode %04o); prefer api_key_file (mode 0600 or "
	             "0640) or FORMRELAY_API_KEY",
	             cfg->path, lines->api_key, readers(conf_mode),
	             (unsigned)(conf_mode & 07777)) != FR_OK)
		return fr_fail(err, FR_ENOMEM, NULL, NULL, "out of memory");
	if (env != NULL && *env != '\0') {
		if (cv_check_secret_chars(env, &why) != 0)
			return fr_fail(err, FR_ECONFIG, NULL, NULL,
			               "FORMRELAY_API_KEY: the key %s", why);
		value = xstrdup(env);
		if (value == NULL)
			return fr_fail(err, FR_ENOMEM, NULL, NULL,
			               "out of memory");
		set_secret(&cfg->api_key, value);
		cfg->api_key_source = CONFIG_KEY_ENV;
		return FR_OK;
	}
	if (cfg->api_key_file == NULL)
		return FR_OK;
	rc = secret_read(cfg, &ref, &value, err);
	if (rc != FR_OK)
		return rc;
	set_secret(&cfg->api_key, value);
	cfg->api_key_source = CONFIG_KEY_FILE;
	return FR_OK;
}

/* Standard Webhooks secrets are "whsec_" and base64 (Svix docs). */
static int
load_webhook_secret(struct config *cfg, const struct config_lines *lines,
                    struct fr_error *err)
{
	struct secret_ref ref = {cfg->path, lines->webhook_secret_file,
	                         "http.webhook_secret_file",
	                         cfg->webhook_secret_file};
	struct fr_error why;
	char *value = NULL;
	int rc;

	if (cfg->webhook_secret_file == NULL)
		return FR_OK;
	rc = secret_read(cfg, &ref, &value, err);
	if (rc != FR_OK)
		return rc;
	if (strncmp(value, "whsec_", 6) != 0 || value[6] == '\0') {
		set_secret(&value, NULL);
		return secret_fail(&ref, err,
		                   "expected a secret starting with whsec_");
	}
	/* Decode it now, so a bad secret stops start-up, not each request. */
	if (webhook_secret_check(value, &why) != FR_OK) {
		set_secret(&value, NULL);
		return secret_fail(&ref, err, why.message);
	}
	set_secret(&cfg->webhook_secret, value);
	return FR_OK;
}

/* A CAPTCHA needs its secret: the vendor refuses a check without one. */
static int
load_captcha_secret(struct config *cfg, const struct config_lines *lines,
                    struct fr_error *err)
{
	struct antispam_config *as = &cfg->spam;
	struct secret_ref ref = {cfg->path, lines->captcha_secret_file,
	                         "antispam.captcha_secret_file",
	                         as->captcha_secret_file};
	char *value = NULL;
	int rc;

	if (as->captcha == CAPTCHA_NONE)
		return FR_OK;
	if (as->captcha_secret_file == NULL)
		return fr_fail(err, FR_ECONFIG, NULL, NULL,
		               "%s:%u: antispam.captcha: needs "
		               "captcha_secret_file (the widget's secret key)",
		               cfg->path, lines->captcha);
	rc = secret_read(cfg, &ref, &value, err);
	if (rc == FR_OK)
		set_secret(&as->captcha_secret, value);
	return rc;
}

/* Open and read the configuration file itself. */
static int
read_config_file(const char *path, char **text, size_t *len, mode_t *mode,
                 struct fr_error *err)
{
	struct stat sb;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return fr_fail(err, FR_ECONFIG, NULL, NULL, "%s: %s", path,
		               strerror(errno));
	if (fstat(fd, &sb) != 0) {
		rc = errno;
		close(fd);
		return fr_fail(err, FR_ECONFIG, NULL, NULL, "%s: %s", path,
		               strerror(rc));
	}
	*mode = sb.st_mode;
	rc = read_bounded(fd, CONFIG_MAX_FILE, text, len);
	if (rc != 0) {
		rc = rc > 0 ? 0 : errno;
		close(fd);
		if (rc == 0)
			return fr_fail(err, FR_ECONFIG, NULL, NULL,
			               "%s: larger than %d bytes", path,
			               CONFIG_MAX_FILE);
		return fr_fail(err, FR_ECONFIG, NULL, NULL, "%s: %s", path,
		               strerror(rc));
	}
	close(fd);
	return FR_OK;
}

/* Collecting: note a secret's error and go on; else stop. */
static int
secret_collect(struct config_lines *lines, int rc, struct fr_error *err,
               struct fr_error *first)
{
	if (rc != FR_ECONFIG || !lines->collect)
		return rc;
	if (cv_append_line(&lines->errors, err->message) != FR_OK)
		return fr_fail(err, FR_ENOMEM, NULL, NULL, "out of memory");
	if (first->status == FR_OK)
		*first = *err;
	return FR_OK;
}

/* The file read into tmp (holding the defaults), then its secrets. */
static int
load_into(struct config *tmp, const char *path, const char *text, size_t len,
          mode_t mode, struct config_lines *lines, struct fr_error *err)
{
	struct fr_error first;
	int rc;

	fr_error_clear(&first);
	rc = config_parse_into(tmp, text, len, path, lines, err);
	if (rc == FR_ECONFIG && lines->collect)
		first = *err, rc = FR_OK;
	if (rc == FR_OK && (tmp->path = xstrdup(path)) == NULL)
		rc = fr_fail(err, FR_ENOMEM, NULL, NULL, "out of memory");
	if (rc == FR_OK)
		rc = secret_collect(lines, load_api_key(tmp, lines, mode, err),
		                    err, &first);
	if (rc == FR_OK)
		rc = secret_collect(lines, load_webhook_secret(tmp, lines, err),
		                    err, &first);
	if (rc == FR_OK)
		rc = secret_collect(lines, cw_load_secrets(tmp, err), err,
		                    &first);
	if (rc == FR_OK)
		rc = secret_collect(lines, load_captcha_secret(tmp, lines, err),
		                    err, &first);
	if (rc == FR_OK && first.status != FR_OK) {
		*err = first;
		rc = FR_ECONFIG;
	}
	return rc;
}

int
config_load_all(struct config *cfg, const char *path, struct fr_error *err,
                char **all)
{
	struct config tmp;
	struct config_lines lines;
	char *text = NULL;
	size_t len = 0;
	mode_t mode = 0;
	int rc;

	memset(&lines, 0, sizeof(lines));
	lines.collect = all != NULL;
	rc = read_config_file(path, &text, &len, &mode, err);
	if (rc != FR_OK)
		return rc;
	if (config_defaults(&tmp) != FR_OK) {
		free_wiped(text, len);
		return fr_fail(err, FR_ENOMEM, NULL, NULL, "out of memory");
	}
	rc = load_into(&tmp, path, text, len, mode, &lines, err);
	free_wiped(text, len); /* it may hold api_key */
	if (rc != FR_OK) {
		config_free(&tmp);
		if (all != NULL)
			*all = lines.errors;
		else
			free(lines.errors);
		return rc;
	}
	free(lines.errors);
	config_free(cfg);
	*cfg = tmp;
	return FR_OK;
}

int
config_load(struct config *cfg, const char *path, struct fr_error *err)
{
	return config_load_all(cfg, path, err, NULL);
}

/* ---- --check-config ---- */

static void
print_list(FILE *fp, const char *key, const struct config_list *list)
{
	size_t i;

	fprintf(fp, "%s =", key);
	for (i = 0; i < list->count; i++)
		fprintf(fp, "%s%s", i ? ", " : " ", list->items[i]);
	fputc('\n', fp);
}

static void
print_str(FILE *fp, const char *key, const char *value)
{
	fprintf(fp, "%s =%s%s\n", key, value && *value ? " " : "",
	        value ? value : "");
}

static void
print_duration(FILE *fp, const char *key, int64_t ms)
{
	char buf[32];

	cv_format_duration(ms, buf, sizeof(buf));
	print_str(fp, key, buf);
}

/* Enough to tell two keys apart, never enough to use one: short keys
 * show nothing at all. */
static void
print_api_key(FILE *fp, const struct config *cfg)
{
	static const char *const sources[] = {"", "FORMRELAY_API_KEY",
	                                      "api_key_file", "api_key"};
	size_t len;

	if (cfg->api_key == NULL) {
		print_str(fp, "customerio.api_key", "(none)");
		return;
	}
	len = strlen(cfg->api_key);
	if (len < 12)
		fprintf(fp, "customerio.api_key = ******** (from %s)\n",
		        sources[cfg->api_key_source]);
	else
		fprintf(fp,
		        "customerio.api_key = %.4s\xe2\x80\xa6 (%zu "
		        "characters, "
		        "from %s)\n",
		        cfg->api_key, len, sources[cfg->api_key_source]);
}

static void
print_aliases(FILE *fp, const struct config *cfg)
{
	size_t i, j;

	for (i = 0; i < cfg->alias_count; i++) {
		const char *trait = cfg->aliases[i].trait;

		for (j = 0; j < i; j++)
			if (strcmp(cfg->aliases[j].trait, trait) == 0)
				break;
		if (j < i)
			continue; /* printed with its first alias */
		fprintf(fp, "fields.alias.%s =", trait);
		for (j = i; j < cfg->alias_count; j++)
			if (strcmp(cfg->aliases[j].trait, trait) == 0)
				fprintf(fp, "%s%s", j > i ? ", " : " ",
				        cfg->aliases[j].name);
		fputc('\n', fp);
	}
}

static void
print_customerio(FILE *fp, const struct config *cfg)
{
	print_str(fp, "customerio.region", cfg->region);
	print_str(fp, "customerio.api_base", cfg->api_base);
	print_api_key(fp, cfg);
	print_str(fp, "customerio.api_key_file", cfg->api_key_file);
	fprintf(fp, "customerio.timeout_ms = %ld\n", cfg->timeout_ms);
	print_str(fp, "customerio.dry_run", cfg->dry_run ? "yes" : "no");
}

static void
print_http(FILE *fp, const struct config *cfg)
{
	char buf[48];

	print_list(fp, "http.allowed_origins", &cfg->allowed_origins);
	print_list(fp, "http.redirect_allow", &cfg->redirect_allow);
	print_str(fp, "http.success_url", cfg->success_url);
	cv_format_size(cfg->max_body, buf, sizeof(buf));
	print_str(fp, "http.max_body", buf);
	cv_format_rate(cfg->rate_limit_count, cfg->rate_limit_window_ms, buf,
	               sizeof(buf));
	print_str(fp, "http.rate_limit", buf);
	print_list(fp, "http.trusted_proxies", &cfg->trusted_proxies);
	print_str(fp, "http.webhook_secret_file", cfg->webhook_secret_file);
	print_str(fp, "http.webhook_secret",
	          cfg->webhook_secret ? "whsec_********" : "(none)");
	print_list(fp, "http.honeypots", &cfg->honeypots);
	print_str(fp, "http.metrics_public",
	          cfg->metrics_public ? "yes" : "no");
	print_list(fp, "http.metrics_allow", &cfg->metrics_allow);
}

static void
print_antispam(FILE *fp, const struct config *cfg)
{
	static const char *const captcha_names[] = {"none", "turnstile",
	                                            "hcaptcha", "recaptcha"};
	const struct antispam_config *as = &cfg->spam;

	print_str(fp, "antispam.captcha", captcha_names[as->captcha & 3]);
	print_str(fp, "antispam.captcha_secret_file", as->captcha_secret_file);
	print_str(fp, "antispam.captcha_verify_url", as->captcha_verify_url);
	fprintf(fp, "antispam.recaptcha_min_score = %.2f\n",
	        as->recaptcha_min_score);
	print_str(fp, "antispam.recaptcha_action", as->recaptcha_action);
	print_str(fp, "antispam.captcha_unreachable",
	          as->captcha_fail_open ? "open" : "closed");
	if (as->captcha_retry_for_ms == 0)
		print_str(fp, "antispam.captcha_retry_for",
		          "(the token's lifetime)");
	else
		print_duration(fp, "antispam.captcha_retry_for",
		               as->captcha_retry_for_ms);
	print_str(fp, "antispam.disposable_domains",
	          as->disposable_domains ? "yes" : "no");
	print_str(fp, "antispam.disposable_domains_file",
	          as->disposable_domains_file);
	print_str(fp, "antispam.junk", as->junk_drop ? "drop" : "reject");
	if (as->double_submit_ms == 0)
		print_str(fp, "antispam.double_submit_window", "off");
	else
		print_duration(fp, "antispam.double_submit_window",
		               as->double_submit_ms);
	print_str(fp, "antispam.mx_check", as->mx_check ? "yes" : "no");
	print_duration(fp, "antispam.mx_check_timeout",
	               as->mx_check_timeout_ms);
	print_list(fp, "antispam.mx_check_servers", &as->mx_check_servers);
}

/* The URL without its password (a libpq URI may hold one). */
static void
print_spool(FILE *fp, const struct config *cfg)
{
	char url[1024];

	print_str(fp, "spool.backend",
	          cfg->spool_postgresql ? "postgresql" : "sqlite");
	print_str(fp, "spool.path", cfg->spool_path);
	if (cfg->spool_url != NULL) {
		spool_pg_url_masked(cfg->spool_url, url, sizeof(url));
		print_str(fp, "spool.url", url);
	}
	if (cfg->spool_password_file != NULL)
		print_str(fp, "spool.password_file", cfg->spool_password_file);
}

void
config_print(const struct config *cfg, FILE *fp)
{
	static const char *const levels[] = {"error", "warn", "info", "debug"};

	if (cfg->path != NULL)
		fprintf(fp, "# %s\n", cfg->path);
	print_customerio(fp, cfg);
	print_list(fp, "identity.id_fields", &cfg->id_fields);
	print_str(fp, "identity.missing_id",
	          cfg->missing_id_reject ? "reject" : "email");
	print_str(fp, "identity.event", cfg->event);
	print_spool(fp, cfg);
	print_duration(fp, "spool.max_age", cfg->max_age_ms);
	print_duration(fp, "spool.retry_min", cfg->retry_min_ms);
	print_duration(fp, "spool.retry_max", cfg->retry_max_ms);
	print_duration(fp, "spool.lease", cfg->lease_ms);
	print_http(fp, cfg);
	print_aliases(fp, cfg);
	print_list(fp, "fields.drop", &cfg->drop);
	print_antispam(fp, cfg);
	print_str(fp, "log.level", levels[cfg->log_level & 3]);
	print_str(fp, "log.show_emails", cfg->log_emails ? "yes" : "no");
	cw_print(cfg, fp);
}
