/* Origin and redirect checks, and HTML escaping of echoed input. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "policy.h"
#include "reply.h"
#include "tap.h"
#include "url.h"

static struct config_list
list_of(const char *a, const char *b)
{
	struct config_list l;

	memset(&l, 0, sizeof(l));
	l.items[l.count++] = (char *)a;
	if (b != NULL)
		l.items[l.count++] = (char *)b;
	return l;
}

static void
test_redirects(void)
{
	struct config_list l = list_of("https://www.example.com/",
	                               "https://shop.example.com/thanks");
	static const struct {
		const char *url;
		int want;
	} cases[] = {
	        {"https://www.example.com/", 1},
	        {"https://www.example.com/thanks?x=1#y", 1},
	        {"HTTPS://WWW.EXAMPLE.COM/a", 1},
	        {"https://www.example.com:443/a", 1},
	        {"https://shop.example.com/thanks/done", 1},
	        {"https://shop.example.com/other", 0},
	        {"https://www.example.com.evil.test/", 0},
	        {"https://www.example.com@evil.test/", 0},
	        {"https://user@www.example.com/", 0},
	        {"http://www.example.com/", 0},
	        {"https://www.example.com:8443/", 0},
	        {"//evil.test/", 0},
	        {"/relative", 0},
	        {"javascript:alert(1)", 0},
	        {"https://www.example.com/\r\nSet-Cookie: x=1", 0},
	        {"https://www.example.com\\@evil.test/", 0},
	        {"", 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(redirect_allowed(cases[i].url, &l), cases[i].want,
		       "redirect %s", cases[i].url);
	is_int(redirect_allowed(NULL, &l), 0, "redirect NULL refused");
}

static void
test_origins(void)
{
	struct config_list l =
	        list_of("https://www.example.com", "http://127.0.0.1:8080");

	is_int(origin_allowed("https://www.example.com", &l), 1,
	       "exact origin");
	is_int(origin_allowed("https://WWW.example.com", &l), 1,
	       "host case ignored");
	is_int(origin_allowed("https://www.example.com:443", &l), 1,
	       "default port same origin");
	is_int(origin_allowed("http://127.0.0.1:8080", &l), 1, "port origin");
	is_int(origin_allowed("http://127.0.0.1:8081", &l), 0, "other port");
	is_int(origin_allowed("https://www.example.com.evil.test", &l), 0,
	       "suffix trick refused");
	is_int(origin_allowed("null", &l), 0, "opaque origin refused");
	is_int(origin_allowed("https://www.example.com/path", &l), 0,
	       "an origin has no path");
}

/* What url.h's normalising means for redirects: dot segments (also
 * %2e) resolved before the prefix compare, %2F and %5C refused, hosts
 * compared as browsers resolve them, and what RFC 3986 refuses but real
 * links carry tolerated. */
