/*
 * Shared helpers of the normalise/unwrap/payload unit tests: building
 * field sets, a test configuration, JSON comparison and the idempotence
 * check.  Header-only (static functions), included once per program
 * after tap.h.
 */
#ifndef FORMRELAY_NORM_HELPERS_H
#define FORMRELAY_NORM_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "config.h"
#include "fields.h"
#include "normalise.h"
#include "util.h"

/* The SPEC's defaults for [identity], plus one configured honeypot. */
static void __attribute__((unused)) test_config_init(struct config *cfg)
{
	static const char *ids[] = {"entryId", "entry_id", "userId", "user_id"};
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < 4; i++)
		cfg->id_fields.items[i] = xstrdup(ids[i]);
	cfg->id_fields.count = 4;
	cfg->honeypots.items[0] = xstrdup("fax_number");
	cfg->honeypots.count = 1;
	cfg->event = xstrdup("");
}

static void __attribute__((unused))
test_config_add_alias(struct config *cfg, const char *trait, const char *name)
{
	cfg->aliases[cfg->alias_count].trait = xstrdup(trait);
	cfg->aliases[cfg->alias_count].name = xstrdup(name);
	cfg->alias_count++;
}

static void __attribute__((unused)) test_config_release(struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->id_fields.count; i++)
		free(cfg->id_fields.items[i]);
	for (i = 0; i < cfg->honeypots.count; i++)
		free(cfg->honeypots.items[i]);
	for (i = 0; i < cfg->drop.count; i++)
		free(cfg->drop.items[i]);
	for (i = 0; i < cfg->alias_count; i++) {
		free(cfg->aliases[i].trait);
		free(cfg->aliases[i].name);
	}
	free(cfg->event);
	memset(cfg, 0, sizeof(*cfg));
}

/* Fields from name/value pairs ending in NULL, as strings with flags. */
static void __attribute__((unused))
fields_from_pairs(struct fields *f, const char *const *pairs, unsigned flags)
{
	size_t i;

	fields_init(f);
	for (i = 0; pairs[i] != NULL; i += 2)
		fields_add_string(f, pairs[i], strlen(pairs[i]), pairs[i + 1],
		                  strlen(pairs[i + 1]), flags);
}

/* Fields from the members of a JSON object given as text; f->root keeps
 * the document, as parse_json does. */
static void __attribute__((unused))
fields_from_json(struct fields *f, const char *text)
{
	struct json_object *root = json_tokener_parse(text);

	fields_init(f);
	if (root == NULL) {
		printf("# bad JSON in a test: %.60s\n", text);
		return;
	}
	json_object_object_foreach(root, key, val)
	{
		fields_add(f, key, strlen(key), json_object_get(val), 0);
	}
	f->source = SOURCE_JSON;
	f->root = root;
}

static const char *
json_text(struct json_object *o)
{
	return o ? json_object_to_json_string_ext(
	                   o, JSON_C_TO_STRING_PLAIN |
	                              JSON_C_TO_STRING_NOSLASHESCAPE)
	         : "(null)";
}

/* Compare got with the JSON text want (object member order ignored). */
static int __attribute__((unused))
is_json(struct json_object *got, const char *want, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int
is_json(struct json_object *got, const char *want, const char *fmt, ...)
{
	struct json_object *w = want ? json_tokener_parse(want) : NULL;
	char title[256];
	va_list ap;
	int same;

	va_start(ap, fmt);
	vsnprintf(title, sizeof(title), fmt, ap);
	va_end(ap);
	same = (got == NULL && w == NULL) ||
	       (got != NULL && w != NULL && json_object_equal(got, w));
	if (!ok(same, "%s", title)) {
		printf("#   got  %s\n", json_text(got));
		printf("#   want %s\n", want ? want : "(null)");
	}
	json_object_put(w);
	return same;
}

/* Normalising the traits of out again, as a flat JSON body, must give
 * the same traits. */
static void __attribute__((unused))
check_idempotent(const struct submission *out, const struct config *cfg,
                 const char *title)
{
	struct fields f;
	struct submission again;
	struct fr_error err;
	int rc;

	fields_from_json(&f, json_text(out->traits));
	rc = normalise(&f, cfg, &again, &err);
	if (rc != FR_OK)
		printf("#   second pass: %s\n", err.message);
	ok(rc == FR_OK && json_object_equal(again.traits, out->traits),
	   "%s: normalising the traits again changes nothing", title);
	if (rc == FR_OK && !json_object_equal(again.traits, out->traits))
		printf("#   again %s\n", json_text(again.traits));
	submission_free(&again);
	fields_free(&f);
}

#endif
