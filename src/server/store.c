/*
 * store: the backend front (see store.h).
 */
#include "server/store.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

static const struct store_ops *const store_backends[] = {
	&store_sqlite_ops,
};

struct store *
store_open(const char *backend, const char *location, char **cause)
{
	const struct store_ops *ops = NULL;
	struct store *st;

	for (size_t i = 0; i < sizeof(store_backends) /
	    sizeof(store_backends[0]); i++)
		if (strcmp(store_backends[i]->name, backend) == 0)
			ops = store_backends[i];
	if (ops == NULL) {
		*cause = xasprintf("unknown store backend \"%s\"", backend);
		return NULL;
	}
	st = xcalloc(1, sizeof(*st));
	st->ops = ops;
	if (ops->open(st, location) < 0) {
		*cause = xasprintf("%s store %s: %s", backend, location,
		    st->err);
		free(st);
		return NULL;
	}
	return st;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	st->ops->close(st);
	free(st);
}

const char *
store_error(const struct store *st)
{
	return st->err;
}

int
store_begin(struct store *st)
{
	return st->ops->begin(st);
}

int
store_commit(struct store *st)
{
	return st->ops->commit(st);
}

void
store_rollback(struct store *st)
{
	st->ops->rollback(st);
}
