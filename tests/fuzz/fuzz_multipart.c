/*
 * libFuzzer target: multipart/form-data.  The input's first line is the
 * Content-Type header value (so boundary parameter parsing is fuzzed
 * too), the rest is the body, given to parse_body().
 */
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct parse_limits lim;
	struct fields out;
	struct fr_error err;
	char content_type[256];
	const char *body;
	size_t len;
	int rc;

	if (!fuzz_split_line(data, size, content_type, sizeof(content_type),
	                     &body, &len) ||
	    !content_type_is(content_type, "multipart/form-data"))
		return 0; /* keep the effort on multipart */
	parse_limits_default(&lim);
	fuzz_begin(&out, &err);
	rc = parse_body(body, len, content_type, &lim, &out, &err);
	fuzz_check(rc, &out, &err, &lim);
	return 0;
}
