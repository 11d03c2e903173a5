/*
 * aliases.c's hash index against the plain linear scans it replaced:
 * over every table name, variants of them, pseudo-random names and
 * over-long ones, with no configuration, a configuration compared name
 * by name, and the same configuration indexed (alias_config_prepare),
 * every lookup must give the scan's answer.
 *
 * aliases.c is compiled into this program (not linked from the library)
 * so that the reference scans read the very tables the index is built
 * from: a name added to a table needs no change here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/aliases.c"
#include "tap.h"

/* ---- the reference: linear scans, as before the index --------------- */

/* name lower-cased without separators, whole (not truncated); owned. */
static char *
ref_fold(const char *name)
{
	size_t n = 0, len = strlen(name);
	char *out = malloc(len + 1);
	unsigned char c;

	if (out == NULL)
		abort();
	for (; *name != '\0'; name++) {
		c = (unsigned char)*name;
		if (c == '-' || c == '_' || c == ' ' || c == '.')
			continue;
		out[n++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
	}
	out[n] = '\0';
	return out;
}

static int
ref_sep(char c)
{
	return c == '-' || c == '_' || c == ' ' || c == '.';
}

static char
ref_lower(char c)
{
	return (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
}

static int
ref_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return 0;
	for (;; a++, b++) {
		while (ref_sep(*a))
			a++;
		while (ref_sep(*b))
			b++;
		if (ref_lower(*a) != ref_lower(*b))
			return 0;
		if (*a == '\0')
			return 1;
	}
}

static const char *
ref_table(const struct alias *t, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ref_eq(name, t[i].name))
			return t[i].trait;
	return NULL;
}

static const char *
ref_lookup(const char *name, const struct config *cfg)
{
	size_t i;

	if (name == NULL || *name == '\0')
		return NULL;
	for (i = 0; cfg != NULL && i < cfg->alias_count; i++)
		if (ref_eq(name, cfg->aliases[i].name))
			return cfg->aliases[i].trait;
	for (i = 0; i < COUNT_OF(canonical); i++)
		if (ref_eq(name, canonical[i]))
			return canonical[i];
	return ref_table(alias_table, COUNT_OF(alias_table), name);
}

static int
ref_in(const char *name, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ref_eq(name, list[i]))
			return 1;
	return 0;
}

/* The deny list's substrings were searched in the first 255 significant
 * bytes of the name. */
static int
ref_denied(const char *name, const struct config *cfg)
{
	char *sq = ref_fold(name);
	size_t i;
	int hit = 0;

	if (strlen(sq) > 255)
		sq[255] = '\0';
	for (i = 0; i < COUNT_OF(deny_contains); i++)
		hit |= strstr(sq, deny_contains[i]) != NULL;
	free(sq);
	return hit || ref_in(name, deny_exact, COUNT_OF(deny_exact)) ||
	       (cfg != NULL &&
	        ref_in(name, (const char *const *)cfg->drop.items,
	               cfg->drop.count));
}

static int
ref_honeypot(const char *name, const struct config *cfg)
{
	return ref_in(name, honeypot_names, COUNT_OF(honeypot_names)) ||
	       is_mailchimp_honeypot(name) ||
	       (cfg != NULL &&
	        ref_in(name, (const char *const *)cfg->honeypots.items,
	               cfg->honeypots.count));
}

/* ---- the names tried ------------------------------------------------- */

#define MAX_NAMES 40000

static char *names[MAX_NAMES];
static size_t name_count;

static void
add_name(const char *s, size_t len)
{
	char *p;

	if (name_count == MAX_NAMES)
		return;
	if ((p = malloc(len + 1)) == NULL)
		abort();
	memcpy(p, s, len);
	p[len] = '\0';
	names[name_count++] = p;
}

/* s, and s upper-cased, with a separator put in, with a byte dropped or
 * doubled, with a prefix and a suffix. */
static void
add_variants(const char *s)
{
	static const char seps[] = "-_ .";
	char buf[512];
	size_t len = strlen(s), i;

	if (len + 8 > sizeof(buf))
		return;
	add_name(s, len);
	for (i = 0; i <= len; i++) {
		memcpy(buf, s, i);
		buf[i] = seps[i % 4];
		memcpy(buf + i + 1, s + i, len - i);
		add_name(buf, len + 1);
		if (i < len) {
			memcpy(buf, s, len);
			buf[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32
			                                           : s[i]);
			add_name(buf, len);
			memcpy(buf, s, i);
			memcpy(buf + i, s + i + 1, len - i - 1);
			add_name(buf, len - 1);
		}
	}
	add_name(buf, (size_t)snprintf(buf, sizeof(buf), "user_%s", s));
	add_name(buf, (size_t)snprintf(buf, sizeof(buf), "%s 2", s));
	add_name(buf, (size_t)snprintf(buf, sizeof(buf), "%sX", s));
}

