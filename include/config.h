/*
 * Configuration: the INI file of SPEC "Configuration", the API key, and
 * the defaults.  Loaded once at start-up; read-only afterwards, so every
 * thread may read it without locks.
 *
 * The INI dialect (see contrib/formrelay.conf.sample):
 *   [section]            names and keys match ignoring ASCII case
 *   key = value          value trimmed; "double quotes" keep spaces, ';'
 *                        and '#' (no escapes; a value cannot hold '"')
 *   ; or # comment       whole line; also after a value when preceded by
 *                        a space or tab ("max_age = 72h ; note")
 * Lines up to CONFIG_MAX_LINE bytes, CRLF and a UTF-8 BOM tolerated,
 * control characters rejected.  Unknown sections or keys are errors.
 * A scalar key given twice is an error (it is usually a typo or a
 * forgotten edit); a list key given again appends to the list.
 */
#ifndef FORMRELAY_CONFIG_H
#define FORMRELAY_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

#define CONFIG_MAX_LIST    64
#define CONFIG_MAX_ALIASES (CONFIG_MAX_LIST * 4)
#define CONFIG_MAX_LINE    4096          /* bytes per line, without the EOL */
#define CONFIG_MAX_FILE    (1024 * 1024) /* bytes per configuration file */
#define CONFIG_MAX_SECRET  4096          /* bytes per key or secret file */

/* A comma-separated list, split and trimmed; each string owned. */
struct config_list {
	char *items[CONFIG_MAX_LIST];
	size_t count;
};

/* [fields] alias.<trait> = a, b */
struct config_alias {
	char *trait; /* owned */
	char *name;  /* owned: one extra source name */
};

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* [webhook.NAME] platform (SPEC "Webhook sources"). */
enum hook_platform {
	HOOK_STANDARD = 0, /* Standard Webhooks / Svix (Embeddables) */
	HOOK_TYPEFORM,
	HOOK_TALLY,
	HOOK_WEBFLOW,
	HOOK_JOTFORM,
	HOOK_UNBOUNCE,
	HOOK_HMAC /* any other HMAC sender, described by the keys below */
};

enum hook_algorithm { HOOK_SHA256 = 0, HOOK_SHA512, HOOK_SHA1 };
enum hook_encoding { HOOK_HEX = 0, HOOK_BASE64 };

#define CONFIG_MAX_HOOKS   32
#define CONFIG_MAX_ROTATE  4  /* secrets (or tokens) a file may hold */
#define CONFIG_MAX_HOOK_ID 64 /* bytes in a source's NAME */

/*
 * One [webhook.NAME] section: the route <mount>/hooks/NAME.  Strings
 * owned, NULL when unset.  secrets[] and tokens[] are the lines of
 * secret_file and token_file (several during a rotation: any one
 * verifies), read by config_load and wiped by config_free.
 */
struct config_hook {
	char *name;
	enum hook_platform platform;
	char *secret_file;
	char *token_file;
	char *secrets[CONFIG_MAX_ROTATE];
	size_t secret_count;
	char *tokens[CONFIG_MAX_ROTATE];
	size_t token_count;
	unsigned rate_count; /* this source's budget; 0: unlimited */
	int64_t rate_window_ms;
	/* platform = hmac */
	char *header; /* e.g. X-Hub-Signature-256 */
	enum hook_algorithm algorithm;
	enum hook_encoding encoding;
	char *prefix;           /* e.g. "sha256=", or NULL */
	char *timestamp_header; /* signed as timestamp separator body */
	char *separator;        /* default "." */
	/* Ids for this source instead of [identity] id_fields (e.g.
	 * Jotform's submissionID); count 0: the global list. */
	struct config_list id_fields;
	/* Lines of the keys naming files, for errors while reading them;
	 * the keys set so far (a bit each, duplicates are errors). */
	unsigned secret_line, token_line;
	unsigned keys_seen;
};

