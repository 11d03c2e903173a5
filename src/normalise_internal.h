/*
 * Shared by src/normalise.c (fields -> traits) and src/normalise_traits.c
 * (the finished traits); not part of include/normalise.h.
 */
#ifndef FORMRELAY_NORMALISE_INTERNAL_H
#define FORMRELAY_NORMALISE_INTERNAL_H

#include <stddef.h>

#include "error.h"

struct json_object;

/* The trimmed string value of v (pointing into v; *len its length when
 * len is not NULL), or NULL when v is not a non-empty string. */
const char *norm_string_of(struct json_object *v, size_t *len);

/* obj[key] = a new string s.  FR_OK or FR_ENOMEM. */
int norm_replace_string(struct json_object *obj, const char *key,
                        const char *s);

/* The canonical traits: email trimmed, lower-cased and checked (422
 * invalid_email), phone cleaned, name split or joined.  FR_OK,
 * FR_EINVALID or FR_ENOMEM. */
int norm_finish_traits(struct json_object *traits, struct fr_error *err);

#endif
