/*
 * store_pg_feed: the change feed's doorbell on PostgreSQL.  A connection
 * of its own, nonblocking on the event loop (libpq's asynchronous
 * connect, LISTEN, then notifications as they arrive), rings the
 * controller whenever another node commits a change, so that a revoke
 * through one node reaches the node holding the session within
 * milliseconds.  The feed carries no data: the controller reads the
 * change rows through the store thread (control_node.c), so a
 * notification lost while disconnected loses nothing; after every
 * (re)connect the bell rings once to catch up.  The connection comes back
 * with a back-off of 0.5 s to 2 s.  Nothing here logs but the state
 * changes.
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/store/store.h"
#include "server/store/store_pg_impl.h"

#define FEED_BACKOFF_MIN	0.5
#define FEED_BACKOFF_MAX	2.0

struct store_feed {
	struct event_base *base;
	char *dsn, *password;
	store_feed_fn *fn;
	void *arg;
	PGconn *conn;
	struct event *ev;		/* the socket, while connected or not */
	struct event *retry;		/* reconnect timer */
	double backoff;
	bool listening;
	bool warned;			/* the loss is logged once */
};

static void feed_start(struct store_feed *f);

/* The server's notices and a lost connection's FATAL are not for stderr. */
static void
feed_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static void
feed_drop(struct store_feed *f)
{
	if (f->ev != NULL) {
		event_free(f->ev);
		f->ev = NULL;
	}
	if (f->conn != NULL) {
		PQfinish(f->conn);
		f->conn = NULL;
	}
	f->listening = false;
}

/* Connection lost or refused: try again later. */
static void
feed_fail(struct store_feed *f, const char *why)
{
	struct timeval tv;
	const char *msg = f->conn ? PQerrorMessage(f->conn) : "";

	if (!f->warned)
		log_warnx("store feed: %s: %.*s; retrying", why,
		    (int)strcspn(msg, "\n"), msg);
	f->warned = true;
	feed_drop(f);
	f->backoff = f->backoff == 0 ? FEED_BACKOFF_MIN : f->backoff * 2;
	if (f->backoff > FEED_BACKOFF_MAX)
		f->backoff = FEED_BACKOFF_MAX;
	tv.tv_sec = (time_t)f->backoff;
	tv.tv_usec = (suseconds_t)((f->backoff - (double)tv.tv_sec) * 1e6);
	evtimer_add(f->retry, &tv);
}

/* Watches the socket for what libpq waits for. */
static int
feed_watch(struct store_feed *f, short what, event_callback_fn cb)
{
	if (f->ev != NULL)
		event_free(f->ev);
	f->ev = event_new(f->base, PQsocket(f->conn), what, cb, f);
	return f->ev != NULL && event_add(f->ev, NULL) == 0 ? 0 : -1;
}

/* Listening: notifications (and LISTEN's own result) arrive here. */
static void
feed_readcb(evutil_socket_t fd, short what, void *arg)
{
	struct store_feed *f = arg;
	PGnotify *n;
	PGresult *res;
	bool rang = false;

	(void)fd;
	(void)what;
	if (!PQconsumeInput(f->conn)) {
		feed_fail(f, "connection lost");
		return;
	}
	while (!PQisBusy(f->conn) && (res = PQgetResult(f->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			PQclear(res);
			feed_fail(f, "LISTEN failed");
			return;
		}
		PQclear(res);
		if (!f->listening) {
			f->listening = true;
			f->backoff = 0;
			if (f->warned)
				log_info("store feed: listening again");
			f->warned = false;
			rang = true;	/* catch up on what we missed */
		}
	}
	while ((n = PQnotifies(f->conn)) != NULL) {
		PQfreemem(n);
		rang = true;
	}
	if (rang)
		f->fn(f->arg);
}

static void
feed_pollcb(evutil_socket_t fd, short what, void *arg)
{
	struct store_feed *f = arg;

	(void)fd;
	(void)what;
	switch (PQconnectPoll(f->conn)) {
	case PGRES_POLLING_READING:
		if (feed_watch(f, EV_READ, feed_pollcb) < 0)
			feed_fail(f, "cannot watch the socket");
		return;
	case PGRES_POLLING_WRITING:
		if (feed_watch(f, EV_WRITE, feed_pollcb) < 0)
			feed_fail(f, "cannot watch the socket");
		return;
	case PGRES_POLLING_OK:
		if (PQsetnonblocking(f->conn, 1) != 0 ||
		    !PQsendQuery(f->conn, "LISTEN " PG_FEED_CHANNEL) ||
		    feed_watch(f, EV_READ | EV_PERSIST, feed_readcb) < 0)
			feed_fail(f, "cannot LISTEN");
		return;
	default:
		feed_fail(f, "cannot connect");
	}
}

static void
feed_start(struct store_feed *f)
{
	const char *keys[] = { "connect_timeout", "application_name",
	    "dbname", f->password ? "password" : NULL, NULL };
	const char *vals[] = { "5", "vtokend-feed", f->dsn, f->password,
	    NULL };

	feed_drop(f);
	f->conn = PQconnectStartParams(keys, vals, 1);
	if (f->conn == NULL || PQstatus(f->conn) == CONNECTION_BAD) {
		feed_fail(f, "cannot connect");
		return;
	}
	PQsetNoticeProcessor(f->conn, feed_notice, NULL);
	feed_pollcb(-1, 0, f);
}

static void
feed_retrycb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	feed_start(arg);
}

struct store_feed *
store_feed_open(struct event_base *base, const char *backend,
    const char *location, const char *password, store_feed_fn *fn,
    void *arg)
{
	struct store_feed *f;

	if (strcmp(backend, "postgresql") != 0)
		return NULL;	/* one node: nothing to hear */
	f = xcalloc(1, sizeof(*f));
	f->base = base;
	f->dsn = xstrdup(location);
	f->password = password != NULL ? xstrdup(password) : NULL;
	f->fn = fn;
	f->arg = arg;
	f->retry = evtimer_new(base, feed_retrycb, f);
	if (f->retry == NULL)
		fatalx("out of memory");
	feed_start(f);
	return f;
}

void
store_feed_free(struct store_feed *f)
{
	if (f == NULL)
		return;
	feed_drop(f);
	event_free(f->retry);
	if (f->password != NULL) {
		explicit_bzero(f->password, strlen(f->password));
		free(f->password);
	}
	free(f->dsn);
	free(f);
}

bool
store_feed_is_up(const struct store_feed *f)
{
	return f != NULL && f->listening;
}
