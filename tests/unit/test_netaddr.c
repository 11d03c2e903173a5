/* Unit tests for netaddr: parsing, CIDRs, X-Forwarded-For, access lists. */
#include <stdarg.h>
#include <stdlib.h>

#include "netaddr.h"
#include "tap.h"
#include "util.h"

/* Fill l with the n strings that follow (copies, freed by list_free). */
static struct config_list *
list_of(struct config_list *l, int n, ...)
{
	va_list ap;
	int i;

	l->count = 0;
	va_start(ap, n);
	for (i = 0; i < n; i++)
		l->items[l->count++] = xstrdup(va_arg(ap, const char *));
	va_end(ap);
	return l;
}

static void
list_free(struct config_list *l)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		free(l->items[i]);
	l->count = 0;
}

/* Parse s and format it back; "!" when it does not parse. */
static const char *
roundtrip(const char *s)
{
	static char buf[NETADDR_STRLEN];
	struct netaddr a;

	if (netaddr_parse(s, &a) != 0 || netaddr_format(&a, buf, sizeof(buf)))
		return "!";
	return buf;
}

static void
test_parse(void)
{
	is_str(roundtrip("192.0.2.1"), "192.0.2.1", "IPv4");
	is_str(roundtrip("2001:DB8:0:0::1"), "2001:db8::1", "IPv6 (RFC 5952)");
	is_str(roundtrip("::ffff:127.0.0.1"), "127.0.0.1",
	       "IPv4-mapped IPv6 is IPv4");
	is_str(roundtrip("[2001:db8::1]"), "2001:db8::1", "brackets");
	is_str(roundtrip("fe80::1%eth0"), "fe80::1", "zone dropped");
	is_str(roundtrip("1.2.3"), "!", "three-part IPv4 refused");
	is_str(roundtrip("256.1.1.1"), "!", "octet > 255 refused");
	is_str(roundtrip("010.1.1.1"), "!", "leading zero (octal?) refused");
	is_str(roundtrip(""), "!", "empty refused");
	is_str(roundtrip("1.2.3.4 "), "!", "trailing space refused");
	is_str(roundtrip("[::1"), "!", "unbalanced bracket refused");
	is_str(roundtrip("unknown"), "!", "a word refused");
	is_str(roundtrip("1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:"
	                 "bbbb:cccc:dddd:eeee:ffff:0000"),
	       "!", "overlong refused");
	ok(netaddr_parse(NULL, &(struct netaddr){{0}}) == -1, "NULL refused");
}

/* 1 when addr lies in cidr, 0 when not, -1 when cidr does not parse. */
static int
in_cidr(const char *addr, const char *cidr)
{
	struct netaddr a, net;
	unsigned prefix;

	if (netaddr_parse_cidr(cidr, &net, &prefix) != 0)
		return -1;
	if (netaddr_parse(addr, &a) != 0)
		return -2;
	return netaddr_in_net(&a, &net, prefix);
}

static void
test_cidr(void)
{
	is_int(in_cidr("10.255.1.2", "10.0.0.0/8"), 1, "10/8 holds 10.255.1.2");
	is_int(in_cidr("11.0.0.1", "10.0.0.0/8"), 0, "10/8 lacks 11.0.0.1");
	is_int(in_cidr("10.9.9.9", "10.1.2.3/8"), 1, "host bits cleared");
	is_int(in_cidr("192.0.2.1", "192.0.2.1"), 1, "bare address: /32");
	is_int(in_cidr("192.0.2.2", "192.0.2.1"), 0, "bare address exact");
	is_int(in_cidr("::ffff:10.1.1.1", "10.0.0.0/8"), 1,
	       "mapped spelling matches an IPv4 CIDR");
	is_int(in_cidr("10.1.1.1", "::ffff:10.0.0.0/104"), 1,
	       "IPv4 matches a mapped CIDR");
	is_int(in_cidr("8.8.8.8", "0.0.0.0/0"), 1, "0/0 holds all IPv4");
	is_int(in_cidr("2001:db8::1", "0.0.0.0/0"), 0, "0/0 lacks IPv6");
	is_int(in_cidr("2001:db8:ffff::1", "2001:db8::/32"), 1, "IPv6 /32");
	is_int(in_cidr("2001:db9::1", "2001:db8::/32"), 0, "IPv6 /32 outside");
	is_int(in_cidr("2001:db8::1", "2001:db8::/127"), 1, "IPv6 /127");
	is_int(in_cidr("2001:db8::2", "2001:db8::/127"), 0, "IPv6 /127 out");
	is_int(in_cidr("::1", "::/0"), 1, "::/0 holds all");
	is_int(in_cidr("1.1.1.1", "10.0.0.0/33"), -1, "IPv4 /33 refused");
	is_int(in_cidr("1.1.1.1", "::/129"), -1, "IPv6 /129 refused");
	is_int(in_cidr("1.1.1.1", "10.0.0.0/"), -1, "empty prefix refused");
	is_int(in_cidr("1.1.1.1", "10.0.0.0/-1"), -1, "negative refused");
	is_int(in_cidr("1.1.1.1", "10.0.0.0/8x"), -1, "junk refused");
	is_int(in_cidr("1.1.1.1", "10.0.0.0/0008"), -1, "long prefix refused");
	is_int(in_cidr("1.1.1.1", "example.com/8"), -1, "name refused");
}

