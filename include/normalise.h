/*
 * Normalisation: parsed fields -> Customer.io identify traits (SPEC,
 * "Normalisation").  Webhook envelopes are unwrapped first (unwrap.h);
 * this module then maps names through the alias table, drops reserved,
 * empty, denied and honeypot fields, and picks the userId.
 */
#ifndef FORMRELAY_NORMALISE_H
#define FORMRELAY_NORMALISE_H

#include "config.h"
#include "error.h"
#include "fields.h"

struct json_object;

struct submission {
	char *user_id;                  /* owned, non-empty on success */
	struct json_object *traits;     /* owned object, never NULL on success */
	char *event;                    /* owned track event name, or NULL */
	struct json_object *properties; /* owned track properties, or NULL */
	char *form_name;                /* owned, from _form/form-name/webhook */
	char *next_url;                 /* owned raw _next value (unchecked) */
	struct json_object *page;       /* owned context.page extras, or NULL */
	struct json_object *campaign;   /* owned context.campaign (utm_*), or NULL */
	int honeypot;                   /* 1: a honeypot was filled: answer
					   success, store and forward nothing */
};

/*
 * Normalise in (after unwrapping) into out under cfg.  Returns FR_OK, or
 * FR_EINVALID (422: no id under missing_id=reject, bad email, nothing to
 * send) / FR_ETOOLARGE / FR_ENOMEM with err naming the cause and field.
 * A filled honeypot returns FR_OK with out->honeypot set.  On error out
 * holds nothing.
 */
int normalise(const struct fields *in, const struct config *cfg,
	      struct submission *out, struct fr_error *err);

/*
 * Validate and normalise an email address: trim, lower-case, check
 * shape.  Writes at most size bytes (NUL included) to buf.  0 or -1.
 */
int normalise_email(const char *in, char *buf, size_t size);

/* Release everything out owns and zero it.  NULL is a no-op. */
void submission_free(struct submission *out);

#endif
