/*
 * cpu_path: the CPU cost of one submission, without I/O.  Runs the path
 * every form post takes between reading the body and storing it --
 * parse_body, unwrap_webhook, normalise, payload_build -- on a typical
 * landing-page form N times.  bench/callgrind.sh runs it under
 * valgrind --tool=callgrind twice (N and 2N) and divides the difference
 * by N, which cancels start-up costs (configuration, json-c's first
 * allocations) out of the per-submission figure.
 *
 *   bench/cpu_path [N] [-v]     (-v: print the identify built, once)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "fields.h"
#include "normalise.h"
#include "parse.h"
#include "payload.h"
#include "unwrap.h"
#include "util.h"

/* What a landing-page form built with a page builder posts: an entry id
 * from the page, contact fields, a plan picked, a consent checkbox and
 * the utm_* parameters carried over from the ad click. */
static const char typical_form[] =
        "entryId=ent_8f14e45fceea167a5a36dedd4bea2543"
        "&email=Jane.Doe%40Example.com"
        "&name=Jane+Doe"
        "&company=Acme+Widgets+Ltd"
        "&plan=growth"
        "&team_size=11-50"
        "&consent=on"
        "&utm_source=google&utm_medium=cpc"
        "&utm_campaign=spring_launch_2025&utm_content=hero_cta"
        "&_form=pricing-signup";

static const char content_type[] = "application/x-www-form-urlencoded";

static int
one_submission(const struct config *cfg, const struct parse_limits *lim,
               int verbose)
{
	struct request_context ctx = {
	        .ip = "203.0.113.7",
	        .user_agent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) "
	                      "Gecko/20100101 Firefox/128.0",
	        .referer = "https://www.example.com/pricing?utm_source=google",
	};
	struct fields f;
	struct submission sub;
	struct built_event ev[2];
	struct fr_error err;
	size_t count = 0;
	int rc;

	memset(&sub, 0, sizeof(sub));
	memset(&err, 0, sizeof(err));
	fields_init(&f);
	rc = parse_body(typical_form, sizeof(typical_form) - 1, content_type,
	                lim, &f, &err);
	if (rc == FR_OK)
		rc = unwrap_webhook(&f, lim, &err);
	if (rc == FR_OK)
		rc = normalise(&f, cfg, &sub, &err);
	if (rc == FR_OK)
		rc = payload_build(&sub, &ctx, now_ms(), ev, &count, &err);
	if (rc == FR_OK && verbose)
		fprintf(stderr, "%.*s\n", (int)ev[0].len, ev[0].json);
	if (rc != FR_OK)
		fprintf(stderr, "cpu_path: the typical form failed: %s\n",
		        err.message);
	built_events_free(ev, count);
	submission_free(&sub);
	fields_free(&f);
	return rc;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct parse_limits lim;
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
	int verbose = argc > 2 && strcmp(argv[2], "-v") == 0;

	memset(&cfg, 0, sizeof(cfg));
	if (n < 1 || config_defaults(&cfg) != FR_OK) {
		fputs("usage: cpu_path [N >= 1] [-v]\n", stderr);
		return 2;
	}
	parse_limits_default(&lim);
	for (long i = 0; i < n; i++) {
		if (one_submission(&cfg, &lim, verbose && i == 0) != FR_OK) {
			config_free(&cfg);
			return 1;
		}
	}
	config_free(&cfg);
	printf("%ld submissions\n", n);
	return 0;
}
