/*
 * libFuzzer target: JSON bodies (application/json and text/plain), with
 * the default limits and, for inputs starting with '!', tight ones (a
 * depth of 3, short names and values) to reach the limit branches.
 */
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct parse_limits lim;
	struct fields out;
	struct fr_error err;
	int rc;

	fuzz_limits(&data, &size, 16, &lim);
	fuzz_begin(&out, &err);
	rc = parse_json((const char *)data, size, &lim, &out, &err);
	if (rc == FR_OK && (out.root == NULL || out.source != SOURCE_JSON))
		fuzz_fail("JSON success without a root object");
	fuzz_check(rc, &out, &err, &lim);
	return 0;
}
