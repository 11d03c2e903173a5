/*
 * Configuration: the INI reader and the table of sections and keys.
 *
 * Written by hand rather than with libinih: Debian builds inih with a
 * 200-byte line limit and without a callback for empty sections, so it
 * could neither take long alias lines nor report an unknown section
 * exactly.  The reader works on (text, length), does no I/O and keeps
 * no globals, so config_parse_string is also the fuzzing entry point.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config_int.h"
#include "utf8.h"
#include "util.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

#ifndef PKGDATADIR
#define PKGDATADIR "/usr/local/share/formrelay"
#endif

#define API_BASE_US "https://cdp.customer.io/v1"
#define API_BASE_EU "https://cdp-eu.customer.io/v1"

enum section {
	SEC_SKIP = -2, /* after an unknown section: its keys are not read */
	SEC_NONE = -1,
	SEC_CUSTOMERIO,
	SEC_IDENTITY,
	SEC_SPOOL,
	SEC_HTTP,
	SEC_FIELDS,
	SEC_LOG,
	SEC_ANTISPAM,
	SEC_WEBHOOK, /* [webhook.NAME]: config_webhook.c */
	SEC_COUNT
};

static const char *const section_names[SEC_COUNT] = {
        "customerio", "identity", "spool",    "http",
        "fields",     "log",      "antispam", "webhook",
};

struct key_def;

/* The reader's state for one text. */
struct ini {
	struct config *cfg;
	const char *name; /* for messages: the file name */
	unsigned line;    /* 1-based, of the line being read */
	int section;      /* enum section */
	const char *key;  /* the key being set, as written */
	unsigned *seen;   /* per key: the line where it was set, or 0 */
	int api_base_set; /* api_base given: it overrides region */
	struct fr_error *err;
	char **all;            /* collecting: every error, one a line */
	struct fr_error first; /* collecting: the first error */
	char buf[CONFIG_MAX_LINE + 1];
};

/* Set a scalar from value (trimmed, unquoted, writable). */
typedef int (*key_setter)(struct ini *st, const struct key_def *def,
                          char *value);
/* Check one list item; *out is the owned string to store. */
typedef int (*item_checker)(struct ini *st, const struct key_def *def,
                            const char *item, char **out);

struct key_def {
	int section;
	const char *name;
	key_setter set;    /* scalars */
	item_checker item; /* lists: given again, they append */
	size_t offset;     /* the field in struct config */
};

