/* util: percent_decode, the one decoder of query and form values that
 * hooks.c (?token=) and payload.c (utm_* of the page URL) share; and
 * rfc3339_parse, the one timestamp parser of pipelines.c (a call's
 * timestamp) and unwrap.c (a platform's submitted time).  Expected
 * milliseconds computed with Python's datetime. */
#include <stdlib.h>
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

/* The forms accepted, and the milliseconds each gives. */
static void
test_time_accepted(void)
{
	static const struct {
		const char *in;
		long long want;
		const char *desc;
	} cases[] = {
	        {"2026-03-01T12:00:00.123Z", 1772366400123LL, "milliseconds"},
	        {"2026-03-01T13:00:00.123456+01:00", 1772366400123LL,
	         "microseconds (dropped) and an offset"},
	        {"1970-01-01T00:00:00Z", 0, "the epoch"},
	        {"2026-03-01 12:00:00.123z", 1772366400123LL,
	         "a space for the T, a lower-case z"},
	        {"2026-03-01t12:00:00.123Z", 1772366400123LL, "a lower-case t"},
	        {"2026-03-01T12:00:00.123456+05:30", 1772346600123LL,
	         "a half-hour zone east"},
	        {"2026-03-01T12:00:00-0130", 1772371800000LL,
	         "a zone without its colon, west"},
	        {"2026-03-01T12:00:00.5-23:59", 1772452740500LL,
	         "one digit of fraction, the farthest zone"},
	        {"2026-03-01T12:00:00.999999999999999999Z", 1772366400999LL,
	         "a long fraction: dropped past milliseconds, no overflow"},
	        {"2026-03-09T11:01:44.250+02:00", 1773046904250LL,
	         "Typeform's submitted_at"},
	        {"2024-02-29T23:59:59.999Z", 1709251199999LL,
	         "February 29 of a leap year"},
	        {"2000-02-29T00:00:00Z", 951782400000LL,
	         "February 29 of a year divisible by 400"},
	        {"2024-12-31T23:59:60Z", 1735689599000LL,
	         "a leap second counts as :59"},
	        {"1969-12-31T23:59:59.9Z", -100, "before the epoch"},
	        {"0000-01-01T00:00:00Z", -62167219200000LL, "year 0"},
	        {"9999-12-31T23:59:59.999Z", 253402300799999LL, "year 9999"},
	};
	size_t i;
	int64_t ms;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ms = -1;
		is_int(rfc3339_parse(cases[i].in, &ms), 0, "time: %s",
		       cases[i].desc);
		is_int(ms, cases[i].want, "time: %s: ms", cases[i].desc);
	}
}

/* The forms refused, leaving *ms as it was. */
static void
test_time_refused(void)
{
	static const char *const cases[] = {
	        "2026-03-01",                /* a date alone */
	        "2026-03-01T00:00:00",       /* no zone */
	        "2026-03-01T00:00:00.Z",     /* an empty fraction */
	        "2026-03-01T00:00:00,5Z",    /* a comma for the dot */
	        "2026-13-01T00:00:00Z",      /* month 13 */
	        "2026-00-01T00:00:00Z",      /* month 0 */
	        "2026-03-00T00:00:00Z",      /* day 0 */
	        "2026-04-31T00:00:00Z",      /* April 31 */
	        "2026-02-29T00:00:00Z",      /* February 29, not a leap year */
	        "2100-02-29T00:00:00Z",      /* ... divisible by 100 */
	        "2026-03-01T24:00:00Z",      /* hour 24 */
	        "2026-03-01T00:60:00Z",      /* minute 60 */
	        "2026-03-01T00:00:61Z",      /* second 61 */
	        "2026-03-01T00:00:00+24:00", /* zone hour 24 */
	        "2026-03-01T00:00:00+01:60", /* zone minute 60 */
	        "2026-03-01T00:00:00+1:00",  /* a zone hour of one digit */
	        "2026-03-01T00:00:00+01",    /* a zone without its minutes */
	        "2026-03-01T00:00:00+01:00:00", /* seconds in the zone */
	        "2026-03-01T00:00:00ZZ",        /* something after the zone */
	        "2026-03-01T00:00:00Z ",        /* a space after it */
	        "2026-03-01T00:00:00 Z",        /* a space before it */
	        "2026-03-01T00:00:00UTC",       /* a zone by name */
	        "2026-03-01X00:00:00Z",         /* neither T nor space */
	        "2026/03/01T00:00:00Z",         /* slashes */
	        "26-03-01T00:00:00Z",           /* a two-digit year */
	        "+2026-03-01T00:00:00Z",        /* a signed year */
	        "2026-3-01T00:00:00Z",          /* a one-digit month */
	        "2026-03-01T1:00:00Z",          /* a one-digit hour */
	        "2026-03-01T00:00Z",            /* no seconds */
	        "2026-0a-01T00:00:00Z",         /* a letter for a digit */
	        "1741264800000",                /* epoch milliseconds */
	        "",
	};
	size_t i;
	int64_t ms = 42;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(rfc3339_parse(cases[i], &ms), -1, "time: refused: '%s'",
		       cases[i]);
	is_int(rfc3339_parse(NULL, &ms), -1, "time: refused: NULL");
	is_int(ms, 42, "time: *ms untouched by what was refused");
}

/* A zone cut short after its sign or first digit ("+0", found by
 * fuzz_pipelines reading past the end): refused, and every proper
 * prefix of an accepted timestamp is refused without reading past its
 * end.  Each prefix is copied into a buffer of its exact size, so an
 * over-read is caught by ASan (--enable-sanitizers). */
static void
test_time_cut_short(void)
{
	static const char *const full[] = {
	        "2024-02-29T23:59:60.123456+05:30",
	        "2026-03-01T12:00:00-0130",
	        "2026-03-01 12:00:00.5z",
	};
	size_t i, n, len, refused, copied;
	char *buf;
	int64_t ms;

	is_int(rfc3339_parse("2026-03-01T12:00:00+", &ms), -1,
	       "time: a zone of a sign alone");
	is_int(rfc3339_parse("2026-03-01T12:00:00+0", &ms), -1,
	       "time: a zone cut after its first digit");
	is_int(rfc3339_parse("2026-03-01T12:00:00-1", &ms), -1,
	       "time: ... west");
	is_int(rfc3339_parse("2026-03-01T12:00:00+01:", &ms), -1,
	       "time: a zone cut after its colon");
	is_int(rfc3339_parse("2026-03-01T12:00:00+01:0", &ms), -1,
	       "time: a zone cut in its minutes");
	for (i = 0; i < sizeof(full) / sizeof(full[0]); i++) {
		len = strlen(full[i]);
		refused = copied = 0;
		for (n = 0; n < len; n++) {
			if ((buf = malloc(n + 1)) == NULL)
				continue;
			copied++;
			memcpy(buf, full[i], n);
			buf[n] = '\0';
			refused += rfc3339_parse(buf, &ms) == -1;
			free(buf);
		}
		ok(copied == len && refused == len,
		   "time: each of the %zu prefixes of %s refused", len,
		   full[i]);
		is_int(rfc3339_parse(full[i], &ms), 0,
		       "time: ... and it whole");
	}
}

int
main(void)
{
	test_decode();
	test_time_accepted();
	test_time_refused();
	test_time_cut_short();
	return done_testing();
}
