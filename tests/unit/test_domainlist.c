/* domainlist: bisection over a sorted file, parents matched, bad files
 * refused; and the shipped list's known members. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domainlist.h"
#include "tap.h"
#include "tmpdir.h"

static char dir[256];

static const char *
write_list(const char *name, const char *text)
{
	static char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	if (fp == NULL || fputs(text, fp) == EOF || fclose(fp) != 0)
		abort();
	return path;
}

static void
test_small(void)
{
	struct domain_list *l = NULL;
	struct fr_error err;
	const char *path = write_list("small.txt", "# a comment\n# another\n"
	                                           "a.test\nb.test\n"
	                                           "mail.b.test\nzz.example\n");

	ok(domain_list_open(path, &l, &err) == FR_OK, "a sorted list opens");
	is_int(domain_list_count(l), 4, "its four domains are counted");
	ok(domain_list_match(l, "a.test"), "the first domain matches");
	ok(domain_list_match(l, "zz.example"), "the last domain matches");
	ok(domain_list_match(l, "mail.b.test"), "a middle domain matches");
	ok(domain_list_match(l, "x.y.a.test"), "a subdomain of a listed one "
	                                       "matches");
	ok(!domain_list_match(l, "b.test.evil"), "a listed name inside "
	                                         "another is no match");
	ok(!domain_list_match(l, "ab.test"), "a longer label is no match");
	ok(!domain_list_match(l, "test"), "the TLD alone is no match");
	ok(!domain_list_match(l, "mail.c.test"), "an unlisted domain is no "
	                                         "match");
	ok(!domain_list_match(l, ""), "an empty domain is no match");
	ok(!domain_list_match(NULL, "a.test"), "no list matches nothing");
	domain_list_close(l);
}

static void
test_refused(void)
{
	struct domain_list *l = NULL;
	struct fr_error err;

	ok(domain_list_open(write_list("u.txt", "b.test\na.test\n"), &l,
	                    &err) == FR_ECONFIG &&
	           strstr(err.message, "domain 2: not in sorted order") != NULL,
	   "an unsorted list is refused, naming the line: %s", err.message);
	ok(domain_list_open(write_list("d.txt", "a.test\na.test\n"), &l,
	                    &err) == FR_ECONFIG,
	   "a repeated domain is refused");
	ok(domain_list_open(write_list("c.txt", "A.test\n"), &l, &err) ==
	                   FR_ECONFIG &&
	           strstr(err.message, "lower-case") != NULL,
	   "an upper-case domain is refused: %s", err.message);
	ok(domain_list_open(write_list("e.txt", "a.test\n\nb.test\n"), &l,
	                    &err) == FR_ECONFIG,
	   "an empty line is refused");
	ok(domain_list_open(write_list("z.txt", ""), &l, &err) == FR_ECONFIG,
	   "an empty file is refused");
	ok(domain_list_open("/nonexistent/list.txt", &l, &err) == FR_ECONFIG &&
	           strstr(err.message, "No such file") != NULL,
	   "a missing file is refused: %s", err.message);
}

/* The shipped list: every domain in it is found by bisection, and the
 * big free-mail providers are not in it. */
static void
test_shipped(void)
{
	const char *srcdir = getenv("FORMRELAY_SRCDIR");
	char path[1024], line[300];
	struct domain_list *l = NULL;
	struct fr_error err = {0};
	size_t n = 0, found = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/data/disposable_domains.txt",
	         srcdir ? srcdir : ".");
	if (!ok(domain_list_open(path, &l, &err) == FR_OK,
	        "the shipped list opens: %s", err.message))
		return;
	ok(domain_list_count(l) > 100000, "it holds over 100,000 domains");
	fp = fopen(path, "r");
	while (fp != NULL && fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '#')
			continue;
		line[strcspn(line, "\n")] = '\0';
		n++;
		found += domain_list_match(l, line);
	}
	if (fp != NULL)
		fclose(fp);
	ok(n == domain_list_count(l) && found == n,
	   "each of its %zu domains is found (%zu)", n, found);
	ok(domain_list_match(l, "mailinator.com"), "mailinator.com is listed");
	ok(domain_list_match(l, "x.33mail.com"), "a 33mail.com subdomain (a "
	                                         "wildcard entry) matches");
	ok(!domain_list_match(l, "gmail.com") &&
	           !domain_list_match(l, "outlook.com") &&
	           !domain_list_match(l, "yahoo.com") &&
	           !domain_list_match(l, "icloud.com"),
	   "gmail.com, outlook.com, yahoo.com, icloud.com are not");
	domain_list_close(l);
}

int
main(void)
{
	if (tmpdir_make(dir, sizeof(dir), "test_domainlist") != 0)
		return 99;
	test_small();
	test_refused();
	test_shipped();
	tmpdir_remove(dir);
	return done_testing();
}
