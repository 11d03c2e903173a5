/*
 * Configuration: the table of sections' keys, the syntax of each key's
 * value, and the rules between keys checked once a text is read.  The
 * reading itself (lines, quotes, lists) is config_ini.c.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_ini.h"
#include "config_int.h"
#include "util.h"

/* ---- Scalar setters ---- */

static int
set_region(struct ini *st, const struct key_def *def, char *value)
{
	if (ascii_casecmp(value, "us") != 0 && ascii_casecmp(value, "eu") != 0)
		return ini_bad_value(st, def, "expected us or eu", value);
	value[0] = (char)(value[0] | 0x20); /* two ASCII letters: lower */
	value[1] = (char)(value[1] | 0x20);
	return ini_replace_string(st, &st->cfg->region, value);
}

/* Empty means "derive from region", as in SPEC's example. */
static int
set_api_base(struct ini *st, const struct key_def *def, char *value)
{
	const char *why = NULL;
	size_t len = strlen(value);
	int rc;

	if (len == 0)
		return FR_OK;
	rc = cv_check_http_url(value, 1, &why);
	if (rc == FR_ENOMEM)
		return ini_nomem(st);
	if (rc != 0)
		return ini_bad_value(st, def, why, value);
	while (len > 0 && value[len - 1] == '/')
		value[--len] = '\0';
	st->api_base_set = 1;
	return ini_replace_string(st, &st->cfg->api_base, value);
}

static int
set_api_key(struct ini *st, const struct key_def *def, char *value)
{
	const char *why = NULL;

	if (value[0] == '\0')
		return FR_OK;
	if (cv_check_secret_chars(value, &why) != 0)
		return ini_fail(st, "%s.%s: the key %s",
		                config_section_names[def->section], def->name,
		                why);
	if (ini_replace_string(st, &st->cfg->api_key, value) != FR_OK)
		return FR_ENOMEM;
	st->cfg->api_key_source = CONFIG_KEY_INLINE;
	return FR_OK;
}

static int
set_backend(struct ini *st, const struct key_def *def, char *value)
{
	if (ascii_casecmp(value, "sqlite") == 0)
		st->cfg->spool_postgresql = 0;
	else if (ascii_casecmp(value, "postgresql") == 0)
		st->cfg->spool_postgresql = 1;
	else
		return ini_bad_value(st, def, "expected sqlite or postgresql",
		                     value);
	return FR_OK;
}

/* A path or other optional string: empty leaves it unset. */
static int
set_optional(struct ini *st, const struct key_def *def, char *value)
{
	char **slot = ini_field(st, def);

	if (value[0] == '\0') {
		free(*slot);
		*slot = NULL;
		return FR_OK;
	}
	return ini_replace_string(st, slot, value);
}

static int
set_required(struct ini *st, const struct key_def *def, char *value)
{
	if (value[0] == '\0')
		return ini_bad_value(st, def, "expected a path", value);
	return ini_replace_string(st, ini_field(st, def), value);
}

/* event is "" when unset, never NULL. */
static int
set_event(struct ini *st, const struct key_def *def, char *value)
{
	(void)def;
	return ini_replace_string(st, &st->cfg->event, value);
}

static int
set_bool(struct ini *st, const struct key_def *def, char *value)
{
	if (cv_parse_bool(value, ini_field(st, def)) != 0)
		return ini_bad_value(st, def, "expected yes or no", value);
	return FR_OK;
}

/* Durations must be positive: a zero max_age or lease is a mistake. */
static int
set_duration(struct ini *st, const struct key_def *def, char *value)
{
	int64_t ms;

	if (config_parse_duration(value, &ms) != 0 || ms <= 0)
		return ini_bad_value(
		        st, def,
		        "expected a duration such as 72h, 15m, 10s, "
		        "500ms or 3d",
		        value);
	*(int64_t *)ini_field(st, def) = ms;
	return FR_OK;
}

static int
set_timeout(struct ini *st, const struct key_def *def, char *value)
{
	uint64_t ms;

	/* A plain number of milliseconds, as the key's name says. */
	if (cv_parse_uint(value, 600000, &ms) != 0 || ms == 0)
		return ini_bad_value(st, def,
		                     "expected milliseconds from 1 to 600000",
		                     value);
	st->cfg->timeout_ms = (long)ms;
	return FR_OK;
}

static int
set_missing_id(struct ini *st, const struct key_def *def, char *value)
{
	if (ascii_casecmp(value, "email") == 0)
		st->cfg->missing_id_reject = 0;
	else if (ascii_casecmp(value, "reject") == 0)
		st->cfg->missing_id_reject = 1;
	else
		return ini_bad_value(st, def, "expected email or reject",
		                     value);
	return FR_OK;
}

