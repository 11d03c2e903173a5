/* Unit tests for the configuration reader (src/config*.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

static char tmpdir[] = "/tmp/test_config.XXXXXX";

/* Parse text as "t.conf" into a fresh cfg. */
static int
parse(const char *text, struct config *cfg, struct fr_error *err)
{
	memset(cfg, 0, sizeof(*cfg));
	fr_error_clear(err);
	return config_parse_string(cfg, text, strlen(text), "t.conf", err);
}

/* The text must fail with exactly message. */
static void
expect_error(const char *text, const char *message)
{
	struct config cfg;
	struct fr_error err = {0};
	int rc = parse(text, &cfg, &err);

	is_int(rc, FR_ECONFIG, "rejected: %s", message);
	is_str(err.message, message, "exact message");
	config_free(&cfg);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf != NULL) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	fclose(fp);
	return buf;
}

static int
parse_fixture(const char *name, struct config *cfg, struct fr_error *err)
{
	const char *srcdir = getenv("FORMRELAY_SRCDIR");
	char path[1024];
	size_t len = 0;
	char *text;
	int rc;

	snprintf(path, sizeof(path), "%s/tests/fixtures/config/%s",
	         srcdir ? srcdir : ".", name);
	memset(cfg, 0, sizeof(*cfg));
	text = slurp(path, &len);
	if (!ok(text != NULL, "read %s", path))
		return -1;
	rc = config_parse_string(cfg, text, len, name, err);
	free(text);
	return rc;
}

/* Write content to tmpdir/name with mode; the path into out. */
static void
write_file(const char *name, const char *content, mode_t mode, char *out,
           size_t size)
{
	int fd;
	size_t len = strlen(content);

	snprintf(out, size, "%s/%s", tmpdir, name);
	unlink(out);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, content, len) != (ssize_t)len) {
		perror(out);
		exit(1);
	}
	fchmod(fd, mode);
	close(fd);
}

/* config_print into a string (caller frees). */
static char *
printed(const struct config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	if (fp == NULL)
		return NULL;
	config_print(cfg, fp);
	fclose(fp);
	return buf;
}

static void
test_defaults(void)
{
	struct config cfg;
	char *out;

	is_int(config_defaults(&cfg), FR_OK, "defaults");
	is_str(cfg.region, "us", "default region");
	is_str(cfg.api_base, "https://cdp.customer.io/v1", "default api_base");
	ok(cfg.api_key == NULL && cfg.api_key_source == CONFIG_KEY_NONE,
	   "no key by default");
	is_int(cfg.timeout_ms, 10000, "default timeout_ms");
	is_int(cfg.dry_run, 0, "default dry_run");
	is_int(cfg.id_fields.count, 4, "four default id_fields");
	is_str(cfg.id_fields.items[0], "entryId", "id_fields[0]");
	is_str(cfg.id_fields.items[3], "user_id", "id_fields[3]");
	is_int(cfg.missing_id_reject, 0, "missing_id email");
	is_str(cfg.event, "", "no event");
	is_str(cfg.spool_path, LOCALSTATEDIR "/lib/formrelay/spool.db",
	       "default spool path");
	is_int(cfg.max_age_ms, 72LL * 3600 * 1000, "max_age 72h");
	is_int(cfg.retry_min_ms, 1000, "retry_min 1s");
	is_int(cfg.retry_max_ms, 15 * 60 * 1000, "retry_max 15m");
	is_int(cfg.lease_ms, 60000, "lease 60s");
	is_int(cfg.max_body, 65536, "max_body 64k");
	is_int(cfg.rate_limit_count, 20, "rate 20");
	is_int(cfg.rate_limit_window_ms, 60000, "per minute");
	is_int(cfg.log_level, LOG_INFO, "log level info");
	is_int(cfg.log_emails, 0, "emails masked");
	is_int(cfg.spam.disposable_domains, 0, "disposable domains allowed");
	is_str(cfg.spam.disposable_domains_file,
	       PKGDATADIR "/disposable_domains.txt",
	       "the installed disposable-domain list");
	is_int(cfg.spam.junk_drop, 0, "junk rejected (422)");
	ok(cfg.warnings == NULL, "no warnings");
	out = printed(&cfg);
	ok(out && strstr(out, "customerio.api_key = (none)\n"),
	   "print says api_key (none)");
	ok(out && strstr(out, "spool.max_age = 3d\n") &&
	           strstr(out, "spool.lease = 1m\n") &&
	           strstr(out, "http.max_body = 64k\n") &&
	           strstr(out, "http.rate_limit = 20/min\n") &&
	           strstr(out, "identity.id_fields = entryId, entry_id, "
	                       "userId, user_id\n"),
	   "print shows the defaults");
	free(out);
	config_free(&cfg);
	config_free(&cfg); /* zeroed: a second free is harmless */
	config_free(NULL);
}

static void
test_spec_block(void)
{
	struct config cfg;
	struct fr_error err = {0};

	is_int(parse_fixture("spec.conf", &cfg, &err), FR_OK,
	       "SPEC's example parses");
	is_str(cfg.region, "us", "spec region");
	is_str(cfg.api_base, "https://cdp.customer.io/v1",
	       "empty api_base with a comment: from region");
	is_str(cfg.api_key_file, "/etc/formrelay/api_key", "spec key file");
	ok(cfg.api_key == NULL, "parse_string reads no key file");
	is_int(cfg.timeout_ms, 10000, "spec timeout");
	is_int(cfg.id_fields.count, 4, "spec id_fields");
	is_str(cfg.id_fields.items[1], "entry_id", "spec id_fields[1]");
	is_str(cfg.event, "", "spec event empty");
	is_str(cfg.spool_path, "/var/lib/formrelay/spool.db", "spec path");
	is_int(cfg.max_age_ms, 72LL * 3600 * 1000, "spec max_age");
	is_int(cfg.allowed_origins.count, 1, "one origin");
	is_str(cfg.allowed_origins.items[0], "https://www.example.com",
	       "spec origin");
	is_str(cfg.redirect_allow.items[0], "https://www.example.com/",
	       "spec redirect prefix");
	ok(cfg.success_url == NULL, "spec success_url unset");
	is_int(cfg.max_body, 65536, "spec max_body");
	is_int(cfg.rate_limit_count, 20, "spec rate");
	is_int(cfg.trusted_proxies.count, 0, "spec: no proxies");
	ok(cfg.webhook_secret_file == NULL, "spec: no webhook secret");
	is_int(cfg.alias_count, 0, "spec: no aliases");
	config_free(&cfg);
}

