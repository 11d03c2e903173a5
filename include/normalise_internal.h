/*
 * Shared by the normaliser's parts, not by its callers (they use
 * normalise.h): src/normalise.c (fields -> traits),
 * src/normalise_context.c (fields and envelope -> context) and
 * src/normalise_traits.c (the finished traits).
 */
#ifndef FORMRELAY_NORMALISE_INTERNAL_H
#define FORMRELAY_NORMALISE_INTERNAL_H

#include <stddef.h>

#include "error.h"
#include "fields.h"
#include "normalise.h"

struct json_object;
struct alias_key;
struct trait_names;

/* One normalisation in progress.  Borrows cfg, out, err and names; owns
 * traits, page and campaign until they are handed to out. */
struct norm {
	const struct config *cfg;
	struct submission *out;
	struct json_object *traits;
	/* The name of the field that set each trait, in the order the
	 * traits were added (add_trait alone adds them while the fields
	 * are read): asked only when a trait comes again. */
	const char *origin[NORMALISE_MAX_TRAITS];
	struct json_object *page;
	struct json_object *campaign;
	unsigned builders;
	int members_only; /* normalise_members: no userId, event or 422 for
	                     an empty set */
	struct fr_error *err;
	struct trait_names *names; /* the fields' trait names */
};

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

/* Set *slot (an owned string) from the trimmed string v when unset.
 * FR_OK or FR_ENOMEM. */
int norm_set_string_once(char **slot, struct json_object *v);

/* Set key in *obj (created on demand, owned by the caller) to the
 * trimmed string v, first one wins.  FR_OK or FR_ENOMEM. */
int norm_set_member_once(struct json_object **obj, const char *key,
                         struct json_object *v);

/* Note in n->builders which form builders' hidden fields in holds. */
void norm_detect_builders(struct norm *n, const struct fields *in);

/* A builder's hidden field (Elementor, WPForms, Gravity Forms, HubSpot's
 * hs_context, submit buttons): 1 with *rc when f (named name) was one
 * and is not a trait, else 0. */
int norm_take_envelope(struct norm *n, const char *name, const struct field *f,
                       int *rc);

/* Page data posted with the form (page_url, url_referer, ...) ->
 * n->page: 1 with *rc when name (folded) was one, else 0. */
int norm_take_page_field(struct norm *n, const struct alias_key *name,
                         const struct field *f, int *rc);

/* utm_* (trait, already named) -> n->campaign.  FR_OK or FR_ENOMEM. */
int norm_take_campaign(struct norm *n, const char *trait,
                       struct json_object *v);

/* Merge the context an unwrapper found in in->context (page, the
 * visitor's ip and userAgent) where the fields set none.  FR_OK or
 * FR_ENOMEM. */
int norm_take_context(struct norm *n, const struct fields *in);

#endif