/* An absolute http(s) URL, or empty for none. */
static int
set_http_url(struct ini *st, const struct key_def *def, char *value)
{
	const char *why = NULL;
	int rc;

	if (value[0] == '\0')
		return set_optional(st, def, value);
	rc = cv_check_http_url(value, 0, &why);
	if (rc == FR_ENOMEM)
		return ini_nomem(st);
	if (rc != 0)
		return ini_bad_value(st, def, why, value);
	return set_optional(st, def, value);
}

/* Relative "/thanks" is allowed too: RFC 9110, 10.2.2 lets Location be
 * a relative reference ("//host" would leave the site, and browsers read
 * "/\host" the same way, so those are not). */
static int
set_success_url(struct ini *st, const struct key_def *def, char *value)
{
	if (value[0] == '/' && value[1] != '/' && value[1] != '\\')
		return set_optional(st, def, value);
	return set_http_url(st, def, value);
}

static int
set_max_body(struct ini *st, const struct key_def *def, char *value)
{
	size_t n;

	if (config_parse_size(value, &n) != 0 || n == 0 || n > (size_t)64 << 20)
		return ini_bad_value(
		        st, def, "expected a size from 1 to 64m, such as 64k",
		        value);
	st->cfg->max_body = n;
	return FR_OK;
}

static int
set_rate_limit(struct ini *st, const struct key_def *def, char *value)
{
	if (cv_parse_rate(value, &st->cfg->rate_limit_count,
	                  &st->cfg->rate_limit_window_ms) != 0)
		return ini_bad_value(
		        st, def, "expected N/sec, N/min, N/hour or off", value);
	return FR_OK;
}

static int
set_log_level(struct ini *st, const struct key_def *def, char *value)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (ascii_casecmp(value, names[i]) == 0) {
			st->cfg->log_level = (enum log_level)i;
			return FR_OK;
		}
	}
	return ini_bad_value(st, def, "expected error, warn, info or debug",
	                     value);
}

/* A choice among names: def's table of (name, value) pairs. */
struct choice {
	const char *name;
	int value;
};

static int
set_choice(struct ini *st, const struct key_def *def, char *value,
           const struct choice *c, size_t n, const char *expected)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (ascii_casecmp(value, c[i].name) == 0) {
			*(int *)ini_field(st, def) = c[i].value;
			return FR_OK;
		}
	}
	return ini_bad_value(st, def, expected, value);
}

static int
set_captcha(struct ini *st, const struct key_def *def, char *value)
{
	static const struct choice c[] = {{"none", CAPTCHA_NONE},
	                                  {"turnstile", CAPTCHA_TURNSTILE},
	                                  {"hcaptcha", CAPTCHA_HCAPTCHA},
	                                  {"recaptcha", CAPTCHA_RECAPTCHA}};

	return set_choice(st, def, value, c, 4,
	                  "expected none, turnstile, hcaptcha or recaptcha");
}

static int
set_open_closed(struct ini *st, const struct key_def *def, char *value)
{
	static const struct choice c[] = {{"open", 1}, {"closed", 0}};

	return set_choice(st, def, value, c, 2, "expected open or closed");
}

static int
set_junk(struct ini *st, const struct key_def *def, char *value)
{
	static const struct choice c[] = {{"reject", 0}, {"drop", 1}};

	return set_choice(st, def, value, c, 2, "expected reject or drop");
}

/* reCAPTCHA v3 scores run from 0.0 to 1.0 (Google's documentation). */
static int
set_score(struct ini *st, const struct key_def *def, char *value)
{
	char *end = NULL;
	double v = strtod(value, &end);

	if (end == value || *end != '\0' || !(v >= 0.0 && v <= 1.0))
		return ini_bad_value(st, def,
		                     "expected a score from 0.0 to 1.0", value);
	st->cfg->spam.recaptcha_min_score = v;
	return FR_OK;
}

/* A window that may be turned off ("off" or 0), at most an hour: the
 * same content an hour apart is a new submission. */
static int
set_window(struct ini *st, const struct key_def *def, char *value)
{
	int64_t ms;

	if (ascii_casecmp(value, "off") == 0 || strcmp(value, "0") == 0) {
		*(int64_t *)ini_field(st, def) = 0;
		return FR_OK;
	}
	if (config_parse_duration(value, &ms) != 0 || ms <= 0 ||
	    ms > 3600 * 1000)
		return ini_bad_value(
		        st, def,
		        "expected off or a duration up to 1h, such "
		        "as 5s",
		        value);
	*(int64_t *)ini_field(st, def) = ms;
	return FR_OK;
}

/* ---- List items ---- */

static int
item_name(struct ini *st, const struct key_def *def, const char *item,
          char **out)
{
	(void)def;
	*out = xstrdup(item);
	return *out ? FR_OK : ini_nomem(st);
}