static void
test_full_file(void)
{
	struct config cfg;
	struct fr_error err = {0};
	char *out;

	is_int(parse_fixture("full.conf", &cfg, &err), FR_OK,
	       "every key parses: %s", err.message);
	is_str(cfg.region, "eu", "region lower-cased");
	is_str(cfg.api_base, "http://127.0.0.1:8099/v1",
	       "api_base overrides region, '/' stripped");
	is_str(cfg.api_key, "inline_key_value_0123456789", "inline key");
	is_int(cfg.api_key_source, CONFIG_KEY_INLINE, "source inline");
	is_int(cfg.timeout_ms, 2500, "timeout_ms");
	is_int(cfg.dry_run, 1, "dry_run");
	is_int(cfg.id_fields.count, 2, "id_fields replaced");
	is_str(cfg.id_fields.items[1], "visitor id", "quoted list item");
	is_int(cfg.missing_id_reject, 1, "reject");
	is_str(cfg.event, "Form Submitted", "quoted event");
	is_str(cfg.spool_path, "/srv/formrelay/spool.db", "path");
	is_int(cfg.max_age_ms, 3LL * 86400 * 1000, "max_age 3d");
	is_int(cfg.retry_min_ms, 500, "retry_min 500ms");
	is_int(cfg.retry_max_ms, 3600 * 1000, "retry_max 1h");
	is_int(cfg.lease_ms, 90000, "lease 90s");
	is_int(cfg.allowed_origins.count, 3,
	       "origins: a repeated list appends");
	is_str(cfg.allowed_origins.items[1], "https://shop.example.com:8443",
	       "origin lower-cased");
	is_str(cfg.allowed_origins.items[2], "http://localhost:3000",
	       "appended origin");
	is_str(cfg.redirect_allow.items[0], "https://www.example.com/thanks",
	       "redirect with a path kept");
	is_str(cfg.redirect_allow.items[1], "https://shop.example.com/",
	       "redirect without a path gets '/'");
	is_str(cfg.success_url, "https://www.example.com/thanks?from=form#top",
	       "'#' without a space before it is not a comment");
	is_int(cfg.max_body, 1 << 20, "max_body 1m");
	is_int(cfg.rate_limit_count, 5, "rate 5");
	is_int(cfg.rate_limit_window_ms, 1000, "per second");
	is_int(cfg.trusted_proxies.count, 4, "proxies");
	is_str(cfg.trusted_proxies.items[3], "2001:db8::/32", "IPv6 CIDR");
	is_str(cfg.webhook_secret_file, "/etc/formrelay/webhook_secret",
	       "webhook secret file");
	is_int(cfg.honeypots.count, 2, "honeypots");
	is_int(cfg.metrics_public, 1, "metrics_public");
	is_int(cfg.alias_count, 4, "aliases");
	is_str(cfg.aliases[1].name, "First Name", "alias with a space");
	is_str(cfg.aliases[3].trait, "first_name", "repeated alias appends");
	is_str(cfg.aliases[3].name, "given", "repeated alias name");
	is_int(cfg.drop.count, 2, "drop");
	is_str(cfg.drop.items[1], "tax_id", "drop[1]");
	is_int(cfg.log_level, LOG_DEBUG, "level debug");
	is_int(cfg.log_emails, 1, "show_emails");
	is_int(cfg.spam.disposable_domains, 1, "antispam.disposable_domains");
	is_str(cfg.spam.disposable_domains_file, "/etc/formrelay/junk.txt",
	       "antispam.disposable_domains_file");
	is_int(cfg.spam.junk_drop, 1, "antispam.junk drop");
	is_int(cfg.spam.mx_check, 1, "antispam.mx_check");
	is_int(cfg.spam.mx_check_timeout_ms, 750, "antispam.mx_check_timeout");
	ok(cfg.spam.mx_check_servers.count == 3 &&
	           strcmp(cfg.spam.mx_check_servers.items[1], "[::1]:53") == 0,
	   "antispam.mx_check_servers: three, IPv6 in brackets with a port");
	out = printed(&cfg);
	ok(out &&
	           strstr(out, "fields.alias.first_name = fname, First Name, "
	                       "given\n") &&
	           strstr(out, "fields.alias.email = e-mail\n"),
	   "print groups aliases by trait");
	ok(out && strstr(out, "spool.retry_min = 500ms\n") &&
	           strstr(out, "http.rate_limit = 5/sec\n") &&
	           strstr(out, "http.max_body = 1m\n") &&
	           strstr(out, "customerio.region = eu\n") &&
	           strstr(out, "log.level = debug\n"),
	   "print shows the values");
	ok(out && strstr(out, "inline_key_value_0123456789") == NULL,
	   "print never shows the key");
	ok(out && strstr(out, "customerio.api_key = inli\xe2\x80\xa6 (27 "
	                      "characters, from api_key)\n"),
	   "print masks the key");
	free(out);
	config_free(&cfg);
}

