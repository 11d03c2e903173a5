/*
 * A list of mail domains looked up in place: the disposable-mail domains
 * of [antispam] disposable_domains (data/disposable_domains.txt, from the
 * `disposable-email-domains` package; contrib/update-disposable-domains
 * refreshes it).
 *
 * The file holds one lower-case domain a line, sorted bytewise
 * (LC_ALL=C sort -u), after optional leading '#' comment lines.  It is
 * mapped read-only and searched by bisection, so a list of 120,000
 * domains costs no private memory and no parsing at start-up: every
 * process maps the same page-cache pages.  Opening checks the order
 * once (a hand-edited, unsorted list would make bisection miss).
 */
#ifndef FORMRELAY_DOMAINLIST_H
#define FORMRELAY_DOMAINLIST_H

#include <stddef.h>

#include "error.h"

struct domain_list;

/*
 * Map the list at path.  *out is the caller's (domain_list_close).
 * FR_OK, or FR_ECONFIG with err naming the file and the fault ("line 7:
 * not in sorted order", a system error), or FR_ENOMEM.
 */
int domain_list_open(const char *path, struct domain_list **out,
                     struct fr_error *err);

/*
 * 1 when domain (lower-case) or one of its parent domains is listed:
 * "a.b.mailinator.com" matches "mailinator.com".  0 otherwise, also for
 * a NULL list.
 */
int domain_list_match(const struct domain_list *l, const char *domain);

/* Domains in the list (for --check-config and tests). */
size_t domain_list_count(const struct domain_list *l);

/* Unmap.  NULL is a no-op. */
void domain_list_close(struct domain_list *l);

#endif
