/*
 * Client addresses: parsing IPv4/IPv6 text into one normalised form,
 * CIDR matching, and choosing the client address behind trusted proxies
 * (X-Forwarded-For).  Pure functions, no I/O, no allocation.
 */
#ifndef FORMRELAY_NETADDR_H
#define FORMRELAY_NETADDR_H

#include <stddef.h>

#include "config.h"

/* Enough for any address inet_ntop writes (INET6_ADDRSTRLEN). */
#define NETADDR_STRLEN 46

/*
 * An address in IPv6 form.  IPv4 is kept IPv4-mapped (RFC 4291, 2.5.5.2:
 * ::ffff:a.b.c.d), so "127.0.0.1" and "::ffff:127.0.0.1" are the same
 * address and one CIDR list covers both spellings.
 */
struct netaddr {
	unsigned char b[16];
};

/*
 * Parse "192.0.2.1", "2001:db8::1", "[2001:db8::1]" or "fe80::1%eth0"
 * (the zone is dropped).  Returns 0, or -1 when s is not an address.
 */
int netaddr_parse(const char *s, struct netaddr *out);

/* 1 when a is IPv4 (IPv4-mapped), else 0. */
int netaddr_is_v4(const struct netaddr *a);

/* 1 for 127.0.0.0/8 and ::1, else 0. */
int netaddr_is_loopback(const struct netaddr *a);

/*
 * Parse "10.0.0.0/8", "2001:db8::/32" or a single address (a host
 * prefix).  *prefix is on the 128-bit form (an IPv4 /8 gives 104).
 * Host bits after the prefix are cleared.  Returns 0 or -1.
 */
int netaddr_parse_cidr(const char *s, struct netaddr *net, unsigned *prefix);

/* 1 when a lies inside net/prefix, else 0. */
int netaddr_in_net(const struct netaddr *a, const struct netaddr *net,
                   unsigned prefix);

/*
 * 1 when a matches an entry of list (addresses or CIDRs); entries that
 * do not parse never match (config validation reports them).
 */
int netaddr_in_list(const struct netaddr *a, const struct config_list *list);

/*
 * The address as text (IPv4 dotted, IPv6 RFC 5952 via inet_ntop) into
 * out of size bytes (NETADDR_STRLEN is always enough).  0 or -1.
 */
int netaddr_format(const struct netaddr *a, char *out, size_t size);

/*
 * The client's address, normalised as text, into out (NETADDR_STRLEN
 * bytes suffice).  REMOTE_ADDR is the answer unless the peer is one of
 * trusted_proxies; then X-Forwarded-For is walked from the right (the
 * hop nearest to us), trusted hops are skipped, and the first untrusted
 * hop is the client (only trusted proxies vouch for what they append;
 * anything to its left is the client's own claim).  When every hop is
 * trusted the left-most one is taken.  A malformed entry, or more than
 * 32 hops, falls back to REMOTE_ADDR.  An unparseable remote_addr is
 * copied as it is ("" for NULL).
 * Returns 1 when the answer came from X-Forwarded-For, 0 otherwise.
 */
int client_address(const char *remote_addr, const char *x_forwarded_for,
                   const struct config_list *trusted_proxies, char *out,
                   size_t size);

/*
 * 1 when client (the address client_address found) and every entry of
 * x_forwarded_for (NULL: no header) match list; 0 otherwise, and when
 * anything does not parse.  For access checks such as /metrics: a
 * request relayed on someone's behalf, even by a proxy on loopback
 * that is not among trusted_proxies, is let through only when everyone
 * it names is allowed.
 */
int addr_chain_in_list(const char *client, const char *x_forwarded_for,
                       const struct config_list *list);

#endif