static const struct {
	const char *text;
	const char *message;
} errors[] = {
        {"region = us\n", "t.conf:1: key 'region' before any [section]"},
        {"; c\n[nope]\n",
         "t.conf:2: unknown section [nope] (expected customerio, identity, "
         "spool, http, fields, log, antispam or webhook.NAME)"},
        {"[customerio]\nregoin = us\n",
         "t.conf:2: unknown key 'regoin' in [customerio]"},
        {"[spool]\nregion = us\n", "t.conf:2: unknown key 'region' in [spool]"},
        {"[customerio]\n\n; c\nregion us\n",
         "t.conf:4: missing '=' in 'region us' (expected key = value)"},
        {"[customerio]\n = us\n", "t.conf:2: bad key name ''"},
        {"[customerio]\nre gion = us\n", "t.conf:2: bad key name 're gion'"},
        {"[http\n", "t.conf:1: missing ']' after the section name"},
        {"[http] x\n", "t.conf:1: text after the section header"},
        {"[customerio]\nregion = xx\n",
         "t.conf:2: customerio.region: expected us or eu, got 'xx'"},
        {"[customerio]\nregion = us\nregion = eu\n",
         "t.conf:3: customerio.region: duplicate key (first set on line 2)"},
        {"[log]\nlevel = info\n[http]\n[log]\nLEVEL = debug\n",
         "t.conf:5: log.level: duplicate key (first set on line 2)"},
        {"[customerio]\napi_base = ftp://example.com/v1\n",
         "t.conf:2: customerio.api_base: the scheme must be http or https, "
         "got 'ftp://example.com/v1'"},
        {"[customerio]\napi_base = cdp.customer.io/v1\n",
         "t.conf:2: customerio.api_base: not an absolute URL "
         "(scheme://host/...), got 'cdp.customer.io/v1'"},
        {"[customerio]\napi_base = https://x.test/v1?a=b\n",
         "t.conf:2: customerio.api_base: a base URL has no query or fragment, "
         "got 'https://x.test/v1?a=b'"},
        {"[customerio]\napi_base = https://u:p@x.test/v1\n",
         "t.conf:2: customerio.api_base: user names or passwords do not "
         "belong in the URL, got 'https://u:p@x.test/v1'"},
        {"[customerio]\napi_key = two words\n",
         "t.conf:2: customerio.api_key: the key contains spaces, control "
         "characters, ':' or non-ASCII bytes"},
        {"[customerio]\ntimeout_ms = 10s\n",
         "t.conf:2: customerio.timeout_ms: expected milliseconds from 1 to "
         "600000, got '10s'"},
        {"[customerio]\ntimeout_ms = 0\n",
         "t.conf:2: customerio.timeout_ms: expected milliseconds from 1 to "
         "600000, got '0'"},
        {"[customerio]\ndry_run = maybe\n",
         "t.conf:2: customerio.dry_run: expected yes or no, got 'maybe'"},
        {"[identity]\nmissing_id = anonymous\n",
         "t.conf:2: identity.missing_id: expected email or reject, got "
         "'anonymous'"},
        {"[identity]\nevent = \"Form\n",
         "t.conf:2: identity.event: missing closing '\"'"},
        {"[identity]\nevent = \"Form\" Submitted\n",
         "t.conf:2: identity.event: text after the closing '\"'"},
        {"[spool]\npath =\n", "t.conf:2: spool.path: expected a path, got ''"},
        {"[spool]\nmax_age = 72 hours\n",
         "t.conf:2: spool.max_age: expected a duration such as 72h, 15m, 10s, "
         "500ms or 3d, got '72 hours'"},
        {"[spool]\nlease = 0s\n",
         "t.conf:2: spool.lease: expected a duration such as 72h, 15m, 10s, "
         "500ms or 3d, got '0s'"},
        {"[spool]\nretry_max = 9999999999999999d\n",
         "t.conf:2: spool.retry_max: expected a duration such as 72h, 15m, "
         "10s, 500ms or 3d, got '9999999999999999d'"},
        {"[spool]\nretry_max = 1s\n\nretry_min = 2s\n",
         "t.conf:4: spool.retry_min is longer than spool.retry_max"},
        {"[spool]\nlease = 10s\n",
         "t.conf:2: spool.lease (10000 ms) must be longer than "
         "customerio.timeout_ms (10000): a batch still being sent when its "
         "lease ends is claimed and sent again by another process"},
        {"[customerio]\ntimeout_ms = 4000\n[spool]\nlease = 3s\n",
         "t.conf:4: spool.lease (3000 ms) must be longer than "
         "customerio.timeout_ms (4000): a batch still being sent when its "
         "lease ends is claimed and sent again by another process"},
        {"[http]\nmax_body = 64x\n",
         "t.conf:2: http.max_body: expected a size from 1 to 64m, such as 64k, "
         "got '64x'"},
        {"[http]\nmax_body = 99999999999999999999k\n",
         "t.conf:2: http.max_body: expected a size from 1 to 64m, such as 64k, "
         "got '99999999999999999999k'"},
        {"[http]\nmax_body = 65m\n",
         "t.conf:2: http.max_body: expected a size from 1 to 64m, such as 64k, "
         "got '65m'"},
        {"[http]\nrate_limit = 20/day\n",
         "t.conf:2: http.rate_limit: expected N/sec, N/min, N/hour or off, got "
         "'20/day'"},
        {"[http]\nrate_limit = 20\n",
         "t.conf:2: http.rate_limit: expected N/sec, N/min, N/hour or off, got "
         "'20'"},
        {"[http]\nallowed_origins = https://www.example.com/\n",
         "t.conf:2: http.allowed_origins: an origin has no path, query or "
         "user, not even a trailing '/' (write scheme://host[:port]), got "
         "'https://www.example.com/'"},
        {"[http]\nallowed_origins = www.example.com\n",
         "t.conf:2: http.allowed_origins: an origin is scheme://host[:port], "
         "got 'www.example.com'"},
        {"[http]\nallowed_origins = https://a.test,\tftp://b.test\n",
         "t.conf:2: http.allowed_origins: the scheme must be http or https, "
         "got 'ftp://b.test'"},
        {"[http]\nallowed_origins = https://a.test:99999\n",
         "t.conf:2: http.allowed_origins: not an absolute URL "
         "(scheme://host/...), got 'https://a.test:99999'"},
        {"[http]\nredirect_allow = /thanks\n",
         "t.conf:2: http.redirect_allow: not an absolute URL "
         "(scheme://host/...), got '/thanks'"},
        {"[http]\nsuccess_url = //evil.test/x\n",
         "t.conf:2: http.success_url: not an absolute URL "
         "(scheme://host/...), got '//evil.test/x'"},
        {"[http]\ntrusted_proxies = 10.0.0.0/33\n",
         "t.conf:2: http.trusted_proxies: bad CIDR prefix length, got "
         "'10.0.0.0/33'"},
        {"[http]\ntrusted_proxies = ::1, 300.1.1.1\n",
         "t.conf:2: http.trusted_proxies: not an IPv4 or IPv6 address or CIDR, "
         "got '300.1.1.1'"},
        {"[http]\ntrusted_proxies = fe80::/129\n",
         "t.conf:2: http.trusted_proxies: bad CIDR prefix length, got "
         "'fe80::/129'"},
        {"[http]\ntrusted_proxies = proxy.local\n",
         "t.conf:2: http.trusted_proxies: not an IPv4 or IPv6 address or CIDR, "
         "got 'proxy.local'"},
        {"[http]\nmetrics_public = sometimes\n",
         "t.conf:2: http.metrics_public: expected yes or no, got 'sometimes'"},
        {"[fields]\nalias. = a\n",
         "t.conf:2: fields.alias.: expected alias.<trait> with a trait name "
         "such as first_name"},
        {"[fields]\naliases.email = a\n",
         "t.conf:2: unknown key 'aliases.email' in [fields]"},
        {"[log]\nlevel = verbose\n",
         "t.conf:2: log.level: expected error, warn, info or debug, got "
         "'verbose'"},
        {"[log]\nshow_emails = perhaps\n",
         "t.conf:2: log.show_emails: expected yes or no, got 'perhaps'"},
        {"[antispam]\ncaptcha = recaptcha3\n",
         "t.conf:2: antispam.captcha: expected none, turnstile, hcaptcha or "
         "recaptcha, got 'recaptcha3'"},
        {"[antispam]\nrecaptcha_min_score = 1.5\n",
         "t.conf:2: antispam.recaptcha_min_score: expected a score from 0.0 "
         "to 1.0, got '1.5'"},
        {"[antispam]\ncaptcha_unreachable = maybe\n",
         "t.conf:2: antispam.captcha_unreachable: expected open or closed, "
         "got 'maybe'"},
        {"[antispam]\ncaptcha_verify_url = ftp://x.test/sv\n",
         "t.conf:2: antispam.captcha_verify_url: the scheme must be http or "
         "https, got 'ftp://x.test/sv'"},
        {"[antispam]\ndouble_submit_window = 2h\n",
         "t.conf:2: antispam.double_submit_window: expected off or a "
         "duration up to 1h, such as 5s, got '2h'"},
        {"[antispam]\njunk = hide\n",
         "t.conf:2: antispam.junk: expected reject or drop, got 'hide'"},
        {"[antispam]\nmx_check_servers = 127.0.0.1:99999\n",
         "t.conf:2: antispam.mx_check_servers: expected an IP address with "
         "an optional :port, such as 127.0.0.1:5353 or [::1]:53, got "
         "'127.0.0.1:99999'"},
        {"[antispam]\nmx_check_servers = dns.example\n",
         "t.conf:2: antispam.mx_check_servers: expected an IP address with "
         "an optional :port, such as 127.0.0.1:5353 or [::1]:53, got "
         "'dns.example'"},
        {"[antispam]\nmx_check_timeout = 0s\n",
         "t.conf:2: antispam.mx_check_timeout: expected a duration such as "
         "72h, 15m, 10s, 500ms or 3d, got '0s'"},
        {"[antispam]\ndisposable_domains = maybe\n",
         "t.conf:2: antispam.disposable_domains: expected yes or no, got "
         "'maybe'"},
        {"[antispam]\ndisposable_domains_file =\n",
         "t.conf:2: antispam.disposable_domains_file: expected a path, got "
         "''"},
        {"[spam]\n", "t.conf:1: unknown section [spam] (expected "
                     "customerio, identity, spool, http, fields, log, "
                     "antispam or webhook.NAME)"},
        {"[log]\nlevel = info\x01\n",
         "t.conf:2: control character 0x01 at column 13"},
        {"[identity]\nevent = caf\xc3\xa9\n[log]\nlevel = \xe9t\xe9\n",
         "t.conf:4: invalid UTF-8"},
        {"[identity]\nevent = \xed\xa0\x80\n", "t.conf:2: invalid UTF-8"},
        {"[log]\r\nlevel = info\rx\r\n",
         "t.conf:2: control character 0x0d at column 13"},
};

