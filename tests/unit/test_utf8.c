/* utf8_valid against the well-formed sequences of RFC 3629 / Unicode 3.9. */
#include <string.h>

#include "tap.h"
#include "utf8.h"

static const struct {
	const char *desc;
	const char *s;
	size_t len; /* 0: strlen(s) */
	int valid;
} cases[] = {
        {"empty string", "", 0, 1},
        {"ASCII", "hello, world", 0, 1},
        {"long ASCII (word path)", "abcdefghijklmnopqrstuvwxyz0123456789", 0,
         1},
        {"2-byte e-acute", "caf\xc3\xa9", 0, 1},
        {"3-byte euro sign", "\xe2\x82\xac", 0, 1},
        {"4-byte emoji U+1F600", "\xf0\x9f\x98\x80", 0, 1},
        {"U+FFFD", "\xef\xbf\xbd", 0, 1},
        {"U+0800, the first 3-byte code point", "\xe0\xa0\x80", 0, 1},
        {"U+10000, the first 4-byte code point", "\xf0\x90\x80\x80", 0, 1},
        {"U+0080, the first 2-byte code point", "\xc2\x80", 0, 1},
        {"last code point U+10FFFF", "\xf4\x8f\xbf\xbf", 0, 1},
        {"U+D7FF just below surrogates", "\xed\x9f\xbf", 0, 1},
        {"U+E000 just above surrogates", "\xee\x80\x80", 0, 1},
        {"mixed after 8 ASCII bytes", "abcdefgh\xc3\xa9xyz", 0, 1},
        {"NUL alone", "\0", 1, 0},
        {"NUL inside ASCII word", "abc\0efghij", 10, 0},
        {"NUL after multibyte", "\xc3\xa9\0", 3, 0},
        {"overlong NUL C0 80", "\xc0\x80", 0, 0},
        {"overlong slash C1 AF", "\xc1\xaf", 0, 0},
        {"overlong 3-byte E0 80 AF", "\xe0\x80\xaf", 0, 0},
        {"overlong 3-byte E0 9F BF", "\xe0\x9f\xbf", 0, 0},
        {"overlong 4-byte F0 8F BF BF", "\xf0\x8f\xbf\xbf", 0, 0},
        {"high surrogate U+D800", "\xed\xa0\x80", 0, 0},
        {"low surrogate U+DFFF", "\xed\xbf\xbf", 0, 0},
        {"CESU-8 surrogate pair", "\xed\xa0\xbd\xed\xb8\x80", 0, 0},
        {"above U+10FFFF (F4 90)", "\xf4\x90\x80\x80", 0, 0},
        {"F5 lead byte", "\xf5\x80\x80\x80", 0, 0},
        {"FF byte", "\xff", 0, 0},
        {"lone continuation byte", "a\x80z", 0, 0},
        {"truncated 2-byte at end", "abc\xc3", 0, 0},
        {"truncated 3-byte at end", "\xe2\x82", 0, 0},
        {"truncated 4-byte at end", "\xf0\x9f\x98", 0, 0},
        {"truncated 3-byte then ASCII", "\xe2\x82x", 0, 0},
        {"latin-1 e-acute", "caf\xe9", 0, 0},
        {"5-byte form F8", "\xf8\x88\x80\x80\x80", 0, 0},
};

/* s folded a character at a time: words kept lower-cased, everything
 * else as '_' (as a name would be made). */
static const char *
fold_all(const char *s)
{
	static char buf[256];
	size_t n = strlen(s), o = 0, used, len;
	int word;
	char ch[4];

	while (n > 0 && o + 5 < sizeof(buf)) {
		used = utf8_fold(s, n, ch, &len, &word);
		if (word) {
			memcpy(buf + o, ch, len);
			o += len;
		} else {
			buf[o++] = '_';
		}
		s += used;
		n -= used;
	}
	buf[o] = '\0';
	return buf;
}

static void
test_fold(void)
{
	static const struct {
		const char *in, *want, *desc;
	} folds[] = {
	        {"Pr\xc3\xa9nom ?", "pr\xc3\xa9nom__", "Prénom ?"},
	        {"PR\xc3\x89NOM\xc2\xa0?", "pr\xc3\xa9nom__",
	         "PRÉNOM with a no-break space before '?'"},
	        {"\xc3\x87"
	         "a\xe2\x80\xafva",
	         "\xc3\xa7"
	         "a_va",
	         "Ça, a narrow no-break space"},
	        {"What\xe2\x80\x99s", "what_s", "a curly apostrophe"},
	        {"\xc2\xbfQu\xc3\xa9?", "_qu\xc3\xa9_", "¿Qué?"},
	        {"\xc3\x80\xc3\x9e\xc3\x97\xc3\x9f",
	         "\xc3\xa0\xc3\xbe_\xc3\x9f",
	         "À Þ lowered, × a separator, ß kept"},
	        {"\xc5\x81\xc3\xb3"
	         "d\xc5\xba \xc5\xb9",
	         "\xc5\x82\xc3\xb3"
	         "d\xc5\xba_\xc5\xba",
	         "Łódź Ź (Latin Extended-A)"},
	        {"\xc4\xb0\xc5\xb8", "i\xc3\xbf", "İ and Ÿ"},
	        {"\xce\x8c\xce\x9d\xce\x9f\xce\x9c\xce\x91",
	         "\xcf\x8c\xce\xbd\xce\xbf\xce\xbc\xce\xb1", "ΌΝΟΜΑ (Greek)"},
	        {"\xd0\x98\xd0\xbc\xd1\x8f \xd0\x81",
	         "\xd0\xb8\xd0\xbc\xd1\x8f_\xd1\x91", "Имя Ё (Cyrillic)"},
	        {"\xe5\x90\x8d\xe5\x89\x8d\xe3\x80\x80x",
	         "\xe5\x90\x8d\xe5\x89\x8d_x", "CJK kept, ideographic space"},
	        {"a\xff"
	         "b",
	         "a_b", "an ill-formed byte is a separator"},
	        {"\xc8\x98"
	         "COAL\xc4\x82 \xc8\x9a"
	         "ARA",
	         "\xc8\x99"
	         "coal\xc4\x83_\xc8\x9b"
	         "ara",
	         "ȘCOALĂ ȚARA (Romanian, Latin Extended-B)"},
	        {"TI\xe1\xba\xbe"
	         "NG VI\xe1\xbb\x86"
	         "T",
	         "ti\xe1\xba\xbf"
	         "ng_vi\xe1\xbb\x87"
	         "t",
	         "TIẾNG VIỆT (Latin Extended Additional)"},
	        {"\xd4\xb1\xd5\x80", "\xd5\xa1\xd5\xb0", "ԱՀ (Armenian)"},
	        {"\xc7\x8d\xe1\xba\x9e", "\xc7\x8e\xc3\x9f", "Ǎ and ẞ"},
	};
	size_t i;

	for (i = 0; i < sizeof(folds) / sizeof(folds[0]); i++)
		is_str(fold_all(folds[i].in), folds[i].want, "fold: %s",
		       folds[i].desc);
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].s);

		is_int(utf8_valid(cases[i].s, len), cases[i].valid, "%s",
		       cases[i].desc);
	}
	/* The length is honoured: bytes past len are never read. */
	is_int(utf8_valid("ab\xff", 2), 1, "bytes past len are ignored");
	is_int(utf8_valid("\xc3\xa9", 1), 0, "a sequence cut by len");
	test_fold();
	return done_testing();
}
