/*
 * The small key/value state every process shares (see
 * include/spool.h).
 */
#include <string.h>

#include <sqlite3.h>

#include "spool.h"
#include "spool_internal.h"
#include "util.h"

/* ---- shared state ------------------------------------------------------- */

int
spool_sqlite_state_set(struct spool *sp, const char *key, const char *value)
{
	int rc;
	sqlite3_stmt *st = spool_stmt(sp, ST_STATE_SET, &rc);

	if (st == NULL)
		return spool_store_fail(sp, rc, "write state to", NULL);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value ? value : "", -1, SQLITE_STATIC);
	rc = spool_write_alone(sp, st, BOOKKEEPING, NULL);
	return rc == SQLITE_OK
	               ? FR_OK
	               : spool_store_fail(sp, rc, "write state to", NULL);
}

int
spool_sqlite_state_get(struct spool *sp, const char *key, char *buf,
                       size_t size)
{
	int rc, status = FR_OK;
	sqlite3_stmt *st = spool_stmt(sp, ST_STATE_GET, &rc);

	if (size > 0)
		buf[0] = '\0';
	if (st == NULL)
		return spool_store_fail(sp, rc, "read state from", NULL);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);

		if (v != NULL && strlcopy(buf, v, size) >= size) {
			status = FR_ETOOLARGE;
			if (size > 0)
				buf[0] = '\0';
		}
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return spool_store_fail(sp, rc, "read state from", NULL);
	return status;
}