static void
test_errors(void)
{
	size_t i;

	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		expect_error(errors[i].text, errors[i].message);
}

/* A NUL inside the text (the fuzzer's favourite) is an error, not the
 * end of the input. */
static void
test_nul_byte(void)
{
	static const char text[] = "[log]\nlevel = info\n\0level = debug\n";
	struct config cfg;
	struct fr_error err = {0};
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	rc = config_parse_string(&cfg, text, sizeof(text) - 1, "t.conf", &err);
	is_int(rc, FR_ECONFIG, "NUL byte rejected");
	is_str(err.message, "t.conf:3: control character 0x00 at column 1",
	       "NUL byte message");
	config_free(&cfg);
}

static void
test_long_lines(void)
{
	static const char head[] = "[fields]\ndrop = ";
	size_t fill = CONFIG_MAX_LINE - (sizeof("drop = ") - 1);
	char *text = malloc(sizeof(head) + fill + 8);
	struct config cfg;
	struct fr_error err = {0};
	size_t len;

	memcpy(text, head, sizeof(head) - 1);
	len = sizeof(head) - 1;
	memset(text + len, 'x', fill);
	len += fill;
	memcpy(text + len, "\r\n", 3);
	is_int(parse(text, &cfg, &err), FR_OK, "a 4096-byte line is fine");
	is_int(cfg.drop.count, 1, "its value read");
	ok(cfg.drop.count == 1 && strlen(cfg.drop.items[0]) == fill,
	   "whole value kept");
	config_free(&cfg);
	memcpy(text + len, "y\n", 3);
	is_int(parse(text, &cfg, &err), FR_ECONFIG, "4097 bytes rejected");
	is_str(err.message, "t.conf:2: line longer than 4096 bytes",
	       "long line message");
	config_free(&cfg);
	free(text);
}

static void
test_too_many(void)
{
	char text[1024] = "[fields]\ndrop = ";
	struct config cfg;
	struct fr_error err = {0};
	size_t len = strlen(text);
	int i;

	for (i = 0; i <= CONFIG_MAX_LIST; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "f%d,",
		                        i);
	is_int(parse(text, &cfg, &err), FR_ECONFIG, "65 list entries");
	is_str(err.message, "t.conf:2: fields.drop: more than 64 entries",
	       "too many entries message");
	config_free(&cfg);
}

static void
test_comments_and_quotes(void)
{
	struct config cfg;
	struct fr_error err = {0};

	is_int(parse("# hash comment\n"
	             "  ; indented comment\n"
	             "[customerio] ; section comment\n"
	             "region = eu ; trailing\n"
	             "api_base =               ; overrides region\n"
	             "[identity]\n"
	             "event = Sign;up # note\n"
	             "[http]\n"
	             "honeypots = \"a ; b # c\", d\n"
	             "success_url = \"/thanks\"   ; comment after quotes\n",
	             &cfg, &err),
	       FR_OK, "comments: %s", err.message);
	is_str(cfg.region, "eu", "value before ' ;'");
	is_str(cfg.api_base, "https://cdp-eu.customer.io/v1",
	       "empty api_base with comment: eu default");
	is_str(cfg.event, "Sign;up", "';' without a space is kept");
	is_int(cfg.honeypots.count, 2, "quoted list item, then a bare one");
	is_str(cfg.honeypots.items[0], "a ; b # c", "quotes keep ';' and '#'");
	is_str(cfg.success_url, "/thanks", "relative success_url");
	config_free(&cfg);

	is_int(parse("[identity]\nid_fields = \"Entry, ID\" , \"\", x\n", &cfg,
	             &err),
	       FR_OK, "quoted comma");
	is_int(cfg.id_fields.count, 2, "comma inside quotes does not split");
	is_str(cfg.id_fields.items[0], "Entry, ID", "quoted item with comma");
	config_free(&cfg);
	is_int(parse("[identity]\nevent = \"  spaced  \"\n", &cfg, &err), FR_OK,
	       "quoted spaces");
	is_str(cfg.event, "  spaced  ", "quotes keep spaces");
	config_free(&cfg);
	is_int(parse("[identity]\nevent = \"\"\n", &cfg, &err), FR_OK,
	       "empty quotes");
	is_str(cfg.event, "", "empty quoted event");
	config_free(&cfg);
}

static void
test_crlf_bom(void)
{
	struct config cfg;
	struct fr_error err = {0};

	is_int(parse("\xef\xbb\xbf[customerio]\r\nregion = eu\r\n"
	             "\r\n[log]\r\nlevel = warn",
	             &cfg, &err),
	       FR_OK, "BOM and CRLF, no final newline: %s", err.message);
	is_str(cfg.region, "eu", "CRLF value");
	is_int(cfg.log_level, LOG_WARN, "last line without newline");
	config_free(&cfg);
	expect_error("\xef\xbb\xbf[customerio]\r\nregion = xx\r\n",
	             "t.conf:2: customerio.region: expected us or eu, got "
	             "'xx'");
}

static void
test_normal_forms(void)
{
	struct config cfg;
	struct fr_error err = {0};

	is_int(parse("[http]\n"
	             "allowed_origins = HTTPS://WWW.Example.com:443, "
	             "http://localhost:80, https://a.test:8443, "
	             "http://[::1]:8080\n"
	             "redirect_allow = HTTPS://WWW.Example.COM/Path, "
	             "https://B.test?x=Y\n",
	             &cfg, &err),
	       FR_OK, "origins and prefixes: %s", err.message);
	is_str(cfg.allowed_origins.items[0], "https://www.example.com",
	       "origin: lower case, default https port dropped");
	is_str(cfg.allowed_origins.items[1], "http://localhost",
	       "origin: default http port dropped");
	is_str(cfg.allowed_origins.items[2], "https://a.test:8443",
	       "origin: other port kept");
	is_str(cfg.allowed_origins.items[3], "http://[::1]:8080",
	       "origin: IPv6 literal");
	is_str(cfg.redirect_allow.items[0], "https://www.example.com/Path",
	       "prefix: host lower-cased, path kept");
	is_str(cfg.redirect_allow.items[1], "https://b.test/?x=Y",
	       "prefix: '/' inserted before the query");
	config_free(&cfg);
	expect_error("[http]\nsuccess_url = /\\evil.test\n",
	             "t.conf:2: http.success_url: not an absolute URL "
	             "(scheme://host/...), got '/\\evil.test'");
}

/* URL values go through url.h (uriparser): the reasons it names, and
 * origins in the form browsers send them. */