static void
add_table_names(const struct config *cfg)
{
	size_t i;

	for (i = 0; i < COUNT_OF(canonical); i++)
		add_variants(canonical[i]);
	for (i = 0; i < COUNT_OF(alias_table); i++)
		add_variants(alias_table[i].name);
	for (i = 0; i < COUNT_OF(subkey_table); i++)
		add_variants(subkey_table[i].name);
	for (i = 0; i < COUNT_OF(deny_exact); i++)
		add_variants(deny_exact[i]);
	for (i = 0; i < COUNT_OF(deny_contains); i++)
		add_variants(deny_contains[i]);
	for (i = 0; i < COUNT_OF(honeypot_names); i++)
		add_variants(honeypot_names[i]);
	for (i = 0; i < cfg->alias_count; i++)
		add_variants(cfg->aliases[i].name);
	for (i = 0; i < cfg->drop.count; i++)
		add_variants(cfg->drop.items[i]);
	for (i = 0; i < cfg->honeypots.count; i++)
		add_variants(cfg->honeypots.items[i]);
}

/* Pseudo-random names (a fixed LCG: the same names every run) from an
 * alphabet that makes table names and separators likely. */
static void
add_random_names(size_t n)
{
	static const char alphabet[] = "aeiouprstlnmcdy-_ .AE0129\xc3\xa9";
	static const char *const parts[] = {"pass", "word", "name", "first",
	                                    "mail", "csrf", "zip",  "_",
	                                    "card", "cvv",  "b_",   "token"};
	uint32_t x = 12345;
	char buf[64];
	size_t i, len, k;

	for (i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		len = (x >> 16) % 24;
		for (k = 0; k < len; k++) {
			x = x * 1103515245u + 12345u;
			if ((x >> 28) == 0 && k + 6 < len) {
				const char *p = parts[(x >> 16) % 12];
				size_t pl = strlen(p);
				memcpy(buf + k, p, pl);
				k += pl - 1;
			} else {
				buf[k] = alphabet[(x >> 16) %
				                  (sizeof(alphabet) - 1)];
			}
		}
		add_name(buf, len);
	}
}

/* Names around the 255 significant bytes the substring search keeps:
 * "password" before, across and after the cut; and far longer ones. */
static void
add_long_names(void)
{
	static char buf[6000];
	size_t pad, i;

	for (pad = 244; pad <= 256; pad++) {
		memset(buf, 'x', pad);
		memcpy(buf + pad, "password", 8);
		add_name(buf, pad + 8);
		for (i = 0; i < pad; i++)
			buf[i] = i % 2 ? '-' : 'y';
		memcpy(buf + pad, "password", 8);
		add_name(buf, pad + 8);
	}
	memset(buf, 'a', sizeof(buf) - 1);
	add_name(buf, sizeof(buf) - 1);
	add_name(buf, 300);
	memcpy(buf + 5000, "captcha", 7);
	add_name(buf, 5007);
}

/* ---- the comparisons ------------------------------------------------- */

static int
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	       (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Every lookup of every name against the reference; the first few
 * differences are printed. */
static void
compare_all(const struct config *cfg, const char *mode)
{
	size_t i, bad[4] = {0, 0, 0, 0};
	const char *name;

	for (i = 0; i < name_count; i++) {
		name = names[i];
		if (!same_str(alias_lookup(name, cfg), ref_lookup(name, cfg)) &&
		    bad[0]++ < 5)
			printf("# lookup %.80s: %s, want %s\n", name,
			       alias_lookup(name, cfg), ref_lookup(name, cfg));
		if (!same_str(alias_subkey(name),
		              ref_table(subkey_table, COUNT_OF(subkey_table),
		                        name)) &&
		    bad[1]++ < 5)
			printf("# subkey %.80s\n", name);
		if (alias_is_denied(name, cfg) != ref_denied(name, cfg) &&
		    bad[2]++ < 5)
			printf("# denied %.80s: %d\n", name,
			       alias_is_denied(name, cfg));
		if (alias_is_honeypot(name, cfg) != ref_honeypot(name, cfg) &&
		    bad[3]++ < 5)
			printf("# honeypot %.80s\n", name);
	}
	ok(bad[0] == 0, "%s: alias_lookup as the scan (%zu names)", mode,
	   name_count);
	ok(bad[1] == 0, "%s: alias_subkey as the scan", mode);
	ok(bad[2] == 0, "%s: alias_is_denied as the scan", mode);
	ok(bad[3] == 0, "%s: alias_is_honeypot as the scan", mode);
}

static void
compare_name_eq(void)
{
	size_t i, bad = 0;
	const char *a, *b;

	struct alias_key key;

	for (i = 0; i + 1 < name_count; i++) {
		a = names[i];
		b = names[(i * 7919) % name_count];
		alias_key_init(&key, a);
		if (alias_name_eq(a, names[i + 1]) != ref_eq(a, names[i + 1]) ||
		    alias_name_eq(a, b) != ref_eq(a, b) ||
		    alias_key_eq(&key, b) != ref_eq(a, b) ||
		    alias_key_eq(&key, a) != 1)
			bad++;
	}
	ok(bad == 0, "alias_name_eq and alias_key_eq as the reference");
	ok(!alias_name_eq(NULL, "a") && !alias_name_eq("a", NULL),
	   "alias_name_eq: NULL is no name");
}

/* ---- a configuration ------------------------------------------------- */

static char *
dup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		abort();
	return p;
}