static int __attribute__((format(printf, 2, 3)))
ini_fail(struct ini *st, const char *fmt, ...)
{
	char reason[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return fr_fail(st->err, FR_ECONFIG, NULL, NULL, "%s:%u: %s", st->name,
	               st->line, reason);
}

static int
ini_nomem(struct ini *st)
{
	return fr_fail(st->err, FR_ENOMEM, NULL, NULL, "%s:%u: out of memory",
	               st->name, st->line);
}

/* A bad value: "customerio.region: expected us or eu, got 'xx'". */
static int
bad_value(struct ini *st, const struct key_def *def, const char *expected,
          const char *value)
{
	return ini_fail(st, "%s.%s: %s, got '%.60s'",
	                section_names[def->section], def->name, expected,
	                value);
}

static void *
field(struct ini *st, const struct key_def *def)
{
	return (char *)st->cfg + def->offset;
}

/* Replace *slot by a copy of value. */
static int
replace_string(struct ini *st, char **slot, const char *value)
{
	char *copy = xstrdup(value);

	if (copy == NULL)
		return ini_nomem(st);
	free(*slot);
	*slot = copy;
	return FR_OK;
}

/* ---- Scalar setters ---- */

static int
set_region(struct ini *st, const struct key_def *def, char *value)
{
	if (ascii_casecmp(value, "us") != 0 && ascii_casecmp(value, "eu") != 0)
		return bad_value(st, def, "expected us or eu", value);
	value[0] = (char)(value[0] | 0x20); /* two ASCII letters: lower */
	value[1] = (char)(value[1] | 0x20);
	return replace_string(st, &st->cfg->region, value);
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
		return bad_value(st, def, why, value);
	while (len > 0 && value[len - 1] == '/')
		value[--len] = '\0';
	st->api_base_set = 1;
	return replace_string(st, &st->cfg->api_base, value);
}

static int
set_api_key(struct ini *st, const struct key_def *def, char *value)
{
	const char *why = NULL;

	if (value[0] == '\0')
		return FR_OK;
	if (cv_check_secret_chars(value, &why) != 0)
		return ini_fail(st, "%s.%s: the key %s",
		                section_names[def->section], def->name, why);
	if (replace_string(st, &st->cfg->api_key, value) != FR_OK)
		return FR_ENOMEM;
	st->cfg->api_key_source = CONFIG_KEY_INLINE;
	return FR_OK;
}

/* A path or other optional string: empty leaves it unset. */
static int
set_backend(struct ini *st, const struct key_def *def, char *value)
{
	if (ascii_casecmp(value, "sqlite") == 0)
		st->cfg->spool_postgresql = 0;
	else if (ascii_casecmp(value, "postgresql") == 0)
		st->cfg->spool_postgresql = 1;
	else
		return bad_value(st, def, "expected sqlite or postgresql",
		                 value);
	return FR_OK;
}

static int
set_optional(struct ini *st, const struct key_def *def, char *value)
{
	char **slot = field(st, def);

	if (value[0] == '\0') {
		free(*slot);
		*slot = NULL;
		return FR_OK;
	}
	return replace_string(st, slot, value);
}

static int
set_required(struct ini *st, const struct key_def *def, char *value)
{
	if (value[0] == '\0')
		return bad_value(st, def, "expected a path", value);
	return replace_string(st, field(st, def), value);
}

/* event is "" when unset, never NULL. */
static int
set_event(struct ini *st, const struct key_def *def, char *value)
{
	(void)def;
	return replace_string(st, &st->cfg->event, value);
}

static int
set_bool(struct ini *st, const struct key_def *def, char *value)
{
	if (cv_parse_bool(value, field(st, def)) != 0)
		return bad_value(st, def, "expected yes or no", value);
	return FR_OK;
}

/* Durations must be positive: a zero max_age or lease is a mistake. */
static int
set_duration(struct ini *st, const struct key_def *def, char *value)
{
	int64_t ms;

	if (config_parse_duration(value, &ms) != 0 || ms <= 0)
		return bad_value(st, def,
		                 "expected a duration such as 72h, 15m, 10s, "
		                 "500ms or 3d",
		                 value);
	*(int64_t *)field(st, def) = ms;
	return FR_OK;
}

static int
set_timeout(struct ini *st, const struct key_def *def, char *value)
{
	uint64_t ms;

	/* A plain number of milliseconds, as the key's name says. */
	if (cv_parse_uint(value, 600000, &ms) != 0 || ms == 0)
		return bad_value(st, def,
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
		return bad_value(st, def, "expected email or reject", value);
	return FR_OK;
}

/* Relative "/thanks" is allowed too: RFC 9110, 10.2.2 lets Location be
 * a relative reference ("//host" would leave the site, and browsers read
 * "/\host" the same way, so those are not). */
static int
set_success_url(struct ini *st, const struct key_def *def, char *value)
{
	const char *why = NULL;
	int rc;

	if (value[0] == '\0' ||
	    (value[0] == '/' && value[1] != '/' && value[1] != '\\'))
		return set_optional(st, def, value);
	rc = cv_check_http_url(value, 0, &why);
	if (rc == FR_ENOMEM)
		return ini_nomem(st);
	if (rc != 0)
		return bad_value(st, def, why, value);
	return set_optional(st, def, value);
}

static int
set_max_body(struct ini *st, const struct key_def *def, char *value)
{
	size_t n;

	if (config_parse_size(value, &n) != 0 || n == 0 || n > (size_t)64 << 20)
		return bad_value(st, def,
		                 "expected a size from 1 to 64m, such as 64k",
		                 value);
	st->cfg->max_body = n;
	return FR_OK;
}

static int
set_rate_limit(struct ini *st, const struct key_def *def, char *value)
{
	if (cv_parse_rate(value, &st->cfg->rate_limit_count,
	                  &st->cfg->rate_limit_window_ms) != 0)
		return bad_value(st, def,
		                 "expected N/sec, N/min, N/hour or off", value);
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
	return bad_value(st, def, "expected error, warn, info or debug", value);
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
			*(int *)field(st, def) = c[i].value;
			return FR_OK;
		}
	}
	return bad_value(st, def, expected, value);
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
		return bad_value(st, def, "expected a score from 0.0 to 1.0",
		                 value);
	st->cfg->spam.recaptcha_min_score = v;
	return FR_OK;
}

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
		return bad_value(st, def, why, value);
	return set_optional(st, def, value);
}

