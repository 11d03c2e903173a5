/*
 * A minimal TAP producer for unit tests (run through automake's
 * tap-driver.sh).  Header-only: each test program includes it once.
 */
#ifndef FORMRELAY_TAP_H
#define FORMRELAY_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count;
static int tap_failed;

static int __attribute__((format(printf, 2, 3)))
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

/* Compare integers, printing both on failure. */
#define is_int(got, want, ...)                                                 \
	do {                                                                   \
		long long g_ = (long long)(got), w_ = (long long)(want);       \
		if (!ok(g_ == w_, __VA_ARGS__))                                \
			printf("#   got %lld, want %lld\n", g_, w_);           \
	} while (0)

/* Compare strings (NULL allowed), printing both on failure. */
#define is_str(got, want, ...)                                                 \
	do {                                                                   \
		const char *g_ = (got), *w_ = (want);                          \
		int same_ = (g_ == NULL && w_ == NULL) ||                      \
		            (g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0); \
		if (!ok(same_, __VA_ARGS__))                                   \
			printf("#   got  '%s'\n#   want '%s'\n",               \
			       g_ ? g_ : "(null)", w_ ? w_ : "(null)");        \
	} while (0)

/* Print the plan and return the exit status for main(). */
static int
done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
