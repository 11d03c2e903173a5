/*
 * logfmt lines to stderr.  Each line is assembled in a fixed buffer and
 * written with one write(2) so that lines from threads and processes
 * sharing the web server's error log never interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static enum log_level log_threshold = LOG_INFO;
static int log_show_emails;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void
log_setup(enum log_level level, int show_emails)
{
	log_threshold = level;
	log_show_emails = show_emails;
}

int
log_enabled(enum log_level level)
{
	return level <= log_threshold;
}

static void
logline_raw(struct logline *l, const char *s, size_t n)
{
	size_t room = sizeof(l->buf) - 1 - l->len; /* keep one for '\n' */

	if (n > room)
		n = room;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* A value needs quotes when empty or holding space, '=', '"' or controls. */
static int
logfmt_needs_quotes(const char *v)
{
	if (*v == '\0')
		return 1;
	for (; *v; v++)
		if ((unsigned char)*v <= ' ' || *v == '=' || *v == '"' ||
		    *v == '\\' || (unsigned char)*v == 0x7f)
			return 1;
	return 0;
}

static void
logline_quoted(struct logline *l, const char *v)
{
	char esc[8];

	logline_raw(l, "\"", 1);
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			logline_raw(l, esc, 2);
		} else if (c == '\n') {
			logline_raw(l, "\\n", 2);
		} else if (c < ' ' || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			logline_raw(l, esc, 4);
		} else {
			logline_raw(l, (const char *)&c, 1);
		}
	}
	logline_raw(l, "\"", 1);
}

void
logline_str(struct logline *l, const char *key, const char *value)
{
	if (value == NULL)
		return;
	if (l->len > 0)
		logline_raw(l, " ", 1);
	logline_raw(l, key, strlen(key));
	logline_raw(l, "=", 1);
	if (logfmt_needs_quotes(value))
		logline_quoted(l, value);
	else
		logline_raw(l, value, strlen(value));
}

void
logline_int(struct logline *l, const char *key, int64_t value)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", (long long)value);
	logline_str(l, key, num);
}

void
logline_email(struct logline *l, const char *key, const char *value)
{
	char masked[256];

	if (value == NULL || log_show_emails) {
		logline_str(l, key, value);
		return;
	}
	mask_email(value, masked, sizeof(masked));
	logline_str(l, key, masked);
}

void
logline_start(struct logline *l, enum log_level level)
{
	char ts[32];

	l->len = 0;
	if (rfc3339_ms(now_ms(), ts, sizeof(ts)) != 0)
		ts[0] = '\0';
	logline_str(l, "ts", ts);
	logline_str(l, "level", level_names[level]);
	logline_str(l, "prog", "formrelay");
}

void
logline_emit(struct logline *l)
{
	ssize_t r;

	l->buf[l->len++] = '\n';
	r = write(STDERR_FILENO, l->buf, l->len);
	(void)r; /* nowhere left to report a failed log write */
	l->len = 0;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	struct logline l;
	char msg[1024];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	logline_start(&l, level);
	logline_str(&l, "msg", msg);
	logline_emit(&l);
}