static void
test_redirect_normalising(void)
{
	struct config_list l = list_of("https://www.example.com/",
	                               "https://shop.example.com/thanks");
	static const struct {
		const char *url;
		int want;
	} cases[] = {
	        {"https://shop.example.com/thanks/../admin", 0},
	        {"https://shop.example.com/thanks/%2e%2E/admin", 0},
	        {"https://shop.example.com/thanks/.%2e/admin", 0},
	        {"https://shop.example.com/thanks/..%2fadmin", 0},
	        {"https://shop.example.com/thanks/..%5Cadmin", 0},
	        {"https://www.example.com/..%2f", 0},
	        {"https://www.example.com/a%2Fb", 0},
	        {"https://shop.example.com/thanks/./done", 1},
	        {"https://shop.example.com/x/../thanks/done", 1},
	        {"https://shop.example.com/%74hanks", 1},
	        {"https://www.ex%61mple.com/", 1},
	        {"https://www.example.com%2eevil.test/", 0},
	        {"https://www.example.com%2f@evil.test/", 0},
	        {"https://www.example.com%00.evil.test/", 0},
	        {"https://www.example.com./", 0},
	        {"https:///www.example.com/", 0},
	        {"https:/www.example.com/", 0},
	        {"https:www.example.com/", 0},
	        {"https://:443/", 0},
	        {"https://@www.example.com/", 0},
	        {"HtTpS://www.example.com/", 1},
	        {"https://www.example.com:0443/", 1},
	        {"https://www.example.com:/a", 1},
	        {"https://www.example.com:65536/", 0},
	        {"https://www.example.com", 1},
	        {"https://www.example.com?x", 1},
	        {"https://www.example.com/danke-sch\xc3\xb6n", 1},
	        {"https://www.example.com/?items[]=1&t={x}|y^`\"<>", 1},
	        {"https://www.example.com/#a#b", 1},
	        {"https://www.example.com/50%", 1},
	        {"https://www.example.com/\t", 0},
	        {"https://www.example.com/\x7f", 0},
	        {"https://www.example.com/ x", 0},
	        {"ftp://www.example.com/", 0},
	        {"wss://www.example.com/", 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(redirect_allowed(cases[i].url, &l), cases[i].want,
		       "normalised redirect %s", cases[i].url);
}

static void
test_ipv6(void)
{
	struct config_list l =
	        list_of("https://[::1]:8443/", "http://[2001:db8::1]/app");

	is_int(redirect_allowed("https://[::1]:8443/x", &l), 1, "IPv6 prefix");
	is_int(redirect_allowed("https://[0:0:0:0:0:0:0:1]:8443/", &l), 1,
	       "IPv6 compared as an address");
	is_int(redirect_allowed("https://[::1]:8443", &l), 1,
	       "IPv6 without a path");
	is_int(redirect_allowed("https://[::1]/", &l), 0, "IPv6, other port");
	is_int(redirect_allowed("https://[::2]:8443/", &l), 0,
	       "other IPv6 address");
	is_int(redirect_allowed("http://[2001:DB8::1]:80/app/x", &l), 1,
	       "IPv6 upper case, default port");
	is_int(redirect_allowed("https://[fe80::1%25eth0]:8443/", &l), 0,
	       "zone identifiers refused");
	is_int(redirect_allowed("https://[v1.x]:8443/", &l), 0,
	       "IPvFuture refused");
	is_int(redirect_allowed("https://[::1:8443/", &l), 0,
	       "unclosed bracket");
	is_int(origin_allowed("https://[0::1]:8443", &l), 1, "IPv6 origin");
	is_int(origin_allowed("https://[::1]", &l), 0, "IPv6 origin, port");
}

static void
test_origin_forms(void)
{
	struct config_list l =
	        list_of("https://www.example.com", "http://127.0.0.1:8080");

	is_int(origin_allowed("HTTPS://WWW.EXAMPLE.COM", &l), 1,
	       "scheme case ignored");
	is_int(origin_allowed("https://www.example.com/", &l), 1,
	       "a trailing '/' tolerated");
	is_int(origin_allowed("https://www.example.com?", &l), 0,
	       "an origin has no query");
	is_int(origin_allowed("https://www.example.com#", &l), 0,
	       "an origin has no fragment");
	is_int(origin_allowed("https://www.example.com.", &l), 0,
	       "trailing dot: another origin");
	is_int(origin_allowed("http://www.example.com", &l), 0, "other scheme");
	is_int(origin_allowed("https://u@www.example.com", &l), 0,
	       "user info refused");
	is_int(origin_allowed("https://www.ex%61mple.com", &l), 1,
	       "host percent-decoded");
	is_int(origin_allowed("http://127.0.0.1:08080", &l), 1,
	       "port with a leading zero");
	is_int(origin_allowed("", &l), 0, "empty origin");
	is_int(origin_allowed(NULL, &l), 0, "no origin");
}

static void
test_escape(void)
{
	char buf[64];
	size_t len = 0;

	html_escape(buf, sizeof(buf), &len, "<a href=\"x\">'&'</a>");
	is_str(buf, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
	       "HTML's special characters escaped");
	len = 0;
	html_escape(buf, 10, &len, "<<<<<<<<<<");
	ok(len < 10 && strlen(buf) == len, "escaping stops at the buffer end");
}

/* Found by fuzz_url: port 0 was taken for a port. */
static void
test_port_zero(void)
{
	const char *why = NULL;
	struct url u;

	memset(&u, 0, sizeof(u));
	is_int(url_parse("https://www.example.com:0/", &u, &why), FR_EMALFORMED,
	       "port 0 is refused");
	is_str(why, "port 0 is no port", "and the reason says so");
	is_int(url_parse("https://www.example.com:00/x", &u, &why),
	       FR_EMALFORMED, "port 00 too");
	is_int(url_parse("https://www.example.com:1/", &u, &why), FR_OK,
	       "port 1 is one");
	is_int(u.port, 1, "kept as 1");
	url_free(&u);
}

int
main(void)
{
	test_port_zero();
	test_redirects();
	test_origins();
	test_redirect_normalising();
	test_ipv6();
	test_origin_forms();
	test_escape();
	return done_testing();
}
