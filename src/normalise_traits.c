/*
 * Normalisation of the finished traits (SPEC "Normalisation"): the
 * canonical email, phone and name traits, and the userId picked from
 * them.  Split from normalise.c, which reads the fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aliases.h"
#include "normalise.h"
#include "normalise_internal.h"
#include "util.h"

/* ---- canonical traits ------------------------------------------------ */

int
norm_replace_string(struct json_object *obj, const char *key, const char *s)
{
	struct json_object *v = json_object_new_string(s);

	if (v == NULL || json_object_object_add(obj, key, v)) {
		json_object_put(v);
		return FR_ENOMEM;
	}
	return FR_OK;
}

/* Trim, lower-case and validate email; repeated, the first one counts. */
static int
finish_email(struct json_object *traits, struct fr_error *err)
{
	struct json_object *v;
	char buf[256];

	if (!json_object_object_get_ex(traits, "email", &v))
		return FR_OK;
	if (json_object_is_type(v, json_type_array))
		v = json_object_array_get_idx(v, 0);
	if (!json_object_is_type(v, json_type_string) ||
	    normalise_email(json_object_get_string(v), buf, sizeof(buf)) < 0)
		return fr_fail(err, FR_EINVALID, "invalid_email", "email",
		               "the email address is not valid");
	return norm_replace_string(traits, "email", buf);
}

static int
clean_phone(struct json_object *parent, const char *key, size_t idx,
            struct json_object *v)
{
	char buf[NORMALISE_MAX_STRING + 1];
	struct json_object *s;

	/* Webflow sends a phone field's digits as a JSON number. */
	if (json_object_is_type(v, json_type_int) &&
	    json_object_get_int64(v) > 0)
		snprintf(buf, sizeof(buf), "%lld",
		         (long long)json_object_get_int64(v));
	else if (!json_object_is_type(v, json_type_string) ||
	         normalise_phone(json_object_get_string(v), buf, sizeof(buf)) <
	                 0)
		return FR_OK;
	if (key != NULL)
		return norm_replace_string(parent, key, buf);
	if ((s = json_object_new_string(buf)) == NULL)
		return FR_ENOMEM;
	if (json_object_array_put_idx(parent, idx, s)) {
		json_object_put(s);
		return FR_ENOMEM;
	}
	return FR_OK;
}

static int
finish_phone(struct json_object *traits)
{
	struct json_object *v;
	size_t i;
	int rc = FR_OK;

	if (!json_object_object_get_ex(traits, "phone", &v))
		return FR_OK;
	if (!json_object_is_type(v, json_type_array))
		return clean_phone(traits, "phone", 0, v);
	for (i = 0; rc == FR_OK && i < json_object_array_length(v); i++)
		rc = clean_phone(v, NULL, i, json_object_array_get_idx(v, i));
	return rc;
}

static const char *
trait_string(struct json_object *traits, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(traits, key, &v))
		return NULL;
	return json_object_is_type(v, json_type_string)
	               ? json_object_get_string(v)
	               : NULL;
}

/*
 * name <-> first_name/last_name.  A full name is split at its first
 * space: "Mary Ann van der Berg" gives "Mary" / "Ann van der Berg".
 * Splitting at the last space would give "Mary Ann van der" / "Berg",
 * which breaks every surname with a particle (van der, de la, bin); the
 * first space only misplaces the second half of a double first name,
 * and "Hi Mary" still reads right.  No case is changed.
 */
static int
finish_names(struct json_object *traits)
{
	const char *name = trait_string(traits, "name");
	const char *first = trait_string(traits, "first_name");
	const char *last = trait_string(traits, "last_name");
	char *joined, *p;
	size_t len;
	int rc;

	if (name != NULL && first == NULL && last == NULL &&
	    !json_object_object_get_ex(traits, "first_name", NULL) &&
	    !json_object_object_get_ex(traits, "last_name", NULL)) {
		len = strcspn(name, " \t");
		if ((p = xstrndup(name, len)) == NULL)
			return FR_ENOMEM;
		rc = norm_replace_string(traits, "first_name", p);
		free(p);
		name += len;
		name += strspn(name, " \t");
		if (rc == FR_OK && *name != '\0')
			rc = norm_replace_string(traits, "last_name", name);
		return rc;
	}
	if (json_object_object_get_ex(traits, "name", NULL) ||
	    (first == NULL && last == NULL))
		return FR_OK;
	len = (first ? strlen(first) : 0) + (last ? strlen(last) : 0) + 2;
	if ((joined = malloc(len)) == NULL)
		return FR_ENOMEM;
	snprintf(joined, len, "%s%s%s", first ? first : "",
	         first && last ? " " : "", last ? last : "");
	rc = norm_replace_string(traits, "name", joined);
	free(joined);
	return rc;
}

/* ---- userId ---------------------------------------------------------- */

/* The id a trait value gives: a non-empty string or an integer. */
static int
id_of(struct json_object *v, char *buf, size_t size)
{
	size_t len;
	const char *s;

	if (json_object_is_type(v, json_type_int)) {
		snprintf(buf, size, "%lld",
		         (long long)json_object_get_int64(v));
		return 0;
	}
	if ((s = norm_string_of(v, &len)) == NULL || len >= size)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

/*
 * SPEC "Normalisation": the first non-empty id_fields value, names
 * matched as aliases are; else missing_id decides.
 */
int
normalise_user_id(struct json_object *traits, const struct config *cfg,
                  char **user_id, struct fr_error *err)
{
	const struct config_list *ids = &cfg->id_fields;
	const char *email;
	char buf[NORMALISE_MAX_KEY + 1];
	size_t i;

	for (i = 0; i < ids->count; i++) {
		json_object_object_foreach(traits, key, val)
		{
			if (!alias_name_eq(key, ids->items[i]) ||
			    id_of(val, buf, sizeof(buf)) < 0)
				continue;
			*user_id = xstrdup(buf);
			return *user_id ? FR_OK : FR_ENOMEM;
		}
	}
	email = trait_string(traits, "email");
	if (cfg->missing_id_reject || email == NULL)
		return fr_fail(err, FR_EINVALID, "missing_id",
		               ids->count ? ids->items[0] : "",
		               "the submission has no %s%s",
		               ids->count ? ids->items[0] : "id",
		               cfg->missing_id_reject ? "" : " and no email");
	*user_id = xstrdup(email);
	return *user_id ? FR_OK : FR_ENOMEM;
}

/* ---- entry point ----------------------------------------------------- */

int
norm_finish_traits(struct json_object *traits, struct fr_error *err)
{
	int rc;

	if ((rc = finish_email(traits, err)) != FR_OK ||
	    (rc = finish_phone(traits)) != FR_OK)
		return rc;
	return finish_names(traits);
}
