/*
 * Configuration: the [webhook.NAME] sections (SPEC "Webhook sources").
 * config.c hands each such section and its keys here; config_io.c
 * calls cw_load_secrets once the text is read.
 *
 *   [webhook.NAME]     route <mount>/hooks/NAME
 *   platform         = standard | typeform | tally | webflow | jotform |
 *                      unbounce | hmac
 *   secret_file      = signing secret(s), one a line (rotation)
 *   token_file       = ?token= value(s) for senders that sign nothing
 *   rate_limit       = 600/min (default) | N/sec | N/hour | off
 *   id_fields        = ids for this source instead of [identity]'s
 *   header, algorithm, encoding, prefix, timestamp_header, separator
 *                      platform = hmac only
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_int.h"
#include "util.h"
#include "webhook.h"

#define DEFAULT_RATE_COUNT  600
#define DEFAULT_RATE_WINDOW (60 * 1000)

static const char *const platform_names[] = {
        "standard", "typeform", "tally", "webflow",
        "jotform",  "unbounce", "hmac",
};

const char *
config_hook_platform_name(enum hook_platform p)
{
	return (size_t)p < sizeof(platform_names) / sizeof(platform_names[0])
	               ? platform_names[p]
	               : "?";
}

const struct config_hook *
config_hook_find(const struct config *cfg, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < cfg->hook_count; i++)
		if (strlen(cfg->hooks[i].name) == len &&
		    memcmp(cfg->hooks[i].name, name, len) == 0)
			return &cfg->hooks[i];
	return NULL;
}

/* NAME: what a URL path segment carries unescaped. */
static int
name_ok(const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];

		if (i >= CONFIG_MAX_HOOK_ID ||
		    !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return i > 0;
}

int
cw_section(struct config *cfg, const char *name, const char **why)
{
	struct config_hook *h;

	if (!name_ok(name)) {
		*why = "expected [webhook.NAME] with a NAME of up to 64 "
		       "letters, digits, '_' or '-'";
		return -1;
	}
	if (config_hook_find(cfg, name, strlen(name)) != NULL) {
		*why = "this [webhook.NAME] section is already defined";
		return -1;
	}
	if (cfg->hook_count == CONFIG_MAX_HOOKS) {
		*why = "more than 32 [webhook.NAME] sections";
		return -1;
	}
	h = &cfg->hooks[cfg->hook_count];
	memset(h, 0, sizeof(*h));
	h->platform = (enum hook_platform) - 1;
	h->rate_count = DEFAULT_RATE_COUNT;
	h->rate_window_ms = DEFAULT_RATE_WINDOW;
	if ((h->name = xstrdup(name)) == NULL)
		return FR_ENOMEM;
	cfg->hook_count++;
	return FR_OK;
}

static int
pick(const char *value, const char *const *names, size_t n, int *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ascii_casecmp(value, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	return -1;
}

static int
set_string(char **slot, const char *value)
{
	char *copy = xstrdup(value);

	if (copy == NULL)
		return FR_ENOMEM;
	free(*slot);
	*slot = copy;
	return FR_OK;
}

/* A header name as RFC 9110 5.1 allows (a token). */
static int
header_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') ||
		      strchr("!#$%&'*+-.^_`|~", *s)))
			return 0;
	return 1;
}

static int
set_platform(struct config_hook *h, const char *value, const char **why)
{
	int p;

	if (pick(value, platform_names,
	         sizeof(platform_names) / sizeof(platform_names[0]), &p) != 0) {
		*why = "expected standard, typeform, tally, webflow, jotform, "
		       "unbounce or hmac";
		return -1;
	}
	h->platform = (enum hook_platform)p;
	return FR_OK;
}

static int
set_header(char **slot, const char *value, const char **why)
{
	if (!header_name_ok(value)) {
		*why = "expected an HTTP header name such as X-Signature";
		return -1;
	}
	return set_string(slot, value);
}

