/*
 * The default alias table, deny list and honeypots (see aliases.h and
 * docs/normalisation.md).  The names come from what the builders really
 * send:
 *  - Mailchimp embedded forms: EMAIL, FNAME, LNAME, PHONE, COMPANY,
 *    ADDRESS[addr1|addr2|city|state|zip|country], MMERGE<n>, and the
 *    honeypot b_<user hex>_<list hex>;
 *  - HubSpot: email, firstname, lastname, phone, mobilephone, company,
 *    jobtitle, website, address, city, state, zip, country, message;
 *  - Contact Form 7: your-name, your-email, your-subject, your-message;
 *  - Webflow: the field labels ("Name", "Email", "Email 2", "Phone
 *    Number", ...);
 *  - Elementor: form_fields[name|email|message|...] (bracket unwrapped);
 *  - WPForms: wpforms[fields][N][first|last] (sub-keys below);
 *  - Gravity Forms: input_1.3 / input_1.6, the first and last name inputs
 *    of a Name field when it is field 1 (other numbers need [fields]
 *    alias.* lines: the numbers are per form);
 *  - Typeform refs, Tally labels, Jotform names (q3_email -> email),
 *    Embeddables keys (snake_case), Formspree's _replyto.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aliases.h"
#include "config.h"
#include "error.h"

struct alias {
	const char *name;
	const char *trait;
};

/* Names already equal to a trait under alias_name_eq are implied. */
static const struct alias alias_table[] = {
        /* email */
        {"e-mail", "email"},
        {"email address", "email"},
        {"email 2", "email"},
        {"your-email", "email"},
        {"user_email", "email"},
        {"contact_email", "email"},
        {"work email", "email"},
        {"business email", "email"},
        {"mail", "email"},
        {"_replyto", "email"},
        {"replyto", "email"},
        {"reply_to", "email"},
        /* first_name */
        {"fname", "first_name"},
        {"first", "first_name"},
        {"given_name", "first_name"},
        {"forename", "first_name"},
        {"your-first-name", "first_name"},
        {"name_first", "first_name"},
        {"input_1.3", "first_name"},
        /* last_name */
        {"lname", "last_name"},
        {"last", "last_name"},
        {"surname", "last_name"},
        {"family_name", "last_name"},
        {"your-last-name", "last_name"},
        {"name_last", "last_name"},
        {"input_1.6", "last_name"},
        /* middle_name */
        {"middle", "middle_name"},
        /* name */
        {"full_name", "name"},
        {"your-name", "name"},
        {"your name", "name"},
        {"contact_name", "name"},
        {"customer_name", "name"},
        /* phone */
        {"phone_number", "phone"},
        {"telephone", "phone"},
        {"tel", "phone"},
        {"mobile", "phone"},
        {"mobilephone", "phone"},
        {"mobile_phone", "phone"},
        {"mobile_number", "phone"},
        {"cell", "phone"},
        {"cellphone", "phone"},
        {"your-phone", "phone"},
        {"your-tel", "phone"},
        /* company */
        {"company_name", "company"},
        {"organization", "company"},
        {"organisation", "company"},
        {"business_name", "company"},
        {"your-company", "company"},
        /* title (job title, as in the Segment/Customer.io spec) */
        {"jobtitle", "title"},
        {"job_title", "title"},
        {"job", "title"},
        {"position", "title"},
        {"your-title", "title"},
        /* website */
        {"web_site", "website"},
        {"website_url", "website"},
        {"company_website", "website"},
        {"homepage", "website"},
        {"your-website", "website"},
        /* address */
        {"street", "address"},
        {"street_address", "address"},
        {"address1", "address"},
        {"addr1", "address"},
        {"address_line_1", "address"},
        {"addr_line1", "address"},
        {"your-address", "address"},
        /* address_2 */
        {"addr2", "address_2"},
        {"address_line_2", "address_2"},
        {"addr_line2", "address_2"},
        /* city, state, postal_code, country */
        {"town", "city"},
        {"your-city", "city"},
        {"province", "state"},
        {"state_province", "state"},
        {"zip", "postal_code"},
        {"zipcode", "postal_code"},
        {"zip_code", "postal_code"},
        {"postcode", "postal_code"},
        {"post_code", "postal_code"},
        {"postal", "postal_code"},
        {"your-zip", "postal_code"},
        {"your-country", "country"},
        /* message, subject */
        {"your-message", "message"},
        {"msg", "message"},
        {"comments", "message"},
        {"comment", "message"},
        {"enquiry", "message"},
        {"inquiry", "message"},
        {"your-subject", "subject"},
};

