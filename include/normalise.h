/*
 * Normalisation: parsed fields -> Customer.io identify traits (SPEC,
 * "Normalisation").  Webhook envelopes are unwrapped first (unwrap.h);
 * this module then maps names through the alias table, drops reserved,
 * empty, denied and honeypot fields, and picks the userId.
 * docs/normalisation.md describes the rules for users.
 */
#ifndef FORMRELAY_NORMALISE_H
#define FORMRELAY_NORMALISE_H

#include <stddef.h>

#include "config.h"
#include "error.h"
#include "fields.h"

struct json_object;

/* Bounds on what is forwarded (Customer.io's own cap is 32 KB an event,
 * enforced in payload_build). */
#define NORMALISE_MAX_TRAITS   100  /* traits per submission */
#define NORMALISE_MAX_KEY      150  /* bytes in a trait name */
#define NORMALISE_MAX_STRING   8192 /* bytes in one string value */
#define NORMALISE_MAX_DEPTH    4    /* nesting of object/array values */
#define NORMALISE_MAX_ELEMENTS 100  /* members of one object/array value */

struct submission {
	char *user_id;              /* owned, non-empty on success */
	struct json_object *traits; /* owned object, never NULL on success */
	char *event;                /* owned track event name, or NULL */
	struct json_object *properties; /* owned track properties, or NULL */
	char *form_name;          /* owned, from _form/form-name/webhook */
	char *next_url;           /* owned raw _next value (unchecked) */
	struct json_object *page; /* owned context.page extras from the
	                             body ({url,title,referrer,path,
	                             search}), or NULL */
	struct json_object
	        *campaign; /* owned context.campaign (utm_*), or NULL */
	char *ip;          /* owned: the visitor's address as a webhook
	                      envelope reports it (the request came from the
	                      platform's server), or NULL */
	char *user_agent;  /* owned: likewise the visitor's browser, or NULL */
	int honeypot;      /* 1: a honeypot was filled: answer success, store
	                      and forward nothing (then only next_url may be
	                      set besides; user_id and traits are NULL) */
};

/*
 * Normalise in (after unwrapping) into out under cfg.  Returns FR_OK, or
 * FR_EINVALID (422, err->code "missing_id", "invalid_email" with
 * err->field "email", or "nothing_to_send") / FR_ETOOLARGE (err->field
 * names the field) / FR_ENOMEM.  A filled honeypot returns FR_OK with
 * out->honeypot set.  On error out holds nothing.
 */
int normalise(const struct fields *in, const struct config *cfg,
              struct submission *out, struct fr_error *err);

/*
 * The traits or properties of a Pipelines call (pipelines.h): in (its
 * members as fields) normalised as normalise does, but without picking
 * a userId or an event, and an empty set is no error.  out->traits holds
 * the result (page fields and utm_* moved to out->page and
 * out->campaign); a honeypot sets out->honeypot.  FR_OK, FR_EINVALID
 * (invalid_email), FR_ETOOLARGE or FR_ENOMEM.
 */
int normalise_members(const struct fields *in, const struct config *cfg,
                      struct submission *out, struct fr_error *err);

/*
 * The userId for traits already normalised (SPEC "Normalisation"): the
 * first non-empty cfg->id_fields trait, else the email unless
 * missing_id = reject.  *user_id is owned by the caller.  FR_OK,
 * FR_EINVALID ("missing_id") or FR_ENOMEM.
 */
int normalise_user_id(struct json_object *traits, const struct config *cfg,
                      char **user_id, struct fr_error *err);

/*
 * Validate and normalise an email address: trim, lower-case (ASCII only;
 * UTF-8 domains are kept as they are), check shape.  Writes at most size
 * bytes (NUL included) to buf.  0 or -1.
 */
int normalise_email(const char *in, char *buf, size_t size);

/*
 * Clean a phone number: drop spaces and punctuation, keep a leading '+'
 * and the digits; never add a country code.  A value with letters in it
 * ("555-1234 ext. 5") is only trimmed.  0, or -1 when it does not fit.
 */
int normalise_phone(const char *in, char *buf, size_t size);

/*
 * The trait name for a field name: brackets unwrapped (traits[plan] ->
 * "plan", ADDRESS[zip] -> "postal_code"), aliases applied, the rest
 * snake_cased (camelCase -> camel_case).  Writes to buf; 0 or -1 when the
 * name is empty or does not fit.
 */
int normalise_name(const char *name, const struct config *cfg, char *buf,
                   size_t size);

/* Release everything out owns and zero it.  NULL is a no-op. */
void submission_free(struct submission *out);

#endif