/* A window that may be turned off ("off" or 0), at most an hour: the
 * same content an hour apart is a new submission. */
static int
set_window(struct ini *st, const struct key_def *def, char *value)
{
	int64_t ms;

	if (ascii_casecmp(value, "off") == 0 || strcmp(value, "0") == 0) {
		*(int64_t *)field(st, def) = 0;
		return FR_OK;
	}
	if (config_parse_duration(value, &ms) != 0 || ms <= 0 ||
	    ms > 3600 * 1000)
		return bad_value(st, def,
		                 "expected off or a duration up to 1h, such "
		                 "as 5s",
		                 value);
	*(int64_t *)field(st, def) = ms;
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
		return bad_value(st, def, why, item);
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
		return bad_value(st, def, why, item);
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
item_address(struct ini *st, const struct key_def *def, const char *item,
             char **out)
{
	const char *why = NULL;
	int rc = cv_check_address(item, &why);

	return item_checked(st, def, item, out, rc, why);
}

#define F(member) offsetof(struct config, member)

static const struct key_def keys[] = {
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
        {SEC_LOG, "level", set_log_level, NULL, 0},
        {SEC_LOG, "show_emails", set_bool, NULL, F(log_emails)},
};

#define KEY_COUNT (sizeof(keys) / sizeof(keys[0]))

static void
list_clear(struct config_list *list)
{
	size_t i;

	for (i = 0; i < list->count; i++) {
		free(list->items[i]);
		list->items[i] = NULL;
	}
	list->count = 0;
}

static char *
trim(char *s)
{
	size_t len;

	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
	return s;
}

/*
 * Values.  A '"' opens a quoted run that keeps spaces, commas, ';' and
 * '#' as written (no escapes, so a value cannot hold '"').  Outside
 * quotes, ';' or '#' at the start of the value or after a space or tab
 * starts a comment, so "https://x.test/#top" and "a;b" stay whole.
 */
static int
strip_comment(struct ini *st, char *raw, char **out)
{
	char *v = trim(raw), *p;
	int quoted = 0;

	for (p = v; *p != '\0'; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (!quoted && (*p == ';' || *p == '#') &&
		         (p == v || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	}
	if (quoted)
		return ini_fail(st, "%s.%.60s: missing closing '\"'",
		                section_names[st->section], st->key);
	*out = trim(v);
	return FR_OK;
}

/* One trimmed token: "quoted" loses its quotes, bare stays as is. */
static int
unquote(struct ini *st, char *token, char **out)
{
	char *close;

	if (*token != '"') {
		*out = token;
		return FR_OK;
	}
	close = strchr(token + 1, '"'); /* strip_comment saw it */
	if (close == NULL || close[1] != '\0')
		return ini_fail(st, "%s.%.60s: text after the closing '\"'",
		                section_names[st->section], st->key);
	*close = '\0';
	*out = token + 1;
	return FR_OK;
}

/* The next ',' outside quotes, or NULL. */
static char *
next_comma(char *s)
{
	int quoted = 0;

	for (; *s != '\0'; s++) {
		if (*s == '"')
			quoted = !quoted;
		else if (*s == ',' && !quoted)
			return s;
	}
	return NULL;
}

/*
 * Split value at commas into trimmed, unquoted, non-empty items and hand
 * each to store(), which returns FR_OK or an error already reported.
 */
static int
split_list(struct ini *st, char *value,
           int (*store)(struct ini *, const void *, const char *),
           const void *ctx)
{
	char *item = value, *comma, *text;
	int rc;

	do {
		comma = next_comma(item);
		if (comma != NULL)
			*comma = '\0';
		rc = unquote(st, trim(item), &text);
		if (rc == FR_OK && *text != '\0')
			rc = store(st, ctx, text);
		if (rc != FR_OK)
			return rc;
		/* NULL + 1 is undefined even when never read (fuzzing). */
		item = comma != NULL ? comma + 1 : NULL;
	} while (comma != NULL);
	return FR_OK;
}

static int
store_list_item(struct ini *st, const void *ctx, const char *item)
{
	const struct key_def *def = ctx;
	struct config_list *list = field(st, def);
	char *copy = NULL;
	int rc;

	if (list->count == CONFIG_MAX_LIST)
		return ini_fail(st, "%s.%s: more than %d entries",
		                section_names[def->section], def->name,
		                CONFIG_MAX_LIST);
	rc = def->item(st, def, item, &copy);
	if (rc != FR_OK)
		return rc;
	list->items[list->count++] = copy;
	return FR_OK;
}

static int
set_key(struct ini *st, size_t index, char *value)
{
	const struct key_def *def = &keys[index];
	unsigned first = st->seen[index];

	if (first != 0 && def->item == NULL)
		return ini_fail(st,
		                "%s.%s: duplicate key (first set on line %u)",
		                section_names[def->section], def->name, first);
	if (first == 0)
		st->seen[index] = st->line;
	if (def->item == NULL) {
		char *text = NULL;
		int rc = unquote(st, value, &text);

		return rc == FR_OK ? def->set(st, def, text) : rc;
	}
	if (first == 0) /* the file's list replaces the default one */
		list_clear(field(st, def));
	return split_list(st, value, store_list_item, def);
}

/* ---- [fields] alias.<trait> ---- */

static int
store_alias(struct ini *st, const void *ctx, const char *name)
{
	struct config *cfg = st->cfg;
	struct config_alias *alias;

	if (cfg->alias_count == CONFIG_MAX_ALIASES)
		return ini_fail(st, "fields.alias: more than %d aliases",
		                CONFIG_MAX_ALIASES);
	alias = &cfg->aliases[cfg->alias_count];
	alias->trait = xstrdup(ctx);
	alias->name = xstrdup(name);
	if (alias->trait == NULL || alias->name == NULL) {
		free(alias->trait);
		free(alias->name);
		alias->trait = alias->name = NULL;
		return ini_nomem(st);
	}
	cfg->alias_count++;
	return FR_OK;
}

static int
set_alias(struct ini *st, const char *trait, char *value)
{
	if (*trait == '\0' || strchr(trait, '.') != NULL)
		return ini_fail(st,
		                "fields.alias.%s: expected alias.<trait> "
		                "with a trait name such as first_name",
		                trait);
	return split_list(st, value, store_alias, trait);
}

/* ---- Lines ---- */

static int
ini_webhook_section(struct ini *st, const char *name)
{
	const char *why = NULL;
	int rc = cw_section(st->cfg, name, &why);

	if (rc == FR_ENOMEM)
		return ini_nomem(st);
	if (rc != FR_OK)
		return ini_fail(st, "[webhook.%.64s]: %s", name, why);
	st->section = SEC_WEBHOOK;
	return FR_OK;
}

/* key = value in a [webhook.NAME] section. */
static int
ini_webhook_key(struct ini *st, const char *key, char *value)
{
	const char *name = st->cfg->hooks[st->cfg->hook_count - 1].name;
	const char *why = NULL;
	char *text = NULL;
	int rc = unquote(st, value, &text);

	if (rc != FR_OK)
		return rc;
	rc = cw_set(st->cfg, key, text, st->line, &why);
	if (rc == FR_ENOMEM)
		return ini_nomem(st);
	if (rc == 1)
		return ini_fail(st, "unknown key '%.60s' in [webhook.%s]", key,
		                name);
	if (rc != FR_OK)
		return ini_fail(st, "webhook.%s.%s: %s, got '%.60s'", name, key,
		                why, text);
	return FR_OK;
}

static int
ini_section(struct ini *st, char *p)
{
	char *close = strchr(p, ']'), *name, *rest;
	int i;

	if (close == NULL)
		return ini_fail(st, "missing ']' after the section name");
	*close = '\0';
	name = trim(p + 1);
	rest = trim(close + 1);
	if (*rest != '\0' && *rest != ';' && *rest != '#')
		return ini_fail(st, "text after the section header");
	if (strncasecmp(name, "webhook.", 8) == 0)
		return ini_webhook_section(st, name + 8);
	for (i = 0; i < SEC_WEBHOOK; i++) {
		if (ascii_casecmp(name, section_names[i]) == 0) {
			st->section = i;
			return FR_OK;
		}
	}
	st->section = SEC_SKIP;
	return ini_fail(st,
	                "unknown section [%.60s] (expected customerio, "
	                "identity, spool, http, fields, log, antispam or "
	                "webhook.NAME)",
	                name);
}

static int
valid_key_name(const char *key)
{
	const char *p;

	if (*key == '\0')
		return 0;
	for (p = key; *p != '\0'; p++) {
		char c = (char)(*p | 0x20);

		if (!((c >= 'a' && c <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '-' || *p == '.'))
			return 0;
	}
	return 1;
}

static int
ini_assignment(struct ini *st, char *p)
{
	char *eq = strchr(p, '='), *key, *value = NULL;
	size_t i;
	int rc;

	if (eq == NULL)
		return ini_fail(st,
		                "missing '=' in '%.60s' (expected "
		                "key = value)",
		                trim(p));
	*eq = '\0';
	key = trim(p);
	if (!valid_key_name(key))
		return ini_fail(st, "bad key name '%.60s'", key);
	if (st->section == SEC_SKIP)
		return FR_OK; /* the section was reported */
	if (st->section == SEC_NONE)
		return ini_fail(st, "key '%.60s' before any [section]", key);
	st->key = key;
	rc = strip_comment(st, eq + 1, &value);
	if (rc != FR_OK)
		return rc;
	if (st->section == SEC_WEBHOOK)
		return ini_webhook_key(st, key, value);
	for (i = 0; i < KEY_COUNT; i++)
		if (keys[i].section == st->section &&
		    ascii_casecmp(key, keys[i].name) == 0)
			return set_key(st, i, value);
	if (st->section == SEC_FIELDS && strncasecmp(key, "alias.", 6) == 0)
		return set_alias(st, key + 6, value);
	return ini_fail(st, "unknown key '%.60s' in [%s]", key,
	                section_names[st->section]);
}

static int
ini_line(struct ini *st, char *line)
{
	char *p = trim(line);

	if (*p == '\0' || *p == ';' || *p == '#')
		return FR_OK;
	if (*p == '[')
		return ini_section(st, p);
	return ini_assignment(st, p);
}

/* Copy one line (without its LF or CRLF) into st->buf.  Control
 * characters (NUL included) are refused: they only hide mistakes. */
static int
ini_take_line(struct ini *st, const char *text, size_t len)
{
	size_t i;

	if (len > 0 && text[len - 1] == '\r')
		len--;
	if (len > CONFIG_MAX_LINE)
		return ini_fail(st, "line longer than %d bytes",
		                CONFIG_MAX_LINE);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return ini_fail(st,
			                "control character 0x%02x at "
			                "column %zu",
			                c, i + 1);
	}
	/* Values reach JSON (event names) and logs: text only (RFC 3629). */
	if (!utf8_valid(text, len))
		return ini_fail(st, "invalid UTF-8");
	memcpy(st->buf, text, len);
	st->buf[len] = '\0';
	return FR_OK;
}

static unsigned
seen_line(const struct ini *st, size_t offset)
{
	size_t i;

	for (i = 0; i < KEY_COUNT; i++)
		if (keys[i].offset == offset && keys[i].set != NULL)
			return st->seen[i];
	return 0;
}

/* Cross-key rules, checked once the whole text is read. */
static int
ini_finish(struct ini *st)
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
	return replace_string(st, &cfg->api_base, base);
}

static void
record_lines(const struct ini *st, struct config_lines *lines)
{
	size_t i;

	for (i = 0; i < KEY_COUNT; i++)
		if (keys[i].set == set_api_key)
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

/*
 * While collecting, a configuration error is noted and reading goes on,
 * so that one run reports every mistake in the file; the first stays in
 * st->err.  Other statuses (out of memory) stop at once.
 */
static int
ini_collect(struct ini *st, int rc)
{
	if (rc != FR_ECONFIG || st->all == NULL)
		return rc;
	if (cv_append_line(st->all, st->err->message) != FR_OK)
		return ini_nomem(st);
	if (st->first.status == FR_OK)
		st->first = *st->err;
	return FR_OK;
}

static int
ini_read(struct ini *st, const char *text, size_t len)
{
	size_t pos = 0;
	int rc;

	/* A UTF-8 byte order mark, as some Windows editors write. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		st->line++;
		rc = ini_take_line(st, text + pos, n);
		if (rc == FR_OK)
			rc = ini_line(st, st->buf);
		if (rc != FR_OK && (rc = ini_collect(st, rc)) != FR_OK)
			return rc;
		pos += n + (nl != NULL);
	}
	rc = ini_collect(st, ini_finish(st));
	if (rc == FR_OK && st->first.status != FR_OK) {
		*st->err = st->first;
		rc = FR_ECONFIG;
	}
	return rc;
}

int
config_parse_into(struct config *cfg, const char *text, size_t len,
                  const char *name, struct config_lines *lines,
                  struct fr_error *err)
{
	unsigned seen[KEY_COUNT] = {0};
	struct ini *st = calloc(1, sizeof(*st));
	int rc;

	if (st == NULL)
		return fr_fail(err, FR_ENOMEM, NULL, NULL, "%s: out of memory",
		               name);
	st->cfg = cfg;
	st->name = name;
	st->section = SEC_NONE;
	st->seen = seen;
	st->err = err;
	st->all = lines != NULL && lines->collect ? &lines->errors : NULL;
	rc = ini_read(st, text, len);
	if (lines != NULL)
		record_lines(st, lines);
	free(st);
	return rc;
}

/* ---- Defaults, lifetime ---- */

static int
list_set(struct config_list *list, const char *const *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		list->items[i] = xstrdup(items[i]);
		if (list->items[i] == NULL)
			return FR_ENOMEM;
		list->count = i + 1;
	}
	return FR_OK;
}

int
config_defaults(struct config *cfg)
{
	static const char *const id_fields[] = {"entryId", "entry_id", "userId",
	                                        "user_id"};
	static const char *const loopback[] = {"127.0.0.0/8", "::1"};

	memset(cfg, 0, sizeof(*cfg));
	cfg->timeout_ms = 10000;
	cfg->max_age_ms = (int64_t)72 * 60 * 60 * 1000;
	cfg->retry_min_ms = 1000;
	cfg->retry_max_ms = 15 * 60 * 1000;
	cfg->lease_ms = 60 * 1000;
	cfg->max_body = 64 * 1024;
	cfg->rate_limit_count = 20;
	cfg->rate_limit_window_ms = 60 * 1000;
	cfg->log_level = LOG_INFO;
	cfg->spam.double_submit_ms = 5000;
	cfg->spam.recaptcha_min_score = 0.5;
	cfg->spam.captcha_fail_open = 1;
	cfg->region = xstrdup("us");
	cfg->api_base = xstrdup(API_BASE_US);
	cfg->event = xstrdup("");
	cfg->spool_path = xstrdup(LOCALSTATEDIR "/lib/formrelay/spool.db");
	cfg->spam.disposable_domains_file =
	        xstrdup(PKGDATADIR "/disposable_domains.txt");
	if (cfg->region == NULL || cfg->api_base == NULL ||
	    cfg->spam.disposable_domains_file == NULL || cfg->event == NULL ||
	    cfg->spool_path == NULL ||
	    list_set(&cfg->id_fields, id_fields, 4) != FR_OK ||
	    list_set(&cfg->metrics_allow, loopback, 2) != FR_OK) {
		config_free(cfg);
		return FR_ENOMEM;
	}
	return FR_OK;
}

/* Secrets are wiped before their memory goes back to malloc. */
static void
free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->region);
	free(cfg->api_base);
	free_secret(cfg->api_key);
	free(cfg->api_key_file);
	list_clear(&cfg->id_fields);
	free(cfg->event);
	free(cfg->spool_path);
	free(cfg->spool_url);
	free(cfg->spool_password_file);
	list_clear(&cfg->allowed_origins);
	list_clear(&cfg->redirect_allow);
	free(cfg->success_url);
	list_clear(&cfg->trusted_proxies);
	free(cfg->webhook_secret_file);
	free_secret(cfg->webhook_secret);
	list_clear(&cfg->honeypots);
	list_clear(&cfg->metrics_allow);
	for (i = 0; i < cfg->alias_count; i++) {
		free(cfg->aliases[i].trait);
		free(cfg->aliases[i].name);
	}
	list_clear(&cfg->drop);
	free(cfg->spam.disposable_domains_file);
	cw_free(cfg);
	free(cfg->spam.captcha_secret_file);
	free_secret(cfg->spam.captcha_secret);
	free(cfg->spam.captcha_verify_url);
	free(cfg->spam.recaptcha_action);
	free(cfg->warnings);
	memset(cfg, 0, sizeof(*cfg));
}

int
config_parse_string(struct config *cfg, const char *text, size_t len,
                    const char *name, struct fr_error *err)
{
	struct config tmp;
	int rc;

	if (name == NULL)
		name = "(string)";
	if (config_defaults(&tmp) != FR_OK)
		return fr_fail(err, FR_ENOMEM, NULL, NULL, "%s: out of memory",
		               name);
	rc = config_parse_into(&tmp, text, len, name, NULL, err);
	if (rc != FR_OK) {
		config_free(&tmp);
		return rc;
	}
	config_free(cfg);
	*cfg = tmp;
	return FR_OK;
}