/* Where the effective API key came from. */
enum config_key_source {
	CONFIG_KEY_NONE = 0, /* no key: fine for dry_run demos */
	CONFIG_KEY_ENV,      /* FORMRELAY_API_KEY */
	CONFIG_KEY_FILE,     /* api_key_file */
	CONFIG_KEY_INLINE    /* api_key in the configuration file */
};

/* [antispam] captcha: whose widget's token a submission must carry. */
enum captcha_vendor {
	CAPTCHA_NONE = 0,
	CAPTCHA_TURNSTILE, /* cf-turnstile-response */
	CAPTCHA_HCAPTCHA,  /* h-captcha-response */
	CAPTCHA_RECAPTCHA  /* g-recaptcha-response (v2, or v3 with a score) */
};

/* [antispam] (SPEC "Spam"); strings owned, NULL when unset. */
struct antispam_config {
	enum captcha_vendor captcha;
	char *captcha_secret_file;
	char *captcha_secret;          /* read from the file; never printed */
	char *captcha_verify_url;      /* NULL: the vendor's siteverify */
	double recaptcha_min_score;    /* v3 scores below it fail (0.5) */
	char *recaptcha_action;        /* v3: the action expected, or NULL */
	int captcha_fail_open;         /* vendor unreachable for all of
	                                  captcha_retry_for: 1 forward, 0 drop */
	int64_t captcha_retry_for_ms;  /* 0: the vendor's token lifetime */
	int disposable_domains;        /* refuse disposable-mail domains */
	char *disposable_domains_file; /* default: the list installed */
	int junk_drop; /* junk = drop: answer 2xx, store nothing; else 422 */
	int64_t double_submit_ms;    /* double_submit_window; 0: off (5s) */
	int mx_check;                /* formrelay-deliver drops an email whose
	                                domain has no MX, A or AAAA record */
	int64_t mx_check_timeout_ms; /* a lookup at most (2s) */
	struct config_list mx_check_servers; /* none: /etc/resolv.conf */
};

/* The lines where some keys were set (0: not in the file), for the
 * checks made once the whole file is read (preflight.h). */
struct config_where {
	unsigned api_key;
	unsigned api_key_file;
	unsigned dry_run;
	unsigned spool_path;
};

/*
 * Every char * is owned by the struct.  Optional strings are NULL when
 * unset, except event, which is "" when unset.
 */
struct config {
	char *path; /* the file read, owned; NULL when none */
	struct config_where where;

	/* [customerio] */
	char *region;   /* "us" | "eu" */
	char *api_base; /* effective base URL, no trailing '/' */
	char *api_key;  /* NULL when none; never printed, never logged */
	char *api_key_file;
	enum config_key_source api_key_source;
	long timeout_ms;
	int dry_run;

	/* [identity] */
	struct config_list id_fields;
	int missing_id_reject; /* 0: email, 1: reject */
	char *event;           /* "" or a track event name */

	/* [spool] */
	char *spool_path;          /* SQLite's file; with PostgreSQL, where this
	                            * host's metrics and rate-limit files go beside */
	int spool_postgresql;      /* backend = postgresql (else sqlite) */
	char *spool_url;           /* libpq URI; NULL with sqlite */
	char *spool_password_file; /* NULL: libpq's .pgpass/PGPASSFILE */
	int64_t max_age_ms;
	int64_t retry_min_ms; /* back-off floor (default 1s) */
	int64_t retry_max_ms; /* back-off ceiling (default 15min) */
	int64_t lease_ms;     /* claim lease (default 60s) */

