/* The error vocabulary: status codes, names and HTTP mapping. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "util.h"

int
fr_fail(struct fr_error *err, int status, const char *code, const char *field,
        const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return status;
	err->status = status;
	strlcopy(err->code, code ? code : fr_status_name(status),
	         sizeof(err->code));
	strlcopy(err->field, field ? field : "", sizeof(err->field));
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return status;
}

void
fr_error_clear(struct fr_error *err)
{
	if (err != NULL)
		memset(err, 0, sizeof(*err));
}

static const struct {
	int status;
	int http;
	const char *name;
} status_table[] = {
        {FR_OK, 200, "ok"},
        {FR_EMALFORMED, 400, "malformed"},
        {FR_EFORBIDDEN, 403, "forbidden"},
        {FR_ENOTFOUND, 404, "not_found"},
        {FR_EMETHOD, 405, "method_not_allowed"},
        {FR_ETOOLARGE, 413, "too_large"},
        {FR_EUNSUPPORTED, 415, "unsupported_media_type"},
        {FR_EINVALID, 422, "invalid"},
        {FR_ERATELIMIT, 429, "rate_limited"},
        {FR_ESTORE, 503, "cannot_store"},
        {FR_ENOMEM, 503, "out_of_memory"},
        {FR_EIO, 503, "io_error"},
        {FR_ECONFIG, 500, "config_error"},
        {FR_EUPSTREAM, 502, "upstream_error"},
        {FR_EDUPLICATE, 202, "duplicate"},
        {FR_EINTERNAL, 500, "internal_error"},
};

int
fr_status_http(int status)
{
	size_t i;

	for (i = 0; i < sizeof(status_table) / sizeof(status_table[0]); i++)
		if (status_table[i].status == status)
			return status_table[i].http;
	return 500;
}

const char *
fr_status_name(int status)
{
	size_t i;

	for (i = 0; i < sizeof(status_table) / sizeof(status_table[0]); i++)
		if (status_table[i].status == status)
			return status_table[i].name;
	return "internal_error";
}