static const char *const canonical[] = {
        "email",     "first_name", "last_name", "middle_name", "name",
        "phone",     "company",    "title",     "website",     "address",
        "address_2", "city",       "state",     "postal_code", "country",
        "message",   "subject",
};

/* Sub-keys of bracketed name and address groups. */
static const struct alias subkey_table[] = {
        {"first", "first_name"},
        {"fname", "first_name"},
        {"first_name", "first_name"},
        {"last", "last_name"},
        {"lname", "last_name"},
        {"last_name", "last_name"},
        {"middle", "middle_name"},
        {"addr1", "address"},
        {"addr_line1", "address"},
        {"address1", "address"},
        {"line1", "address"},
        {"street", "address"},
        {"addr2", "address_2"},
        {"addr_line2", "address_2"},
        {"address2", "address_2"},
        {"line2", "address_2"},
        {"city", "city"},
        {"state", "state"},
        {"province", "state"},
        {"region", "state"},
        {"zip", "postal_code"},
        {"postal", "postal_code"},
        {"postal_code", "postal_code"},
        {"postcode", "postal_code"},
        {"zipcode", "postal_code"},
        {"country", "country"},
};

/* Exact (alias_name_eq) names never forwarded. */
static const char *const deny_exact[] = {
        "pass",
        "pwd",
        "pin",
        "cvv",
        "cvv2",
        "cvc",
        "cvc2",
        "csc",
        "security_code",
        "card_code",
        "card_security_code",
        "cc_number",
        "cc_num",
        "card_number",
        "card_num",
        "cardnumber",
        "credit_card",
        "creditcard",
        "credit_card_number",
        "pan",
        "cc_exp",
        "card_expiry",
        "expiry_date",
        "exp_date",
        "ssn",
        "social_security_number",
        "social_security",
        "sin",
        "nin",
        "national_id",
        "national_insurance",
        "national_insurance_number",
        "tax_id",
        "tin",
        "itin",
        "passport",
        "passport_number",
        "drivers_license",
        "driver_license",
        "driving_licence",
        "iban",
        "bank_account",
        "account_number",
        "routing_number",
        "sort_code",
        "token",
        "_token",
        "authenticity_token",
        "__RequestVerificationToken",
        "csrfmiddlewaretoken",
        "nonce",
        "_wpnonce",
        "hutk",
};

/* Substrings (of the lower-cased name without separators) never
 * forwarded: "user_password", "g-recaptcha-response", "csrf_token",
 * "h-captcha-response", "cf-turnstile-response", "X-XSRF-TOKEN", and
 * credentials an Embeddables flow may keep in its user data
 * ("access_token", "api_key", "client_secret"). */
static const char *const deny_contains[] = {
        "password",  "passwd", "passphrase",     "captcha",      "turnstile",
        "csrf",      "xsrf",   "creditcard",     "cardnumber",   "cardcvc",
        "cardcvv",   "cvv",    "socialsecurity", "accesstoken",  "refreshtoken",
        "authtoken", "apikey", "apisecret",      "clientsecret",
};

