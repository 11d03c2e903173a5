/*
 * Normalisation's context: what fields carry besides traits (builders'
 * hidden fields, page data, utm_*, the envelope's visitor; SPEC
 * "Normalisation", docs/normalisation.md "Context, not traits").  Split
 * from normalise.c, which reads the fields and makes the traits.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "aliases.h"
#include "normalise.h"
#include "normalise_internal.h"
#include "util.h"

/* Builders whose hidden envelope fields are recognised. */
#define BUILDER_ELEMENTOR 0x1u
#define BUILDER_WPFORMS   0x2u
#define BUILDER_GRAVITY   0x4u

/* Set *slot (an owned string) from v when unset. */
int
norm_set_string_once(char **slot, struct json_object *v)
{
	size_t len;
	const char *s = norm_string_of(v, &len);

	if (*slot != NULL || s == NULL)
		return FR_OK;
	*slot = xstrndup(s, len);
	return *slot ? FR_OK : FR_ENOMEM;
}

/* Set key in *obj (created on demand) to the string v, first one wins. */
int
norm_set_member_once(struct json_object **obj, const char *key,
                     struct json_object *v)
{
	struct json_object *str;
	size_t len;
	const char *s = norm_string_of(v, &len);

	if (s == NULL)
		return FR_OK;
	if (*obj == NULL && (*obj = json_object_new_object()) == NULL)
		return FR_ENOMEM;
	if (json_object_object_get_ex(*obj, key, NULL))
		return FR_OK;
	if ((str = json_object_new_string_len(s, (int)len)) == NULL)
		return FR_ENOMEM;
	if (json_object_object_add(*obj, key, str)) {
		json_object_put(str);
		return FR_ENOMEM;
	}
	return FR_OK;
}

void
norm_detect_builders(struct norm *n, const struct fields *in)
{
	size_t i;
	const char *name;

	/* by the first letter: four compares a field cost more than the
	 * rest of this pass */
	for (i = 0; i < in->count; i++) {
		name = in->items[i].name;
		switch (name[0]) {
		case 'f':
			if (strncmp(name, "form_fields[", 12) == 0)
				n->builders |= BUILDER_ELEMENTOR;
			break;
		case 'w':
			if (strncmp(name, "wpforms[", 8) == 0)
				n->builders |= BUILDER_WPFORMS;
			break;
		case 'g':
		case 'i':
			if (strncmp(name, "gform_", 6) == 0 ||
			    strncmp(name, "is_submit_", 10) == 0)
				n->builders |= BUILDER_GRAVITY;
			break;
		}
	}
}

static int
is_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	while (*s >= '0' && *s <= '9')
		s++;
	return *s == '\0';
}

/* HubSpot's legacy forms API: hs_context is JSON text with hutk,
 * pageUrl, pageName and ipAddress. */
static int
take_hs_context(struct norm *n, struct json_object *v)
{
	struct json_object *ctx, *m;
	const char *s = norm_string_of(v, NULL);
	int rc = FR_OK;

	if (s == NULL || (ctx = json_tokener_parse(s)) == NULL)
		return FR_OK;
	if (json_object_is_type(ctx, json_type_object)) {
		if (json_object_object_get_ex(ctx, "pageUrl", &m))
			rc = norm_set_member_once(&n->page, "url", m);
		if (rc == FR_OK &&
		    json_object_object_get_ex(ctx, "pageName", &m))
			rc = norm_set_member_once(&n->page, "title", m);
		if (rc == FR_OK &&
		    json_object_object_get_ex(ctx, "ipAddress", &m))
			rc = norm_set_string_once(&n->out->ip, m);
	}
	json_object_put(ctx);
	return rc;
}

/*
 * Hidden fields a builder adds to every post, never traits.  Returns 1
 * (with *rc) when f was one of them.
 */
