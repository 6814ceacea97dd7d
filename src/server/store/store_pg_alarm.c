/*
 * store_pg_alarm: alarms on PostgreSQL (store.h has the semantics).  The
 * partial unique index alarms_active keeps one active row per rule and
 * key: of two nodes raising the same alarm at once, the second insert
 * conflicts and its transaction fails (the caller's retry updates).
 */
#include <stdio.h>
#include <string.h>

#include "server/store/store_pg_impl.h"

#define PG_ALARM_COLS "SELECT id, rule, key, severity, state, message," \
	" count, first_seen, last_seen, coalesce(cleared, '')," \
	" coalesce(acked_by, ''), coalesce(acked_at, ''), node FROM alarms"

/* The id of the active alarm of (rule, key) into id; 1 found, 0, <0. */
static int
pg_alarm_active(struct store *st, const char *rule, const char *key,
    char id[STORE_ID_LEN + 1])
{
	PGresult *res;
	int r, found;

	res = pg_query(st, &r, "SELECT id FROM alarms WHERE rule = $1 AND"
	    " key = $2 AND state = 'active' FOR UPDATE", "ss", rule, key);
	if (res == NULL)
		return r;
	found = PQntuples(res) > 0;
	if (found)
		pg_text(res, 0, 0, id, STORE_ID_LEN + 1);
	PQclear(res);
	return found;
}

int
pg_alarm_raise(struct store *st, const struct store_alarm *a,
    char id[STORE_ID_LEN + 1], bool *inserted)
{
	int r = pg_alarm_active(st, a->rule, a->key, id);

	*inserted = false;
	if (r < 0)
		return r;
	if (r == 1)
		return pg_write(st, true, "UPDATE alarms SET count = $1,"
		    " last_seen = $2, severity = $3, message = $4 WHERE id = $5",
		    "issss", a->count, a->last_seen, a->severity, a->message,
		    id);
	snprintf(id, STORE_ID_LEN + 1, "%s", a->id);
	*inserted = true;
	return pg_write(st, false, "INSERT INTO alarms(id, rule, key,"
	    " severity, state, message, count, first_seen, last_seen, node)"
	    " VALUES($1, $2, $3, $4, 'active', $5, $6, $7, $8, $9)",
	    "sssssisss", a->id, a->rule, a->key, a->severity, a->message,
	    a->count, a->first_seen, a->last_seen, a->node);
}

int
pg_alarm_clear(struct store *st, const char *rule, const char *key,
    const char *when, char id[STORE_ID_LEN + 1])
{
	int r = pg_alarm_active(st, rule, key, id);

	if (r <= 0)
		return r < 0 ? r : STORE_NOTFOUND;
	return pg_write(st, true, "UPDATE alarms SET state = 'cleared',"
	    " cleared = $1 WHERE id = $2", "ss", when, id);
}

int
pg_alarm_ack(struct store *st, const char *id, const char *by,
    const char *when)
{
	return pg_write(st, true, "UPDATE alarms SET acked_by = $1,"
	    " acked_at = $2 WHERE id = $3 AND acked_by IS NULL", "sss", by,
	    when, id);
}

static int
pg_alarm_row(PGresult *res, int i, void *cb, void *arg)
{
	struct store_alarm a;

	memset(&a, 0, sizeof(a));
	pg_text(res, i, 0, a.id, sizeof(a.id));
	a.rule = pg_ctext(res, i, 1);
	a.key = pg_ctext(res, i, 2);
	a.severity = pg_ctext(res, i, 3);
	a.state = pg_ctext(res, i, 4);
	a.message = pg_ctext(res, i, 5);
	a.count = pg_int(res, i, 6);
	pg_text(res, i, 7, a.first_seen, sizeof(a.first_seen));
	pg_text(res, i, 8, a.last_seen, sizeof(a.last_seen));
	pg_text(res, i, 9, a.cleared, sizeof(a.cleared));
	a.acked_by = pg_ctext(res, i, 10);
	pg_text(res, i, 11, a.acked_at, sizeof(a.acked_at));
	a.node = pg_ctext(res, i, 12);
	return ((store_alarm_cb *)cb)(arg, &a);
}

int
pg_alarm_get(struct store *st, const char *id, store_alarm_cb *cb, void *arg)
{
	PGresult *res;
	int r;

	res = pg_query(st, &r, PG_ALARM_COLS " WHERE id = $1", "s", id);
	return res == NULL ? r : pg_rows(res, pg_alarm_row, (void *)cb, arg);
}

int
pg_alarm_foreach(struct store *st, const char *state, unsigned limit,
    store_alarm_cb *cb, void *arg)
{
	PGresult *res;
	int r;

	res = pg_query(st, &r, PG_ALARM_COLS " WHERE ($1::text IS NULL OR"
	    " state = $1) ORDER BY last_seen DESC, id LIMIT $2", "si", state,
	    limit > 0 ? (int64_t)limit : INT64_MAX);
	return res == NULL ? r : pg_rows(res, pg_alarm_row, (void *)cb, arg);
}