/* Honeypots by name: Formspree, Netlify, Akismet (WordPress forms). */
static const char *const honeypot_names[] = {
        "_gotcha",
        "bot-field",
        "ak_hp_textarea",
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- names folded under the rule of aliases.h ----------------------- */

/* FNV-1a, 32 bits (http://www.isthe.com/chongo/tech/comp/fnv/): one
 * multiplication a byte.  No secret key is needed: the indexes hold only
 * the tables' and the operator's names, so a name a client makes up can
 * only walk a probe chain that is already there, never lengthen one. */
#define FNV_OFFSET 2166136261u
#define FNV_PRIME  16777619u

static int
is_separator(unsigned char c)
{
	return c == '-' || c == '_' || c == ' ' || c == '.';
}

static unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* The next significant byte of *p (lower-cased), advancing *p. */
static unsigned char
next_sig(const char **p)
{
	while (**p != '\0' && is_separator((unsigned char)**p))
		(*p)++;
	if (**p == '\0')
		return '\0';
	return lower((unsigned char)*(*p)++);
}

int
alias_name_eq(const char *a, const char *b)
{
	unsigned char ca, cb;

	if (a == NULL || b == NULL)
		return 0;
	do {
		ca = next_sig(&a);
		cb = next_sig(&b);
		if (ca != cb)
			return 0;
	} while (ca != '\0');
	return 1;
}

/* k from name, without its default entry. */
static void
fold(struct alias_key *k, const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	uint32_t hash = FNV_OFFSET;
	size_t len = 0;
	unsigned c;

	k->raw = name;
	k->complete = 1;
	for (; (c = *p) != '\0'; p++) {
		if (is_separator((unsigned char)c))
			continue;
		c = lower((unsigned char)c);
		hash = (hash ^ c) * FNV_PRIME;
		if (len < ALIAS_KEY_KEEP)
			k->sig[len++] = (char)c;
		else
			k->complete = 0;
	}
	k->sig[len] = '\0';
	k->len = len;
	k->hash = hash;
	k->entry = NULL;
}

int
alias_key_eq(const struct alias_key *k, const char *raw)
{
	size_t i;

	if (raw == NULL)
		return 0;
	if (!k->complete)
		return alias_name_eq(k->raw, raw);
	for (i = 0; i < k->len; i++)
		if (next_sig(&raw) != (unsigned char)k->sig[i])
			return 0;
	return next_sig(&raw) == '\0';
}

/* ---- hash index over folded names ----------------------------------- */

#define NAME_DENIED   0x1u /* deny list or [fields] drop */
#define NAME_HONEYPOT 0x2u /* honeypot list or [http] honeypots */

/* What the tables say about one folded name (several table entries may
 * fold to it: the first of each kind counts, as in a linear scan). */
struct alias_entry {
	const char *name;   /* the first spelling seen; borrowed */
	uint32_t hash;      /* of its folded form */
	const char *trait;  /* alias_lookup's answer, or NULL */
	const char *subkey; /* alias_subkey's answer, or NULL */
	unsigned flags;     /* NAME_* */
};

/* Open addressing with linear probing; slots hold entry index + 1 (0:
 * empty) and outnumber the entries at least twice, so probes are short
 * and always end. */
struct name_index {
	struct alias_entry *entries;
	size_t count, cap;
	uint16_t *slots;
	size_t mask; /* slot count - 1, a power of two */
};

static struct alias_entry *
index_find(const struct name_index *ix, const struct alias_key *k)
{
	size_t i = k->hash & ix->mask;
	struct alias_entry *e;

	for (; ix->slots[i] != 0; i = (i + 1) & ix->mask) {
		e = &ix->entries[ix->slots[i] - 1];
		if (e->hash == k->hash && alias_key_eq(k, e->name))
			return e;
	}
	return NULL;
}

/* The entry of name, added (zeroed) when new.  ix has room: its
 * capacity counts every name ever added. */
static struct alias_entry *
index_add(struct name_index *ix, const char *name)
{
	struct alias_key key;
	struct alias_entry *e;
	size_t i;

	fold(&key, name);
	if ((e = index_find(ix, &key)) != NULL)
		return e;
	e = &ix->entries[ix->count++];
	memset(e, 0, sizeof(*e));
	e->name = name;
	e->hash = key.hash;
	for (i = key.hash & ix->mask; ix->slots[i] != 0; i = (i + 1) & ix->mask)
		;
	ix->slots[i] = (uint16_t)ix->count;
	return e;
}

static void
index_add_alias(struct name_index *ix, const char *name, const char *trait)
{
	struct alias_entry *e = index_add(ix, name);

	if (e->trait == NULL)
		e->trait = trait;
}

static void
index_add_flag(struct name_index *ix, const char *name, unsigned flag)
{
	index_add(ix, name)->flags |= flag;
}

/* ---- the default tables, indexed once ------------------------------- */

#define DEFAULT_NAMES                                                          \
	(COUNT_OF(canonical) + COUNT_OF(alias_table) +                         \
	 COUNT_OF(subkey_table) + COUNT_OF(deny_exact) +                       \
	 COUNT_OF(honeypot_names))
#define DEFAULT_SLOTS 1024

_Static_assert(DEFAULT_NAMES * 2 <= DEFAULT_SLOTS,
               "DEFAULT_SLOTS: at least twice the default names");

static struct alias_entry default_entries[DEFAULT_NAMES];
static uint16_t default_slots[DEFAULT_SLOTS];
static struct name_index defaults = {default_entries, 0, DEFAULT_NAMES,
                                     default_slots, DEFAULT_SLOTS - 1};

/* deny_contains by first byte: bit i set in first_byte[c] when
 * deny_contains[i] starts with c; lengths beside. */
_Static_assert(COUNT_OF(deny_contains) <= 32, "deny_contains: 32 at most");
static uint32_t contains_first[256];
static size_t contains_len[COUNT_OF(deny_contains)];

static pthread_once_t defaults_once = PTHREAD_ONCE_INIT;

/* Insertion order keeps the answers of the former linear scans:
 * alias_lookup tried the canonical names before the alias table. */
static void
defaults_build(void)
{
	size_t i;

	for (i = 0; i < COUNT_OF(canonical); i++)
		index_add_alias(&defaults, canonical[i], canonical[i]);
	for (i = 0; i < COUNT_OF(alias_table); i++)
		index_add_alias(&defaults, alias_table[i].name,
		                alias_table[i].trait);
	for (i = 0; i < COUNT_OF(subkey_table); i++) {
		struct alias_entry *e =
		        index_add(&defaults, subkey_table[i].name);
		if (e->subkey == NULL)
			e->subkey = subkey_table[i].trait;
	}
	for (i = 0; i < COUNT_OF(deny_exact); i++)
		index_add_flag(&defaults, deny_exact[i], NAME_DENIED);
	for (i = 0; i < COUNT_OF(honeypot_names); i++)
		index_add_flag(&defaults, honeypot_names[i], NAME_HONEYPOT);
	for (i = 0; i < COUNT_OF(deny_contains); i++) {
		contains_first[(unsigned char)deny_contains[i][0]] |= 1u << i;
		contains_len[i] = strlen(deny_contains[i]);
	}
}

static const struct alias_entry *
default_find(const struct alias_key *k)
{
	pthread_once(&defaults_once, defaults_build);
	return index_find(&defaults, k);
}

void
alias_key_init(struct alias_key *k, const char *name)
{
	fold(k, name);
	k->entry = default_find(k);
}

/* strstr(k->sig, s) != NULL for any s of deny_contains, in one pass
 * (the tables are built: k comes from alias_key_init). */
static int
contains_denied(const struct alias_key *k)
{
	size_t i;
	uint32_t m;
	int j;

	for (i = 0; i < k->len; i++) {
		for (m = contains_first[(unsigned char)k->sig[i]]; m != 0;
		     m &= m - 1) {
			j = __builtin_ctz(m);
			if (k->len - i >= contains_len[j] &&
			    memcmp(k->sig + i, deny_contains[j],
			           contains_len[j]) == 0)
				return 1;
		}
	}
	return 0;
}

/* ---- configured names ----------------------------------------------- */

/* The one configuration whose names are indexed (alias_config_prepare);
 * published and read with atomics. */
struct config_index {
	const struct config *cfg;
	struct name_index names;
};

static struct config_index *prepared;

static const struct name_index *
config_index_of(const struct config *cfg)
{
	struct config_index *ci = __atomic_load_n(&prepared, __ATOMIC_ACQUIRE);

	return ci != NULL && ci->cfg == cfg ? &ci->names : NULL;
}

static void
config_index_free(struct config_index *ci)
{
	if (ci == NULL)
		return;
	free(ci->names.entries);
	free(ci->names.slots);
	free(ci);
}

static struct config_index *
config_index_new(const struct config *cfg)
{
	size_t cap = cfg->alias_count + cfg->drop.count + cfg->honeypots.count;
	size_t slots = 16;
	struct config_index *ci = calloc(1, sizeof(*ci));

	while (slots < 2 * cap)
		slots *= 2;
	if (ci == NULL)
		return NULL;
	ci->cfg = cfg;
	ci->names.cap = cap;
	ci->names.mask = slots - 1;
	ci->names.entries = calloc(cap ? cap : 1, sizeof(struct alias_entry));
	ci->names.slots = calloc(slots, sizeof(uint16_t));
	if (ci->names.entries == NULL || ci->names.slots == NULL) {
		config_index_free(ci);
		return NULL;
	}
	return ci;
}

int
alias_config_prepare(const struct config *cfg)
{
	struct config_index *ci, *old;
	size_t i;

	if (cfg == NULL)
		return FR_OK;
	if ((ci = config_index_new(cfg)) == NULL)
		return FR_ENOMEM;
	for (i = 0; i < cfg->alias_count; i++)
		if (cfg->aliases[i].name != NULL)
			index_add_alias(&ci->names, cfg->aliases[i].name,
			                cfg->aliases[i].trait);
	for (i = 0; i < cfg->drop.count; i++)
		if (cfg->drop.items[i] != NULL)
			index_add_flag(&ci->names, cfg->drop.items[i],
			               NAME_DENIED);
	for (i = 0; i < cfg->honeypots.count; i++)
		if (cfg->honeypots.items[i] != NULL)
			index_add_flag(&ci->names, cfg->honeypots.items[i],
			               NAME_HONEYPOT);
	old = __atomic_exchange_n(&prepared, ci, __ATOMIC_ACQ_REL);
	config_index_free(old);
	return FR_OK;
}

void
alias_config_release(const struct config *cfg)
{
	struct config_index *ci = __atomic_load_n(&prepared, __ATOMIC_ACQUIRE);

	if (ci == NULL || ci->cfg != cfg)
		return;
	__atomic_store_n(&prepared, NULL, __ATOMIC_RELEASE);
	config_index_free(ci);
}

/* cfg->aliases' trait for k, the first match in the file's order. */
static const char *
config_alias(const struct config *cfg, const struct alias_key *k)
{
	const struct name_index *ix = config_index_of(cfg);
	const struct alias_entry *e;
	size_t i;

	if (ix != NULL)
		return (e = index_find(ix, k)) != NULL ? e->trait : NULL;
	for (i = 0; i < cfg->alias_count; i++)
		if (alias_key_eq(k, cfg->aliases[i].name))
			return cfg->aliases[i].trait;
	return NULL;
}

static int
list_has(const struct config_list *l, const struct alias_key *k)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		if (alias_key_eq(k, l->items[i]))
			return 1;
	return 0;
}

