/*
 * store_pg_impl: what the PostgreSQL backend's files share.  Not for
 * other modules.
 *
 * Queries are run by pg_query(st, sql, fmt, ...) with $1, $2, ...
 * parameters, one argument per letter of fmt:
 *   s  const char *       text (NULL binds NULL)
 *   i  int64_t            integer
 *   b  const void *, int  bytea of that many bytes (sent binary)
 * Results come back as text; bytea columns are decoded with pg_bytea.
 */
#ifndef VTOKEN_STORE_PG_IMPL_H
#define VTOKEN_STORE_PG_IMPL_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "server/store/store.h"

/*
 * Runs sql: the result (PGRES_COMMAND_OK or PGRES_TUPLES_OK; the caller
 * PQclear()s it), or NULL with st->err set and *result the STORE_* code
 * (STORE_CONFLICT, STORE_CONFLICT_NUM, STORE_NOTFOUND for a foreign key,
 * STORE_UNAVAILABLE when the server cannot be reached, else STORE_ERR).
 */
PGresult *pg_query(struct store *st, int *result, const char *sql,
    const char *fmt, ...);
/* pg_query for a write: 0, a STORE_* code, or STORE_NOTFOUND when
 * need_change and no row changed. */
int pg_write(struct store *st, bool need_change, const char *sql,
    const char *fmt, ...);
/* Calls row(res, i, cb, arg) per row of res (cleared); first non-zero. */
int pg_rows(PGresult *res, int (*row)(PGresult *, int, void *, void *),
    void *cb, void *arg);
/* Column helpers. */
void pg_text(PGresult *res, int row, int col, char *dst, size_t len);
const char *pg_ctext(PGresult *res, int row, int col);
int64_t pg_int(PGresult *res, int row, int col);
bool pg_bool(PGresult *res, int row, int col);
/* A bytea column into dst of exactly len bytes; -1 when its size differs. */
int pg_bytea(PGresult *res, int row, int col, uint8_t *dst, size_t len);

/* The rest of the ops (store_pg_cluster.c). */
int pg_session_claim(struct store *, const struct store_session *,
    unsigned);
int pg_session_release(struct store *, const char *, const char *);
int pg_session_clear(struct store *, const char *);
int pg_session_foreach(struct store *, const char *, const char *,
    unsigned, store_session_cb *, void *);
int pg_session_report(struct store *, const struct store_session *);
int pg_session_check(struct store *, const char *, const char *);
int pg_node_upsert(struct store *, const struct store_node *);
int pg_node_heartbeat(struct store *, const char *);
int pg_node_foreach(struct store *, store_node_cb *, void *);
int pg_node_expire(struct store *, unsigned, store_session_cb *, void *);
int pg_change_insert(struct store *, const char *, const char *,
    const char *);
int pg_change_last(struct store *, int64_t *);
int pg_change_foreach(struct store *, int64_t, unsigned, store_change_cb *,
    void *);
int pg_audit_last(struct store *, int64_t *, char[STORE_HASH_HEX + 1]);
int pg_audit_insert(struct store *, const struct store_audit *);
int pg_audit_foreach(struct store *, int64_t, unsigned, store_audit_cb *,
    void *);
int pg_apikey_delete(struct store *, const char *);
int pg_apikey_insert(struct store *, const struct store_apikey *);
int pg_apikey_foreach(struct store *, store_apikey_cb *, void *);
int pg_apikey_set_mac(struct store *, const char *, const char *);

/* The channel NOTIFY uses for the change feed (store_pg_feed.c too). */
#define PG_FEED_CHANNEL	"vtoken_changes"

/* alarms (store_pg_alarm.c) */
int pg_alarm_raise(struct store *, const struct store_alarm *,
    char id[STORE_ID_LEN + 1], bool *);
int pg_alarm_clear(struct store *, const char *, const char *, const char *,
    char id[STORE_ID_LEN + 1]);
int pg_alarm_ack(struct store *, const char *, const char *, const char *);
int pg_alarm_get(struct store *, const char *, store_alarm_cb *, void *);
int pg_alarm_foreach(struct store *, const char *, unsigned,
    store_alarm_cb *, void *);

/* documents (store_pg_doc.c) */
int pg_doc_put(struct store *, const char *, const char *, const void *,
    size_t);
int pg_doc_delete(struct store *, const char *, const char *);
int pg_doc_get(struct store *, const char *, const char *, store_doc_cb *,
    void *);
int pg_doc_foreach(struct store *, const char *, store_doc_cb *, void *);

#endif
