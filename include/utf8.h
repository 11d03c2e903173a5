/* UTF-8 validation (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
#ifndef FORMRELAY_UTF8_H
#define FORMRELAY_UTF8_H

#include <stddef.h>

/* 1 when s[0..len) is valid UTF-8 without NUL bytes, else 0. */
int utf8_valid(const char *s, size_t len);

/*
 * One character of a name being made from text (Typeform titles, form
 * field names): the character at s (n > 0 bytes left) lower-cased into
 * out, *outlen bytes (ASCII letters; the capitals of Latin-1, Latin
 * Extended-A, the regular pairs of Latin Extended-B (Romanian "Ș"),
 * Latin Extended Additional (Vietnamese), Greek, Cyrillic and Armenian:
 * "É" -> "é", "Ж" -> "ж"; other characters as they are).  *word is 1 for a
 * character of a word, 0 for ASCII punctuation and spaces, Unicode spaces and
 * punctuation (no-break and narrow spaces, curly quotes, dashes, guillemets,
 * inverted marks) and an ill-formed byte (*outlen 0 then).  Returns the bytes
 * of s consumed, at least 1.
 */
size_t utf8_fold(const char *s, size_t n, char out[4], size_t *outlen,
                 int *word);

#endif