static void
test_url_values(void)
{
	static const struct {
		const char *text;
		const char *message;
	} bad[] = {
	        {"[customerio]\napi_base = https:///v1\n",
	         "t.conf:2: customerio.api_base: not an absolute URL "
	         "(scheme://host/...), got 'https:///v1'"},
	        {"[customerio]\napi_base = https:/x.test/v1\n",
	         "t.conf:2: customerio.api_base: not an absolute URL "
	         "(scheme://host/...), got 'https:/x.test/v1'"},
	        {"[customerio]\napi_base = javascript:alert(1)\n",
	         "t.conf:2: customerio.api_base: the scheme must be http or "
	         "https, got 'javascript:alert(1)'"},
	        {"[customerio]\napi_base = https://x.test/v1#\n",
	         "t.conf:2: customerio.api_base: a base URL has no query or "
	         "fragment, got 'https://x.test/v1#'"},
	        {"[customerio]\napi_base = https://@x.test/v1\n",
	         "t.conf:2: customerio.api_base: user names or passwords do "
	         "not "
	         "belong in the URL, got 'https://@x.test/v1'"},
	        {"[customerio]\napi_base = https://[fe80::1%25eth0]/v1\n",
	         "t.conf:2: customerio.api_base: not an absolute URL "
	         "(scheme://host/...), got 'https://[fe80::1%25eth0]/v1'"},
	        {"[customerio]\napi_base = https://[v1.x]/v1\n",
	         "t.conf:2: customerio.api_base: not an absolute URL "
	         "(scheme://host/...), got 'https://[v1.x]/v1'"},
	        {"[http]\nallowed_origins = https://a!b.test\n",
	         "t.conf:2: http.allowed_origins: the host must be a DNS name "
	         "or "
	         "an IP address, got 'https://a!b.test'"},
	        {"[http]\nallowed_origins = https://a%2fb.test\n",
	         "t.conf:2: http.allowed_origins: the host must be a DNS name "
	         "or "
	         "an IP address, got 'https://a%2fb.test'"},
	        {"[http]\nallowed_origins = https://:8443\n",
	         "t.conf:2: http.allowed_origins: not an absolute URL "
	         "(scheme://host/...), got 'https://:8443'"},
	        {"[http]\nsuccess_url = \"https://a.test/a b\"\n",
	         "t.conf:2: http.success_url: a URL has no spaces or control "
	         "characters, got 'https://a.test/a b'"},
	        {"[http]\nredirect_allow = https://a.test/x/..%2Fadmin\n",
	         "t.conf:2: http.redirect_allow: %2F or %5C in the path "
	         "(servers "
	         "may decode them before resolving '..'; _next URLs holding "
	         "them "
	         "are refused), got 'https://a.test/x/..%2Fadmin'"},
	};
	struct config cfg;
	struct fr_error err = {0};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error(bad[i].text, bad[i].message);
	is_int(parse("[http]\n"
	             "allowed_origins = https://[0:0::1]:8443, "
	             "https://ex%61mple.com:0443, HTTP://A.TEST:, "
	             "https://[::FFFF:1.2.3.4]\n"
	             "redirect_allow = https://a.test/danke-sch\xc3\xb6n, "
	             "https://[::1]:8443/x/../y\n"
	             "success_url = https://a.test/t?items[]={x}|y#a#b\n",
	             &cfg, &err),
	       FR_OK, "lenient and normalised URLs: %s", err.message);
	is_str(cfg.allowed_origins.items[0], "https://[::1]:8443",
	       "origin: IPv6 in RFC 5952 form");
	is_str(cfg.allowed_origins.items[1], "https://example.com",
	       "origin: host percent-decoded, port 0443 is the default");
	is_str(cfg.allowed_origins.items[2], "http://a.test",
	       "origin: an empty port is the default");
	is_str(cfg.allowed_origins.items[3], "https://[::ffff:1.2.3.4]",
	       "origin: IPv4-mapped IPv6");
	is_str(cfg.redirect_allow.items[0], "https://a.test/danke-sch\xc3\xb6n",
	       "prefix: non-ASCII path kept as written");
	is_str(cfg.redirect_allow.items[1], "https://[::1]:8443/x/../y",
	       "prefix: kept as written (compared after normalising)");
	config_free(&cfg);
}

static void
test_lists(void)
{
	struct config cfg;
	struct fr_error err = {0};

	is_int(parse("[identity]\nid_fields = uid,, ,\nid_fields = other\n"
	             "[http]\ntrusted_proxies =\nrate_limit = off\n",
	             &cfg, &err),
	       FR_OK, "lists: %s", err.message);
	is_int(cfg.id_fields.count, 2, "empty items skipped, list appended");
	is_str(cfg.id_fields.items[0], "uid", "first id field");
	is_str(cfg.id_fields.items[1], "other", "appended id field");
	is_int(cfg.trusted_proxies.count, 0, "empty list");
	is_int(cfg.rate_limit_count, 0, "rate_limit off");
	config_free(&cfg);
	is_int(parse("[identity]\nid_fields =\n", &cfg, &err), FR_OK,
	       "empty id_fields");
	is_int(cfg.id_fields.count, 0, "no id fields: email decides");
	config_free(&cfg);
}

/* A failed parse leaves the caller's configuration as it was. */
static void
test_untouched_on_error(void)
{
	struct config cfg;
	struct fr_error err = {0};
	static const char bad[] = "[customerio]\nregion = eu\n[x]\n";
	static const char good[] = "[customerio]\nregion = eu\n";

	config_defaults(&cfg);
	is_int(config_parse_string(&cfg, bad, strlen(bad), "t.conf", &err),
	       FR_ECONFIG, "error after a good line");
	is_str(cfg.region, "us", "cfg untouched");
	is_int(config_parse_string(&cfg, good, strlen(good), NULL, &err), FR_OK,
	       "success replaces");
	is_str(cfg.region, "eu", "cfg replaced");
	config_free(&cfg);
}

static void
test_sizes(void)
{
	static const struct {
		const char *s;
		int rc;
		size_t want;
	} cases[] = {
	        {"65536", 0, 65536},
	        {"64k", 0, 65536},
	        {"64K", 0, 65536},
	        {"1m", 0, 1048576},
	        {"1M", 0, 1048576},
	        {"2g", 0, (size_t)2 << 30},
	        {"0", 0, 0},
	        {"", -1, 0},
	        {"k", -1, 0},
	        {"-1", -1, 0},
	        {"+1", -1, 0},
	        {" 64k", -1, 0},
	        {"64k ", -1, 0},
	        {"64kb", -1, 0},
	        {"1.5k", -1, 0},
	        {"18446744073709551615", 0, 18446744073709551615ULL},
	        {"18446744073709551616", -1, 0},
	        {"18014398509481984k", -1, 0},
	        {"18014398509481983k", 0, 18014398509481983ULL << 10},
	        {"17179869184g", -1, 0},
	};
	size_t i, got;

	ok(sizeof(size_t) == 8, "64-bit size_t (the table assumes it)");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = 0;
		is_int(config_parse_size(cases[i].s, &got), cases[i].rc,
		       "size '%s' rc", cases[i].s);
		if (cases[i].rc == 0)
			ok(got == cases[i].want, "size '%s' = %zu", cases[i].s,
			   got);
	}
	ok(config_parse_size(NULL, &got) == -1, "NULL size");
}

