/* Origin and redirect checks, and HTML escaping of echoed input. */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "policy.h"
#include "reply.h"
#include "tap.h"

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

int
main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_redirects();
	test_origins();
	test_escape();
	curl_global_cleanup();
	return done_testing();
}