static int
set_id_fields(struct config_hook *h, char *value, const char **why)
{
	char *save = NULL, *tok;

	for (tok = strtok_r(value, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		tok[strcspn(tok, " \t")] = '\0';
		if (*tok == '\0')
			continue;
		if (h->id_fields.count == CONFIG_MAX_LIST) {
			*why = "more than 64 entries";
			return -1;
		}
		if ((h->id_fields.items[h->id_fields.count] = xstrdup(tok)) ==
		    NULL)
			return FR_ENOMEM;
		h->id_fields.count++;
	}
	return FR_OK;
}

/* The keys only platform = hmac takes. */
static int
set_hmac_key(struct config_hook *h, const char *key, const char *value,
             const char **why)
{
	static const char *const algs[] = {"sha256", "sha512", "sha1"};
	static const char *const encs[] = {"hex", "base64"};
	int v;

	if (ascii_casecmp(key, "header") == 0)
		return set_header(&h->header, value, why);
	if (ascii_casecmp(key, "timestamp_header") == 0)
		return set_header(&h->timestamp_header, value, why);
	if (ascii_casecmp(key, "prefix") == 0)
		return set_string(&h->prefix, value);
	if (ascii_casecmp(key, "separator") == 0)
		return set_string(&h->separator, value);
	if (ascii_casecmp(key, "algorithm") == 0) {
		if (pick(value, algs, 3, &v) != 0) {
			*why = "expected sha256, sha512 or sha1";
			return -1;
		}
		h->algorithm = (enum hook_algorithm)v;
		return FR_OK;
	}
	if (ascii_casecmp(key, "encoding") == 0) {
		if (pick(value, encs, 2, &v) != 0) {
			*why = "expected hex or base64";
			return -1;
		}
		h->encoding = (enum hook_encoding)v;
		return FR_OK;
	}
	return 1;
}

static const char *const key_names[] = {
        "platform",  "secret_file",      "token_file", "rate_limit",
        "id_fields", "header",           "algorithm",  "encoding",
        "prefix",    "timestamp_header", "separator",
};

int
cw_set(struct config *cfg, const char *key, char *value, unsigned line,
       const char **why)
{
	struct config_hook *h = &cfg->hooks[cfg->hook_count - 1];
	int k;

	if (pick(key, key_names, sizeof(key_names) / sizeof(key_names[0]),
	         &k) != 0)
		return 1;
	if (h->keys_seen & (1u << k)) {
		*why = "duplicate key in this section";
		return -1;
	}
	h->keys_seen |= 1u << k;
	if (ascii_casecmp(key, "platform") == 0)
		return set_platform(h, value, why);
	if (ascii_casecmp(key, "secret_file") == 0) {
		h->secret_line = line;
		return set_string(&h->secret_file, value);
	}
	if (ascii_casecmp(key, "token_file") == 0) {
		h->token_line = line;
		return set_string(&h->token_file, value);
	}
	if (ascii_casecmp(key, "rate_limit") == 0) {
		if (cv_parse_rate(value, &h->rate_count, &h->rate_window_ms)) {
			*why = "expected N/sec, N/min, N/hour or off";
			return -1;
		}
		return FR_OK;
	}
	if (ascii_casecmp(key, "id_fields") == 0)
		return set_id_fields(h, value, why);
	return set_hmac_key(h, key, value, why);
}

/* One section's cross-key rules; why is static text. */
static int
hook_check(const struct config_hook *h, const char **why)
{
	int unsigned_platform =
	        h->platform == HOOK_JOTFORM || h->platform == HOOK_UNBOUNCE;

	if ((int)h->platform < 0) {
		*why = "platform is not set (standard, typeform, tally, "
		       "webflow, jotform, unbounce or hmac)";
		return -1;
	}
	if (unsigned_platform && h->secret_file != NULL) {
		*why = "this platform signs nothing: use token_file, not "
		       "secret_file";
		return -1;
	}
	if (h->secret_file == NULL && h->token_file == NULL) {
		*why = unsigned_platform
		               ? "token_file is required (the URL carries "
		                 "?token=<its value>)"
		               : "secret_file (or token_file) is required";
		return -1;
	}
	if (h->platform != HOOK_HMAC &&
	    (h->header || h->prefix || h->timestamp_header || h->separator ||
	     h->algorithm != HOOK_SHA256 || h->encoding != HOOK_HEX)) {
		*why = "header, algorithm, encoding, prefix, timestamp_header "
		       "and separator are for platform = hmac only";
		return -1;
	}
	if (h->platform == HOOK_HMAC && h->secret_file != NULL &&
	    h->header == NULL) {
		*why = "platform = hmac needs header (where the signature "
		       "is)";
		return -1;
	}
	if (h->separator != NULL && h->timestamp_header == NULL) {
		*why = "separator needs timestamp_header";
		return -1;
	}
	return 0;
}

int
cw_finish(const struct config *cfg, const char **name, const char **why)
{
	size_t i;

	for (i = 0; i < cfg->hook_count; i++) {
		if (hook_check(&cfg->hooks[i], why) != 0) {
			*name = cfg->hooks[i].name;
			return -1;
		}
	}
	return 0;
}

/* The non-empty lines of a secret file, each a secret of printable
 * ASCII without spaces. */
static int
split_lines(char *buf, char **out, size_t *count, const char **why)
{
	char *save = NULL, *line, *end;
	size_t n = 0;

	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		end = line + strlen(line);
		while (end > line &&
		       (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '\0')
			continue;
		for (end = line; *end != '\0'; end++)
			if ((unsigned char)*end <= 0x20 ||
			    (unsigned char)*end >= 0x7f) {
				*why = "a line holds spaces, control "
				       "characters or non-ASCII bytes";
				return -1;
			}
		if (n == CONFIG_MAX_ROTATE) {
			*why = "more than 4 lines (one secret a line)";
			return -1;
		}
		if ((out[n] = xstrdup(line)) == NULL)
			return FR_ENOMEM;
		*count = ++n;
	}
	if (n == 0) {
		*why = "the file is empty";
		return -1;
	}
	return FR_OK;
}

static int
load_one(struct config *cfg, const char *key, unsigned line, const char *path,
         char **out, size_t *count, struct fr_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	const char *why = NULL;
	int rc;

	if (path == NULL)
		return FR_OK;
	rc = config_secret_file(cfg, key, line, path, &buf, &len, err);
	if (rc != FR_OK)
		return rc;
	rc = split_lines(buf, out, count, &why);
	explicit_bzero(buf, len);
	free(buf);
	if (rc == FR_ENOMEM)
		return fr_fail(err, FR_ENOMEM, NULL, NULL, "out of memory");
	if (rc != FR_OK)
		return fr_fail(err, FR_ECONFIG, NULL, NULL, "%s:%u: %s: %s: %s",
		               cfg->path ? cfg->path : "(config)", line, key,
		               path, why);
	return FR_OK;
}

/* Standard Webhooks secrets must decode now, not at each request. */
static int
check_standard(const struct config *cfg, const struct config_hook *h,
               struct fr_error *err)
{
	struct fr_error why;
	size_t i;

	for (i = 0; h->platform == HOOK_STANDARD && i < h->secret_count; i++)
		if (webhook_secret_check(h->secrets[i], &why) != FR_OK)
			return fr_fail(err, FR_ECONFIG, NULL, NULL,
			               "%s:%u: webhook.%s.secret_file: %s: %s",
			               cfg->path ? cfg->path : "(config)",
			               h->secret_line, h->name, h->secret_file,
			               why.message);
	return FR_OK;
}

int
cw_load_secrets(struct config *cfg, struct fr_error *err)
{
	char key[128];
	size_t i;
	int rc = FR_OK;

	for (i = 0; rc == FR_OK && i < cfg->hook_count; i++) {
		struct config_hook *h = &cfg->hooks[i];

		snprintf(key, sizeof(key), "webhook.%s.secret_file", h->name);
		rc = load_one(cfg, key, h->secret_line, h->secret_file,
		              h->secrets, &h->secret_count, err);
		snprintf(key, sizeof(key), "webhook.%s.token_file", h->name);
		if (rc == FR_OK)
			rc = load_one(cfg, key, h->token_line, h->token_file,
			              h->tokens, &h->token_count, err);
		if (rc == FR_OK)
			rc = check_standard(cfg, h, err);
	}
	return rc;
}

static void
free_secrets(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		explicit_bzero(v[i], strlen(v[i]));
		free(v[i]);
		v[i] = NULL;
	}
}

