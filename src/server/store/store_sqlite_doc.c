/*
 * store_sqlite_doc: documents on SQLite (store.h has the semantics).
 */
#include <sqlite3.h>
#include <string.h>

#include "server/store/store_sqlite_impl.h"

int
sq_doc_put(struct store *st, const char *kind, const char *key,
    const void *body, size_t len)
{
	char now[STORE_TIME_LEN + 1];

	if (len > INT32_MAX)
		return STORE_ERR;
	sq_now(now);
	return sq_write(st, false, "INSERT INTO docs(kind, key, body, updated)"
	    " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(kind, key) DO UPDATE SET"
	    " body = ?3, updated = ?4", "ssbs", kind, key, body, (int)len,
	    now);
}

int
sq_doc_delete(struct store *st, const char *kind, const char *key)
{
	return sq_write(st, true, "DELETE FROM docs WHERE kind = ? AND key = ?",
	    "ss", kind, key);
}

static int
sq_doc_row(sqlite3_stmt *s, void *cb, void *arg)
{
	struct store_doc d;

	memset(&d, 0, sizeof(d));
	d.kind = sq_ctext(s, 0);
	d.key = sq_ctext(s, 1);
	d.body = sqlite3_column_blob(s, 2);
	d.len = (size_t)sqlite3_column_bytes(s, 2);
	if (d.body == NULL)
		d.body = (const uint8_t *)"";
	sq_text(s, 3, d.updated, sizeof(d.updated));
	return ((store_doc_cb *)cb)(arg, &d);
}

int
sq_doc_get(struct store *st, const char *kind, const char *key,
    store_doc_cb *cb, void *arg)
{
	return sq_foreach(st, sq_stmt(st, "SELECT kind, key, body, updated"
	    " FROM docs WHERE kind = ? AND key = ?", "ss", kind, key),
	    sq_doc_row, (void *)cb, arg);
}

int
sq_doc_foreach(struct store *st, const char *kind, store_doc_cb *cb,
    void *arg)
{
	return sq_foreach(st, sq_stmt(st, "SELECT kind, key, body, updated"
	    " FROM docs WHERE kind = ? ORDER BY key", "s", kind), sq_doc_row,
	    (void *)cb, arg);
}
