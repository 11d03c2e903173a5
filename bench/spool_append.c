/*
 * How fast the spool commits: events a second with one event per
 * transaction (one fsync each) against 32 events per transaction (group
 * commit, as src/ingest.c does).  Run on the disk the spool will live on:
 *
 *   bench/spool_append [DIR [SECONDS]]
 *
 * DIR defaults to /var/tmp (often a real disk where /tmp may be tmpfs,
 * whose fsync is free and would flatter the figures).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"
#include "util.h"

#define GROUP 32

/* A body of typical size for an identify call. */
static char body[600];

/* Store group events per transaction for about ms milliseconds; returns
 * events a second, or -1 on a store error. */
static double
run(struct spool *sp, size_t group, int64_t ms)
{
	char ids[GROUP][UUID_STR_LEN];
	struct spool_event ev[GROUP];
	struct fr_error err;
	int64_t start = mono_ms(), elapsed, events = 0;
	size_t i;

	do {
		for (i = 0; i < group; i++) {
			uuid_v4(ids[i]);
			ev[i] = (struct spool_event){ids[i], body,
			                             sizeof(body) - 1};
		}
		if (spool_append(sp, ev, group, NULL, now_ms(), &err) !=
		    FR_OK) {
			fprintf(stderr, "spool_append: %s\n", err.message);
			return -1;
		}
		events += (int64_t)group;
		elapsed = mono_ms() - start;
	} while (elapsed < ms);
	return (double)events * 1000.0 / (double)(elapsed ? elapsed : 1);
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/var/tmp";
	int64_t ms = (argc > 2 ? atoll(argv[2]) : 3) * 1000;
	char tmp[512], path[600];
	struct spool *sp;
	struct fr_error err;
	double one, many;

	memset(body, 'x', sizeof(body) - 1);
	snprintf(tmp, sizeof(tmp), "%s/spool_bench.XXXXXX", dir);
	if (mkdtemp(tmp) == NULL) {
		fprintf(stderr, "spool_append: mkdtemp %s: %s\n", tmp,
		        strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/spool.db", tmp);
	if (spool_open(path, &sp, &err) != FR_OK) {
		fprintf(stderr, "spool_append: %s\n", err.message);
		return 1;
	}
	one = run(sp, 1, ms);
	many = run(sp, GROUP, ms);
	spool_close(sp);
	printf("spool %s, %zu-byte events\n", path, sizeof(body) - 1);
	printf("1 event per transaction:   %8.0f events/s (%.0f commits/s)\n",
	       one, one);
	printf("%d events per transaction: %8.0f events/s (%.0f commits/s)\n",
	       GROUP, many, many / GROUP);
	unlink(path);
	snprintf(path, sizeof(path), "%s/spool.db-wal", tmp);
	unlink(path);
	snprintf(path, sizeof(path), "%s/spool.db-shm", tmp);
	unlink(path);
	rmdir(tmp);
	return one < 0 || many < 0;
}
