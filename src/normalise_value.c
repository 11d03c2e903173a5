/*
 * Normalisation of single names and values: trait names (brackets,
 * aliases, snake_case), email addresses and phone numbers.
 */
#include <stddef.h>
#include <string.h>

#include "aliases.h"
#include "config.h"
#include "normalise.h"
#include "utf8.h"
#include "util.h"

#define MAX_SEGS 8

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	       c == '\v';
}

static int
is_upper(unsigned char c)
{
	return c >= 'A' && c <= 'Z';
}

static int
is_lower_or_digit(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Trimmed bounds of s: *start and the length. */
static size_t
trimmed(const char *s, const char **start)
{
	size_t len;

	while (is_space((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && is_space((unsigned char)s[len - 1]))
		len--;
	*start = s;
	return len;
}

/* The UTF-8 character at in[0..left): lower-cased into buf at *n when
 * it is a letter, else a '_' (utf8_fold).  The bytes of in consumed. */
static size_t
snake_utf8(const char *in, size_t left, char *buf, size_t *n)
{
	char ch[4];
	size_t used, len;
	int word;

	used = utf8_fold(in, left, ch, &len, &word);
	if (word) {
		memcpy(buf + *n, ch, len);
		*n += len;
	} else if (*n > 0 && buf[*n - 1] != '_') {
		buf[(*n)++] = '_';
	}
	return used;
}

/*
 * camelCase -> camel_case, "Email 2" -> "email_2", ASCII lower-cased,
 * other ASCII punctuation -> '_', runs of '_' collapsed; UTF-8 letters
 * lower-cased ("PRÉNOM" -> "prénom"), Unicode spaces and punctuation
 * -> '_'.
 */
static int
snake_case(const char *in, char *buf, size_t size)
{
	size_t n = 0, i, len = strlen(in);
	unsigned char c, prev = 0, next;

	for (i = 0; i < len; prev = c, i++) {
		c = (unsigned char)in[i];
		next = (unsigned char)in[i + 1];
		if (n + 5 >= size)
			return -1;
		if (is_upper(c)) {
			if (n > 0 && buf[n - 1] != '_' &&
			    (is_lower_or_digit(prev) ||
			     (is_upper(prev) && next >= 'a' && next <= 'z')))
				buf[n++] = '_';
			buf[n++] = (char)(c + 32);
		} else if (is_lower_or_digit(c)) {
			buf[n++] = (char)c;
		} else if (c >= 0x80) {
			i += snake_utf8(in + i, len - i, buf, &n) - 1;
		} else if (n > 0 && buf[n - 1] != '_') {
			buf[n++] = '_';
		}
	}
	while (n > 0 && buf[n - 1] == '_')
		n--;
	buf[n] = '\0';
	return n > 0 ? 0 : -1;
}

/*
 * 1 when snake_case(s) names the same alias as s: s holds only ASCII
 * letters and digits and the separators aliases.h skips, which
 * snake_case only lower-cases, keeps, or turns into (or adds) '_'.
 */
static int
snake_keeps_alias(const char *s)
{
	unsigned char c;

	for (; (c = (unsigned char)*s) != '\0'; s++)
		if (!(is_upper(c) || is_lower_or_digit(c) || c == '_' ||
		      c == '-' || c == ' ' || c == '.'))
			return 0;
	return 1;
}

/* One plain (unbracketed) name: alias, else snake_case, then the alias
 * of the result ("e/mail" -> "e_mail" -> "email"), so that a trait name
 * normalises to itself.  The second lookup is skipped when it would
 * look the same name up again. */
static int
plain_name(const char *name, const struct config *cfg, char *buf, size_t size)
{
	const char *trait = alias_lookup(name, cfg);

	if (trait == NULL) {
		if (snake_case(name, buf, size) < 0)
			return -1;
		if (snake_keeps_alias(name))
			return 0;
		trait = alias_lookup(buf, cfg);
		if (trait == NULL)
			return 0;
	}
	return strlcopy(buf, trait, size) < size ? 0 : -1;
}

/*
 * Split "a[b][c]" into segments in store.  Returns the count, or 1 with
 * the whole name when the brackets are not well formed.
 */
static size_t
split_brackets(const char *name, char *store, size_t size,
               const char *segs[MAX_SEGS])
{
	const char *open = strchr(name, '[');
	size_t n = 0, len = strlen(name);
	char *p;

	if (open == NULL || open == name || len >= size || name[len - 1] != ']')
		return 0;
	memcpy(store, name, len + 1);
	p = store + (open - name);
	*p++ = '\0';
	segs[n++] = store;
	while (*p != '\0' && n < MAX_SEGS) {
		char *close = strchr(p, ']');
		char *nested = strchr(p, '[');
		if (close == NULL || (nested != NULL && nested < close))
			return 0;
		*close = '\0';
		segs[n++] = p;
		p = close + 1;
		if (*p == '\0')
			return n;
		if (*p++ != '[')
			return 0;
	}
	return 0;
}

/* Containers whose members are the real fields: traits[plan],
 * form_fields[email] (Elementor), wpforms[fields][3] (WPForms). */
static int
is_wrapper(const char *seg)
{
	static const char *const wrappers[] = {
	        "traits",     "properties", "form_fields", "fields", "wpforms",
	        "data",       "contact",    "lead",        "user",   "customer",
	        "submission", "form",       "input",       "entry",  "fields",
	};
	size_t i;

	for (i = 0; i < sizeof(wrappers) / sizeof(wrappers[0]); i++)
		if (alias_name_eq(seg, wrappers[i]))
			return 1;
	return 0;
}

static int
is_index(const char *seg)
{
	if (*seg == '\0')
		return 1;
	while (*seg >= '0' && *seg <= '9')
		seg++;
	return *seg == '\0';
}

/* Join segs[from..to) with '_' into buf. */
static int
join_segs(const char *const *segs, size_t from, size_t to, char *buf,
          size_t size)
{
	size_t n = 0, i, len;

	for (i = from; i < to; i++) {
		if (*segs[i] == '\0')
			continue;
		len = strlen(segs[i]);
		if (n + len + 2 > size)
			return -1;
		if (n > 0)
			buf[n++] = '_';
		memcpy(buf + n, segs[i], len);
		n += len;
	}
	buf[n] = '\0';
	return 0;
}

static int
bracket_name(const char *const *segs, size_t nseg, const struct config *cfg,
             char *buf, size_t size)
{
	char joined[256];
	const char *trait;
	size_t first = 0, end = nseg;

	while (first + 1 < nseg && is_wrapper(segs[first]))
		first++;
	while (end > first + 1 && is_index(segs[end - 1]))
		end--;
	if (end - first == 1 && is_index(segs[first])) {
		/* wpforms[fields][3]: nothing but a per-form number */
		if (join_segs(segs, 0, nseg, joined, sizeof(joined)) < 0)
			return -1;
		return plain_name(joined, cfg, buf, size);
	}
	if (end - first >= 2 && (trait = alias_subkey(segs[end - 1])) != NULL)
		return strlcopy(buf, trait, size) < size ? 0 : -1;
	if (join_segs(segs, first, end, joined, sizeof(joined)) < 0)
		return -1;
	return plain_name(joined, cfg, buf, size);
}

int
normalise_name(const char *name, const struct config *cfg, char *buf,
               size_t size)
{
	char store[256];
	const char *segs[MAX_SEGS];
	const char *trait;
	size_t nseg;

	if (name == NULL || *name == '\0' || size == 0)
		return -1;
	nseg = split_brackets(name, store, sizeof(store), segs);
	if (nseg < 2)
		return plain_name(name, cfg, buf, size);
	/* [fields] alias.email = wpforms[fields][2] names the raw field */
	if (cfg != NULL && (trait = alias_lookup(name, cfg)) != NULL)
		return strlcopy(buf, trait, size) < size ? 0 : -1;
	return bracket_name(segs, nseg, cfg, buf, size);
}

/* RFC 5321 4.5.3.1.1: at most 64 octets in the local part.  A practical
 * subset of RFC 5322's dot-atom: no spaces, quotes or specials. */
static int
email_local_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 64 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == 0x7f || strchr("\"(),:;<>[\\]@", c))
			return 0;
		if (c == '.' && s[i + 1] == '.')
			return 0;
	}
	return 1;
}

