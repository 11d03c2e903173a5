/*
 * The INI reader's internals, shared by its two halves: config_ini.c
 * (lines, sections, quoting, lists, aliases) and config_keys.c (the
 * table of keys, each key's value syntax, and the cross-key rules
 * checked once the text is read).  Only the configuration sources
 * include this; others use config.h.
 */
#ifndef FORMRELAY_CONFIG_INI_H
#define FORMRELAY_CONFIG_INI_H

#include <stddef.h>

#include "config.h"
struct config_lines; /* config_int.h */
#include "error.h"

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

/* Indexed by enum section, from 0. */
extern const char *const config_section_names[SEC_COUNT];

struct key_def;

/* The reader's state for one text; owned by config_parse_into. */
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

/* ---- config_keys.c ---- */

/* Every [section] key but [fields] alias.<trait> and [webhook.NAME]'s. */
extern const struct key_def config_keys[];
extern const size_t config_key_count;

/* Cross-key rules, checked once the whole text is read: FR_OK, or an
 * error reported through st (with the line of the key at fault). */
int ck_finish(struct ini *st);
/* Copy the lines where the secrets' keys were set into lines and
 * st->cfg->where. */
void ck_record_lines(const struct ini *st, struct config_lines *lines);

/* ---- config_ini.c: errors, reported in st->err ---- */

/* "name:line: reason": FR_ECONFIG. */
int ini_fail(struct ini *st, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* "name:line: out of memory": FR_ENOMEM. */
int ini_nomem(struct ini *st);
/* A bad value: "customerio.region: expected us or eu, got 'xx'". */
int ini_bad_value(struct ini *st, const struct key_def *def,
                  const char *expected, const char *value);
/* The field of st->cfg that def sets. */
void *ini_field(struct ini *st, const struct key_def *def);
/* Replace the owned *slot by a copy of value: FR_OK or ini_nomem. */
int ini_replace_string(struct ini *st, char **slot, const char *value);

/* ---- config.c ---- */

/* Free every item, leaving an empty list. */
void config_list_clear(struct config_list *list);

#endif
