/*
 * Webhook envelopes recognised by shape (SPEC, "Requests"): Embeddables,
 * Webflow, Typeform, Tally, Unbounce, Jotform, HubSpot-style field lists.
 * Each unwrapper replaces the envelope's fields with the form fields it
 * carries, and moves page/context data and the form name aside, so the
 * envelope itself is never forwarded as traits.
 */
#ifndef FORMRELAY_UNWRAP_H
#define FORMRELAY_UNWRAP_H

#include "error.h"
#include "fields.h"
#include "parse.h"

/*
 * When f->root matches a known webhook shape, rebuild f from it and set
 * f->source, f->context and f->form_name.  A body of no known shape is
 * left as it is (FR_OK).  Returns FR_OK, FR_EMALFORMED when a recognised
 * envelope is broken, FR_ETOOLARGE past lim, or FR_ENOMEM.
 */
int unwrap_webhook(struct fields *f, const struct parse_limits *lim,
		   struct fr_error *err);

#endif