void
cw_free(struct config *cfg)
{
	size_t i, j;

	for (i = 0; i < cfg->hook_count; i++) {
		struct config_hook *h = &cfg->hooks[i];

		free(h->name);
		free(h->secret_file);
		free(h->token_file);
		free_secrets(h->secrets, h->secret_count);
		free_secrets(h->tokens, h->token_count);
		free(h->header);
		free(h->prefix);
		free(h->timestamp_header);
		free(h->separator);
		for (j = 0; j < h->id_fields.count; j++)
			free(h->id_fields.items[j]);
		memset(h, 0, sizeof(*h));
	}
	cfg->hook_count = 0;
}

static void
print_opt(FILE *fp, const char *name, const char *key, const char *v)
{
	if (v != NULL)
		fprintf(fp, "webhook.%s.%s = %s\n", name, key, v);
}

void
cw_print(const struct config *cfg, FILE *fp)
{
	static const char *const algs[] = {"sha256", "sha512", "sha1"};
	char buf[48];
	size_t i, j;

	for (i = 0; i < cfg->hook_count; i++) {
		const struct config_hook *h = &cfg->hooks[i];

		fprintf(fp, "webhook.%s.platform = %s\n", h->name,
		        config_hook_platform_name(h->platform));
		print_opt(fp, h->name, "secret_file", h->secret_file);
		if (h->secret_count > 0)
			fprintf(fp, "webhook.%s.secrets = %zu (********)\n",
			        h->name, h->secret_count);
		print_opt(fp, h->name, "token_file", h->token_file);
		cv_format_rate(h->rate_count, h->rate_window_ms, buf,
		               sizeof(buf));
		fprintf(fp, "webhook.%s.rate_limit = %s\n", h->name, buf);
		if (h->id_fields.count > 0) {
			fprintf(fp, "webhook.%s.id_fields =", h->name);
			for (j = 0; j < h->id_fields.count; j++)
				fprintf(fp, "%s%s", j ? ", " : " ",
				        h->id_fields.items[j]);
			fputc('\n', fp);
		}
		if (h->platform != HOOK_HMAC)
			continue;
		print_opt(fp, h->name, "header", h->header);
		fprintf(fp, "webhook.%s.algorithm = %s\n", h->name,
		        algs[h->algorithm]);
		fprintf(fp, "webhook.%s.encoding = %s\n", h->name,
		        h->encoding == HOOK_HEX ? "hex" : "base64");
		print_opt(fp, h->name, "prefix", h->prefix);
		print_opt(fp, h->name, "timestamp_header", h->timestamp_header);
		print_opt(fp, h->name, "separator", h->separator);
	}
}