	/* [http] */
	/* Empty: no Origin check.  Each as browsers send Origin (RFC 6454):
	 * lower-case scheme://host[:port], no default port. */
	struct config_list allowed_origins;
	/* Absolute http(s) URL prefixes with a lower-case scheme and host
	 * and at least "/" as path. */
	struct config_list redirect_allow;
	char *success_url; /* absolute http(s) URL or /path */
	size_t max_body;
	unsigned rate_limit_count; /* 0: off */
	int64_t rate_limit_window_ms;
	struct config_list trusted_proxies; /* addresses or CIDRs, as written */
	char *webhook_secret_file;
	char *webhook_secret;         /* owned: the whsec_… value read */
	struct config_list honeypots; /* extra honeypot names */
	int metrics_public;           /* /metrics to everyone */
	/* Who else may read /metrics: addresses or CIDRs, as written, that
	 * the client (after trusted_proxies) and every X-Forwarded-For hop
	 * must match.  Default: loopback.  Empty: nobody. */
	struct config_list metrics_allow;

	/* [fields] */
	struct config_alias aliases[CONFIG_MAX_ALIASES];
	size_t alias_count;
	struct config_list drop;

	/* [antispam] */
	struct antispam_config spam;

	/* [webhook.NAME] */
	struct config_hook hooks[CONFIG_MAX_HOOKS];
	size_t hook_count;

	/* [log] */
	enum log_level log_level;
	int log_emails; /* show_emails: 1: do not mask emails in logs */

	/* Non-fatal findings (e.g. key file readable by others), one per
	 * line, each ending in '\n'; never contain a secret; owned, may be
	 * NULL. */
	char *warnings;
};

/* Fill cfg with the defaults.  Returns FR_OK or FR_ENOMEM (cfg then
 * empty). */
int config_defaults(struct config *cfg);

/*
 * Read path (starting from the defaults, not from cfg's contents), then
 * the secrets: the API key (FORMRELAY_API_KEY if set and non-empty wins,
 * then api_key_file, then api_key) and webhook_secret_file.  cfg must be
 * zeroed or hold a configuration (it is config_free'd and replaced on
 * success, untouched on failure).  Returns FR_OK, FR_ECONFIG or FR_ENOMEM
 * with err->message "file:line: reason" ("file: reason" for the file
 * itself, e.g. "/x.conf: No such file or directory").
 */
int config_load(struct config *cfg, const char *path, struct fr_error *err);

/*
 * config_load, reading on after an error so that one run reports every
 * mistake of the file and of the secrets it names: on FR_ECONFIG, err
 * holds the first and *all (owned by the caller, NULL when the file
 * itself could not be read) every one, "file:line: reason" a line.
 */
int config_load_all(struct config *cfg, const char *path, struct fr_error *err,
                    char **all);

/*
 * Parse INI text as if read from name (for tests and fuzzing): the same
 * as config_load without file I/O, so api_key_file and
 * webhook_secret_file are recorded but not read, and the environment is
 * not consulted.  Same ownership and error rules as config_load.
 */
int config_parse_string(struct config *cfg, const char *text, size_t len,
                        const char *name, struct fr_error *err);

/*
 * The file to read: opt (from -c) if set, else $FORMRELAY_CONFIG, else
 * SYSCONFDIR "/formrelay.conf".  Returns a static or borrowed string.
 */
const char *config_choose_path(const char *opt);

/* Print every effective setting as "section.key = value", one a line,
 * the API key and webhook secret masked, for --check-config. */
void config_print(const struct config *cfg, FILE *fp);

/* The [webhook.NAME] section called name, or NULL. */
const struct config_hook *config_hook_find(const struct config *cfg,
                                           const char *name, size_t len);

/* "standard", "typeform", ... for a platform. */
const char *config_hook_platform_name(enum hook_platform p);

/* Release everything cfg owns and zero it.  NULL is a no-op. */
void config_free(struct config *cfg);

/* Parse "64k", "1m", "1G", "65536" (ASCII case ignored, k = 1024) into
 * bytes.  Returns 0, or -1 on syntax error or overflow. */
int config_parse_size(const char *s, size_t *out);

/*
 * Parse "72h", "30m", "10s", "500ms", "3d" into milliseconds; a bare
 * number means seconds (the unit operators expect of "timeout = 30").
 * Returns 0, or -1 on syntax error or overflow.
 */
int config_parse_duration(const char *s, int64_t *out);

#endif