/* client_address into a static buffer, its return value in *from_xff. */
static const char *
client(const char *remote, const char *xff, const struct config_list *tp,
       int *from_xff)
{
	static char out[NETADDR_STRLEN];
	int r = client_address(remote, xff, tp, out, sizeof(out));

	if (from_xff != NULL)
		*from_xff = r;
	return out;
}

static void
test_client_untrusted(void)
{
	struct config_list tp;
	int x;

	list_of(&tp, 1, "10.0.0.0/8");
	is_str(client("198.51.100.9", "1.2.3.4", &tp, &x), "198.51.100.9",
	       "spoofed XFF from an untrusted peer is ignored");
	is_int(x, 0, "... and reported as not from XFF");
	is_str(client("198.51.100.9", NULL, &tp, NULL), "198.51.100.9",
	       "no XFF: REMOTE_ADDR");
	is_str(client("198.51.100.9", "1.2.3.4", NULL, NULL), "198.51.100.9",
	       "no trusted list: REMOTE_ADDR");
	is_str(client("::ffff:198.51.100.9", NULL, &tp, NULL), "198.51.100.9",
	       "mapped REMOTE_ADDR normalised");
	is_str(client(NULL, "1.2.3.4", &tp, NULL), "", "NULL REMOTE_ADDR");
	is_str(client("unix:/run/x", "1.2.3.4", &tp, NULL), "unix:/run/x",
	       "non-address REMOTE_ADDR copied, XFF ignored");
	list_free(&tp);
}

static void
test_client_trusted(void)
{
	struct config_list tp;
	int x;

	list_of(&tp, 2, "10.0.0.0/8", "2001:db8:1::/48");
	is_str(client("10.0.0.1", "203.0.113.7", &tp, &x), "203.0.113.7",
	       "trusted peer: its XFF is believed");
	is_int(x, 1, "... and reported as from XFF");
	is_str(client("10.0.0.1", "6.6.6.6, 203.0.113.7, 10.0.0.2", &tp, NULL),
	       "203.0.113.7",
	       "right-most untrusted hop; client's claim ignored");
	is_str(client("10.0.0.1", "10.0.0.3,10.0.0.2", &tp, NULL), "10.0.0.3",
	       "all hops trusted: left-most");
	is_str(client("10.0.0.1", "garbage, 203.0.113.7", &tp, NULL),
	       "203.0.113.7", "junk left of the client is never read");
	is_str(client("10.0.0.1", "203.0.113.7, unknown", &tp, NULL),
	       "10.0.0.1", "malformed hop: REMOTE_ADDR");
	is_str(client("10.0.0.1", "", &tp, NULL), "10.0.0.1",
	       "empty XFF: REMOTE_ADDR");
	is_str(client("10.0.0.1", "203.0.113.7,", &tp, NULL), "10.0.0.1",
	       "empty entry: REMOTE_ADDR");
	is_str(client("10.0.0.1", " 203.0.113.7:5123 ", &tp, NULL),
	       "203.0.113.7", "IPv4 with a port");
	is_str(client("10.0.0.1", "[2001:db8::7]:443", &tp, NULL),
	       "2001:db8::7", "bracketed IPv6 with a port");
	is_str(client("10.0.0.1", "[2001:db8::7]x", &tp, NULL), "10.0.0.1",
	       "junk after a bracket: REMOTE_ADDR");
	is_str(client("10.0.0.1", "203.0.113.7:http", &tp, NULL), "10.0.0.1",
	       "non-numeric port: REMOTE_ADDR");
	is_str(client("2001:db8:1::5", "2001:DB8:2::9", &tp, NULL),
	       "2001:db8:2::9", "IPv6 trusted peer and client");
	is_str(client("::ffff:10.0.0.1", "203.0.113.7", &tp, NULL),
	       "203.0.113.7", "mapped trusted peer matches an IPv4 CIDR");
	list_free(&tp);
}

