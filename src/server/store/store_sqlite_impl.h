/*
 * store_sqlite_impl: what the SQLite backend's files share.  Not for
 * other modules.
 *
 * Statements are built by sq_stmt(st, sql, fmt, ...) which prepares sql
 * and binds one argument per letter of fmt:
 *   s  const char *       text (NULL binds NULL)
 *   i  int64_t            integer
 *   b  const void *, int  blob of that many bytes
 * Names and other values never reach SQL text.
 */
#ifndef VTOKEN_STORE_SQLITE_IMPL_H
#define VTOKEN_STORE_SQLITE_IMPL_H

#include <sqlite3.h>
#include <stdbool.h>

#include "server/store/store.h"

#define SQ(st) ((sqlite3 *)(st)->impl)

/* Sets st->err to "what: sqlite's message"; returns STORE_ERR. */
int sq_fail(struct store *st, const char *what);
/* Runs sql (no parameters); 0 or STORE_ERR. */
int sq_exec(struct store *st, const char *sql);
/* A prepared, bound statement (see above), or NULL with st->err set. */
sqlite3_stmt *sq_stmt(struct store *st, const char *sql, const char *fmt,
    ...);
/*
 * Steps a write to completion and finalizes it: 0, STORE_CONFLICT on a
 * uniqueness violation, STORE_NOTFOUND when need_change and no row
 * changed, else STORE_ERR.
 */
int sq_done(struct store *st, sqlite3_stmt *s, bool need_change);
/* sq_stmt + sq_done.  s NULL (preparation failed): STORE_ERR. */
int sq_write(struct store *st, bool need_change, const char *sql,
    const char *fmt, ...);
/*
 * Runs the SELECT s, calling row(s, cb, arg) per result row; s is
 * finalized.  0, the first non-zero row() result, or STORE_ERR.
 */
int sq_foreach(struct store *st, sqlite3_stmt *s,
    int (*row)(sqlite3_stmt *, void *, void *), void *cb, void *arg);
/* Column helpers. */
void sq_text(sqlite3_stmt *s, int col, char *dst, size_t len);
const char *sq_ctext(sqlite3_stmt *s, int col);
/* The current time, RFC 3339 UTC (for rows that keep one). */
void sq_now(char out[STORE_TIME_LEN + 1]);

/* The rest of the ops (store_sqlite_cluster.c). */
int sq_session_claim(struct store *, const struct store_session *,
    unsigned);
int sq_session_release(struct store *, const char *, const char *);
int sq_session_clear(struct store *, const char *);
int sq_session_foreach(struct store *, const char *, const char *,
    unsigned, store_session_cb *, void *);
int sq_session_report(struct store *, const struct store_session *);
int sq_session_check(struct store *, const char *, const char *);
int sq_node_upsert(struct store *, const struct store_node *);
int sq_node_heartbeat(struct store *, const char *);
int sq_node_foreach(struct store *, store_node_cb *, void *);
int sq_node_expire(struct store *, unsigned, store_session_cb *, void *);
int sq_change_insert(struct store *, const char *, const char *,
    const char *);
int sq_change_last(struct store *, int64_t *);
int sq_change_foreach(struct store *, int64_t, unsigned, store_change_cb *,
    void *);
int sq_audit_last(struct store *, int64_t *, char[STORE_HASH_HEX + 1]);
int sq_audit_insert(struct store *, const struct store_audit *);
int sq_audit_foreach(struct store *, int64_t, unsigned, store_audit_cb *,
    void *);
int sq_apikey_delete(struct store *, const char *);
int sq_apikey_insert(struct store *, const struct store_apikey *);
int sq_apikey_foreach(struct store *, store_apikey_cb *, void *);
int sq_apikey_set_mac(struct store *, const char *, const char *);

/* alarms (store_sqlite_alarm.c) */
int sq_alarm_raise(struct store *, const struct store_alarm *,
    char id[STORE_ID_LEN + 1], bool *);
int sq_alarm_clear(struct store *, const char *, const char *, const char *,
    char id[STORE_ID_LEN + 1]);
int sq_alarm_ack(struct store *, const char *, const char *, const char *);
int sq_alarm_get(struct store *, const char *, store_alarm_cb *, void *);
int sq_alarm_foreach(struct store *, const char *, unsigned,
    store_alarm_cb *, void *);

/* documents (store_sqlite_doc.c) */
int sq_doc_put(struct store *, const char *, const char *, const void *,
    size_t);
int sq_doc_delete(struct store *, const char *, const char *);
int sq_doc_get(struct store *, const char *, const char *, store_doc_cb *,
    void *);
int sq_doc_foreach(struct store *, const char *, store_doc_cb *, void *);

#endif
