/* Client addresses: parsing, CIDR matching, X-Forwarded-For. */
#include <arpa/inet.h>
#include <string.h>

#include "netaddr.h"
#include "util.h"

#define ADDR_TEXT_MAX 64 /* longer text is not an address */
#define XFF_MAX_HOPS  32

static const unsigned char v4_mapped_prefix[12] = {0, 0, 0, 0, 0,    0,
                                                   0, 0, 0, 0, 0xff, 0xff};

/* Copy the address part of s into buf: brackets and a zone dropped. */
static int
addr_text(const char *s, size_t len, char buf[ADDR_TEXT_MAX])
{
	const char *pct;

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	pct = memchr(s, '%', len);
	if (pct != NULL) /* RFC 4007, 11: the zone only names a link */
		len = (size_t)(pct - s);
	if (len == 0 || len >= ADDR_TEXT_MAX)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

static int
netaddr_parse_len(const char *s, size_t len, struct netaddr *out)
{
	char buf[ADDR_TEXT_MAX];
	unsigned char v4[4];

	if (addr_text(s, len, buf) != 0)
		return -1;
	if (inet_pton(AF_INET, buf, v4) == 1) {
		memcpy(out->b, v4_mapped_prefix, sizeof(v4_mapped_prefix));
		memcpy(out->b + 12, v4, sizeof(v4));
		return 0;
	}
	return inet_pton(AF_INET6, buf, out->b) == 1 ? 0 : -1;
}

int
netaddr_parse(const char *s, struct netaddr *out)
{
	if (s == NULL)
		return -1;
	return netaddr_parse_len(s, strlen(s), out);
}

int
netaddr_is_v4(const struct netaddr *a)
{
	return memcmp(a->b, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0;
}

int
netaddr_is_loopback(const struct netaddr *a)
{
	static const unsigned char v6_loopback[16] = {[15] = 1};

	if (netaddr_is_v4(a))
		return a->b[12] == 127;
	return memcmp(a->b, v6_loopback, sizeof(v6_loopback)) == 0;
}

/* Parse the decimal prefix length after '/': 0..max. */
static int
parse_prefix(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (*s == '\0' || strlen(s) > 3)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static void
clear_host_bits(struct netaddr *a, unsigned prefix)
{
	unsigned i;

	for (i = 0; i < 16; i++) {
		if (prefix >= 8 * (i + 1))
			continue;
		if (prefix <= 8 * i)
			a->b[i] = 0;
		else
			a->b[i] &=
			        (unsigned char)(0xff << (8 * (i + 1) - prefix));
	}
}

int
netaddr_parse_cidr(const char *s, struct netaddr *net, unsigned *prefix)
{
	const char *slash;
	unsigned len;

	if (s == NULL)
		return -1;
	slash = strchr(s, '/');
	if (slash == NULL) {
		*prefix = 128;
		return netaddr_parse(s, net);
	}
	if (netaddr_parse_len(s, (size_t)(slash - s), net) != 0)
		return -1;
	/* An IPv4 prefix counts from bit 96 of the mapped form. */
	if (netaddr_is_v4(net) && strchr(s, ':') == NULL) {
		if (parse_prefix(slash + 1, 32, &len) != 0)
			return -1;
		len += 96;
	} else if (parse_prefix(slash + 1, 128, &len) != 0) {
		return -1;
	}
	clear_host_bits(net, len);
	*prefix = len;
	return 0;
}

int
netaddr_in_net(const struct netaddr *a, const struct netaddr *net,
               unsigned prefix)
{
	struct netaddr masked = *a;

	clear_host_bits(&masked, prefix);
	return memcmp(masked.b, net->b, sizeof(masked.b)) == 0;
}

int
netaddr_in_list(const struct netaddr *a, const struct config_list *list)
{
	struct netaddr net;
	unsigned prefix;
	size_t i;

	if (list == NULL)
		return 0;
	for (i = 0; i < list->count; i++)
		if (netaddr_parse_cidr(list->items[i], &net, &prefix) == 0 &&
		    netaddr_in_net(a, &net, prefix))
			return 1;
	return 0;
}

int
netaddr_format(const struct netaddr *a, char *out, size_t size)
{
	const char *r;

	if (netaddr_is_v4(a))
		r = inet_ntop(AF_INET, a->b + 12, out, (socklen_t)size);
	else
		r = inet_ntop(AF_INET6, a->b, out, (socklen_t)size);
	return r == NULL ? -1 : 0;
}

/* 1 when s[0..len) is 1..5 decimal digits (a port). */
static int
is_port(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 5)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/*
 * One X-Forwarded-For entry, trimmed: an address, "a.b.c.d:port" or
 * "[v6]:port" (some proxies append the port).  0 or -1.
 */
static int
xff_entry_parse(const char *s, size_t len, struct netaddr *out)
{
	const char *colon, *close;

	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len > 0 && s[0] == '[') {
		close = memchr(s, ']', len);
		if (close == NULL)
			return -1;
		if ((size_t)(close - s) + 1 < len &&
		    (close[1] != ':' ||
		     !is_port(close + 2, len - (size_t)(close - s) - 2)))
			return -1;
		return netaddr_parse_len(s, (size_t)(close - s) + 1, out);
	}
	colon = memchr(s, ':', len);
	if (colon != NULL &&
	    memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) == NULL) {
		/* A single colon: IPv4 with a port. */
		if (!is_port(colon + 1, len - (size_t)(colon - s) - 1))
			return -1;
		len = (size_t)(colon - s);
	}
	return netaddr_parse_len(s, len, out);
}

/*
 * Walk X-Forwarded-For from the right, skipping trusted hops.  The
 * client is the first untrusted hop, or the left-most when all are
 * trusted.  0, or -1 for a malformed header (the caller falls back).
 */
static int
xff_client(const char *xff, const struct config_list *trusted,
           struct netaddr *client)
{
	size_t end = strlen(xff), start;
	int hops;

	for (hops = 0; hops < XFF_MAX_HOPS; hops++) {
		start = end;
		while (start > 0 && xff[start - 1] != ',')
			start--;
		if (xff_entry_parse(xff + start, end - start, client) != 0)
			return -1;
		if (start == 0 || !netaddr_in_list(client, trusted))
			return 0;
		end = start - 1;
	}
	return -1;
}

int
client_address(const char *remote_addr, const char *x_forwarded_for,
               const struct config_list *trusted_proxies, char *out,
               size_t size)
{
	struct netaddr peer, client;

	if (size == 0)
		return 0;
	if (remote_addr == NULL || netaddr_parse(remote_addr, &peer) != 0) {
		strlcopy(out, remote_addr ? remote_addr : "", size);
		return 0;
	}
	if (x_forwarded_for != NULL &&
	    netaddr_in_list(&peer, trusted_proxies) &&
	    xff_client(x_forwarded_for, trusted_proxies, &client) == 0 &&
	    netaddr_format(&client, out, size) == 0)
		return 1;
	if (netaddr_format(&peer, out, size) != 0)
		strlcopy(out, remote_addr, size);
	return 0;
}

int
addr_chain_in_list(const char *client, const char *x_forwarded_for,
                   const struct config_list *list)
{
	struct netaddr a;
	size_t start = 0, end;
	int hops;

	if (client == NULL || netaddr_parse(client, &a) != 0 ||
	    !netaddr_in_list(&a, list))
		return 0;
	if (x_forwarded_for == NULL)
		return 1;
	for (hops = 0; hops < XFF_MAX_HOPS; hops++) {
		end = start;
		while (x_forwarded_for[end] != '\0' &&
		       x_forwarded_for[end] != ',')
			end++;
		if (xff_entry_parse(x_forwarded_for + start, end - start, &a) !=
		            0 ||
		    !netaddr_in_list(&a, list))
			return 0;
		if (x_forwarded_for[end] == '\0')
			return 1;
		start = end + 1;
	}
	return 0;
}
