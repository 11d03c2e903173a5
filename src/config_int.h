/*
 * Internals shared by the configuration sources: config.c (defaults,
 * lifetime), config_ini.c and config_keys.c (the INI reader and the key
 * table, whose own internals are config_ini.h), config_value.c (value
 * syntax) and config_io.c (files, secrets, printing).  Not for other
 * modules.
 */
#ifndef FORMRELAY_CONFIG_INT_H
#define FORMRELAY_CONFIG_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "error.h"

/* Lines where the keys naming secrets were set (0: not set), so that
 * errors found while reading the secrets can point at them. */
struct config_lines {
	unsigned api_key;
	unsigned api_key_file;
	unsigned webhook_secret_file;
	unsigned captcha; /* antispam.captcha */
	unsigned captcha_secret_file;
	int collect;  /* set by the caller: go on after an error */
	char *errors; /* collecting: every error, one a line; caller owns */
};

/*
 * Parse text over cfg, which must hold the defaults (config_defaults).
 * On error cfg holds a partial result the caller must config_free, and
 * err the first error; with lines->collect set, reading goes on after an
 * error and lines->errors gets every one.  lines may be NULL.
 */
int config_parse_into(struct config *cfg, const char *text, size_t len,
                      const char *name, struct config_lines *lines,
                      struct fr_error *err);

/*
 * Value checks.  Each returns 0 when s is valid, -1 with *why set to a
 * static reason when not, or FR_ENOMEM.
 */
int cv_check_http_url(const char *s, int base_only, const char **why);
int cv_check_redirect_prefix(const char *s, const char **why);
int cv_check_origin(const char *s, const char **why);
int cv_check_address(const char *s, const char **why);
int cv_check_nameserver(const char *s, const char **why);
int cv_check_secret_chars(const char *s, const char **why);

/* Decimal digits only, at most max.  0 or -1. */
int cv_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* "yes"/"no", "true"/"false", "on"/"off", "1"/"0".  0 or -1. */
int cv_parse_bool(const char *s, int *out);

/* "20/min", "5/sec", "1000/hour" or "off".  0 or -1. */
int cv_parse_rate(const char *s, unsigned *count, int64_t *window_ms);

/* An origin in lower case without a default port, its host as url.h
 * normalises it.  Caller owns; NULL on ENOMEM. */
char *cv_origin_normal(const char *origin);

/* A redirect prefix with at least "/" as its path, so that
 * "https://example.com" cannot match "https://example.com.evil.test",
 * and scheme and host in lower case.  Caller owns; NULL on ENOMEM. */
char *cv_redirect_prefix(const char *url);

/* Append line and a '\n' to the owned string *buf (NULL: empty).
 * FR_OK or FR_ENOMEM (*buf unchanged). */
int cv_append_line(char **buf, const char *line);

/* Shortest exact spelling: 259200000 -> "3d", 90000 -> "90s". */
void cv_format_duration(int64_t ms, char *buf, size_t size);
/* 65536 -> "64k", 1000 -> "1000". */
void cv_format_size(size_t n, char *buf, size_t size);
/* "20/min" or "off". */
void cv_format_rate(unsigned count, int64_t window_ms, char *buf, size_t size);

/*
 * Read a secret file named by key (set on line) whole into *buf (owned:
 * wipe and free it), warning in cfg->warnings when others may read it.
 * FR_OK, FR_ECONFIG ("conf:line: key: path: reason") or FR_ENOMEM.
 */
int config_secret_file(struct config *cfg, const char *key, unsigned line,
                       const char *path, char **buf, size_t *len,
                       struct fr_error *err);

/* ---- [webhook.NAME] (config_webhook.c) ---- */

/* Begin a section: FR_OK, FR_ENOMEM, or -1 with *why. */
int cw_section(struct config *cfg, const char *name, const char **why);
/* key = value in the section begun last: FR_OK, FR_ENOMEM, -1 with *why
 * (a bad value), or 1 for an unknown key. */
int cw_set(struct config *cfg, const char *key, char *value, unsigned line,
           const char **why);
/* Cross-key rules once the text is read: 0, or -1 with the section's
 * *name and *why. */
int cw_finish(const struct config *cfg, const char **name, const char **why);
/* Read every section's secret_file and token_file. */
int cw_load_secrets(struct config *cfg, struct fr_error *err);
void cw_free(struct config *cfg);
void cw_print(const struct config *cfg, FILE *fp);

#endif