static void
config_add_alias(struct config *cfg, const char *trait, const char *name)
{
	cfg->aliases[cfg->alias_count].trait = dup(trait);
	cfg->aliases[cfg->alias_count].name = dup(name);
	cfg->alias_count++;
}

static void
config_add(struct config_list *l, const char *item)
{
	l->items[l->count++] = dup(item);
}

/* Aliases that repeat a name (the first wins), that fold to a default
 * name or a canonical trait (the configuration wins), drop and honeypot
 * names, and one longer than the 255 bytes a folded name keeps. */
static void
config_build(struct config *cfg)
{
	char longname[400];

	memset(cfg, 0, sizeof(*cfg));
	config_add_alias(cfg, "first_name", "given");
	config_add_alias(cfg, "last_name", "Given");
	config_add_alias(cfg, "email", "wpforms[fields][2]");
	config_add_alias(cfg, "company", "q_company");
	config_add_alias(cfg, "name", "company");
	config_add_alias(cfg, "phone", "E-Mail");
	config_add_alias(cfg, "city", "input_4.3");
	memset(longname, 'q', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	config_add_alias(cfg, "message", longname);
	config_add(&cfg->drop, "internal_notes");
	config_add(&cfg->drop, "Internal Notes 2");
	config_add(&cfg->drop, longname);
	config_add(&cfg->honeypots, "fax_number");
	config_add(&cfg->honeypots, "hp-url");
}

static void
config_release(struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->alias_count; i++) {
		free(cfg->aliases[i].trait);
		free(cfg->aliases[i].name);
	}
	for (i = 0; i < cfg->drop.count; i++)
		free(cfg->drop.items[i]);
	for (i = 0; i < cfg->honeypots.count; i++)
		free(cfg->honeypots.items[i]);
	memset(cfg, 0, sizeof(*cfg));
}

static void
test_prepared(struct config *cfg)
{
	struct config other;

	is_int(alias_config_prepare(cfg), FR_OK, "prepare the configuration");
	compare_all(cfg, "prepared");
	is_str(alias_lookup("GIVEN", cfg), "first_name",
	       "prepared: the first of two aliases folding alike wins");
	is_str(alias_lookup("company", cfg), "name",
	       "prepared: a configured alias wins over a canonical name");

	/* Another configuration prepared: the first one is compared name
	 * by name again, with the same answers. */
	memset(&other, 0, sizeof(other));
	config_add_alias(&other, "title", "given");
	is_int(alias_config_prepare(&other), FR_OK, "prepare another one");
	is_str(alias_lookup("given", &other), "title", "its alias");
	compare_all(cfg, "after another was prepared");
	alias_config_release(cfg); /* not the prepared one: a no-op */
	is_str(alias_lookup("given", &other), "title", "still prepared");
	alias_config_release(&other);
	is_str(alias_lookup("given", &other), "title", "released: by scan");
	config_release(&other);
	is_int(alias_config_prepare(NULL), FR_OK, "prepare NULL: a no-op");
}

int
main(void)
{
	struct config cfg;
	size_t i;

	config_build(&cfg);
	add_table_names(&cfg);
	add_random_names(20000);
	add_long_names();
	add_name("", 0);
	add_name("-_ .", 4);
	add_name("b_0123abcd_456789", 17);
	add_name("b_0123abcd_45678", 16);

	compare_all(NULL, "no configuration");
	compare_all(&cfg, "configuration by scan");
	compare_name_eq();
	test_prepared(&cfg);
	ok(alias_lookup(NULL, &cfg) == NULL && !alias_is_denied(NULL, &cfg) &&
	           !alias_is_honeypot(NULL, &cfg) && alias_subkey(NULL) == NULL,
	   "NULL names are none of them");

	for (i = 0; i < name_count; i++)
		free(names[i]);
	config_release(&cfg);
	return done_testing();
}
