/*
 * formrelay: a FastCGI/CGI relay from landing-page forms to Customer.io.
 * main only reads the command line, loads the configuration and hands
 * over to the serving loop or an administration command.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "aliases.h"
#include "config.h"
#include "fcgi_loop.h"
#include "log.h"
#include "spool.h"

struct options {
	const char *config;
	struct serve_options serve;
	int check_config;
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	        "usage: formrelay [-c FILE] [--listen ADDR] [--threads N]\n"
	        "       formrelay [-c FILE] --check-config\n"
	        "       formrelay [-c FILE] status | dead | flush |\n"
	        "                 requeue ID|all | purge ID|all | migrate\n"
	        "                 [--json]\n"
	        "       formrelay --version | --help\n"
	        "\n"
	        "Without a command it serves FastCGI on the socket it was\n"
	        "given (fd 0), on --listen ADDR (host:port or a socket path),\n"
	        "or answers one request when run as a CGI program.\n"
	        "The configuration is -c FILE, else $FORMRELAY_CONFIG, else\n"
	        "%s/formrelay.conf.\n",
	        SYSCONFDIR);
}

/* Returns -1 to continue, else an exit status. */
static int
options_parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"listen", required_argument, NULL, 'l'},
	        {"threads", required_argument, NULL, 't'},
	        {"check-config", no_argument, NULL, 'C'},
	        {"version", no_argument, NULL, 'V'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->serve.threads = 4;
	/* '+': stop at the first command so its own flags stay its own */
	while ((ch = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 'l':
			o->serve.listen = optarg;
			break;
		case 't':
			o->serve.threads = atoi(optarg);
			break;
		case 'C':
			o->check_config = 1;
			break;
		case 'V':
			printf("formrelay %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	return -1;
}

static int
config_ready(struct config *cfg, const char *opt)
{
	const char *path = config_choose_path(opt);
	struct fr_error err;

	fr_fail(&err, FR_ENOMEM, NULL, NULL, "out of memory");
	if (config_defaults(cfg) != FR_OK ||
	    config_load(cfg, path, &err) != FR_OK) {
		fprintf(stderr, "formrelay: %s\n", err.message);
		return -1;
	}
	if (cfg->warnings != NULL)
		fprintf(stderr, "%s", cfg->warnings);
	log_setup(cfg->log_level, cfg->log_emails);
	return 0;
}

/*
 * --check-config: print the settings; with a PostgreSQL spool, connect
 * (and create or migrate its schema) and say what is wrong.  A SQLite
 * spool is created on first use, so nothing is opened for it here.
 */
static int
check_config(const struct config *cfg)
{
	struct fr_error err;
	struct spool *sp = NULL;

	config_print(cfg, stdout);
	if (!cfg->spool_postgresql)
		return 0;
	fflush(stdout);
	fr_error_clear(&err);
	if (spool_open_config(cfg, &sp, &err) != FR_OK) {
		fprintf(stderr, "formrelay: spool: %s\n", err.message);
		return 1;
	}
	spool_close(sp);
	return 0;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct config cfg;
	int rc;

	if ((rc = options_parse(argc, argv, &o)) >= 0)
		return rc;
	memset(&cfg, 0, sizeof(cfg));
	if (config_ready(&cfg, o.config) != 0) {
		config_free(&cfg);
		return 1;
	}
	/* Without the index lookups still work, only slower. */
	(void)alias_config_prepare(&cfg);
	if (o.check_config)
		rc = check_config(&cfg);
	else if (optind < argc)
		rc = admin_main(&cfg, argc - optind, argv + optind);
	else if (o.serve.listen == NULL && serve_is_cgi())
		rc = serve_cgi(&cfg);
	else
		rc = serve_fastcgi(&cfg, &o.serve);
	alias_config_release(&cfg);
	config_free(&cfg);
	return rc;
}
