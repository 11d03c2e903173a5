/* libFuzzer target: application/x-www-form-urlencoded bodies. */
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct parse_limits lim;
	struct fields out;
	struct fr_error err;
	int rc;

	parse_limits_default(&lim);
	fuzz_begin(&out, &err);
	rc = parse_urlencoded((const char *)data, size, &lim, &out, &err);
	fuzz_check(rc, &out, &err, &lim);
	return 0;
}