static int
item_checked(struct ini *st, const struct key_def *def, const char *item,
             char **out, int rc, const char *why)
{
	if (rc == FR_ENOMEM)
		return ini_nomem(st);
	if (rc != 0)
		return ini_bad_value(st, def, why, item);
	return item_name(st, def, item, out);
}

/* A checked item stored in its normal form (normal() returns a copy). */
static int
item_normalised(struct ini *st, const struct key_def *def, const char *item,
                char **out, int rc, const char *why,
                char *(*normal)(const char *))
{
	if (rc == FR_ENOMEM)
		return ini_nomem(st);
	if (rc != 0)
		return ini_bad_value(st, def, why, item);
	*out = normal(item);
	return *out ? FR_OK : ini_nomem(st);
}

static int
item_origin(struct ini *st, const struct key_def *def, const char *item,
            char **out)
{
	const char *why = NULL;
	int rc = cv_check_origin(item, &why);

	return item_normalised(st, def, item, out, rc, why, cv_origin_normal);
}

static int
item_redirect(struct ini *st, const struct key_def *def, const char *item,
              char **out)
{
	const char *why = NULL;
	int rc = cv_check_redirect_prefix(item, &why);

	return item_normalised(st, def, item, out, rc, why, cv_redirect_prefix);
}

static int
item_nameserver(struct ini *st, const struct key_def *def, const char *item,
                char **out)
{
	const char *why = NULL;
	int rc = cv_check_nameserver(item, &why);

	return item_checked(st, def, item, out, rc, why);
}

static int
item_address(struct ini *st, const struct key_def *def, const char *item,
             char **out)
{
	const char *why = NULL;
	int rc = cv_check_address(item, &why);

	return item_checked(st, def, item, out, rc, why);
}

#define F(member) offsetof(struct config, member)

const struct key_def config_keys[] = {
        {SEC_CUSTOMERIO, "region", set_region, NULL, 0},
        {SEC_CUSTOMERIO, "api_base", set_api_base, NULL, 0},
        {SEC_CUSTOMERIO, "api_key_file", set_optional, NULL, F(api_key_file)},
        {SEC_CUSTOMERIO, "api_key", set_api_key, NULL, 0},
        {SEC_CUSTOMERIO, "timeout_ms", set_timeout, NULL, 0},
        {SEC_CUSTOMERIO, "dry_run", set_bool, NULL, F(dry_run)},
        {SEC_IDENTITY, "id_fields", NULL, item_name, F(id_fields)},
        {SEC_IDENTITY, "missing_id", set_missing_id, NULL, 0},
        {SEC_IDENTITY, "event", set_event, NULL, 0},
        {SEC_SPOOL, "path", set_required, NULL, F(spool_path)},
        {SEC_SPOOL, "backend", set_backend, NULL, F(spool_postgresql)},
        {SEC_SPOOL, "url", set_optional, NULL, F(spool_url)},
        {SEC_SPOOL, "password_file", set_optional, NULL,
         F(spool_password_file)},
        {SEC_SPOOL, "max_age", set_duration, NULL, F(max_age_ms)},
        {SEC_SPOOL, "retry_min", set_duration, NULL, F(retry_min_ms)},
        {SEC_SPOOL, "retry_max", set_duration, NULL, F(retry_max_ms)},
        {SEC_SPOOL, "lease", set_duration, NULL, F(lease_ms)},
        {SEC_HTTP, "allowed_origins", NULL, item_origin, F(allowed_origins)},
        {SEC_HTTP, "redirect_allow", NULL, item_redirect, F(redirect_allow)},
        {SEC_HTTP, "success_url", set_success_url, NULL, F(success_url)},
        {SEC_HTTP, "max_body", set_max_body, NULL, 0},
        {SEC_HTTP, "rate_limit", set_rate_limit, NULL, 0},
        {SEC_HTTP, "trusted_proxies", NULL, item_address, F(trusted_proxies)},
        {SEC_HTTP, "webhook_secret_file", set_optional, NULL,
         F(webhook_secret_file)},
        {SEC_HTTP, "honeypots", NULL, item_name, F(honeypots)},
        {SEC_HTTP, "metrics_public", set_bool, NULL, F(metrics_public)},
        {SEC_HTTP, "metrics_allow", NULL, item_address, F(metrics_allow)},
        {SEC_FIELDS, "drop", NULL, item_name, F(drop)},
        {SEC_ANTISPAM, "captcha", set_captcha, NULL, F(spam.captcha)},
        {SEC_ANTISPAM, "captcha_secret_file", set_optional, NULL,
         F(spam.captcha_secret_file)},
        {SEC_ANTISPAM, "captcha_verify_url", set_http_url, NULL,
         F(spam.captcha_verify_url)},
        {SEC_ANTISPAM, "recaptcha_min_score", set_score, NULL, 0},
        {SEC_ANTISPAM, "recaptcha_action", set_optional, NULL,
         F(spam.recaptcha_action)},
        {SEC_ANTISPAM, "captcha_unreachable", set_open_closed, NULL,
         F(spam.captcha_fail_open)},
        {SEC_ANTISPAM, "captcha_retry_for", set_duration, NULL,
         F(spam.captcha_retry_for_ms)},
        {SEC_ANTISPAM, "disposable_domains", set_bool, NULL,
         F(spam.disposable_domains)},
        {SEC_ANTISPAM, "disposable_domains_file", set_required, NULL,
         F(spam.disposable_domains_file)},
        {SEC_ANTISPAM, "junk", set_junk, NULL, F(spam.junk_drop)},
        {SEC_ANTISPAM, "double_submit_window", set_window, NULL,
         F(spam.double_submit_ms)},
        {SEC_ANTISPAM, "mx_check", set_bool, NULL, F(spam.mx_check)},
        {SEC_ANTISPAM, "mx_check_timeout", set_duration, NULL,
         F(spam.mx_check_timeout_ms)},
        {SEC_ANTISPAM, "mx_check_servers", NULL, item_nameserver,
         F(spam.mx_check_servers)},
        {SEC_LOG, "level", set_log_level, NULL, 0},
        {SEC_LOG, "show_emails", set_bool, NULL, F(log_emails)},
};

