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
