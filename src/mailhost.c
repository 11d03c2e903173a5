/*
 * Whether an email's domain can receive mail (include/mailhost.h), asked
 * with c-ares.  Linked only into formrelay-deliver.
 */
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <json-c/json.h>

#include "log.h"
#include "mailhost.h"
#include "metrics.h"
#include "spam.h"
#include "spool.h"
#include "util.h"

#define CACHE_SIZE  256
#define TTL_YES_MS  (60 * 60 * 1000) /* mail hosts rarely go away */
#define TTL_NONE_MS (10 * 60 * 1000) /* a domain being set up */
#define DOMAIN_MAX  253
#define QTYPE_A     1
#define QTYPE_MX    15
#define QTYPE_AAAA  28
#define QCLASS_IN   1

struct cached {
	char domain[DOMAIN_MAX + 1]; /* "" when free */
	enum mailhost_answer answer;
	int64_t until;
};

struct mailhost {
	ares_channel ch;
	long timeout_ms;
	struct cached cache[CACHE_SIZE];
};

/* One query's outcome. */
struct lookup {
	int done;
	int status;  /* ARES_SUCCESS, ARES_ENODATA, ARES_ENOTFOUND, ... */
	int null_mx; /* MX: the one record is "0 ." (RFC 7505) */
	int is_mx;
};

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_init_status = ARES_ENOTINITIALIZED;

static void
init_library(void)
{
	ares_init_status = ares_library_init(ARES_LIB_INIT_ALL);
}

/* "a:1,b:2": the servers as c-ares reads them.  Caller frees. */
static char *
servers_csv(const struct config_list *servers)
{
	size_t i, len = 1;
	char *csv, *p;

	for (i = 0; i < servers->count; i++)
		len += strlen(servers->items[i]) + 1;
	if ((csv = malloc(len)) == NULL)
		return NULL;
	p = csv;
	for (i = 0; i < servers->count; i++) {
		size_t n = strlen(servers->items[i]);

		if (i > 0)
			*p++ = ',';
		memcpy(p, servers->items[i], n);
		p += n;
	}
	*p = '\0';
	return csv;
}

static int
set_servers(struct mailhost *m, const struct config_list *servers,
            struct fr_error *err)
{
	char *csv;
	int rc;

	if (servers->count == 0)
		return FR_OK; /* /etc/resolv.conf's */
	if ((csv = servers_csv(servers)) == NULL)
		return fr_fail(err, FR_ENOMEM, NULL, NULL, "out of memory");
	rc = ares_set_servers_ports_csv(m->ch, csv);
	free(csv);
	if (rc != ARES_SUCCESS)
		return fr_fail(err, FR_EINTERNAL, NULL, NULL,
		               "antispam.mx_check_servers: c-ares refused "
		               "them: %s",
		               ares_strerror(rc));
	return FR_OK;
}

int
mailhost_new(const struct config *cfg, struct mailhost **out,
             struct fr_error *err)
{
	struct ares_options o;
	struct mailhost *m;
	int rc;

	*out = NULL;
	pthread_once(&ares_once, init_library);
	if (ares_init_status != ARES_SUCCESS)
		return fr_fail(err, FR_EINTERNAL, NULL, NULL,
		               "c-ares could not be initialised: %s",
		               ares_strerror(ares_init_status));
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return fr_fail(err, FR_ENOMEM, NULL, NULL, "out of memory");
	m->timeout_ms = (long)cfg->spam.mx_check_timeout_ms;
	memset(&o, 0, sizeof(o));
	o.timeout = (int)m->timeout_ms;
	o.tries = 1;
	rc = ares_init_options(&m->ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (rc != ARES_SUCCESS) {
		free(m);
		return fr_fail(err,
		               rc == ARES_ENOMEM ? FR_ENOMEM : FR_EINTERNAL,
		               NULL, NULL, "c-ares: %s", ares_strerror(rc));
	}
	if ((rc = set_servers(m, &cfg->spam.mx_check_servers, err)) != FR_OK) {
		mailhost_free(m);
		return rc;
	}
	*out = m;
	return FR_OK;
}

void
mailhost_free(struct mailhost *m)
{
	if (m == NULL)
		return;
	ares_destroy(m->ch);
	free(m);
}

/* ---- one query ---- */

static void
on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct lookup *l = arg;
	struct ares_mx_reply *mx = NULL;

