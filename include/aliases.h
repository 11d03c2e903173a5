/*
 * Field names: the default alias table (what common form builders call
 * the canonical traits), the deny list (what is never forwarded) and the
 * honeypots.  docs/normalisation.md lists the tables for users.
 *
 * Names are compared the way SPEC "Normalisation" says: ASCII case is
 * ignored and the separators '-', '_', ' ' and '.' are skipped, so
 * "First Name", "first-name", "first_name", "firstName" and "FIRSTNAME"
 * are one name.  Bytes >= 0x80 (UTF-8) compare exactly.
 *
 * Every name of the default tables is folded once, at the first lookup
 * (thread-safe), into a hash index.  The names a configuration adds are
 * compared one by one unless alias_config_prepare indexed them too.
 */
#ifndef FORMRELAY_ALIASES_H
#define FORMRELAY_ALIASES_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct alias_entry;

/* 1 when a and b are the same name under the rule above, else 0. */
int alias_name_eq(const char *a, const char *b);

/*
 * The canonical trait for name ("FNAME" -> "first_name"), consulting
 * cfg->aliases (may be NULL) before the default table; a canonical trait
 * name maps to itself.  Returns a static or cfg-owned string, or NULL
 * when name is no known alias.
 */
const char *alias_lookup(const char *name, const struct config *cfg);

/*
 * The canonical trait for the last part of a bracketed name such as
 * ADDRESS[zip] or wpforms[fields][1][first] ("zip" -> "postal_code",
 * "first" -> "first_name"), or NULL.  Only name and address parts are
 * recognised, so that traits[company][name] is not taken for a name.
 */
const char *alias_subkey(const char *sub);

/* 1 when name is the canonical trait itself ("email", "first_name"). */
int alias_is_canonical(const char *name);

/*
 * 1 when name must never be forwarded: passwords, card numbers, CVV,
 * national IDs, CAPTCHA and CSRF tokens (default list), or cfg->drop.
 */
int alias_is_denied(const char *name, const struct config *cfg);

/*
 * 1 when name is a honeypot: _gotcha, bot-field, Mailchimp's
 * b_<hex>_<hex>, or one of cfg->honeypots.
 */
int alias_is_honeypot(const char *name, const struct config *cfg);

/* Significant bytes an alias_key keeps (the deny list's substrings are
 * searched in these). */
#define ALIAS_KEY_KEEP 255

/*
 * A name folded once under the rule above, to ask several of the
 * questions below (alias_key_*) without folding it again for each.
 * Fill it with alias_key_init; it borrows the name, so it is valid
 * while the name is.
 */
struct alias_key {
	const char *raw;              /* the name as given (borrowed) */
	char sig[ALIAS_KEY_KEEP + 1]; /* its first significant bytes */
	size_t len;                   /* bytes in sig */
	int complete;                 /* 1: sig holds every significant byte */
	/* Of every significant byte: equal names have equal hashes. */
	uint32_t hash;
	const struct alias_entry *entry; /* the default tables' entry for
	                                    it, or NULL */
};

/* Fold name (not NULL) into k. */
void alias_key_init(struct alias_key *k, const char *name);

/* alias_name_eq(k->raw, name), walking only name. */
int alias_key_eq(const struct alias_key *k, const char *name);

/* alias_lookup, alias_is_denied, alias_is_honeypot of k->raw. */
const char *alias_key_lookup(const struct alias_key *k,
                             const struct config *cfg);
int alias_key_is_denied(const struct alias_key *k, const struct config *cfg);
int alias_key_is_honeypot(const struct alias_key *k, const struct config *cfg);

/*
 * Index cfg's [fields] aliases, drop and honeypots, folded once, so that
 * the lookups above with this cfg do not compare every configured name
 * for every field.  Optional: without it the lookups give the same
 * answers, only slower.  One configuration at a time (preparing another
 * replaces the index).  Call it after loading cfg and before threads
 * look names up; cfg must then stay unchanged and alive until
 * alias_config_release(cfg).  Returns FR_OK, or FR_ENOMEM (no index:
 * lookups still work).  cfg NULL is a no-op.
 */
int alias_config_prepare(const struct config *cfg);

/* Drop the index of cfg, if cfg is the prepared configuration; call it
 * when no thread looks names up any more, before freeing cfg. */
void alias_config_release(const struct config *cfg);

#endif
