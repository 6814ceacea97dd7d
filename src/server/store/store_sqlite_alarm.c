/*
 * store_sqlite_alarm: alarms on SQLite (store.h has the semantics).  The
 * partial unique index alarms_active keeps one active row per rule and
 * key, so two nodes raising the same alarm at once make one row.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "server/store/store_sqlite_impl.h"

#define SQ_ALARM_COLS "SELECT id, rule, key, severity, state, message," \
	" count, first_seen, last_seen, cleared, acked_by, acked_at, node" \
	" FROM alarms"

/* The id of the active alarm of (rule, key) into id; 1 found, 0, <0. */
static int
sq_alarm_active(struct store *st, const char *rule, const char *key,
    char id[STORE_ID_LEN + 1])
{
	sqlite3_stmt *q = sq_stmt(st, "SELECT id FROM alarms WHERE rule = ?"
	    " AND key = ? AND state = 'active'", "ss", rule, key);
	int rc;

	if (q == NULL)
		return STORE_ERR;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		sq_text(q, 0, id, STORE_ID_LEN + 1);
	sqlite3_finalize(q);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : sq_fail(st, "alarm");
}

int
sq_alarm_raise(struct store *st, const struct store_alarm *a,
    char id[STORE_ID_LEN + 1], bool *inserted)
{
	int r = sq_alarm_active(st, a->rule, a->key, id);

	*inserted = false;
	if (r < 0)
		return r;
	if (r == 1)
		return sq_write(st, true, "UPDATE alarms SET count = ?,"
		    " last_seen = ?, severity = ?, message = ? WHERE id = ?",
		    "issss", a->count, a->last_seen, a->severity, a->message,
		    id);
	snprintf(id, STORE_ID_LEN + 1, "%s", a->id);
	*inserted = true;
	return sq_write(st, false, "INSERT INTO alarms(id, rule, key,"
	    " severity, state, message, count, first_seen, last_seen, node)"
	    " VALUES(?,?,?,?,'active',?,?,?,?,?)", "sssssisss", a->id,
	    a->rule, a->key, a->severity, a->message, a->count, a->first_seen,
	    a->last_seen, a->node);
}

int
sq_alarm_clear(struct store *st, const char *rule, const char *key,
    const char *when, char id[STORE_ID_LEN + 1])
{
	int r = sq_alarm_active(st, rule, key, id);

	if (r <= 0)
		return r < 0 ? r : STORE_NOTFOUND;
	return sq_write(st, true, "UPDATE alarms SET state = 'cleared',"
	    " cleared = ? WHERE id = ?", "ss", when, id);
}

int
sq_alarm_ack(struct store *st, const char *id, const char *by,
    const char *when)
{
	return sq_write(st, true, "UPDATE alarms SET acked_by = ?,"
	    " acked_at = ? WHERE id = ? AND acked_by IS NULL", "sss", by, when,
	    id);
}

static int
sq_alarm_row(sqlite3_stmt *s, void *cb, void *arg)
{
	struct store_alarm a;

	memset(&a, 0, sizeof(a));
	sq_text(s, 0, a.id, sizeof(a.id));
	a.rule = sq_ctext(s, 1);
	a.key = sq_ctext(s, 2);
	a.severity = sq_ctext(s, 3);
	a.state = sq_ctext(s, 4);
	a.message = sq_ctext(s, 5);
	a.count = sqlite3_column_int64(s, 6);
	sq_text(s, 7, a.first_seen, sizeof(a.first_seen));
	sq_text(s, 8, a.last_seen, sizeof(a.last_seen));
	sq_text(s, 9, a.cleared, sizeof(a.cleared));
	a.acked_by = sq_ctext(s, 10);
	sq_text(s, 11, a.acked_at, sizeof(a.acked_at));
	a.node = sq_ctext(s, 12);
	return ((store_alarm_cb *)cb)(arg, &a);
}

int
sq_alarm_get(struct store *st, const char *id, store_alarm_cb *cb, void *arg)
{
	return sq_foreach(st, sq_stmt(st, SQ_ALARM_COLS " WHERE id = ?", "s",
	    id), sq_alarm_row, (void *)cb, arg);
}

int
sq_alarm_foreach(struct store *st, const char *state, unsigned limit,
    store_alarm_cb *cb, void *arg)
{
	return sq_foreach(st, sq_stmt(st, SQ_ALARM_COLS " WHERE (?1 IS NULL"
	    " OR state = ?1) ORDER BY last_seen DESC, id LIMIT ?2", "si",
	    state, limit > 0 ? (int64_t)limit : INT64_MAX), sq_alarm_row,
	    (void *)cb, arg);
}