/* 1 when k is in cfg's drop (NAME_DENIED) or honeypots (NAME_HONEYPOT)
 * list. */
static int
config_has(const struct config *cfg, const struct alias_key *k, unsigned flag)
{
	const struct name_index *ix;
	const struct alias_entry *e;

	if (cfg == NULL)
		return 0;
	if ((ix = config_index_of(cfg)) != NULL)
		return (e = index_find(ix, k)) != NULL && (e->flags & flag);
	return list_has(flag == NAME_DENIED ? &cfg->drop : &cfg->honeypots, k);
}

/* ---- the interface -------------------------------------------------- */

int
alias_is_canonical(const char *name)
{
	size_t i;

	for (i = 0; i < COUNT_OF(canonical); i++)
		if (strcmp(name, canonical[i]) == 0)
			return 1;
	return 0;
}

const char *
alias_key_lookup(const struct alias_key *k, const struct config *cfg)
{
	const char *trait;

	if (k->raw == NULL || k->raw[0] == '\0')
		return NULL;
	if (cfg != NULL && cfg->alias_count > 0 &&
	    (trait = config_alias(cfg, k)) != NULL)
		return trait;
	return k->entry != NULL ? k->entry->trait : NULL;
}

const char *
alias_lookup(const char *name, const struct config *cfg)
{
	struct alias_key k;

	if (name == NULL || *name == '\0')
		return NULL;
	alias_key_init(&k, name);
	return alias_key_lookup(&k, cfg);
}

