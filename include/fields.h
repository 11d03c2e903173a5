/*
 * The parsed fields of one submission, in arrival order, before
 * normalisation.  Values are json-c objects so that JSON bodies keep their
 * types; form bodies produce strings flagged FIELD_FORM.
 */
#ifndef FORMRELAY_FIELDS_H
#define FORMRELAY_FIELDS_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

/* The value came from a form encoding (urlencoded or multipart): a
 * checkbox "on" may become true; the string is never re-typed otherwise. */
#define FIELD_FORM 0x1u

struct field {
	char *name;                /* owned, NUL-terminated, valid UTF-8 */
	struct json_object *value; /* owned reference; never NULL */
	unsigned flags;
};

/* Where the fields came from; set by the parser or a webhook unwrapper. */
enum fields_source {
	SOURCE_FORM = 0, /* urlencoded or multipart */
	SOURCE_JSON,     /* flat JSON object */
	SOURCE_EMBEDDABLES,
	SOURCE_WEBFLOW,
	SOURCE_TYPEFORM,
	SOURCE_TALLY,
	SOURCE_UNBOUNCE,
	SOURCE_JOTFORM,
	SOURCE_HUBSPOT
};

struct fields {
	struct field *items; /* owned */
	size_t count;
	size_t cap;
	enum fields_source source;
	/* The parsed JSON body, when the body was JSON (owned reference, or
	 * NULL); webhook unwrappers read envelopes from it. */
	struct json_object *root;
	/* Page/context data found in the body (Embeddables' "context",
	 * a webhook's page URL), merged into the event context; owned
	 * reference or NULL. */
	struct json_object *context;
	/* Form name from the body envelope (webhook form name), owned or NULL.
	 */
	char *form_name;
	/* The platform's own id of this delivery or submission (Typeform
	 * event_id, Tally eventId, Webflow payload.id, Jotform
	 * submissionID), for de-duplication; owned or NULL. */
	char *event_id;
	/* When the platform says the form was submitted (Unix ms), or 0. */
	int64_t submitted_ms;
};

/* Initialise an empty set.  Cannot fail. */
void fields_init(struct fields *f);

/*
 * Append a field.  The name is copied (namelen bytes, no NUL needed);
 * ownership of value passes to the set even on failure.
 * Returns FR_OK or FR_ENOMEM.
 */
int fields_add(struct fields *f, const char *name, size_t namelen,
               struct json_object *value, unsigned flags);

/* Convenience: append a string value (copied) with the given flags. */
int fields_add_string(struct fields *f, const char *name, size_t namelen,
                      const char *value, size_t valuelen, unsigned flags);

/* The first field whose name equals name exactly, or NULL. */
const struct field *fields_find(const struct fields *f, const char *name);

/* Release everything the set owns and re-initialise it.  NULL is a no-op. */
void fields_free(struct fields *f);

#endif
