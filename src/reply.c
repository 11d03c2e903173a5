/*
 * HTTP replies.  Headers are assembled in a bounded buffer; values that
 * came from a request (a redirect URL, an origin) have been validated by
 * the caller and are checked here again for CR/LF, so a header can never
 * be split.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "reply.h"
#include "util.h"

#define HTML_CSP                                                               \
	"default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "     \
	"form-action 'none'; frame-ancestors 'none'"

struct reason {
	int status;
	const char *text;
};

static const struct reason reasons[] = {
        {200, "OK"},
        {202, "Accepted"},
        {204, "No Content"},
        {303, "See Other"},
        {400, "Bad Request"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {413, "Content Too Large"},
        {415, "Unsupported Media Type"},
        {422, "Unprocessable Content"},
        {429, "Too Many Requests"},
        {500, "Internal Server Error"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
};

const char *
reply_reason(int status)
{
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].text;
	return "Unknown";
}

static int
has_ctl(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* Append s to buf[0..size) at *len; past the end, *len becomes size.
 * Reply heads are assembled this way: snprintf with a dozen arguments was
 * the largest part of answering a submission. */
static void
put(char *buf, size_t size, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (*len >= size || n >= size - *len) {
		*len = size;
		return;
	}
	memcpy(buf + *len, s, n);
	*len += n;
}

/* Status line, type, hardening and CORS headers, any extra, blank line. */
static int
reply_head(struct reply *r, int status, const char *type, const char *extra)
{
	char head[2048], code[5];
	size_t len = 0;

	if (has_ctl(r->cors_origin) || status < 100 || status > 999)
		return -1;
	code[0] = (char)('0' + status / 100);
	code[1] = (char)('0' + status / 10 % 10);
	code[2] = (char)('0' + status % 10);
	code[3] = ' ';
	code[4] = '\0';
	put(head, sizeof(head), &len, "Status: ");
	put(head, sizeof(head), &len, code);
	put(head, sizeof(head), &len, reply_reason(status));
	put(head, sizeof(head), &len, "\r\nContent-Type: ");
	put(head, sizeof(head), &len, type);
	put(head, sizeof(head), &len,
	    "\r\nCache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Referrer-Policy: no-referrer\r\n");
	if (strncmp(type, "text/html", 9) == 0)
		put(head, sizeof(head), &len,
		    "Content-Security-Policy: " HTML_CSP "\r\n");
	if (r->cors_origin != NULL) {
		put(head, sizeof(head), &len, "Access-Control-Allow-Origin: ");
		put(head, sizeof(head), &len, r->cors_origin);
		put(head, sizeof(head), &len, "\r\n");
	}
	put(head, sizeof(head), &len, "Vary: Origin\r\n");
	if (extra != NULL && *extra != '\0') {
		put(head, sizeof(head), &len, extra);
		put(head, sizeof(head), &len, "\r\n");
	}
	put(head, sizeof(head), &len, "\r\n");
	if (len >= sizeof(head))
		return -1;
	r->status = status;
	return r->io->write(r->io->ctx, head, len);
}

int
reply_body(struct reply *r, int status, const char *content_type,
           const char *body, size_t len)
{
	if (reply_head(r, status, content_type, NULL) != 0)
		return -1;
	return r->io->write(r->io->ctx, body, len);
}

void
html_escape(char *buf, size_t size, size_t *len, const char *s)
{
	for (; s && *s && *len + 7 < size; s++) {
		const char *rep = NULL;
		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			buf[(*len)++] = *s;
			continue;
		}
		memcpy(buf + *len, rep, strlen(rep));
		*len += strlen(rep);
	}
	buf[*len] = '\0';
}

/* A complete small HTML page with an escaped title and message. */
static int
reply_html_page(struct reply *r, int status, const char *title,
                const char *message, const char *extra_header)
{
	char page[2048];
	size_t len = 0;

	len = strlcopy(page,
	               "<!doctype html>\n<html lang=\"en\"><head>"
	               "<meta charset=\"utf-8\"><meta name=\"viewport\" "
	               "content=\"width=device-width\"><title>",
	               sizeof(page));
	html_escape(page, sizeof(page), &len, title);
	len += strlcopy(
	        page + len,
	        "</title><style>body{font:16px/1.5 system-ui,sans-serif;"
	        "max-width:36em;margin:4em auto;padding:0 1em}</style>"
	        "</head><body><h1>",
	        sizeof(page) - len);
	html_escape(page, sizeof(page), &len, title);
	len += strlcopy(page + len, "</h1><p>", sizeof(page) - len);
	html_escape(page, sizeof(page), &len, message);
	len += strlcopy(page + len, "</p></body></html>\n", sizeof(page) - len);
	if (len >= sizeof(page))
		len = sizeof(page) - 1;
	if (reply_head(r, status, "text/html; charset=utf-8", extra_header))
		return -1;
	return r->io->write(r->io->ctx, page, len);
}

