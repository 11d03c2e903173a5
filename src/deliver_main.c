/*
 * formrelay-deliver: delivers the spool to Customer.io.  Started by each
 * FastCGI process (woken through fd 3 after every commit), or run by
 * hand: --flush delivers what is due and exits (`formrelay flush` runs
 * it), without --flush it delivers until SIGTERM (a CGI deployment's
 * service).  It is the only program that links libcurl.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <json-c/json.h>

#include "admin.h"
#include "config.h"
#include "deliver.h"
#include "log.h"
#include "metrics.h"
#include "upstream.h"
#include "util.h"

struct options {
	const char *config;
	int flush;
	int json;
	int wake_fd;
	const char *handed_token;
};

static int
options_parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"flush", no_argument, NULL, 'f'},
	        {"json", no_argument, NULL, 'j'},
	        {"wake-fd", required_argument, NULL, 'w'},
	        {"take-handed", required_argument, NULL, 't'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->wake_fd = -1;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 'f':
			o->flush = 1;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'w':
			o->wake_fd = atoi(optarg);
			break;
		case 't':
			o->handed_token = optarg;
			break;
		default:
			fprintf(stderr, "usage: formrelay-deliver [-c FILE] "
			                "[--flush [--json]] [--wake-fd N] "
			                "[--take-handed TOKEN]\n");
			return ch == 'h' ? 0 : ADMIN_EXIT_USAGE;
		}
	}
	return optind < argc ? ADMIN_EXIT_USAGE : -1;
}

static void
flush_report(const struct deliver_report *rep, int json)
{
	struct json_object *o;

	if (!json) {
		printf("delivered %zu, retry later %zu, dead-lettered %zu "
		       "(%zu request%s)\n",
		       rep->delivered, rep->retried, rep->dead, rep->batches,
		       rep->batches == 1 ? "" : "s");
		if (rep->previewed > 0)
			printf("dry run: %zu kept as previews, not sent "
			       "(see: formrelay list)\n",
			       rep->previewed);
		if (rep->no_key)
			printf("delivery is paused: no API key configured "
			       "(see: formrelay status)\n");
		else if (rep->paused)
			printf("delivery is paused: Customer.io refused the "
			       "API key (see: formrelay status)\n");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "delivered",
	                       json_object_new_int64((int64_t)rep->delivered));
	json_object_object_add(o, "retried",
	                       json_object_new_int64((int64_t)rep->retried));
	json_object_object_add(o, "dead",
	                       json_object_new_int64((int64_t)rep->dead));
	json_object_object_add(o, "batches",
	                       json_object_new_int64((int64_t)rep->batches));
	json_object_object_add(o, "previewed",
	                       json_object_new_int64((int64_t)rep->previewed));
	json_object_object_add(o, "paused",
	                       json_object_new_boolean(rep->paused));
	printf("%s\n",
	       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* Exit codes as `formrelay flush` documents them (admin.h). */
static int
run_flush(const struct config *cfg, int json)
{
	struct deliver_report rep;
	struct deliverer *d = NULL;
	struct fr_error err;
	char host[64] = "localhost", owner[128];
	int rc;

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(owner, sizeof(owner), "%s:%ld:flush", host, (long)getpid());
	fr_error_clear(&err);
	if (deliverer_new(cfg, owner, &d, &err) != FR_OK) {
		fprintf(stderr, "formrelay: flush: cannot start delivery: %s\n",
		        err.message);
		return ADMIN_EXIT_ERROR;
	}
	memset(&rep, 0, sizeof(rep));
	rc = deliver_flush(d, &rep);
	deliverer_free(d);
	flush_report(&rep, json);
	if (rc != FR_OK) {
		fprintf(stderr,
		        "formrelay: flush: delivery stopped: the spool "
		        "%s cannot be written (see the log above)\n",
		        cfg->spool_path);
		return ADMIN_EXIT_ERROR;
	}
	if (rep.retried > 0 || rep.paused)
		return ADMIN_EXIT_INCOMPLETE;
	return rep.dead > 0 ? ADMIN_EXIT_DEAD : ADMIN_EXIT_OK;
}

/*
 * Deliver until SIGTERM/SIGINT/SIGHUP, or until the FastCGI process that
 * started us is gone (the wake pipe closes; PR_SET_PDEATHSIG as well).
 */
static int
run_daemon(const struct config *cfg, int wake_fd, const char *handed_token)
{
	struct deliver_thread *t = NULL;
	struct pollfd pfd[2];
	struct fr_error err;
	sigset_t stop;
	int sfd, n = 1;

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &stop, NULL) != 0 ||
	    (sfd = signalfd(-1, &stop, SFD_CLOEXEC)) < 0) {
		fprintf(stderr, "formrelay-deliver: signals: %s\n",
		        strerror(errno));
		return 1;
	}
	if (wake_fd >= 0)
		prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (deliver_thread_start(cfg, wake_fd, handed_token, &t, &err) !=
	    FR_OK) {
		fprintf(stderr, "formrelay-deliver: %s\n", err.message);
		close(sfd);
		return 1;
	}
	pfd[0].fd = sfd;
	pfd[0].events = POLLIN;
	/* The thread reads the wake pipe; here only its end matters
	 * (POLLHUP is reported without being asked for). */
	pfd[1].fd = wake_fd;
	pfd[1].events = 0;
	if (wake_fd >= 0)
		n = 2;
	for (;;) {
		if (poll(pfd, (nfds_t)n, -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		if (n == 2 && pfd[1].revents)
			break;
	}
	deliver_thread_stop(t);
	close(sfd);
	return 0;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct config cfg;
	struct fr_error err;
	int rc;

	if ((rc = options_parse(argc, argv, &o)) >= 0)
		return rc;
	memset(&cfg, 0, sizeof(cfg));
	fr_fail(&err, FR_ENOMEM, NULL, NULL, "out of memory");
	if (config_defaults(&cfg) != FR_OK ||
	    config_load(&cfg, config_choose_path(o.config), &err) != FR_OK) {
		fprintf(stderr, "formrelay-deliver: %s\n", err.message);
		config_free(&cfg);
		return ADMIN_EXIT_ERROR;
	}
	log_setup(cfg.log_level, cfg.log_emails);
	metrics_open_beside(cfg.spool_path);
	if (upstream_global_init() != FR_OK) {
		fprintf(stderr,
		        "formrelay-deliver: libcurl: cannot initialise\n");
		config_free(&cfg);
		return ADMIN_EXIT_ERROR;
	}
	rc = o.flush ? run_flush(&cfg, o.json)
	             : run_daemon(&cfg, o.wake_fd, o.handed_token);
	upstream_global_cleanup();
	config_free(&cfg);
	return rc;
}
