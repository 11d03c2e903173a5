/*
 * formrelay: a FastCGI/CGI relay from landing-page forms to Customer.io.
 * main only reads the command line, loads the configuration and hands
 * over to the serving loop or an administration command.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "aliases.h"
#include "config.h"
#include "fcgi_loop.h"
#include "log.h"
#include "preflight.h"
#include "spool.h"

struct options {
	const char *config;
	struct serve_options serve;
	int check_config;
	const char *user; /* --check-config --user NAME */
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	        "usage: formrelay [-c FILE] [--listen ADDR] [--threads N]\n"
	        "       formrelay [-c FILE] --check-config [--user NAME]\n"
	        "       formrelay [-c FILE] status | dead | flush |\n"
	        "                 requeue ID|all | purge ID|all | migrate\n"
	        "                 [--json]\n"
	        "       formrelay --version | --help\n"
	        "\n"
	        "Without a command it serves FastCGI on the socket it was\n"
	        "given (fd 0), on --listen ADDR (host:port or a socket path),\n"
	        "or answers one request when run as a CGI program.\n"
	        "--check-config reports every mistake of the file and whether\n"
	        "the spool can be used by NAME (default: the caller), the\n"
	        "user formrelay serves as.\n"
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
	        {"user", required_argument, NULL, 'u'},
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
		case 'u':
			o->user = optarg;
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

/* Each line of text as "formrelay: line" on stderr. */
static void
print_lines(const char *text)
{
	const char *nl;

	for (; text != NULL && *text != '\0'; text = nl + 1) {
		nl = strchr(text, '\n');
		if (nl == NULL)
			nl = text + strlen(text) - 1;
		fprintf(stderr, "formrelay: %.*s\n", (int)(nl - text), text);
	}
}

static int
config_ready(struct config *cfg, const char *opt)
{
	const char *path = config_choose_path(opt);
	struct fr_error err;
	char *all = NULL;

	fr_fail(&err, FR_ENOMEM, NULL, NULL, "out of memory");
	if (config_defaults(cfg) != FR_OK ||
	    config_load_all(cfg, path, &err, &all) != FR_OK) {
		if (all != NULL)
			print_lines(all);
		else
			fprintf(stderr, "formrelay: %s\n", err.message);
		free(all);
		return -1;
	}
	if (cfg->warnings != NULL)
		fprintf(stderr, "%s", cfg->warnings);
	log_setup(cfg->log_level, cfg->log_emails);
	return 0;
}

/*
 * --check-config: the settings on stdout, every problem on stderr: the
 * preflight's (preflight.h), and with a PostgreSQL spool whether it can
 * be reached (creating or migrating its schema).  A SQLite spool is
 * created on first use, so nothing is opened for it here.
 */
static int
check_config(const struct config *cfg, const char *user)
{
	struct spool *sp = NULL;
	struct fr_error err;
	char *problems = NULL;
	int found;

	config_print(cfg, stdout);
	fflush(stdout);
	found = preflight_check(cfg, user, &problems);
	print_lines(problems);
	free(problems);
	if (found == 0 && user == NULL && geteuid() == 0 &&
	    !cfg->spool_postgresql)
		fprintf(stderr, "formrelay: note: the spool was checked for "
		                "root; add --user NAME to check it for the "
		                "user formrelay serves as\n");
	if (!cfg->spool_postgresql)
		return found == 0 ? 0 : 1;
	fr_error_clear(&err);
	if (spool_open_config(cfg, &sp, &err) != FR_OK) {
		fprintf(stderr, "formrelay: spool: %s\n", err.message);
		return 1;
	}
	spool_close(sp);
	return found == 0 ? 0 : 1;
}

/*
 * Before serving: a spool this user cannot use stops start-up (a CGI run
 * still answers, with a 503); a missing key is reported and submissions
 * are stored while delivery waits for one.
 */
static int
serve_preflight(const struct config *cfg, int cgi)
{
	char *problems = NULL;
	int found = preflight_check(cfg, NULL, &problems);

	print_lines(problems);
	free(problems);
	if (found < 0)
		return -1;
	return (found & PREFLIGHT_SPOOL) && !cgi ? -1 : 0;
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
		rc = check_config(&cfg, o.user);
	else if (optind < argc)
		rc = admin_main(&cfg, argc - optind, argv + optind);
	else if (o.serve.listen == NULL && serve_is_cgi())
		rc = serve_preflight(&cfg, 1) != 0 ? 1 : serve_cgi(&cfg);
	else
		rc = serve_preflight(&cfg, 0) != 0
		             ? 1
		             : serve_fastcgi(&cfg, &o.serve);
	alias_config_release(&cfg);
	config_free(&cfg);
	return rc;
}
