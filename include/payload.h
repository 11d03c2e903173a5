/*
 * The payload builder: a normalised submission plus request context ->
 * the Customer.io Data Pipelines calls (identify, and track when an event
 * is named), serialised once at receipt and stored as they will be sent.
 */
#ifndef FORMRELAY_PAYLOAD_H
#define FORMRELAY_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "normalise.h"
#include "util.h"

/* Customer.io's limits (Data Pipelines): 32 KB an event, 500 KB a batch. */
#define PAYLOAD_MAX_EVENT 32768
#define PAYLOAD_MAX_BATCH 512000

/* What the request tells us about the sender (all may be NULL). */
struct request_context {
	const char *ip; /* the client address already resolved */
	const char *user_agent;
	const char *referer; /* fills context.page.url/path/referrer */
};

/* One serialised call, ready for the spool. */
struct built_event {
	char message_id[MESSAGE_ID_SIZE];
	char type[12]; /* "identify", "track" or "page" */
	char *json;    /* owned, NUL-terminated */
	size_t len;
	/* "msg:<message_id>" when message_id is the client's (a retry of the
	 * call is then not stored twice: spool.h, "De-duplication"), else "" */
	char dedup_key[MESSAGE_ID_SIZE + 4];
};

/*
 * Build the identify (and the track when sub->event is set) into out[0..1]
 * and set *count.  Every call gets its own messageId (UUID v4) and the
 * same timestamp (received_ms, RFC 3339 with milliseconds).  Returns
 * FR_OK, FR_ETOOLARGE (an event over PAYLOAD_MAX_EVENT, err names it) or
 * FR_ENOMEM; on error out holds nothing.
 */
int payload_build(const struct submission *sub,
                  const struct request_context *ctx, int64_t received_ms,
                  struct built_event out[2], size_t *count,
                  struct fr_error *err);

/*
 * One Pipelines call a browser posted (pipelines.h), its traits and
 * properties already normalised.  Everything is borrowed.
 */
struct payload_call {
	const char *type;           /* "identify", "track" or "page" */
	const char *user_id;        /* userId, or NULL */
	const char *anonymous_id;   /* anonymousId, or NULL */
	const char *message_id;     /* the client's (< MESSAGE_ID_SIZE bytes),
	                               or NULL for a new UUID v4 */
	int64_t timestamp_ms;       /* the call's time */
	const char *event;          /* track: the event name */
	const char *name;           /* page: its name, or NULL */
	struct json_object *traits; /* identify, or NULL */
	struct json_object *properties; /* track and page, or NULL */
	/* context: page {url,title,referrer,path,search}, campaign, the
	 * browser's userAgent (else the request's), and members copied as
	 * they are (locale, timezone, channel); ip is always the request's */
	struct json_object *page;
	struct json_object *campaign;
	const char *user_agent;
	struct json_object *context_extra;
};

/*
 * Serialise one call into *out: type, userId/anonymousId, messageId,
 * timestamp, context (ip from ctx, which must not be NULL) and the
 * type's members.  FR_OK, FR_ETOOLARGE (over PAYLOAD_MAX_EVENT) or
 * FR_ENOMEM, err set; on error out holds nothing.
 */
int payload_build_call(const struct payload_call *c,
                       const struct request_context *ctx,
                       struct built_event *out, struct fr_error *err);

/* Release out[0..count).  */
void built_events_free(struct built_event *out, size_t count);

/*
 * Serialise a /v1/batch body, {"batch":[e0,e1,…]}, from stored event JSON
 * texts.  *body is owned by the caller (free()).  FR_OK or FR_ENOMEM.
 */
int payload_batch(const char *const *events, const size_t *lens, size_t n,
                  char **body, size_t *body_len);

#endif
