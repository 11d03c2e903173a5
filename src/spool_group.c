/* Interim spool_append_group: one transaction per item until spool.c
 * grows a single-transaction group append. */
#include "ingest.h"

int
spool_append_group(struct spool *sp, struct spool_append *const *items,
		   size_t n, int64_t now, struct fr_error *err)
{
	size_t i;

	for (i = 0; i < n; i++)
		items[i]->result = spool_append(sp, items[i]->evs, items[i]->n,
						items[i]->webhook_id, now, err);
	return FR_OK;
}