static int
reply_json_obj(struct reply *r, int status, struct json_object *obj,
               const char *extra_header)
{
	size_t len;
	const char *s = json_object_to_json_string_length(
	        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
	        &len);
	int rc = -1;

	if (s != NULL &&
	    reply_head(r, status, "application/json", extra_header) == 0)
		rc = r->io->write(r->io->ctx, s, len);
	json_object_put(obj);
	return rc;
}

/* Ids are UUIDs (36 characters), which need no escaping in JSON. */
static int
is_plain_id(const char *s)
{
	size_t n = strspn(s, "0123456789abcdefABCDEF-");

	return s[n] == '\0' && n <= 64;
}

/* {"ok":true,"id":"…"} formatted in place: the reply of every stored
 * submission, too common to build as a json-c tree. */
static int
reply_accepted_json(struct reply *r, const char *message_id, int duplicate)
{
	char body[160];
	size_t len = 0;

	put(body, sizeof(body), &len, "{\"ok\":true");
	if (message_id != NULL) {
		put(body, sizeof(body), &len, ",\"id\":\"");
		put(body, sizeof(body), &len, message_id);
		put(body, sizeof(body), &len, "\"");
	}
	if (duplicate)
		put(body, sizeof(body), &len, ",\"duplicate\":true");
	put(body, sizeof(body), &len, "}");
	if (len >= sizeof(body))
		return -1;
	return reply_body(r, 202, "application/json", body, len);
}

int
reply_accepted(struct reply *r, const char *message_id, const char *redirect,
               int duplicate)
{
	char location[2100];
	struct json_object *o;

	if (r->format == REPLY_JSON) {
		if (message_id == NULL || is_plain_id(message_id))
			return reply_accepted_json(r, message_id, duplicate);
		if ((o = json_object_new_object()) == NULL)
			return -1;
		json_object_object_add(o, "ok", json_object_new_boolean(1));
		if (message_id != NULL)
			json_object_object_add(
			        o, "id", json_object_new_string(message_id));
		if (duplicate)
			json_object_object_add(o, "duplicate",
			                       json_object_new_boolean(1));
		return reply_json_obj(r, 202, o, NULL);
	}
	if (redirect != NULL && *redirect != '\0') {
		if (has_ctl(redirect))
			return -1;
		snprintf(location, sizeof(location), "Location: %s", redirect);
		return reply_html_page(r, 303, "Thank you",
		                       "Your submission was received.",
		                       location);
	}
	return reply_html_page(r, 202, "Thank you",
	                       "Your submission was received.", NULL);
}

int
reply_accepted_preview(struct reply *r, const char *message_id,
                       const char *redirect, const char *batch, size_t len)
{
	static const char head[] = "{\"ok\":true,\"id\":\"";
	static const char mid[] = "\",\"dry_run\":true,\"preview\":";
	size_t id_len, total;
	char *body;
	int rc;

	if (r->format != REPLY_JSON || message_id == NULL ||
	    !is_plain_id(message_id))
		return reply_accepted(r, message_id, redirect, 0);
	id_len = strlen(message_id);
	total = sizeof(head) - 1 + id_len + sizeof(mid) - 1 + len + 1;
	if ((body = malloc(total + 1)) == NULL)
		return -1;
	memcpy(body, head, sizeof(head) - 1);
	memcpy(body + sizeof(head) - 1, message_id, id_len);
	memcpy(body + sizeof(head) - 1 + id_len, mid, sizeof(mid) - 1);
	memcpy(body + total - 1 - len, batch, len);
	body[total - 1] = '}';
	body[total] = '\0';
	rc = reply_body(r, 202, "application/json", body, total);
	free(body);
	return rc;
}

int
reply_error(struct reply *r, const struct fr_error *err, int64_t retry_after_s)
{
	int status = fr_status_http(err->status);
	char extra[64] = "";
	struct json_object *o, *f;

	if (retry_after_s > 0)
		snprintf(extra, sizeof(extra), "Retry-After: %lld",
		         (long long)retry_after_s);
	if (r->format == REPLY_HTML)
		return reply_html_page(r, status, reply_reason(status),
		                       err->message, extra);
	if ((o = json_object_new_object()) == NULL)
		return -1;
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(err->code));
	json_object_object_add(o, "message",
	                       json_object_new_string(err->message));
	if (err->field[0] != '\0' && (f = json_object_new_object()) != NULL) {
		json_object_object_add(f, err->field,
		                       json_object_new_string(err->message));
		json_object_object_add(o, "fields", f);
	}
	return reply_json_obj(r, status, o, extra);
}

/* Authorization is allowed because the Embeddables recipe sends one
 * (its key placeholder): the request would fail in the browser
 * otherwise.  It is never read but to warn of a real key. */
int
reply_preflight(struct reply *r)
{
	if (reply_head(r, 204, "text/plain",
	               "Access-Control-Allow-Methods: POST, OPTIONS\r\n"
	               "Access-Control-Allow-Headers: Content-Type, Accept, "
	               "Authorization\r\n"
	               "Access-Control-Max-Age: 86400") != 0)
		return -1;
	return 0;
}
