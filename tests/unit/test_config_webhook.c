/* Unit tests for the [webhook.NAME] sections (src/config_webhook.c). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"
#include "tmpdir.h"

static char tmpdir[512];

static int
parse(const char *text, struct config *cfg, struct fr_error *err)
{
	memset(cfg, 0, sizeof(*cfg));
	fr_error_clear(err);
	return config_parse_string(cfg, text, strlen(text), "t.conf", err);
}

static void
expect_error(const char *text, const char *message)
{
	struct config cfg;
	struct fr_error err = {0};

	is_int(parse(text, &cfg, &err), FR_ECONFIG, "rejected: %s", message);
	is_str(err.message, message, "exact message");
	config_free(&cfg);
}

static void
write_file(const char *name, const char *content, char *out, size_t size)
{
	FILE *fp;

	snprintf(out, size, "%s/%s", tmpdir, name);
	fp = fopen(out, "w");
	if (fp == NULL || fputs(content, fp) < 0 || fclose(fp) != 0) {
		perror(out);
		exit(1);
	}
	chmod(out, 0600);
}

static void
test_parse(void)
{
	struct config cfg;
	struct fr_error err = {0};
	const struct config_hook *h;
	static const char text[] = "[webhook.tally]\n"
	                           "platform = tally\n"
	                           "secret_file = /etc/formrelay/tally.secret\n"
	                           "rate_limit = 100/min\n"
	                           "[webhook.github]\n"
	                           "platform = hmac\n"
	                           "secret_file = /etc/gh\n"
	                           "header = X-Hub-Signature-256\n"
	                           "algorithm = sha256\n"
	                           "encoding = hex\n"
	                           "prefix = sha256=\n"
	                           "[webhook.jot-form_1]\n"
	                           "platform = jotform\n"
	                           "token_file = /etc/jot\n"
	                           "id_fields = submissionID, entryId\n";

	is_int(parse(text, &cfg, &err), FR_OK, "three sections parse: %s",
	       err.message);
	is_int(cfg.hook_count, 3, "three hooks");
	h = config_hook_find(&cfg, "tally", 5);
	ok(h && h->platform == HOOK_TALLY && h->rate_count == 100 &&
	           h->rate_window_ms == 60000 &&
	           strcmp(h->secret_file, "/etc/formrelay/tally.secret") == 0,
	   "tally: platform, rate_limit and secret_file");
	h = config_hook_find(&cfg, "github", 6);
	ok(h && h->platform == HOOK_HMAC && h->algorithm == HOOK_SHA256 &&
	           h->encoding == HOOK_HEX &&
	           strcmp(h->header, "X-Hub-Signature-256") == 0 &&
	           strcmp(h->prefix, "sha256=") == 0,
	   "github: the hmac keys");
	h = config_hook_find(&cfg, "jot-form_1", 10);
	ok(h && h->platform == HOOK_JOTFORM && h->rate_count == 600 &&
	           h->id_fields.count == 2 &&
	           strcmp(h->id_fields.items[0], "submissionID") == 0,
	   "jotform: default rate 600/min, id_fields");
	ok(config_hook_find(&cfg, "jot", 3) == NULL, "no prefix match");
	config_free(&cfg);
}

static void
test_errors(void)
{
	expect_error("[webhook.a]\nsecret_file = /x\n",
	             "t.conf: [webhook.a]: platform is not set (standard, "
	             "typeform, tally, webflow, jotform, unbounce or hmac)");
	expect_error("[webhook.a]\nplatform = zapier\n",
	             "t.conf:2: webhook.a.platform: expected standard, "
	             "typeform, tally, webflow, jotform, unbounce or hmac, got "
	             "'zapier'");
	expect_error("[webhook.a]\nplatform = typeform\n",
	             "t.conf: [webhook.a]: secret_file (or token_file) is "
	             "required");
	expect_error("[webhook.a]\nplatform = jotform\n",
	             "t.conf: [webhook.a]: token_file is required (the URL "
	             "carries ?token=<its value>)");
	expect_error("[webhook.a]\nplatform = unbounce\nsecret_file = /x\n",
	             "t.conf: [webhook.a]: this platform signs nothing: use "
	             "token_file, not secret_file");
	expect_error("[webhook.a]\nplatform = hmac\nsecret_file = /x\n",
	             "t.conf: [webhook.a]: platform = hmac needs header (where "
	             "the signature is)");
	expect_error("[webhook.a]\nplatform = tally\nsecret_file = /x\n"
	             "header = X-Sig\n",
	             "t.conf: [webhook.a]: header, algorithm, encoding, "
	             "prefix, timestamp_header and separator are for platform "
	             "= hmac only");
	expect_error("[webhook.a]\nplatform = hmac\nalgorithm = md5\n",
	             "t.conf:3: webhook.a.algorithm: expected sha256, sha512 "
	             "or sha1, got 'md5'");
	expect_error("[webhook.a]\nplatform = hmac\nheader = X Sig\n",
	             "t.conf:3: webhook.a.header: expected an HTTP header name "
	             "such as X-Signature, got 'X Sig'");
	expect_error("[webhook.a]\nplatform = tally\nplatform = tally\n",
	             "t.conf:3: webhook.a.platform: duplicate key in this "
	             "section, got 'tally'");
	expect_error("[webhook.a]\ncolour = red\n",
	             "t.conf:2: unknown key 'colour' in [webhook.a]");
	expect_error("[webhook.a/b]\n",
	             "t.conf:1: [webhook.a/b]: expected [webhook.NAME] with a "
	             "NAME of up to 64 letters, digits, '_' or '-'");
	expect_error("[webhook.a]\nplatform = tally\ntoken_file = /t\n"
	             "[webhook.a]\n",
	             "t.conf:4: [webhook.a]: this [webhook.NAME] section is "
	             "already defined");
	expect_error("[webhook.a]\nplatform = hmac\nsecret_file = /x\nheader = "
	             "X-S\nseparator = :\n",
	             "t.conf: [webhook.a]: separator needs timestamp_header");
}

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
test_secrets(void)
{
	char secret[600], token[600], std[600], conf[600], text[4000];
	struct config cfg;
	struct fr_error err = {0};
	const struct config_hook *h;
	char *out;

	write_file("tf", "  new-secret\n\nold-secret \n", secret,
	           sizeof(secret));
	write_file("tok", "t0k3n\n", token, sizeof(token));
	write_file("std", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", std,
	           sizeof(std));
	snprintf(text, sizeof(text),
	         "[webhook.tf]\nplatform = typeform\nsecret_file = %s\n"
	         "token_file = %s\n[webhook.emb]\nplatform = standard\n"
	         "secret_file = %s\n",
	         secret, token, std);
	write_file("c.conf", text, conf, sizeof(conf));
	memset(&cfg, 0, sizeof(cfg));
	is_int(config_load(&cfg, conf, &err), FR_OK, "load: %s", err.message);
	h = config_hook_find(&cfg, "tf", 2);
	ok(h && h->secret_count == 2 &&
	           strcmp(h->secrets[0], "new-secret") == 0 &&
	           strcmp(h->secrets[1], "old-secret") == 0,
	   "secret_file: one secret a line (rotation), trimmed");
	ok(h && h->token_count == 1 && strcmp(h->tokens[0], "t0k3n") == 0,
	   "token_file read");
	out = printed(&cfg);
	ok(out && strstr(out, "webhook.tf.platform = typeform\n") &&
	           !strstr(out, "new-secret") && !strstr(out, "t0k3n"),
	   "print: sections shown, secrets never");
	free(out);
	config_free(&cfg);

	write_file("std", "whsec_c2hvcnQ=\n", std, sizeof(std));
	memset(&cfg, 0, sizeof(cfg));
	is_int(config_load(&cfg, conf, &err), FR_ECONFIG,
	       "a Standard Webhooks secret that does not decode stops "
	       "start-up");
	ok(strstr(err.message, ":7: webhook.emb.secret_file: ") != NULL,
	   "... naming the line and key: %s", err.message);
	config_free(&cfg);

	write_file("tf", "", secret, sizeof(secret));
	memset(&cfg, 0, sizeof(cfg));
	is_int(config_load(&cfg, conf, &err), FR_ECONFIG, "empty secret file");
	ok(strstr(err.message, ":3: webhook.tf.secret_file: ") &&
	           strstr(err.message, "the file is empty"),
	   "... says so: %s", err.message);
	config_free(&cfg);
}

int
main(void)
{
	if (tmpdir_make(tmpdir, sizeof(tmpdir), "test_config_webhook") != 0) {
		perror("mkdtemp");
		return 1;
	}
	test_parse();
	test_errors();
	test_secrets();
	tmpdir_remove(tmpdir);
	return done_testing();
}
