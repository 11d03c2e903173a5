/*
 * libFuzzer target: the configuration reader (config_parse_string),
 * which does no I/O, so arbitrary bytes reach every branch of the INI
 * syntax and the value checks.  After each input the result is checked
 * against the reader's promises; a violation aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz invariant violated: %s\n", what);
	abort();
}

static void
check_list(const struct config_list *list)
{
	size_t i;

	if (list->count > CONFIG_MAX_LIST)
		fuzz_fail("list longer than CONFIG_MAX_LIST");
	for (i = 0; i < list->count; i++)
		if (list->items[i] == NULL || list->items[i][0] == '\0')
			fuzz_fail("empty list item");
}

/* What the configuration accepted, the request checks accept too: each
 * normalised origin and redirect prefix allows itself (config_value.c
 * and policy.c parse through the same url.h). */
static void
check_policy(const struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->allowed_origins.count; i++)
		if (!origin_allowed(cfg->allowed_origins.items[i],
		                    &cfg->allowed_origins))
			fuzz_fail("a configured origin is not allowed");
	for (i = 0; i < cfg->redirect_allow.count; i++)
		if (!redirect_allowed(cfg->redirect_allow.items[i],
		                      &cfg->redirect_allow))
			fuzz_fail("a configured prefix is not allowed");
}

/* A success holds a configuration the rest of formrelay can trust. */
static void
check_config(const struct config *cfg)
{
	size_t len;
	FILE *null;

	if (cfg->region == NULL ||
	    (strcmp(cfg->region, "us") != 0 && strcmp(cfg->region, "eu") != 0))
		fuzz_fail("region not us or eu");
	len = cfg->api_base ? strlen(cfg->api_base) : 0;
	if (len == 0 || cfg->api_base[len - 1] == '/' ||
	    strncasecmp(cfg->api_base, "http", 4) != 0)
		fuzz_fail("bad api_base");
	if (cfg->event == NULL || cfg->spool_path == NULL ||
	    cfg->spool_path[0] == '\0')
		fuzz_fail("event or spool path missing");
	if (cfg->timeout_ms < 1 || cfg->timeout_ms > 600000 ||
	    cfg->max_body == 0 || cfg->max_age_ms <= 0 || cfg->lease_ms <= 0 ||
	    cfg->retry_min_ms <= 0 || cfg->retry_min_ms > cfg->retry_max_ms)
		fuzz_fail("number out of range");
	check_list(&cfg->id_fields);
	check_list(&cfg->allowed_origins);
	check_list(&cfg->redirect_allow);
	check_policy(cfg);
	check_list(&cfg->trusted_proxies);
	check_list(&cfg->honeypots);
	check_list(&cfg->drop);
	if (cfg->alias_count > CONFIG_MAX_ALIASES)
		fuzz_fail("too many aliases");
	null = fopen("/dev/null", "w");
	if (null != NULL) {
		config_print(cfg, null);
		fclose(null);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	struct fr_error err;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	fr_error_clear(&err);
	rc = config_parse_string(&cfg, (const char *)data, size, "f", &err);
	if (rc == FR_OK) {
		check_config(&cfg);
	} else {
		if (rc != FR_ECONFIG && rc != FR_ENOMEM)
			fuzz_fail("unexpected status");
		if (err.status != rc || strncmp(err.message, "f:", 2) != 0)
			fuzz_fail("error without 'name:' message");
		if (cfg.region != NULL)
			fuzz_fail("cfg changed by a failed parse");
	}
	config_free(&cfg);
	return 0;
}