static void
test_durations(void)
{
	static const struct {
		const char *s;
		int rc;
		int64_t want;
	} cases[] = {
	        {"72h", 0, 259200000},
	        {"30m", 0, 1800000},
	        {"10s", 0, 10000},
	        {"10S", 0, 10000},
	        {"500ms", 0, 500},
	        {"3d", 0, 259200000},
	        {"10", 0, 10000}, /* bare: seconds */
	        {"0", 0, 0},
	        {"", -1, 0},
	        {"h", -1, 0},
	        {"1h30m", -1, 0},
	        {"1.5h", -1, 0},
	        {"-1s", -1, 0},
	        {"10 s", -1, 0},
	        {"1w", -1, 0},
	        {"9223372036854775807ms", 0, INT64_MAX},
	        {"9223372036854775808ms", -1, 0},
	        {"9223372036854775s", 0, 9223372036854775000LL},
	        {"9223372036854776s", -1, 0},
	        {"106751991167d", 0, 106751991167LL * 86400000},
	        {"106751991168d", -1, 0},
	        {"99999999999999999999999h", -1, 0},
	};
	size_t i;
	int64_t got;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = -7;
		is_int(config_parse_duration(cases[i].s, &got), cases[i].rc,
		       "duration '%s' rc", cases[i].s);
		if (cases[i].rc == 0)
			is_int(got, cases[i].want, "duration '%s'", cases[i].s);
	}
}

static void
test_choose_path(void)
{
	unsetenv("FORMRELAY_CONFIG");
	is_str(config_choose_path(NULL), SYSCONFDIR "/formrelay.conf",
	       "default path");
	setenv("FORMRELAY_CONFIG", "/env/f.conf", 1);
	is_str(config_choose_path(NULL), "/env/f.conf", "env path");
	is_str(config_choose_path("/opt/f.conf"), "/opt/f.conf", "-c wins");
	setenv("FORMRELAY_CONFIG", "", 1);
	is_str(config_choose_path(""), SYSCONFDIR "/formrelay.conf",
	       "empty values ignored");
	unsetenv("FORMRELAY_CONFIG");
}

static void
test_missing_file(void)
{
	struct config cfg;
	struct fr_error err = {0};
	char path[512], want[600];

	snprintf(path, sizeof(path), "%s/none.conf", tmpdir);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	config_defaults(&cfg);
	is_int(config_load(&cfg, path, &err), FR_ECONFIG, "missing file");
	is_str(err.message, want, "missing file message");
	is_str(cfg.region, "us", "cfg untouched by a failed load");
	config_free(&cfg);
}

#define FILE_KEY   "filekey_0123456789abcdef"
#define ENV_KEY    "envkey_0123456789abcdef"
#define INLINE_KEY "inlinekey_0123456789abcdef"

/* FORMRELAY_API_KEY, then api_key_file, then api_key. */
static void
test_key_precedence(void)
{
	char keyfile[512], conf[512], text[1200];
	struct config cfg;
	struct fr_error err = {0};

	write_file("key", "  " FILE_KEY "\n\n", 0600, keyfile, sizeof(keyfile));
	snprintf(text, sizeof(text),
	         "[customerio]\napi_key = " INLINE_KEY "\napi_key_file = %s\n",
	         keyfile);
	write_file("both.conf", text, 0600, conf, sizeof(conf));
	memset(&cfg, 0, sizeof(cfg));

	setenv("FORMRELAY_API_KEY", ENV_KEY, 1);
	is_int(config_load(&cfg, conf, &err), FR_OK, "load: %s", err.message);
	is_str(cfg.api_key, ENV_KEY, "environment wins");
	is_int(cfg.api_key_source, CONFIG_KEY_ENV, "source env");
	is_str(cfg.path, conf, "path recorded");

	setenv("FORMRELAY_API_KEY", "", 1);
	is_int(config_load(&cfg, conf, &err), FR_OK, "load again");
	is_str(cfg.api_key, FILE_KEY, "then the key file, trimmed");
	is_int(cfg.api_key_source, CONFIG_KEY_FILE, "source file");
	ok(cfg.warnings == NULL, "0600 files: no warning");

	unsetenv("FORMRELAY_API_KEY");
	write_file("inline.conf", "[customerio]\napi_key = " INLINE_KEY "\n",
	           0600, conf, sizeof(conf));
	is_int(config_load(&cfg, conf, &err), FR_OK, "inline load");
	is_str(cfg.api_key, INLINE_KEY, "then api_key");
	is_int(cfg.api_key_source, CONFIG_KEY_INLINE, "source inline");

	setenv("FORMRELAY_API_KEY", "bad key", 1);
	is_int(config_load(&cfg, conf, &err), FR_ECONFIG, "bad env key");
	is_str(err.message,
	       "FORMRELAY_API_KEY: the key contains spaces, control "
	       "characters, ':' or non-ASCII bytes",
	       "bad env key message");
	unsetenv("FORMRELAY_API_KEY");
	config_free(&cfg);
}

/* The configuration file the load error tests write. */
static void
error_conf_path(char *out, size_t size)
{
	snprintf(out, size, "%s/e.conf", tmpdir);
}

static void
expect_load_error(const char *conf_text, const char *want, const char *what)
{
	char conf[512];
	struct config cfg;
	struct fr_error err = {0};

	write_file("e.conf", conf_text, 0600, conf, sizeof(conf));
	memset(&cfg, 0, sizeof(cfg));
	is_int(config_load(&cfg, conf, &err), FR_ECONFIG, "%s", what);
	is_str(err.message, want, "%s: message", what);
	config_free(&cfg);
}

/* captcha needs its secret, read at load like the other secrets. */
static void
test_captcha_secret(void)
{
	char conf[512], path[512], text[1200], want[1200];
	struct config cfg;
	struct fr_error err = {0};

	error_conf_path(conf, sizeof(conf));
	snprintf(want, sizeof(want),
	         "%s:3: antispam.captcha: needs captcha_secret_file (the "
	         "widget's secret key)",
	         conf);
	expect_load_error("[antispam]\n\ncaptcha = turnstile\n", want,
	                  "captcha without its secret file");
	write_file("cs", "0x4AAAAAAAsecret\n", 0600, path, sizeof(path));
	snprintf(text, sizeof(text),
	         "[antispam]\ncaptcha = hcaptcha\ncaptcha_secret_file = %s\n",
	         path);
	write_file("e.conf", text, 0600, conf, sizeof(conf));
	memset(&cfg, 0, sizeof(cfg));
	is_int(config_load(&cfg, conf, &err), FR_OK, "captcha with its secret");
	is_str(cfg.spam.captcha_secret, "0x4AAAAAAAsecret", "the secret read");
	config_free(&cfg);
}

