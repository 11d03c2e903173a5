/*
 * Whether an email's domain can receive mail ([antispam] mx_check), for
 * formrelay-deliver before it forwards: an MX record (not RFC 7505's
 * null MX, "0 ."), or else an A or AAAA record (RFC 5321, 5.1: the
 * domain itself is the mail host).  Asked with c-ares of the servers in
 * mx_check_servers (default /etc/resolv.conf), each lookup bounded by
 * mx_check_timeout; answers kept in a small cache (an hour when a mail
 * host exists, ten minutes when none does).  Never on the request path:
 * a slow resolver holds up delivery, never a reply.  Linked only into
 * formrelay-deliver.
 */
#ifndef FORMRELAY_MAILHOST_H
#define FORMRELAY_MAILHOST_H

#include <stdint.h>

#include "config.h"
#include "error.h"

enum mailhost_answer {
	MAILHOST_YES = 0, /* an MX, or an A or AAAA record */
	MAILHOST_NONE,    /* NXDOMAIN, or no MX, A or AAAA (NODATA), or a
	                     null MX: mail there is never delivered */
	MAILHOST_UNKNOWN  /* timeout, SERVFAIL, refused: no verdict */
};

struct mailhost;

/* A resolver for cfg's [antispam] mx_check_*; *out is the caller's
 * (mailhost_free).  FR_OK, FR_ENOMEM, or FR_EINTERNAL (c-ares refused
 * the options or the servers). */
int mailhost_new(const struct config *cfg, struct mailhost **out,
                 struct fr_error *err);
void mailhost_free(struct mailhost *m);

/* Whether domain (of an email, without the '@') can receive mail; now
 * for the cache.  *cached says whether the cache answered. */
enum mailhost_answer mailhost_check(struct mailhost *m, const char *domain,
                                    int64_t now, int *cached);

struct spool;
struct spool_batch;

/*
 * Take out of b (claimed by sp's handle) every event whose email (its
 * traits.email, context.traits.email or properties.email) is at a domain
 * of MAILHOST_NONE: each is deleted unsent (spool_ack), logged with the
 * email masked, and counted (formrelay_spam_total{reason="email_domain"});
 * *dropped counts them.  MAILHOST_UNKNOWN forwards (a DNS outage never
 * loses a person).  FR_OK or FR_ESTORE.
 */
int mailhost_filter_batch(struct mailhost *m, struct spool *sp,
                          struct spool_batch *b, int64_t now, size_t *dropped);

#endif
