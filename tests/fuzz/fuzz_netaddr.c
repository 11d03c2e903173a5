/*
 * libFuzzer target: client addresses, CIDR lists and X-Forwarded-For.
 *
 * Input: REMOTE_ADDR on the first line, a comma-separated list (as
 * trusted_proxies or metrics_allow) on the second, X-Forwarded-For after
 * (absent when there is no second newline).  Checked after each input:
 *   - an address that parses formats to text that parses to the same
 *     bytes and formats the same (RFC 5952 text is canonical);
 *   - a CIDR entry that parses holds its own network address;
 *   - client_address writes a terminated string; taken from
 *     X-Forwarded-For it is a canonical address and the peer is trusted;
 *     otherwise it is REMOTE_ADDR, normalised when it parses;
 *   - addr_chain_in_list lets through only a listed client.
 */
#include "fuzz_common.h"
#include "netaddr.h"

#define LINE_MAX_LEN 4096

static void
check_roundtrip(const char *s)
{
	struct netaddr a, b;
	char text[NETADDR_STRLEN], again[NETADDR_STRLEN];

	if (netaddr_parse(s, &a) != 0)
		return;
	if (netaddr_format(&a, text, sizeof(text)) != 0)
		fuzz_fail("an address that parses does not format");
	if (netaddr_parse(text, &b) != 0 || memcmp(a.b, b.b, 16) != 0)
		fuzz_fail("formatted text parses to another address");
	if (netaddr_format(&b, again, sizeof(again)) != 0 ||
	    strcmp(text, again) != 0)
		fuzz_fail("formatting is not canonical");
	if (netaddr_is_v4(&a) != netaddr_is_v4(&b) ||
	    netaddr_is_loopback(&a) != netaddr_is_loopback(&b))
		fuzz_fail("the round trip changed the address's kind");
}

/* Split line at commas into list (items borrowed from line). */
static void
list_split(char *line, struct config_list *list)
{
	char *p = line, *comma;

	memset(list, 0, sizeof(*list));
	while (list->count < CONFIG_MAX_LIST) {
		comma = strchr(p, ',');
		if (comma != NULL)
			*comma = '\0';
		list->items[list->count++] = p;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
}

static void
check_list(const struct config_list *list)
{
	struct netaddr net;
	unsigned prefix;
	size_t i;

	for (i = 0; i < list->count; i++) {
		check_roundtrip(list->items[i]);
		if (netaddr_parse_cidr(list->items[i], &net, &prefix) != 0)
			continue;
		if (prefix > 128 || !netaddr_in_net(&net, &net, prefix))
			fuzz_fail("a network does not hold its own address");
		if (!netaddr_in_list(&net, list))
			fuzz_fail("a listed network's address is not in the "
			          "list");
	}
}

static void
check_client(const char *remote, const char *xff,
             const struct config_list *trusted)
{
	char out[NETADDR_STRLEN], canon[NETADDR_STRLEN], small[8];
	struct netaddr a, peer;
	int from_xff = client_address(remote, xff, trusted, out, sizeof(out));

	if (memchr(out, '\0', sizeof(out)) == NULL)
		fuzz_fail("client_address left its output unterminated");
	if (from_xff) {
		if (netaddr_parse(remote, &peer) != 0 ||
		    !netaddr_in_list(&peer, trusted))
			fuzz_fail("X-Forwarded-For believed from an untrusted "
			          "peer");
		if (netaddr_parse(out, &a) != 0 ||
		    netaddr_format(&a, canon, sizeof(canon)) != 0 ||
		    strcmp(out, canon) != 0)
			fuzz_fail("a client from X-Forwarded-For that is not a "
			          "canonical address");
	} else if (netaddr_parse(remote, &peer) == 0) {
		if (netaddr_format(&peer, canon, sizeof(canon)) != 0 ||
		    strcmp(out, canon) != 0)
			fuzz_fail("the peer's address not normalised");
	}
	client_address(remote, xff, trusted, small, sizeof(small));
	if (memchr(small, '\0', sizeof(small)) == NULL)
		fuzz_fail("a small output left unterminated");
	if (addr_chain_in_list(out, xff, trusted) &&
	    (netaddr_parse(out, &a) != 0 || !netaddr_in_list(&a, trusted)))
		fuzz_fail("addr_chain_in_list let an unlisted client in");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char remote[LINE_MAX_LEN], listline[LINE_MAX_LEN];
	static char xff[65536 + 1];
	struct config_list list;
	const char *rest, *xffp = NULL;
	size_t left;

	if (!fuzz_split_line(data, size, remote, sizeof(remote), &rest, &left))
		return 0;
	if (fuzz_split_line((const uint8_t *)rest, left, listline,
	                    sizeof(listline), &rest, &left)) {
		if (left >= sizeof(xff))
			return 0;
		memcpy(xff, rest, left);
		xff[left] = '\0';
		xffp = xff;
	} else {
		if (left >= sizeof(listline))
			return 0;
		memcpy(listline, rest, left);
		listline[left] = '\0';
	}
	check_roundtrip(remote);
	list_split(listline, &list);
	check_list(&list);
	check_client(remote, xffp, &list);
	return 0;
}
