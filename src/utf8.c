/*
 * UTF-8 validation: RFC 3629 section 4 (the "UTF8-octets" grammar), which
 * is the table of well-formed byte sequences in Unicode 15 section 3.9
 * (Table 3-7).  Overlong forms, UTF-16 surrogates (U+D800..U+DFFF) and
 * code points above U+10FFFF are rejected; so is NUL, which the callers
 * never want in a name or value.
 */
#include <stdint.h>
#include <string.h>

#include "utf8.h"

#define ASCII_WORD_HIGH 0x8080808080808080ULL
#define ASCII_WORD_ONES 0x0101010101010101ULL

/*
 * 1 when the 8 bytes at s are ASCII and none is NUL.  Form bodies are
 * mostly ASCII, so this word-at-a-time test carries most of the input.
 */
static int
ascii_word(const unsigned char *s)
{
	uint64_t w;

	memcpy(&w, s, sizeof(w));
	/* "has a zero byte": (w - 0x01..) & ~w & 0x80.. is non-zero. */
	return (w & ASCII_WORD_HIGH) == 0 &&
	       ((w - ASCII_WORD_ONES) & ~w & ASCII_WORD_HIGH) == 0;
}

/* 1 when b is a continuation byte (10xxxxxx). */
static int
is_cont(unsigned char b)
{
	return (b & 0xC0) == 0x80;
}

/*
 * Length of the well-formed multi-byte sequence starting at s (at most n
 * bytes available), or 0 when it is ill-formed.  The lead byte decides
 * the permitted range of the second byte (Table 3-7); the remaining
 * bytes are plain continuation bytes.
 */
static size_t
sequence_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t len, i;

	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		len = 3;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		len = 4;
	else
		return 0; /* continuation, C0/C1 overlong or F5..FF */
	if (s[0] == 0xE0)
		lo = 0xA0; /* overlong below U+0800 */
	else if (s[0] == 0xED)
		hi = 0x9F; /* surrogates U+D800..U+DFFF */
	else if (s[0] == 0xF0)
		lo = 0x90; /* overlong below U+10000 */
	else if (s[0] == 0xF4)
		hi = 0x8F; /* above U+10FFFF */
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (!is_cont(s[i]))
			return 0;
	return len;
}

int
utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n;

	while (i < len) {
		if (len - i >= 8 && ascii_word(s + i)) {
			i += 8;
			continue;
		}
		if (s[i] == 0)
			return 0;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = sequence_len(s + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

/* The code point of the well-formed sequence s of len bytes. */
static uint32_t
decode(const unsigned char *s, size_t len)
{
	uint32_t cp = s[0] & (0xFF >> (len + 1));
	size_t i;

	for (i = 1; i < len; i++)
		cp = cp << 6 | (s[i] & 0x3F);
	return cp;
}

static size_t
encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Not part of a word: C1 controls, Latin-1's spaces, punctuation and
 * signs (U+0080..U+00BF, the multiplication and division signs), General
 * Punctuation (curly quotes, dashes, narrow spaces: U+2000..U+206F), CJK
 * punctuation (U+3000..U+303F), and the BOM / zero-width no-break space. */
static int
is_separator(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0xBF) || cp == 0xD7 || cp == 0xF7 ||
	       (cp >= 0x2000 && cp <= 0x206F) ||
	       (cp >= 0x3000 && cp <= 0x303F) || cp == 0xFEFF;
}

/* Latin Extended-B's regular pairs (Romanian Ș and Ț among them),
 * Armenian, and Latin Extended Additional (Vietnamese); else cp. */
static uint32_t
lower_more(uint32_t cp)
{
	if ((cp >= 0x1DE && cp <= 0x1EF) || (cp >= 0x1F8 && cp <= 0x21F) ||
	    (cp >= 0x222 && cp <= 0x233) || (cp >= 0x1E00 && cp <= 0x1E95) ||
	    (cp >= 0x1EA0 && cp <= 0x1EFF))
		return cp | 1;
	if (cp >= 0x531 && cp <= 0x556)
		return cp + 0x30;
	if (cp == 0x1E9E) /* capital sharp s */
		return 0xDF;
	return cp;
}

/* The lower case of the capitals of Latin-1, Latin Extended-A, Greek
 * and Cyrillic, then lower_more's (Unicode's simple case mapping,
 * UnicodeData.txt field 13); anything else as it is.  U+0130 (I with dot above)
 * lower-cases to plain i, as in Turkish: its one-code-point mapping. */
static uint32_t
lower(uint32_t cp)
{
	if ((cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) ||
	    (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) ||
	    (cp >= 0x410 && cp <= 0x42F))
		return cp + 0x20;
	if (cp >= 0x400 && cp <= 0x40F)
		return cp + 0x50;
	if (cp == 0x386)
		return 0x3AC;
	if (cp >= 0x388 && cp <= 0x38A)
		return cp + 0x25;
	if (cp == 0x38C)
		return 0x3CC;
	if (cp == 0x38E || cp == 0x38F)
		return cp + 0x3F;
	if (cp == 0x130)
		return 'i';
	if (cp == 0x178)
		return 0xFF;
	if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177))
		return cp | 1;
	if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E) ||
	    (cp >= 0x1CD && cp <= 0x1DC))
		return (cp & 1) ? cp + 1 : cp;
	return lower_more(cp);
}

size_t
utf8_fold(const char *str, size_t n, char out[4], size_t *outlen, int *word)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len;
	uint32_t cp;

	*outlen = 0;
	*word = 0;
	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		out[0] = (char)(s[0] >= 'A' && s[0] <= 'Z' ? s[0] + 32 : s[0]);
		*outlen = 1;
		*word = (out[0] >= 'a' && out[0] <= 'z') ||
		        (out[0] >= '0' && out[0] <= '9');
		return 1;
	}
	if ((len = sequence_len(s, n)) == 0)
		return 1;
	cp = decode(s, len);
	if (is_separator(cp))
		return len;
	*outlen = encode(lower(cp), out);
	*word = 1;
	return len;
}