	(void)timeouts;
	l->done = 1;
	l->status = status;
	if (status != ARES_SUCCESS || !l->is_mx)
		return;
	if (ares_parse_mx_reply(abuf, alen, &mx) != ARES_SUCCESS) {
		l->status = ARES_EBADRESP;
		return;
	}
	l->null_mx = mx != NULL && mx->next == NULL &&
	             (mx->host[0] == '\0' || strcmp(mx->host, ".") == 0);
	ares_free_data(mx);
}

/* ARES_GETSOCK_READABLE and _WRITABLE, without their int overflow at
 * the sixteenth socket's writable bit. */
static unsigned
sock_events(unsigned bits, int i)
{
	return ((bits >> i) & 1u ? POLLIN : 0) |
	       ((bits >> (i + ARES_GETSOCK_MAXNUM)) & 1u ? POLLOUT : 0);
}

/* Wait for c-ares's sockets, at most ms. */
static void
wait_sockets(struct mailhost *m, long ms)
{
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	struct pollfd fds[ARES_GETSOCK_MAXNUM];
	unsigned bits =
	        (unsigned)ares_getsock(m->ch, socks, ARES_GETSOCK_MAXNUM);
	int i, n = 0, ready;

	for (i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
		if (sock_events(bits, i) == 0)
			continue;
		fds[n].fd = socks[i];
		fds[n].events = (short)sock_events(bits, i);
		fds[n].revents = 0;
		n++;
	}
	ready = poll(fds, (nfds_t)n, (int)(ms < 50 ? ms : 50));
	if (ready <= 0) {
		ares_process_fd(m->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
		return;
	}
	for (i = 0; i < n; i++)
		ares_process_fd(m->ch,
		                fds[i].revents & (POLLIN | POLLERR | POLLHUP)
		                        ? fds[i].fd
		                        : ARES_SOCKET_BAD,
		                fds[i].revents & POLLOUT ? fds[i].fd
		                                         : ARES_SOCKET_BAD);
}

/* Ask for domain's records of type, at most timeout_ms (and a little
 * for c-ares's own timer to fire). */
static void
ask(struct mailhost *m, const char *domain, int type, struct lookup *l)
{
	int64_t deadline = mono_ms() + m->timeout_ms + 100;

	memset(l, 0, sizeof(*l));
	l->is_mx = type == QTYPE_MX;
	ares_query(m->ch, domain, QCLASS_IN, type, on_answer, l);
	while (!l->done) {
		int64_t left = deadline - mono_ms();

		if (left <= 0) {
			ares_cancel(m->ch); /* on_answer: ARES_ECANCELLED */
			break;
		}
		wait_sockets(m, (long)left);
	}
}

/* ---- the answer ---- */

static int
absent(int status)
{
	return status == ARES_ENODATA || status == ARES_ENOTFOUND;
}

static enum mailhost_answer
resolve(struct mailhost *m, const char *domain)
{
	struct lookup mx, a, aaaa;

	ask(m, domain, QTYPE_MX, &mx);
	if (mx.status == ARES_SUCCESS)
		return mx.null_mx ? MAILHOST_NONE : MAILHOST_YES;
	if (mx.status == ARES_ENOTFOUND)
		return MAILHOST_NONE; /* the name does not exist */
	if (mx.status != ARES_ENODATA)
		return MAILHOST_UNKNOWN;
	ask(m, domain, QTYPE_A, &a);
	if (a.status == ARES_SUCCESS)
		return MAILHOST_YES;
	ask(m, domain, QTYPE_AAAA, &aaaa);
	if (aaaa.status == ARES_SUCCESS)
		return MAILHOST_YES;
	return absent(a.status) && absent(aaaa.status) ? MAILHOST_NONE
	                                               : MAILHOST_UNKNOWN;
}

/* A host name in letters, digits, '-' and '.', lower-cased into out;
 * 0 for anything else (an address literal, non-ASCII): not checked. */
static int
domain_key(const char *domain, char out[DOMAIN_MAX + 1])
{
	size_t i, len = strlen(domain);

	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (len == 0 || len > DOMAIN_MAX || domain[0] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		char c = domain[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c | 0x20);
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.'))
			return 0;
		out[i] = c;
	}
	out[len] = '\0';
	return 1;
}

static struct cached *
cache_find(struct mailhost *m, const char *key, int64_t now)
{
	size_t i;

	for (i = 0; i < CACHE_SIZE; i++)
		if (m->cache[i].until > now &&
		    strcmp(m->cache[i].domain, key) == 0)
			return &m->cache[i];
	return NULL;
}

/* The entry that ends first makes room. */
static void
cache_put(struct mailhost *m, const char *key, enum mailhost_answer a,
          int64_t now)
{
	struct cached *slot = &m->cache[0];
	size_t i;

	for (i = 1; i < CACHE_SIZE && slot->until > now; i++)
		if (m->cache[i].until < slot->until)
			slot = &m->cache[i];
	strlcopy(slot->domain, key, sizeof(slot->domain));
	slot->answer = a;
	slot->until = now + (a == MAILHOST_YES ? TTL_YES_MS : TTL_NONE_MS);
}

enum mailhost_answer
mailhost_check(struct mailhost *m, const char *domain, int64_t now, int *cached)
{
	char key[DOMAIN_MAX + 1];
	struct cached *c;
	enum mailhost_answer a;

	*cached = 0;
	if (!domain_key(domain, key))
		return MAILHOST_UNKNOWN;
	if ((c = cache_find(m, key, now)) != NULL) {
		*cached = 1;
		return c->answer;
	}
	a = resolve(m, key);
	if (a != MAILHOST_UNKNOWN)
		cache_put(m, key, a, now);
	return a;
}

/* ---- a claimed batch ---- */

/* The string member at path (NULL-terminated keys), or NULL. */
static const char *
member_at(struct json_object *o, const char *const *path)
{
	for (; *path != NULL && o != NULL; path++)
		if (!json_object_object_get_ex(o, *path, &o))
			return NULL;
	return o != NULL && json_object_is_type(o, json_type_string)
	               ? json_object_get_string(o)
	               : NULL;
}

/* The event's email, copied into out ("" when none). */
static void
event_email(const struct spool_item *it, char *out, size_t size)
{
	static const char *const traits[] = {"traits", "email", NULL};
	static const char *const context[] = {"context", "traits", "email",
	                                      NULL};
	static const char *const props[] = {"properties", "email", NULL};
	struct json_object *o = json_tokener_parse(it->body);
	const char *email = member_at(o, traits);

	if (email == NULL)
		email = member_at(o, context);
	if (email == NULL)
		email = member_at(o, props);
	strlcopy(out, email != NULL ? email : "", size);
	json_object_put(o);
}

static void
log_dropped(const struct spool_item *it, const char *email, int cached)
{
	struct logline l;

	logline_start(&l, LOG_WARN);
	logline_str(&l, "outcome", "refused");
	logline_str(&l, "spam", spam_reason_name(SPAM_EMAIL_DOMAIN));
	logline_str(&l, "message_id", it->message_id);
	logline_email(&l, "email", email);
	logline_str(&l, "detail",
	            cached ? "the domain receives no mail (cached)"
	                   : "the domain receives no mail: no MX, A or AAAA "
	                     "record, or a null MX");
	logline_emit(&l);
}

/* Whether item i is to be dropped (its email's domain has no mail
 * host). */
static int
mailless(struct mailhost *m, const struct spool_item *it, int64_t now)
{
	char email[320];
	const char *at;
	int cached = 0;

	event_email(it, email, sizeof(email));
	at = strrchr(email, '@');
	if (at == NULL ||
	    mailhost_check(m, at + 1, now, &cached) != MAILHOST_NONE)
		return 0;
	log_dropped(it, email, cached);
	return 1;
}

int
mailhost_filter_batch(struct mailhost *m, struct spool *sp,
                      struct spool_batch *b, int64_t now, size_t *dropped)
{
	int64_t *ids;
	size_t i, kept = 0, handed = b->handed, n = 0;
	int rc = FR_OK;

	*dropped = 0;
	if (m == NULL || b->count == 0)
		return FR_OK;
	if ((ids = calloc(b->count, sizeof(*ids))) == NULL)
		return FR_ESTORE;
	for (i = 0; i < b->count; i++) {
		if (!mailless(m, &b->items[i], now)) {
			b->items[kept++] = b->items[i];
			continue;
		}
		ids[n++] = b->items[i].id;
		free(b->items[i].body);
		if (i < b->handed)
			handed--;
	}
	b->count = kept;
	b->handed = handed;
	if (n > 0)
		rc = spool_ack(sp, ids, n) == FR_OK ? FR_OK : FR_ESTORE;
	for (i = 0; rc == FR_OK && i < n; i++)
		metrics_spam(SPAM_EMAIL_DOMAIN);
	*dropped = n;
	free(ids);
	return rc;
}
