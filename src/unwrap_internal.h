/*
 * Shared by src/unwrap.c (helpers, dispatch) and src/unwrap_platforms.c
 * (one unwrapper per platform); not part of include/unwrap.h.
 */
#ifndef FORMRELAY_UNWRAP_INTERNAL_H
#define FORMRELAY_UNWRAP_INTERNAL_H

#include <json-c/json.h>

#include "config.h"
#include "error.h"
#include "fields.h"
#include "parse.h"

struct unwrap {
	struct fields nf; /* the fields being built */
	const struct fields *in;
	const struct parse_limits *lim;
	const struct config *cfg; /* [fields] aliases, or NULL */
	struct fr_error *err;
	int have_email, have_phone; /* a typed email/phone field was named */
};

/* o.key, or NULL when o is no object or has no such member. */
struct json_object *uw_member(struct json_object *o, const char *key);
/* o.key when it has the given type, else NULL. */
struct json_object *uw_member_type(struct json_object *o, const char *key,
                                   json_type type);
/* The string o.key (borrowed), or NULL. */
const char *uw_string(struct json_object *o, const char *key);

/* FR_EMALFORMED naming the platform. */
int uw_broken(struct unwrap *u, const char *platform);

/* Append name = v (a new reference, consumed; NULL is ignored), checking
 * the limits.  FR_OK, FR_ETOOLARGE or FR_ENOMEM. */
int uw_add(struct unwrap *u, const char *name, struct json_object *v);
/* Append name = s (copied) when s is not NULL. */
int uw_add_string(struct unwrap *u, const char *name, const char *s);
/* Set context key (url, title, referrer, path, ip, userAgent) to the
 * string v when it is one and the key is unset. */
int uw_context(struct unwrap *u, const char *key, struct json_object *v);
/* Set the form name once. */
int uw_form_name(struct unwrap *u, const char *name);
/* The name for a field typed email/phone (trait "email" or "phone"). */
const char *uw_typed_name(struct unwrap *u, const char *name,
                          const char *trait);
/* The platform's event id (a string or an integer; the first one set
 * wins), for de-duplication. */
int uw_event_id(struct unwrap *u, struct json_object *v);
/* The platform's submitted time, an RFC 3339 text such as
 * "2018-01-18T18:17:02Z" or "2026-03-04T15:00:21.889+00:00"
 * (rfc3339_parse); ignored when it does not parse or is not after the
 * epoch.  The first one set wins. */
void uw_submitted(struct unwrap *u, const char *text);

/* Parse JSON text nested in the body into an object (*out owned). */
int uw_parse_nested(struct unwrap *u, const char *what, const char *text,
                    struct json_object **out);

/* The unwrappers: each recognises its shape (0: not mine) and fills
 * u->nf, or returns an error. */
struct uw_platform {
	const char *name;
	enum fields_source source;
	int (*match)(const struct unwrap *u, struct json_object *root);
	int (*unwrap)(struct unwrap *u, struct json_object *root);
};

extern const struct uw_platform uw_platforms[];

/* Typeform (unwrap_typeform.c). */
int uw_typeform_match(const struct unwrap *u, struct json_object *root);
int uw_typeform_unwrap(struct unwrap *u, struct json_object *root);
extern const size_t uw_platform_count;

#endif
