/*
 * Group commit (see ingest.h).  The queue is a singly linked list of
 * waiters living on the submitters' stacks: nothing is allocated per
 * request, and a submitter's entry lives exactly as long as it waits.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "util.h"

/* At most this many submissions in one transaction. */
#define INGEST_MAX_GROUP 256

struct waiter {
	struct spool_append append; /* what to store, and its result */
	struct fr_error *err;
	int done;
	struct waiter *next;
};

struct ingest {
	struct spool *sp;
	pthread_mutex_t db;   /* serialises use of sp */
	pthread_mutex_t lock; /* queue and flags */
	pthread_cond_t work;  /* the writer waits here */
	pthread_cond_t done;  /* submitters wait here */
	struct waiter *head;
	struct waiter **tail;
	int threaded;
	int stopping;
	pthread_t writer;
};

/* Commit one group; every waiter gets its own result. */
static void
commit_group(struct ingest *in, struct waiter *group)
{
	struct spool_append *items[INGEST_MAX_GROUP];
	struct fr_error err;
	struct waiter *w;
	size_t n = 0;
	int rc;

	for (w = group; w != NULL; w = w->next)
		items[n++] = &w->append;
	fr_error_clear(&err);
	pthread_mutex_lock(&in->db);
	rc = spool_append_group(in->sp, items, n, now_ms(), &err);
	pthread_mutex_unlock(&in->db);
	for (w = group; w != NULL; w = w->next) {
		if (rc != FR_OK)
			w->append.result = rc;
		if (w->append.result == FR_ESTORE && w->err != NULL)
			*w->err = err;
	}
}

/* Detach up to INGEST_MAX_GROUP waiters from the queue head. */
static struct waiter *
take_group(struct ingest *in)
{
	struct waiter *group = in->head, *w = group;
	size_t n = 1;

	while (w->next != NULL && n < INGEST_MAX_GROUP) {
		w = w->next;
		n++;
	}
	in->head = w->next;
	if (in->head == NULL)
		in->tail = &in->head;
	w->next = NULL;
	return group;
}

static void *
writer_main(void *arg)
{
	struct ingest *in = arg;
	struct waiter *group, *w;

	pthread_mutex_lock(&in->lock);
	for (;;) {
		while (in->head == NULL && !in->stopping)
			pthread_cond_wait(&in->work, &in->lock);
		if (in->head == NULL)
			break; /* stopping, and nothing left to commit */
		group = take_group(in);
		pthread_mutex_unlock(&in->lock);
		commit_group(in, group);
		pthread_mutex_lock(&in->lock);
		for (w = group; w != NULL; w = w->next)
			w->done = 1;
		pthread_cond_broadcast(&in->done);
	}
	pthread_mutex_unlock(&in->lock);
	return NULL;
}

int
ingest_start(const struct config *cfg, int threaded, struct ingest **out,
             struct fr_error *err)
{
	struct ingest *in = calloc(1, sizeof(*in));

	*out = NULL;
	if (in == NULL)
		return fr_fail(err, FR_ESTORE, "out_of_memory", NULL,
		               "out of memory");
	if (spool_open(cfg->spool_path, &in->sp, err) != FR_OK) {
		free(in);
		return FR_ESTORE;
	}
	pthread_mutex_init(&in->db, NULL);
	pthread_mutex_init(&in->lock, NULL);
	pthread_cond_init(&in->work, NULL);
	pthread_cond_init(&in->done, NULL);
	in->tail = &in->head;
	in->threaded = threaded;
	if (threaded && pthread_create(&in->writer, NULL, writer_main, in)) {
		in->threaded = 0;
		ingest_stop(in);
		return fr_fail(err, FR_ESTORE, "cannot_store", NULL,
		               "cannot start the spool writer thread");
	}
	*out = in;
	return FR_OK;
}

int
ingest_append(struct ingest *in, const struct spool_event *evs, size_t n,
              const char *webhook_id, struct fr_error *err)
{
	struct waiter w;

	memset(&w, 0, sizeof(w));
	w.append.evs = evs;
	w.append.n = n;
	w.append.webhook_id = webhook_id;
	w.err = err;
	if (!in->threaded) {
		commit_group(in, &w);
		return w.append.result;
	}
	pthread_mutex_lock(&in->lock);
	*in->tail = &w;
	in->tail = &w.next;
	pthread_cond_signal(&in->work);
	while (!w.done)
		pthread_cond_wait(&in->done, &in->lock);
	pthread_mutex_unlock(&in->lock);
	return w.append.result;
}

int
ingest_stats(struct ingest *in, int64_t now, struct spool_stats *st)
{
	int rc;

	pthread_mutex_lock(&in->db);
	rc = spool_stats(in->sp, now, st);
	pthread_mutex_unlock(&in->db);
	return rc;
}

int
ingest_state_get(struct ingest *in, const char *key, char *buf, size_t size)
{
	int rc;

	pthread_mutex_lock(&in->db);
	rc = spool_state_get(in->sp, key, buf, size);
	pthread_mutex_unlock(&in->db);
	return rc;
}

void
ingest_stop(struct ingest *in)
{
	if (in == NULL)
		return;
	if (in->threaded) {
		pthread_mutex_lock(&in->lock);
		in->stopping = 1;
		pthread_cond_signal(&in->work);
		pthread_mutex_unlock(&in->lock);
		pthread_join(in->writer, NULL);
	}
	spool_close(in->sp);
	pthread_cond_destroy(&in->done);
	pthread_cond_destroy(&in->work);
	pthread_mutex_destroy(&in->lock);
	pthread_mutex_destroy(&in->db);
	free(in);
}