/* Labels of letters, digits and '-' (not at either end), or UTF-8
 * (internationalised domains, RFC 6531), at least two of them. */
static int
email_domain_ok(const char *s, size_t len)
{
	size_t i, label = 0, dots = 0;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			dots++;
			continue;
		}
		if (!(is_lower_or_digit(c) || c >= 0x80 ||
		      (c == '-' && label > 0)))
			return 0;
		if (++label > 63)
			return 0;
	}
	return dots > 0 && label > 0 && s[len - 1] != '-';
}

int
normalise_email(const char *in, char *buf, size_t size)
{
	const char *s, *at;
	size_t len, i;

	if (in == NULL)
		return -1;
	len = trimmed(in, &s);
	if (len + 1 > size || len > 254)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[i] = (char)(is_upper(c) ? c + 32 : c);
	}
	buf[len] = '\0';
	at = memchr(buf, '@', len);
	if (at == NULL || memchr(at + 1, '@', len - (size_t)(at - buf) - 1))
		return -1;
	if (!email_local_ok(buf, (size_t)(at - buf)) ||
	    !email_domain_ok(at + 1, len - (size_t)(at - buf) - 1))
		return -1;
	return 0;
}

int
normalise_phone(const char *in, char *buf, size_t size)
{
	const char *s;
	size_t len, i, n = 0, digits = 0;

	len = trimmed(in, &s);
	if (len + 1 > size)
		return -1;
	for (i = 0; i < len; i++)
		if ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z')
			break;
	if (i < len) { /* letters: "ext. 5", a vanity number: keep as is */
		memcpy(buf, s, len);
		buf[len] = '\0';
		return 0;
	}
	if (len > 0 && s[0] == '+')
		buf[n++] = '+';
	for (i = 0; i < len; i++)
		if (s[i] >= '0' && s[i] <= '9')
			buf[n++] = s[i], digits++;
	if (digits == 0) {
		memcpy(buf, s, len);
		n = len;
	}
	buf[n] = '\0';
	return 0;
}