int
norm_take_envelope(struct norm *n, const char *name, const struct field *f,
                   int *rc)
{
	/* The first letters of the names below: most fields are asked
	 * twice (name and trait), and a dozen string compares each was a
	 * twentieth of normalising. */
	static const char first[256] = {
	        ['a'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
	        ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['w'] = 1};

	*rc = FR_OK;
	if (!first[(unsigned char)name[0]])
		return 0;
	if (n->builders & BUILDER_ELEMENTOR) {
		if (!strcmp(name, "post_id") || !strcmp(name, "form_id") ||
		    !strcmp(name, "queried_id") || !strcmp(name, "action"))
			return 1;
		if (!strcmp(name, "referer_title")) {
			*rc = norm_set_member_once(&n->page, "title", f->value);
			return 1;
		}
		if (!strcmp(name, "referrer")) { /* the form's own page */
			*rc = norm_set_member_once(&n->page, "url", f->value);
			return 1;
		}
	}
	if ((n->builders & BUILDER_WPFORMS) &&
	    ((strncmp(name, "wpforms[", 8) == 0 &&
	      strncmp(name, "wpforms[fields]", 15) != 0) ||
	     !strcmp(name, "page_id")))
		return 1;
	if (strncmp(name, "gform_", 6) == 0 ||
	    strncmp(name, "is_submit_", 10) == 0)
		return 1;
	if ((n->builders & BUILDER_GRAVITY) &&
	    strncmp(name, "state_", 6) == 0 && is_digits(name + 6))
		return 1;
	if (!strcmp(name, "hs_context")) {
		*rc = take_hs_context(n, f->value);
		return 1;
	}
	if (!strcmp(name, "submit") || !strcmp(name, "ak_js")) /* Akismet */
		return 1;
	if (!strcmp(name, "subscribe")) { /* Mailchimp's submit button */
		const char *s = norm_string_of(f->value, NULL);
		return s != NULL && strcmp(s, "Subscribe") == 0;
	}
	return 0;
}

/* Page data posted with the form (WPForms page_url/page_title/
 * url_referer, a fetch body's pageUrl, ...). */
static const struct {
	const char *name, *key;
} page_fields[] = {
        {"page_url", "url"},         {"page_uri", "url"},
        {"page_title", "title"},     {"page_name", "title"},
        {"page_path", "path"},       {"page_referrer", "referrer"},
        {"url_referer", "referrer"}, {"referrer", "referrer"},
        {"referer", "referrer"},     {"document_referrer", "referrer"},
};

#define PAGE_FIELDS (sizeof(page_fields) / sizeof(page_fields[0]))

/* The alias_key hashes of page_fields, computed once (normalise runs in
 * several threads), so that most names are told apart by one compare. */
static uint32_t page_field_hash[PAGE_FIELDS];
static pthread_once_t page_field_once = PTHREAD_ONCE_INIT;

static void
page_field_hash_init(void)
{
	struct alias_key key;
	size_t i;

	for (i = 0; i < PAGE_FIELDS; i++) {
		alias_key_init(&key, page_fields[i].name);
		page_field_hash[i] = key.hash;
	}
}

int
norm_take_page_field(struct norm *n, const struct alias_key *name,
                     const struct field *f, int *rc)
{
	size_t i;

	pthread_once(&page_field_once, page_field_hash_init);
	for (i = 0; i < PAGE_FIELDS; i++)
		if (name->hash == page_field_hash[i] &&
		    alias_key_eq(name, page_fields[i].name)) {
			*rc = norm_set_member_once(&n->page, page_fields[i].key,
			                           f->value);
			return 1;
		}
	return 0;
}

/* utm_* -> context.campaign (Customer.io / Segment spec names). */
int
norm_take_campaign(struct norm *n, const char *trait, struct json_object *v)
{
	const char *key = trait + 4;

	if (strcmp(key, "campaign") == 0)
		key = "name";
	if (*key == '\0')
		return FR_OK;
	return norm_set_member_once(&n->campaign, key, v);
}

/* Merge the envelope context an unwrapper found (fields win). */
int
norm_take_context(struct norm *n, const struct fields *in)
{
	static const char *const page_keys[] = {"url", "title", "referrer",
	                                        "path", "search"};
	struct json_object *m;
	size_t i;
	int rc = FR_OK;

	if (in->context == NULL)
		return FR_OK;
	for (i = 0; rc == FR_OK && i < 5; i++)
		if (json_object_object_get_ex(in->context, page_keys[i], &m))
			rc = norm_set_member_once(&n->page, page_keys[i], m);
	if (rc == FR_OK && json_object_object_get_ex(in->context, "ip", &m))
		rc = norm_set_string_once(&n->out->ip, m);
	if (rc == FR_OK &&
	    json_object_object_get_ex(in->context, "userAgent", &m))
		rc = norm_set_string_once(&n->out->user_agent, m);
	return rc;
}
