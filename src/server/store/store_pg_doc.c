/*
 * store_pg_doc: documents on PostgreSQL (store.h has the semantics).
 * Bodies go out as binary parameters and come back as bytea text, which
 * libpq unescapes.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "common/encode.h"
#include "server/store/store_pg_impl.h"

int
pg_doc_put(struct store *st, const char *kind, const char *key,
    const void *body, size_t len)
{
	char now[STORE_TIME_LEN + 1];

	if (len > INT32_MAX)
		return STORE_ERR;
	encode_time(time(NULL), now);
	return pg_write(st, false, "INSERT INTO docs(kind, key, body, updated)"
	    " VALUES($1, $2, $3, $4) ON CONFLICT(kind, key) DO UPDATE SET"
	    " body = EXCLUDED.body, updated = EXCLUDED.updated", "ssbs", kind,
	    key, body, (int)len, now);
}

int
pg_doc_delete(struct store *st, const char *kind, const char *key)
{
	return pg_write(st, true, "DELETE FROM docs WHERE kind = $1 AND"
	    " key = $2", "ss", kind, key);
}

static int
pg_doc_row(PGresult *res, int i, void *cb, void *arg)
{
	struct store_doc d;
	unsigned char *b;
	size_t n = 0;
	int r;

	memset(&d, 0, sizeof(d));
	b = PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, 2), &n);
	if (b == NULL)
		return STORE_ERR;
	d.kind = pg_ctext(res, i, 0);
	d.key = pg_ctext(res, i, 1);
	d.body = b;
	d.len = n;
	pg_text(res, i, 3, d.updated, sizeof(d.updated));
	r = ((store_doc_cb *)cb)(arg, &d);
	PQfreemem(b);
	return r;
}

int
pg_doc_get(struct store *st, const char *kind, const char *key,
    store_doc_cb *cb, void *arg)
{
	PGresult *res;
	int r;

	res = pg_query(st, &r, "SELECT kind, key, body, updated FROM docs"
	    " WHERE kind = $1 AND key = $2", "ss", kind, key);
	return res == NULL ? r : pg_rows(res, pg_doc_row, (void *)cb, arg);
}

int
pg_doc_foreach(struct store *st, const char *kind, store_doc_cb *cb,
    void *arg)
{
	PGresult *res;
	int r;

	res = pg_query(st, &r, "SELECT kind, key, body, updated FROM docs"
	    " WHERE kind = $1 ORDER BY key", "s", kind);
	return res == NULL ? r : pg_rows(res, pg_doc_row, (void *)cb, arg);
}