const size_t config_key_count = sizeof(config_keys) / sizeof(config_keys[0]);

static unsigned
seen_line(const struct ini *st, size_t offset)
{
	size_t i;

	for (i = 0; i < config_key_count; i++)
		if (config_keys[i].offset == offset &&
		    config_keys[i].set != NULL)
			return st->seen[i];
	return 0;
}

/* Cross-key rules, checked once the whole text is read. */
int
ck_finish(struct ini *st)
{
	struct config *cfg = st->cfg;
	const char *base, *hook = NULL, *why = NULL;

	if (cw_finish(cfg, &hook, &why) != 0)
		return fr_fail(st->err, FR_ECONFIG, NULL, NULL,
		               "%s: [webhook.%s]: %s", st->name, hook, why);
	if (cfg->retry_min_ms > cfg->retry_max_ms) {
		unsigned min_line = seen_line(st, F(retry_min_ms));
		unsigned max_line = seen_line(st, F(retry_max_ms));

		st->line = min_line > max_line ? min_line : max_line;
		return ini_fail(st, "spool.retry_min is longer than "
		                    "spool.retry_max");
	}
	if (cfg->spool_postgresql != (cfg->spool_url != NULL)) {
		st->line = seen_line(st, cfg->spool_postgresql
		                                 ? F(spool_postgresql)
		                                 : F(spool_url));
		return ini_fail(st,
		                cfg->spool_postgresql
		                        ? "spool.backend = postgresql needs "
		                          "spool.url"
		                        : "spool.url is set but "
		                          "spool.backend is not postgresql");
	}
	if (cfg->spool_postgresql && cfg->spam.captcha != CAPTCHA_NONE) {
		st->line = seen_line(st, F(spam.captcha));
		return ini_fail(st, "antispam.captcha needs spool.backend = "
		                    "sqlite: a PostgreSQL spool does not hold "
		                    "CAPTCHA tokens yet");
	}
	if (cfg->lease_ms <= cfg->timeout_ms) {
		if (seen_line(st, F(lease_ms)) != 0)
			st->line = seen_line(st, F(lease_ms));
		return ini_fail(
		        st,
		        "spool.lease (%" PRId64 " ms) must be longer "
		        "than customerio.timeout_ms (%ld): a batch still "
		        "being sent when its lease ends is claimed and "
		        "sent again by another process",
		        cfg->lease_ms, cfg->timeout_ms);
	}
	if (st->api_base_set)
		return FR_OK;
	base = strcmp(cfg->region, "eu") == 0 ? API_BASE_EU : API_BASE_US;
	return ini_replace_string(st, &cfg->api_base, base);
}

void
ck_record_lines(const struct ini *st, struct config_lines *lines)
{
	size_t i;

	for (i = 0; i < config_key_count; i++)
		if (config_keys[i].set == set_api_key)
			lines->api_key = st->seen[i];
	lines->api_key_file = seen_line(st, F(api_key_file));
	lines->webhook_secret_file = seen_line(st, F(webhook_secret_file));
	lines->captcha = seen_line(st, F(spam.captcha));
	lines->captcha_secret_file = seen_line(st, F(spam.captcha_secret_file));
	st->cfg->where.api_key = lines->api_key;
	st->cfg->where.api_key_file = lines->api_key_file;
	st->cfg->where.dry_run = seen_line(st, F(dry_run));
	st->cfg->where.spool_path = seen_line(st, F(spool_path));
}
