/* util: percent_decode, the one decoder of query and form values that
 * hooks.c (?token=) and payload.c (utm_* of the page URL) share. */
#include <string.h>

#include "tap.h"
#include "util.h"

static void
test_decode(void)
{
	static const struct {
		const char *in, *want, *desc;
	} cases[] = {
	        {"a%20b+c", "a b c", "%20 and '+' are spaces"},
	        {"%41%62%7e", "Ab~", "upper- and lower-case hex digits"},
	        {"100%", "100%", "a '%' at the end is kept"},
	        {"%4", "%4", "a '%' with one hex digit is kept"},
	        {"%zz%4g", "%zz%4g", "a '%' without hex digits is kept"},
	        {"pr%C3%A9nom", "pr\xc3\xa9nom", "UTF-8 bytes"},
	        {"", "", "empty"},
	};
	char buf[64];
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = 99;
		is_int(percent_decode(cases[i].in, strlen(cases[i].in), buf,
		                      sizeof(buf), &n),
		       0, "decode: %s", cases[i].desc);
		is_str(buf, cases[i].want, "decode: %s: value", cases[i].desc);
		is_int((long long)n, (long long)strlen(cases[i].want),
		       "decode: %s: length", cases[i].desc);
	}
	is_int(percent_decode("ab%00cd", 7, buf, sizeof(buf), &n), 0,
	       "decode: %%00");
	ok(n == 5 && memcmp(buf, "ab\0cd", 6) == 0,
	   "decode: %%00 is a NUL byte, counted in the length");
	is_int(percent_decode("a%41&b", 3, buf, sizeof(buf), NULL), 0,
	       "decode: only len bytes are read");
	is_str(buf, "a%4", "decode: ... a %% cut by len is kept");
	is_int(percent_decode("abc", 3, buf, 4, NULL), 0,
	       "decode: fits exactly with its NUL");
	is_int(percent_decode("abcd", 4, buf, 4, NULL), -1,
	       "decode: one byte too long: -1");
	is_int(percent_decode("%41%41%41", 9, buf, 4, NULL), 0,
	       "decode: the decoded length is what must fit");
	is_int(percent_decode("", 0, buf, 0, NULL), -1,
	       "decode: no room for the NUL: -1");
}

int
main(void)
{
	test_decode();
	return done_testing();
}
