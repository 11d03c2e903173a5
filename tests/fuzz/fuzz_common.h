/*
 * Shared by the libFuzzer targets: their common set-up (the default
 * configuration, the limits an input asks for, an empty result) and the
 * invariants every parser result must satisfy, checked after each input
 * so that the fuzzer finds logic errors as well as memory errors.  A
 * violation aborts (a crash to libFuzzer, with the input saved as an
 * artifact).
 */
#ifndef FORMRELAY_FUZZ_COMMON_H
#define FORMRELAY_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "config.h"
#include "fields.h"
#include "parse.h"
#include "utf8.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Helpers are static inline: each target uses only some of them. */
__attribute__((noreturn)) static inline void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz invariant violated: %s\n", what);
	abort();
}

/* The built-in configuration ([identity], [fields] defaults), made once
 * and kept for the process: what formrelay runs with and no file. */
static inline const struct config *
fuzz_config(void)
{
	static struct config cfg;

	if (cfg.id_fields.count == 0 && config_defaults(&cfg) != FR_OK)
		fuzz_fail("config_defaults");
	return &cfg;
}

/*
 * The limits for an input: the defaults, or, when it starts with '!'
 * (taken off *data), tight ones (4 fields, 8-byte names, max_value-byte
 * values, a depth of 3) so that the limit branches are reached.
 */
static inline void
fuzz_limits(const uint8_t **data, size_t *size, size_t max_value,
            struct parse_limits *lim)
{
	parse_limits_default(lim);
	if (*size > 0 && (*data)[0] == '!') {
		lim->max_fields = 4;
		lim->max_name = 8;
		lim->max_value = max_value;
		lim->max_depth = 3;
		(*data)++, (*size)--;
	}
}

/* An empty result and no error, before a parser runs. */
static inline void
fuzz_begin(struct fields *out, struct fr_error *err)
{
	fields_init(out);
	fr_error_clear(err);
}

/* A failure leaves nothing behind and explains itself. */
static inline void
fuzz_check_error(int rc, const struct fields *out, const struct fr_error *err)
{
	if (rc != FR_EMALFORMED && rc != FR_ETOOLARGE &&
	    rc != FR_EUNSUPPORTED && rc != FR_ENOMEM)
		fuzz_fail("unexpected status");
	if (err->status != rc)
		fuzz_fail("err->status differs from the return value");
	if (out->count != 0 || out->items != NULL || out->root != NULL)
		fuzz_fail("out not empty after an error");
	if (err->code[0] == '\0' || err->message[0] == '\0')
		fuzz_fail("error without a code or message");
}

/* Every field is named, within the limits, and valid UTF-8. */
static inline void
fuzz_check_fields(const struct fields *out, const struct parse_limits *lim)
{
	size_t i, namelen;

	if (out->count > lim->max_fields)
		fuzz_fail("more fields than max_fields");
	for (i = 0; i < out->count; i++) {
		const struct field *f = &out->items[i];

		namelen = strlen(f->name);
		if (namelen == 0 || namelen > lim->max_name ||
		    !utf8_valid(f->name, namelen))
			fuzz_fail("bad field name");
		if (f->value == NULL)
			fuzz_fail("NULL field value");
		if (!json_object_is_type(f->value, json_type_string))
			continue;
		if ((size_t)json_object_get_string_len(f->value) >
		            lim->max_value ||
		    !utf8_valid(json_object_get_string(f->value),
		                (size_t)json_object_get_string_len(f->value)))
			fuzz_fail("bad string value");
	}
}

/* Check a parser's answer, then free it. */
static inline void
fuzz_check(int rc, struct fields *out, const struct fr_error *err,
           const struct parse_limits *lim)
{
	if (rc == FR_OK)
		fuzz_check_fields(out, lim);
	else
		fuzz_check_error(rc, out, err);
	fields_free(out);
}

/*
 * Split data at its first newline: the line before is a header value
 * (copied, NUL-terminated, into buf), the rest the body.  0 when there
 * is no newline within size bytes of buf.
 */
static inline int
fuzz_split_line(const uint8_t *data, size_t size, char *buf, size_t bufsize,
                const char **body, size_t *len)
{
	const uint8_t *nl = memchr(data, '\n', size < bufsize ? size : bufsize);
	size_t n;

	if (nl == NULL)
		return 0;
	n = (size_t)(nl - data);
	memcpy(buf, data, n);
	buf[n] = '\0';
	*body = (const char *)nl + 1;
	*len = size - n - 1;
	return 1;
}

/*
 * rfc3339_parse on the input's last bytes (up to 63, cut at a NUL),
 * copied into a heap buffer of their exact size so that a read past the
 * end is an ASan error.  Invariant: a time it accepts within years
 * 1970-9999 is written back by rfc3339_ms as a text that parses to the
 * same milliseconds.
 */
static inline void
fuzz_check_time(const uint8_t *data, size_t size)
{
	size_t n = size < 63 ? size : 63;
	char *buf, again[32];
	int64_t ms, back;

	if ((buf = malloc(n + 1)) == NULL)
		return;
	memcpy(buf, data + size - n, n);
	buf[n] = '\0';
	if (rfc3339_parse(buf, &ms) == 0 && ms >= 0 && ms < 253402300800000LL &&
	    (rfc3339_ms(ms, again, sizeof(again)) != 0 ||
	     rfc3339_parse(again, &back) != 0 || back != ms))
		fuzz_fail("an accepted time does not survive rfc3339_ms");
	free(buf);
}

#endif
