/*
 * Configuration: the INI file of SPEC "Configuration", the API key, and
 * the defaults.  Loaded once at start-up; read-only afterwards, so every
 * thread may read it without locks.
 */
#ifndef FORMRELAY_CONFIG_H
#define FORMRELAY_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

#define CONFIG_MAX_LIST 64

/* A comma-separated list, split and trimmed; each string owned. */
struct config_list {
	char *items[CONFIG_MAX_LIST];
	size_t count;
};

/* [fields] alias.<trait> = a, b */
struct config_alias {
	char *trait;  /* owned */
	char *name;   /* owned: one extra source name */
};

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

struct config {
	char *path; /* the file read, owned; NULL when none */

	/* [customerio] */
	char *region;       /* "us" | "eu" */
	char *api_base;     /* effective base URL, no trailing '/' */
	char *api_key;      /* owned; never printed, never logged */
	char *api_key_file;
	long timeout_ms;
	int dry_run;

	/* [identity] */
	struct config_list id_fields;
	int missing_id_reject; /* 0: email, 1: reject */
	char *event;           /* "" or a track event name */

	/* [spool] */
	char *spool_path;
	int64_t max_age_ms;
	int64_t retry_min_ms;  /* back-off floor (default 1s) */
	int64_t retry_max_ms;  /* back-off ceiling (default 15min) */
	int64_t lease_ms;      /* claim lease (default 60s) */

	/* [http] */
	struct config_list allowed_origins; /* empty: no Origin check */
	struct config_list redirect_allow;
	char *success_url;
	size_t max_body;
	unsigned rate_limit_count;   /* 0: off */
	int64_t rate_limit_window_ms;
	struct config_list trusted_proxies;
	char *webhook_secret_file;
	char *webhook_secret;        /* owned: the whsec_… value read */
	struct config_list honeypots; /* extra honeypot names */
	int metrics_public;          /* /metrics to everyone */

	/* [fields] */
	struct config_alias aliases[CONFIG_MAX_LIST * 4];
	size_t alias_count;
	struct config_list drop;

	/* [log] */
	enum log_level log_level;
	int log_emails; /* 1: do not mask emails in logs */

	/* Non-fatal findings (e.g. key file readable by others), one per
	 * line; owned, may be NULL. */
	char *warnings;
};

/* Fill cfg with the defaults.  Returns FR_OK or FR_ENOMEM. */
int config_defaults(struct config *cfg);

/*
 * Load path over the defaults, then the API key (FORMRELAY_API_KEY wins,
 * then api_key_file, then api_key).  On error returns FR_ECONFIG or
 * FR_ENOMEM with err->message as "file:line: reason".
 */
int config_load(struct config *cfg, const char *path, struct fr_error *err);

/* Parse INI text as if read from name (for tests and fuzzing). */
int config_parse_string(struct config *cfg, const char *text, size_t len,
			const char *name, struct fr_error *err);

/*
 * The file to read: opt (from -c) if set, else $FORMRELAY_CONFIG, else
 * SYSCONFDIR "/formrelay.conf".  Returns a static or borrowed string.
 */
const char *config_choose_path(const char *opt);

/* Print the effective settings, key masked, for --check-config. */
void config_print(const struct config *cfg, FILE *fp);

/* Release everything cfg owns.  NULL is a no-op. */
void config_free(struct config *cfg);

/* Parse "64k", "1m", "512" into bytes.  Returns 0 or -1. */
int config_parse_size(const char *s, size_t *out);

/* Parse "72h", "30m", "10s", "500ms", "3d" into milliseconds.  0 or -1. */
int config_parse_duration(const char *s, int64_t *out);

#endif
