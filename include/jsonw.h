/*
 * A JSON text writer: appends members and values to one growing buffer,
 * in the order they are written, with json-c's own escaping (so a call
 * written here reads byte for byte as json-c would have serialised it).
 * The payload builder uses it instead of building a json-c tree for each
 * call only to serialise it once.
 *
 * Errors are sticky: after a failure (an allocation, or a string too long
 * to escape) every call is a no-op and jsonw_finish returns NULL, so a
 * sequence of writes needs one check.
 */
#ifndef FORMRELAY_JSONW_H
#define FORMRELAY_JSONW_H

#include <stddef.h>

struct json_object;

struct jsonw {
	char *buf; /* owned until jsonw_finish hands it over */
	size_t len;
	size_t cap;
	int failed; /* an allocation failed */
	int first;  /* the innermost open object has no member yet */
};

/* An empty writer; nothing is allocated until the first write. */
void jsonw_init(struct jsonw *w);

/* '{' and '}'. */
void jsonw_open(struct jsonw *w);
void jsonw_close(struct jsonw *w);

/* A member's name (with the comma before it when needed); its value
 * follows with one of the calls below, or jsonw_open. */
void jsonw_key(struct jsonw *w, const char *key);

/* A string value: len bytes of s, quoted and escaped. */
void jsonw_string(struct jsonw *w, const char *s, size_t len);

/* len bytes of JSON text, as they are (a value written earlier). */
void jsonw_raw(struct jsonw *w, const char *s, size_t len);

/* A json-c value (a tree: walked here), as json-c would serialise it
 * plain with '/' unescaped; NULL is null. */
void jsonw_value(struct jsonw *w, struct json_object *v);

/* key: s, skipped when s is NULL. */
void jsonw_member_string(struct jsonw *w, const char *key, const char *s);

/*
 * The text written (NUL-terminated, *len without the NUL), handed to the
 * caller to free(); the writer is empty again.  NULL after a failure
 * (the writer's memory is released then).
 */
char *jsonw_finish(struct jsonw *w, size_t *len);

/* Release what the writer holds (after an error elsewhere). */
void jsonw_discard(struct jsonw *w);

#endif
