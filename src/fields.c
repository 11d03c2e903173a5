/* The parsed-field list of one submission. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "error.h"
#include "fields.h"
#include "util.h"

void
fields_init(struct fields *f)
{
	memset(f, 0, sizeof(*f));
}

static int
fields_grow(struct fields *f)
{
	size_t cap = f->cap ? f->cap * 2 : 16;
	struct field *items = realloc(f->items, cap * sizeof(*items));

	if (items == NULL)
		return FR_ENOMEM;
	f->items = items;
	f->cap = cap;
	return FR_OK;
}

int
fields_add(struct fields *f, const char *name, size_t namelen,
           struct json_object *value, unsigned flags)
{
	char *copy;

	if (value == NULL)
		return FR_ENOMEM;
	if (f->count == f->cap && fields_grow(f) != FR_OK) {
		json_object_put(value);
		return FR_ENOMEM;
	}
	if ((copy = xstrndup(name, namelen)) == NULL) {
		json_object_put(value);
		return FR_ENOMEM;
	}
	f->items[f->count].name = copy;
	f->items[f->count].value = value;
	f->items[f->count].flags = flags;
	f->count++;
	return FR_OK;
}

int
fields_add_string(struct fields *f, const char *name, size_t namelen,
                  const char *value, size_t valuelen, unsigned flags)
{
	return fields_add(f, name, namelen,
	                  json_object_new_string_len(value, (int)valuelen),
	                  flags);
}

const struct field *
fields_find(const struct fields *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->count; i++)
		if (strcmp(f->items[i].name, name) == 0)
			return &f->items[i];
	return NULL;
}

void
fields_free(struct fields *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->count; i++) {
		free(f->items[i].name);
		json_object_put(f->items[i].value);
	}
	free(f->items);
	json_object_put(f->root);
	json_object_put(f->context);
	free(f->form_name);
	free(f->event_id);
	fields_init(f);
}