static void
test_key_file_errors(void)
{
	char conf[512], path[512], text[1200], want[1200];

	error_conf_path(conf, sizeof(conf));
	snprintf(path, sizeof(path), "%s/absent", tmpdir);
	snprintf(text, sizeof(text), "[customerio]\n\napi_key_file = %s\n",
	         path);
	snprintf(want, sizeof(want),
	         "%s:3: customerio.api_key_file: %s: No such file or "
	         "directory",
	         conf, path);
	unsetenv("FORMRELAY_API_KEY");
	expect_load_error(text, want, "missing key file");

	write_file("empty", " \n", 0600, path, sizeof(path));
	snprintf(text, sizeof(text), "[customerio]\napi_key_file = %s\n", path);
	snprintf(want, sizeof(want),
	         "%s:2: customerio.api_key_file: %s: the file is empty", conf,
	         path);
	expect_load_error(text, want, "empty key file");

	write_file("twolines", "abc\ndef\n", 0600, path, sizeof(path));
	snprintf(text, sizeof(text), "[customerio]\napi_key_file = %s\n", path);
	snprintf(want, sizeof(want),
	         "%s:2: customerio.api_key_file: %s: contains spaces, control "
	         "characters, ':' or non-ASCII bytes",
	         conf, path);
	expect_load_error(text, want, "two-line key file");

	snprintf(text, sizeof(text), "[customerio]\napi_key_file = %s\n",
	         tmpdir);
	snprintf(want, sizeof(want),
	         "%s:2: customerio.api_key_file: %s: not a regular file", conf,
	         tmpdir);
	expect_load_error(text, want, "directory as key file");
}

static void
test_permission_warnings(void)
{
	char keyfile[512], conf[512], text[1200];
	struct config cfg;
	struct fr_error err = {0};

	unsetenv("FORMRELAY_API_KEY");
	memset(&cfg, 0, sizeof(cfg));
	write_file("w.conf", "[customerio]\n\napi_key = " INLINE_KEY "\n", 0644,
	           conf, sizeof(conf));
	is_int(config_load(&cfg, conf, &err), FR_OK, "0644 inline load");
	snprintf(text, sizeof(text),
	         "%s:3: customerio.api_key is set in a file readable by group "
	         "and others (mode 0644); prefer api_key_file (mode 0600 or "
	         "0640) or FORMRELAY_API_KEY\n",
	         conf);
	is_str(cfg.warnings, text, "inline key in a 0644 file warns");
	ok(cfg.warnings && !strstr(cfg.warnings, INLINE_KEY),
	   "warning without the key");

	chmod(conf, 0640);
	is_int(config_load(&cfg, conf, &err), FR_OK, "0640 inline load");
	ok(cfg.warnings && strstr(cfg.warnings, "readable by group (mode "
	                                        "0640)"),
	   "group-readable inline key warns, says group");

	write_file("k644", FILE_KEY "\n", 0644, keyfile, sizeof(keyfile));
	snprintf(text, sizeof(text), "[customerio]\napi_key_file = %s\n",
	         keyfile);
	write_file("w.conf", text, 0644, conf, sizeof(conf));
	is_int(config_load(&cfg, conf, &err), FR_OK, "0644 key file load");
	snprintf(text, sizeof(text),
	         "%s:2: customerio.api_key_file %s is readable by others "
	         "(mode 0644); chmod o-r it\n",
	         conf, keyfile);
	is_str(cfg.warnings, text, "0644 key file warns");
	is_str(cfg.api_key, FILE_KEY, "key still read");

	chmod(keyfile, 0640);
	is_int(config_load(&cfg, conf, &err), FR_OK, "0640 key file load");
	ok(cfg.warnings == NULL, "0640 key file (group only): no warning");
	config_free(&cfg);
}

#define WHSEC "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

static void
test_webhook_secret(void)
{
	char secret[512], conf[512], text[1200], want[1200];
	struct config cfg;
	struct fr_error err = {0};
	char *out;

	memset(&cfg, 0, sizeof(cfg));
	write_file("whsec", WHSEC "\n", 0600, secret, sizeof(secret));
	snprintf(text, sizeof(text), "[http]\nwebhook_secret_file = %s\n",
	         secret);
	write_file("h.conf", text, 0600, conf, sizeof(conf));
	is_int(config_load(&cfg, conf, &err), FR_OK, "webhook secret: %s",
	       err.message);
	is_str(cfg.webhook_secret, WHSEC, "secret read and trimmed");
	out = printed(&cfg);
	ok(out && !strstr(out, "MfKQ9r8GKYqr") &&
	           strstr(out, "http.webhook_secret = whsec_********\n"),
	   "print masks the webhook secret");
	free(out);
	config_free(&cfg);

	write_file("whsec", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", 0600, secret,
	           sizeof(secret));
	error_conf_path(conf, sizeof(conf));
	snprintf(want, sizeof(want),
	         "%s:2: http.webhook_secret_file: %s: expected a secret "
	         "starting with whsec_",
	         conf, secret);
	expect_load_error(text, want, "secret without whsec_");
}

static void
test_print_masks(void)
{
	struct config cfg;
	struct fr_error err = {0};
	char *out;

	unsetenv("FORMRELAY_API_KEY");
	is_int(parse("[customerio]\napi_key = short_key1\n", &cfg, &err), FR_OK,
	       "short key");
	out = printed(&cfg);
	ok(out && !strstr(out, "short") &&
	           strstr(out, "customerio.api_key = ******** (from "
	                       "api_key)\n"),
	   "a key under 12 characters is fully masked");
	free(out);
	config_free(&cfg);

	is_int(parse("[customerio]\napi_key = abcdefghijkl\n", &cfg, &err),
	       FR_OK, "12-character key");
	out = printed(&cfg);
	ok(out && !strstr(out, "abcdefghijkl") && !strstr(out, "abcde") &&
	           strstr(out, "= abcd\xe2\x80\xa6 (12 characters"),
	   "a 12-character key shows 4 characters");
	free(out);
	config_free(&cfg);
}

/* Files that cannot be read, or are too large to be what they claim. */
static void
test_file_limits(void)
{
	char path[512], text[1200], want[1200], conf[512];
	struct config cfg;
	struct fr_error err = {0};
	char *big;
	size_t i;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(want, sizeof(want), "%s: Is a directory", tmpdir);
	is_int(config_load(&cfg, tmpdir, &err), FR_ECONFIG, "directory");
	is_str(err.message, want, "directory as configuration");

	big = malloc(CONFIG_MAX_FILE + 2);
	memset(big, ';', CONFIG_MAX_FILE + 1);
	for (i = 100; i < CONFIG_MAX_FILE; i += 100)
		big[i] = '\n';
	big[CONFIG_MAX_FILE + 1] = '\0';
	write_file("big.conf", big, 0600, path, sizeof(path));
	snprintf(want, sizeof(want), "%s: larger than 1048576 bytes", path);
	is_int(config_load(&cfg, path, &err), FR_ECONFIG, "huge file");
	is_str(err.message, want, "huge configuration file");
	big[CONFIG_MAX_SECRET + 1] = '\0';
	memset(big, 'k', CONFIG_MAX_SECRET + 1);
	write_file("bigkey", big, 0600, path, sizeof(path));
	free(big);

	error_conf_path(conf, sizeof(conf));
	snprintf(text, sizeof(text), "[customerio]\napi_key_file = %s\n", path);
	snprintf(want, sizeof(want),
	         "%s:2: customerio.api_key_file: %s: file larger than 4096 "
	         "bytes",
	         conf, path);
	expect_load_error(text, want, "huge key file");

	snprintf(path, sizeof(path), "%s/nosecret", tmpdir);
	snprintf(text, sizeof(text), "[http]\n\n\nwebhook_secret_file = %s\n",
	         path);
	snprintf(want, sizeof(want),
	         "%s:4: http.webhook_secret_file: %s: No such file or "
	         "directory",
	         conf, path);
	expect_load_error(text, want, "missing webhook secret file");
}