const char *
alias_subkey(const char *sub)
{
	struct alias_key k;

	if (sub == NULL)
		return NULL;
	alias_key_init(&k, sub);
	return k.entry != NULL ? k.entry->subkey : NULL;
}

int
alias_key_is_denied(const struct alias_key *k, const struct config *cfg)
{
	if (k->entry != NULL && (k->entry->flags & NAME_DENIED))
		return 1;
	return contains_denied(k) || config_has(cfg, k, NAME_DENIED);
}

int
alias_is_denied(const char *name, const struct config *cfg)
{
	struct alias_key k;

	if (name == NULL)
		return 0;
	alias_key_init(&k, name);
	return alias_key_is_denied(&k, cfg);
}

/* Mailchimp's embedded forms: b_<25 hex>_<10 hex> (lengths vary). */
static int
is_mailchimp_honeypot(const char *name)
{
	const char *p = name + 2;
	size_t a = 0, b = 0;

	if (strncmp(name, "b_", 2) != 0)
		return 0;
	while (strchr("0123456789abcdef", *p) != NULL && *p != '\0')
		p++, a++;
	if (*p++ != '_')
		return 0;
	while (strchr("0123456789abcdef", *p) != NULL && *p != '\0')
		p++, b++;
	return *p == '\0' && a >= 8 && b >= 6;
}

int
alias_key_is_honeypot(const struct alias_key *k, const struct config *cfg)
{
	if (k->entry != NULL && (k->entry->flags & NAME_HONEYPOT))
		return 1;
	return is_mailchimp_honeypot(k->raw) ||
	       config_has(cfg, k, NAME_HONEYPOT);
}

int
alias_is_honeypot(const char *name, const struct config *cfg)
{
	struct alias_key k;

	if (name == NULL)
		return 0;
	alias_key_init(&k, name);
	return alias_key_is_honeypot(&k, cfg);
}