static void
test_client_limits(void)
{
	struct config_list tp;
	char xff[33 * 12 + 1] = "", hop[16];
	char small[8];
	int i;

	list_of(&tp, 1, "127.0.0.1");
	is_str(client("::ffff:127.0.0.1", "203.0.113.7", &tp, NULL),
	       "203.0.113.7", "::ffff:127.0.0.1 matches 127.0.0.1");
	for (i = 0; i < 33; i++) {
		snprintf(hop, sizeof(hop), "%s127.0.0.1", i ? "," : "");
		strncat(xff, hop, sizeof(xff) - strlen(xff) - 1);
	}
	is_str(client("127.0.0.1", xff, &tp, NULL), "127.0.0.1",
	       "33 trusted hops: REMOTE_ADDR");
	xff[strlen(xff) - strlen(",127.0.0.1")] = '\0';
	is_str(client("127.0.0.1", xff, &tp, NULL), "127.0.0.1",
	       "32 trusted hops: the left-most");
	client_address("127.0.0.1", "203.0.113.77", &tp, small, sizeof(small));
	ok(strlen(small) < sizeof(small), "small output stays terminated");
	list_free(&tp);
}

static void
test_addr_chain_in_list(void)
{
	struct config_list l;

	list_of(&l, 2, "127.0.0.0/8", "::1"); /* metrics_allow's default */
	ok(addr_chain_in_list("127.0.0.1", NULL, &l), "loopback allowed");
	ok(addr_chain_in_list("127.200.0.9", NULL, &l), "127/8 allowed");
	ok(addr_chain_in_list("::1", NULL, &l), "::1 allowed");
	ok(addr_chain_in_list("::ffff:127.0.0.1", NULL, &l),
	   "mapped loopback allowed");
	ok(!addr_chain_in_list("::2", NULL, &l), "::2 is not loopback");
	ok(!addr_chain_in_list("10.0.0.1", NULL, &l), "others refused");
	ok(!addr_chain_in_list("", NULL, &l), "empty address refused");
	ok(!addr_chain_in_list(NULL, NULL, &l), "NULL address refused");
	ok(!addr_chain_in_list("127.0.0.1", "203.0.113.9", &l),
	   "a proxy on loopback relaying for the internet: refused");
	ok(!addr_chain_in_list("127.0.0.1", "127.0.0.1, 203.0.113.9", &l),
	   "any hop outside the list: refused");
	ok(!addr_chain_in_list("127.0.0.1", "203.0.113.9, 127.0.0.1", &l),
	   "a client's own claim outside the list: refused too");
	ok(addr_chain_in_list("127.0.0.1", " 127.0.0.1 , [::1]:8080", &l),
	   "every hop allowed (spaces, ports): allowed");
	ok(!addr_chain_in_list("127.0.0.1", "127.0.0.1,,127.0.0.1", &l),
	   "an empty hop: refused");
	ok(!addr_chain_in_list("127.0.0.1", "", &l),
	   "an empty header: refused");
	ok(!addr_chain_in_list("127.0.0.1", "unknown", &l),
	   "a hop that is no address: refused");
	list_free(&l);
	list_of(&l, 0);
	ok(!addr_chain_in_list("127.0.0.1", NULL, &l),
	   "an empty list lets nobody in, loopback neither");
	ok(!addr_chain_in_list("127.0.0.1", NULL, NULL), "nor a NULL list");
	list_of(&l, 3, "not-an-address", "10.0.0.0/8", "2001:db8::1");
	ok(addr_chain_in_list("10.2.3.4", "10.9.9.9", &l),
	   "CIDR entry matches");
	ok(addr_chain_in_list("2001:db8::1", NULL, &l), "IPv6 entry matches");
	ok(!addr_chain_in_list("2001:db8::2", NULL, &l), "IPv6 entry is exact");
	ok(!addr_chain_in_list("192.0.2.1", NULL, &l),
	   "bad entries never match");
	list_free(&l);
}

int
main(void)
{
	test_parse();
	test_cidr();
	test_client_untrusted();
	test_client_trusted();
	test_client_limits();
	test_addr_chain_in_list();
	return done_testing();
}