static void
test_alias_limit(void)
{
	char *text = malloc(8192);
	struct config cfg;
	struct fr_error err = {0};
	size_t len;
	int i;

	len = (size_t)snprintf(text, 8192, "[fields]\n");
	for (i = 0; i < 5; i++) {
		int j;

		len += (size_t)snprintf(text + len, 8192 - len,
		                        "alias.t%d = ", i);
		for (j = 0; j < 60; j++)
			len += (size_t)snprintf(text + len, 8192 - len, "n%d,",
			                        j);
		text[len++] = '\n';
		text[len] = '\0';
	}
	is_int(parse(text, &cfg, &err), FR_ECONFIG, "300 aliases");
	is_str(err.message, "t.conf:6: fields.alias: more than 256 aliases",
	       "alias limit message");
	config_free(&cfg);
	free(text);
}

static void
test_print_odd_values(void)
{
	struct config cfg;
	struct fr_error err = {0};
	char *out;

	is_int(parse("[http]\nmax_body = 1000\nrate_limit = off\n"
	             "[spool]\nretry_min = 1500ms\nmax_age = 0d\n",
	             &cfg, &err),
	       FR_ECONFIG, "zero max_age");
	config_free(&cfg);
	is_int(parse("[http]\nmax_body = 1000\nrate_limit = 0/min\n"
	             "[spool]\nretry_min = 1500ms\n",
	             &cfg, &err),
	       FR_OK, "odd values");
	out = printed(&cfg);
	ok(out && strstr(out, "http.max_body = 1000\n") &&
	           strstr(out, "http.rate_limit = off\n") &&
	           strstr(out, "spool.retry_min = 1500ms\n"),
	   "print: plain bytes, rate off, milliseconds");
	free(out);
	config_free(&cfg);
}

/* 1 when key starts a line of text, possibly commented out with ';'. */
static int
documented(const char *text, const char *key, size_t len)
{
	char name[64];
	const char *p = text;

	snprintf(name, sizeof(name), "%.*s", (int)len, key);
	while ((p = strstr(p, name)) != NULL) {
		int at_start =
		        p == text || p[-1] == '\n' ||
		        (p[-1] == ';' && (p - 1 == text || p[-2] == '\n'));

		if (at_start &&
		    (p[len] == ' ' || p[len] == '=' || name[len - 1] == '.'))
			return 1;
		p++;
	}
	return 0;
}

/* The sample parses to the defaults and documents every key. */
static void
test_sample(void)
{
	const char *srcdir = getenv("FORMRELAY_SRCDIR");
	struct config cfg, def;
	struct fr_error err = {0};
	char path[1024], *text, *want, *got, *line, *next;
	size_t len = 0, missing = 0;

	snprintf(path, sizeof(path), "%s/contrib/formrelay.conf.sample",
	         srcdir ? srcdir : ".");
	text = slurp(path, &len);
	if (!ok(text != NULL, "read %s", path))
		return;
	memset(&cfg, 0, sizeof(cfg));
	is_int(config_parse_string(&cfg, text, len, "sample", &err), FR_OK,
	       "the sample parses: %s", err.message);
	config_defaults(&def);
	want = printed(&def);
	got = printed(&cfg);
	is_str(got, want, "the sample holds the defaults");
	free(got);
	config_free(&cfg);
	config_free(&def);
	free(want);

	parse_fixture("full.conf", &cfg, &err);
	got = printed(&cfg);
	for (line = got; line && *line; line = next) {
		char *dot = strchr(line, '.'), *eq = strstr(line, " =");
		size_t klen;

		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		if (dot == NULL || eq == NULL || eq < dot)
			continue;
		klen = (size_t)(eq - dot - 1);
		if (strncmp(dot + 1, "alias.", 6) == 0)
			klen = 6;
		if (strncmp(line, "http.webhook_secret =", 21) == 0)
			continue; /* read from webhook_secret_file */
		if (!documented(text, dot + 1, klen)) {
			printf("# undocumented: %.*s\n", (int)klen, dot + 1);
			missing++;
		}
	}
	is_int(missing, 0, "the sample documents every key");
	free(got);
	config_free(&cfg);
	free(text);
}

/* [spool] backend, url, password_file (SPEC "PostgreSQL spool"). */
static void
test_spool_backend(void)
{
	struct config cfg;
	struct fr_error err = {0};
	char out[4096];
	FILE *fp;
	size_t n;

	is_int(parse("[spool]\nbackend = PostgreSQL\n"
	             "url = postgresql://fr:s3cret@db1,db2/fr"
	             "?target_session_attrs=read-write\n"
	             "password_file = /etc/formrelay/pgpass\n",
	             &cfg, &err),
	       FR_OK, "backend = postgresql with a url: %s", err.message);
	ok(cfg.spool_postgresql, "the backend is postgresql");
	is_str(cfg.spool_password_file, "/etc/formrelay/pgpass",
	       "password_file kept");
	fp = fmemopen(out, sizeof(out) - 1, "w");
	config_print(&cfg, fp);
	n = ftell(fp);
	fclose(fp);
	out[n] = '\0';
	ok(strstr(out, "spool.backend = postgresql\n") != NULL,
	   "--check-config prints the backend");
	ok(strstr(out, "spool.url = postgresql://fr:***@db1,db2/fr"
	               "?target_session_attrs=read-write\n") != NULL,
	   "and the url with its password masked");
	ok(strstr(out, "s3cret") == NULL, "never the password");
	config_free(&cfg);
	is_int(parse("[spool]\nbackend = sqlite\n", &cfg, &err), FR_OK,
	       "backend = sqlite");
	ok(!cfg.spool_postgresql && cfg.spool_url == NULL, "the default");
	config_free(&cfg);
	expect_error("[spool]\nbackend = mysql\n",
	             "t.conf:2: spool.backend: expected sqlite or postgresql, "
	             "got 'mysql'");
	expect_error("[spool]\nbackend = postgresql\n",
	             "t.conf:2: spool.backend = postgresql needs spool.url");
	expect_error("[spool]\nurl = postgresql://db/fr\n",
	             "t.conf:2: spool.url is set but spool.backend is not "
	             "postgresql");
	expect_error("[spool]\nbackend = postgresql\nurl = postgresql://db/fr\n"
	             "[antispam]\ncaptcha = turnstile\n",
	             "t.conf:5: antispam.captcha needs spool.backend = sqlite: "
	             "a PostgreSQL spool does not hold CAPTCHA tokens yet");
}

int
main(void)
{
	char cmd[600];

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	unsetenv("FORMRELAY_API_KEY");
	test_defaults();
	test_spec_block();
	test_full_file();
	test_errors();
	test_nul_byte();
	test_long_lines();
	test_too_many();
	test_comments_and_quotes();
	test_crlf_bom();
	test_lists();
	test_normal_forms();
	test_url_values();
	test_untouched_on_error();
	test_sizes();
	test_durations();
	test_choose_path();
	test_missing_file();
	test_key_precedence();
	test_key_file_errors();
	test_captcha_secret();
	test_permission_warnings();
	test_webhook_secret();
	test_print_masks();
	test_sample();
	test_file_limits();
	test_alias_limit();
	test_print_odd_values();
	test_spool_backend();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		ok(0, "remove %s", tmpdir);
	return done_testing();
}
