/*
 * Configuration: the INI reader and the table of sections and keys.
 *
 * Written by hand rather than with libinih: Debian builds inih with a
 * 200-byte line limit and without a callback for empty sections, so it
 * could neither take long alias lines nor report an unknown section
 * exactly.  The reader works on (text, length), does no I/O and keeps
 * no globals, so config_parse_string is also the fuzzing entry point.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config_ini.h"
#include "config_int.h"
#include "utf8.h"
#include "util.h"

const char *const config_section_names[SEC_COUNT] = {
        "customerio", "identity", "spool",    "http",
        "fields",     "log",      "antispam", "webhook",
};

int
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

int
ini_nomem(struct ini *st)
{
	return fr_fail(st->err, FR_ENOMEM, NULL, NULL, "%s:%u: out of memory",
	               st->name, st->line);
}

int
ini_bad_value(struct ini *st, const struct key_def *def, const char *expected,
              const char *value)
{
	return ini_fail(st, "%s.%s: %s, got '%.60s'",
	                config_section_names[def->section], def->name, expected,
	                value);
}

void *
ini_field(struct ini *st, const struct key_def *def)
{
	return (char *)st->cfg + def->offset;
}

int
ini_replace_string(struct ini *st, char **slot, const char *value)
{
	char *copy = xstrdup(value);

	if (copy == NULL)
		return ini_nomem(st);
	free(*slot);
	*slot = copy;
	return FR_OK;
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
		                config_section_names[st->section], st->key);
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
		                config_section_names[st->section], st->key);
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
	struct config_list *list = ini_field(st, def);
	char *copy = NULL;
	int rc;

	if (list->count == CONFIG_MAX_LIST)
		return ini_fail(st, "%s.%s: more than %d entries",
		                config_section_names[def->section], def->name,
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
	const struct key_def *def = &config_keys[index];
	unsigned first = st->seen[index];

	if (first != 0 && def->item == NULL)
		return ini_fail(
		        st, "%s.%s: duplicate key (first set on line %u)",
		        config_section_names[def->section], def->name, first);
	if (first == 0)
		st->seen[index] = st->line;
	if (def->item == NULL) {
		char *text = NULL;
		int rc = unquote(st, value, &text);

		return rc == FR_OK ? def->set(st, def, text) : rc;
	}
	if (first == 0) /* the file's list replaces the default one */
		config_list_clear(ini_field(st, def));
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
		if (ascii_casecmp(name, config_section_names[i]) == 0) {
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
	for (i = 0; i < config_key_count; i++)
		if (config_keys[i].section == st->section &&
		    ascii_casecmp(key, config_keys[i].name) == 0)
			return set_key(st, i, value);
	if (st->section == SEC_FIELDS && strncasecmp(key, "alias.", 6) == 0)
		return set_alias(st, key + 6, value);
	return ini_fail(st, "unknown key '%.60s' in [%s]", key,
	                config_section_names[st->section]);
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
	rc = ini_collect(st, ck_finish(st));
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
	struct ini *st = calloc(1, sizeof(*st));
	unsigned *seen = calloc(config_key_count, sizeof(*seen));
	int rc;

	if (st == NULL || seen == NULL) {
		free(st);
		free(seen);
		return fr_fail(err, FR_ENOMEM, NULL, NULL, "%s: out of memory",
		               name);
	}
	st->cfg = cfg;
	st->name = name;
	st->section = SEC_NONE;
	st->seen = seen;
	st->err = err;
	st->all = lines != NULL && lines->collect ? &lines->errors : NULL;
	rc = ini_read(st, text, len);
	if (lines != NULL)
		ck_record_lines(st, lines);
	free(seen);
	free(st);
	return rc;
}
