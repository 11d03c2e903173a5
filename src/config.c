/*
 * Configuration: the defaults, parsing a string over them, and freeing.
 * The INI reader is config_ini.c and config_keys.c; files, secrets and
 * printing are config_io.c.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_ini.h"
#include "config_int.h"
#include "util.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

#ifndef PKGDATADIR
#define PKGDATADIR "/usr/local/share/formrelay"
#endif

void
config_list_clear(struct config_list *list)
{
	size_t i;

	for (i = 0; i < list->count; i++) {
		free(list->items[i]);
		list->items[i] = NULL;
	}
	list->count = 0;
}

static int
list_set(struct config_list *list, const char *const *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		list->items[i] = xstrdup(items[i]);
		if (list->items[i] == NULL)
			return FR_ENOMEM;
		list->count = i + 1;
	}
	return FR_OK;
}

int
config_defaults(struct config *cfg)
{
	static const char *const id_fields[] = {"entryId", "entry_id", "userId",
	                                        "user_id"};
	static const char *const loopback[] = {"127.0.0.0/8", "::1"};

	memset(cfg, 0, sizeof(*cfg));
	cfg->timeout_ms = 10000;
	cfg->max_age_ms = (int64_t)72 * 60 * 60 * 1000;
	cfg->retry_min_ms = 1000;
	cfg->retry_max_ms = 15 * 60 * 1000;
	cfg->lease_ms = 60 * 1000;
	cfg->max_body = 64 * 1024;
	cfg->rate_limit_count = 20;
	cfg->rate_limit_window_ms = 60 * 1000;
	cfg->log_level = LOG_INFO;
	cfg->spam.double_submit_ms = 5000;
	cfg->spam.recaptcha_min_score = 0.5;
	cfg->spam.captcha_fail_open = 1;
	cfg->spam.mx_check_timeout_ms = 2000;
	cfg->region = xstrdup("us");
	cfg->api_base = xstrdup(API_BASE_US);
	cfg->event = xstrdup("");
	cfg->spool_path = xstrdup(LOCALSTATEDIR "/lib/formrelay/spool.db");
	cfg->spam.disposable_domains_file =
	        xstrdup(PKGDATADIR "/disposable_domains.txt");
	if (cfg->region == NULL || cfg->api_base == NULL ||
	    cfg->spam.disposable_domains_file == NULL || cfg->event == NULL ||
	    cfg->spool_path == NULL ||
	    list_set(&cfg->id_fields, id_fields, 4) != FR_OK ||
	    list_set(&cfg->metrics_allow, loopback, 2) != FR_OK) {
		config_free(cfg);
		return FR_ENOMEM;
	}
	return FR_OK;
}

/* Secrets are wiped before their memory goes back to malloc. */
static void
free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->region);
	free(cfg->api_base);
	free_secret(cfg->api_key);
	free(cfg->api_key_file);
	config_list_clear(&cfg->id_fields);
	free(cfg->event);
	free(cfg->spool_path);
	free(cfg->spool_url);
	free(cfg->spool_password_file);
	config_list_clear(&cfg->allowed_origins);
	config_list_clear(&cfg->redirect_allow);
	free(cfg->success_url);
	config_list_clear(&cfg->trusted_proxies);
	free(cfg->webhook_secret_file);
	free_secret(cfg->webhook_secret);
	config_list_clear(&cfg->honeypots);
	config_list_clear(&cfg->metrics_allow);
	for (i = 0; i < cfg->alias_count; i++) {
		free(cfg->aliases[i].trait);
		free(cfg->aliases[i].name);
	}
	config_list_clear(&cfg->drop);
	free(cfg->spam.disposable_domains_file);
	config_list_clear(&cfg->spam.mx_check_servers);
	cw_free(cfg);
	free(cfg->spam.captcha_secret_file);
	free_secret(cfg->spam.captcha_secret);
	free(cfg->spam.captcha_verify_url);
	free(cfg->spam.recaptcha_action);
	free(cfg->warnings);
	memset(cfg, 0, sizeof(*cfg));
}

int
config_parse_string(struct config *cfg, const char *text, size_t len,
                    const char *name, struct fr_error *err)
{
	struct config tmp;
	int rc;

	if (name == NULL)
		name = "(string)";
	if (config_defaults(&tmp) != FR_OK)
		return fr_fail(err, FR_ENOMEM, NULL, NULL, "%s: out of memory",
		               name);
	rc = config_parse_into(&tmp, text, len, name, NULL, err);
	if (rc != FR_OK) {
		config_free(&tmp);
		return rc;
	}
	config_free(cfg);
	*cfg = tmp;
	return FR_OK;
}
