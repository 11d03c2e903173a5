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
#include <stddef.h>
#include <string.h>

#include "aliases.h"
#include "config.h"

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

/* Lower-case name without separators into buf (truncated). */
static void
squash(const char *name, char *buf, size_t size)
{
	size_t n = 0;
	unsigned char c;

	while ((c = next_sig(&name)) != '\0' && n + 1 < size)
		buf[n++] = (char)c;
	buf[n] = '\0';
}

int
alias_is_canonical(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(canonical) / sizeof(canonical[0]); i++)
		if (strcmp(name, canonical[i]) == 0)
			return 1;
	return 0;
}

static const char *
table_lookup(const struct alias *t, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (alias_name_eq(name, t[i].name))
			return t[i].trait;
	return NULL;
}

const char *
alias_lookup(const char *name, const struct config *cfg)
{
	size_t i;

	if (name == NULL || *name == '\0')
		return NULL;
	for (i = 0; cfg != NULL && i < cfg->alias_count; i++)
		if (alias_name_eq(name, cfg->aliases[i].name))
			return cfg->aliases[i].trait;
	for (i = 0; i < sizeof(canonical) / sizeof(canonical[0]); i++)
		if (alias_name_eq(name, canonical[i]))
			return canonical[i];
	return table_lookup(alias_table,
	                    sizeof(alias_table) / sizeof(alias_table[0]), name);
}

const char *
alias_subkey(const char *sub)
{
	return table_lookup(subkey_table,
	                    sizeof(subkey_table) / sizeof(subkey_table[0]),
	                    sub);
}

static int
in_list(const char *name, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (alias_name_eq(name, list[i]))
			return 1;
	return 0;
}

static int
config_list_has(const struct config_list *l, const char *name)
{
	return in_list(name, (const char *const *)l->items, l->count);
}

int
alias_is_denied(const char *name, const struct config *cfg)
{
	char sq[256];
	size_t i;

	if (in_list(name, deny_exact, sizeof(deny_exact) / sizeof(*deny_exact)))
		return 1;
	squash(name, sq, sizeof(sq));
	for (i = 0; i < sizeof(deny_contains) / sizeof(*deny_contains); i++)
		if (strstr(sq, deny_contains[i]) != NULL)
			return 1;
	return cfg != NULL && config_list_has(&cfg->drop, name);
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
alias_is_honeypot(const char *name, const struct config *cfg)
{
	/* Formspree, Netlify, Akismet (WordPress forms) */
	if (alias_name_eq(name, "_gotcha") ||
	    alias_name_eq(name, "bot-field") ||
	    alias_name_eq(name, "ak_hp_textarea"))
		return 1;
	if (is_mailchimp_honeypot(name))
		return 1;
	return cfg != NULL && config_list_has(&cfg->honeypots, name);
}
