/*
 * api_events: Server-Sent Events of the audit log (see api_events.h).
 *
 * Each stream is either catching up (reading the records after the last
 * one it was sent, a batch at a time, on the store thread) or live (it
 * has every record up to the hub's `last` and gets new ones as the hub
 * reads them).  The hub reads after `last` whenever the audit log rings;
 * a stream's own `sent` decides what it still needs, so a record is
 * never sent twice however catch-up and live reads interleave.
 *
 * Ownership: the hub owns its streams; a stream's request and connection
 * are evhttp's, and the stream ends when evhttp closes the connection
 * (api_guard_on_close).  A read on the store thread owns a small context
 * the hub lists; freeing the hub orphans them, so a read that completes
 * during shutdown touches nothing freed.
 */
#include "server/api/api_events.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/api/api.h"
#include "server/api/api_guard.h"
#include "server/control/control.h"

struct api_stream {
	TAILQ_ENTRY(api_stream) entry;
	struct api_events *hub;
	struct evhttp_request *req;	/* evhttp's */
	struct evhttp_connection *conn;
	char peer[64];
	int64_t sent;			/* newest seq sent; -1: start at head */
	bool live;
	bool reading;			/* a catch-up read is out */
	bool cut;			/* shut down; waiting for the close */
	char types[256];		/* ",a,b," or "" for all */
	char subject[40];		/* "token:ID" or "" */
	char vm[ENCODE_ID_LEN + 1];	/* a VM's id or "" */
};

struct api_events_read {
	TAILQ_ENTRY(api_events_read) entry;
	struct api_events *hub;		/* NULL once orphaned */
	struct api_stream *s;		/* NULL: the hub's own read */
};

struct api_events {
	struct api_server *api;
	TAILQ_HEAD(, api_stream) streams;
	TAILQ_HEAD(, api_events_read) reads;
	size_t n;
	int64_t last;			/* newest seq read; -1: not yet */
	bool polling, repoll;
	unsigned long long dropped;
	struct event *ev_tick;		/* keep-alive and a poll */
};

static void hub_poll(struct api_events *hub);
static void stream_read(struct api_stream *s);

/* ---- one stream ---- */

static void
stream_free(struct api_stream *s)
{
	TAILQ_REMOVE(&s->hub->streams, s, entry);
	s->hub->n--;
	free(s);
}

/* The client went away (or evhttp is freeing the connection). */
static void
stream_closed(void *arg)
{
	struct api_stream *s = arg;

	log_debug("api %s: event stream closed", s->peer);
	/*
	 * A client that went away leaves evhttp's request detached from the
	 * connection (evhttp frees only requests it still lists), waiting
	 * for the reply's end: ending it frees it.  At shutdown the request
	 * is still listed and evhttp frees it itself.
	 */
	if (s->req != NULL && evhttp_request_get_connection(s->req) == NULL)
		evhttp_send_reply_end(s->req);
	if (s->reading) {
		s->req = NULL;		/* its read frees it */
		s->cut = true;
		return;
	}
	stream_free(s);
}

/* A reader that does not read: shut the socket; evhttp closes it. */
static void
stream_cut(struct api_stream *s, const char *why)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(s->conn);
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;

	if (s->cut)
		return;
	s->cut = true;
	s->hub->dropped++;
	log_warnx("api %s: event stream cut: %s", s->peer, why);
	if (fd >= 0)
		(void)shutdown(fd, SHUT_RDWR);
}

/*
 * Bytes written to the stream and not yet taken by its reader: in the
 * connection's buffer and in the kernel's send queue (which on loopback
 * grows to megabytes before the first byte waits in ours).
 */
static size_t
stream_backlog(struct api_stream *s)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(s->conn);
	evutil_socket_t fd;
	int queued = 0;
	size_t n;

	if (bev == NULL)
		return 0;
	n = evbuffer_get_length(bufferevent_get_output(bev));
	fd = bufferevent_getfd(bev);
	if (fd >= 0 && ioctl(fd, SIOCOUTQ, &queued) == 0 && queued > 0)
		n += (size_t)queued;
	return n;
}

/* Writes text to the stream unless it is cut or its reader lags. */
static void
stream_write(struct api_stream *s, const char *text, size_t len)
{
	struct evbuffer *b;

	if (s->cut || s->req == NULL)
		return;
	if (stream_backlog(s) > API_EVENTS_MAX_BUFFERED) {
		stream_cut(s, "more than 1 MiB unread");
		return;
	}
	if ((b = evbuffer_new()) == NULL)
		return;
	evbuffer_add(b, text, len);
	evhttp_send_reply_chunk(s->req, b);
	evbuffer_free(b);
}

static bool
stream_wants(const struct api_stream *s, const json_t *rec)
{
	const char *action = json_string_value(json_object_get(rec, "action"));
	const char *subject = json_string_value(json_object_get(rec,
	    "subject"));
	const char *vm = json_string_value(json_object_get(json_object_get(
	    rec, "detail"), "vm"));
	char key[72];

	if (action == NULL || subject == NULL)
		return false;
	snprintf(key, sizeof(key), ",%s,", action);
	if (s->types[0] != '\0' && strstr(s->types, key) == NULL)
		return false;
	if (s->subject[0] != '\0' && strcmp(subject, s->subject) != 0)
		return false;
	if (s->vm[0] != '\0' && !(strncmp(subject, "vm:", 3) == 0 &&
	    strcmp(subject + 3, s->vm) == 0) && (vm == NULL ||
	    strcmp(vm, s->vm) != 0))
		return false;
	return true;
}

/* "id: SEQ\nevent: ACTION\ndata: JSON\n\n" (allocated), or NULL. */
static char *
event_text(const json_t *rec, size_t *len)
{
	char *data = json_dumps(rec, JSON_COMPACT), *text;

	if (data == NULL)
		return NULL;
	text = xasprintf("id: %" JSON_INTEGER_FORMAT "\nevent: %s\ndata: "
	    "%s\n\n", json_integer_value(json_object_get(rec, "seq")),
	    json_string_value(json_object_get(rec, "action")), data);
	free(data);
	*len = strlen(text);
	return text;
}

/* Sends rec to s if s still needs it and wants it. */
static void
stream_send(struct api_stream *s, const json_t *rec, const char *text,
    size_t len)
{
	int64_t seq = (int64_t)json_integer_value(json_object_get(rec, "seq"));

	if (seq <= s->sent)
		return;
	if (stream_wants(s, rec))
		stream_write(s, text, len);
	s->sent = seq;
}

/* After a read of its own or the hub's: read on, or go live. */
static void
stream_next(struct api_stream *s, bool more)
{
	struct api_events *hub = s->hub;

	if (s->cut || s->live || s->reading)
		return;
	if (more || (hub->last >= 0 && s->sent < hub->last))
		stream_read(s);
	else if (hub->last >= 0)
		s->live = true;
	else
		hub_poll(hub);		/* learn where the log is */
}

/* ---- reads ---- */

static struct api_events_read *
read_new(struct api_events *hub, struct api_stream *s)
{
	struct api_events_read *rd = xcalloc(1, sizeof(*rd));

	rd->hub = hub;
	rd->s = s;
	TAILQ_INSERT_TAIL(&hub->reads, rd, entry);
	return rd;
}

/* Sends each record of records to s; true when a batch came full. */
static bool
stream_feed(struct api_stream *s, json_t *records)
{
	size_t i, len;
	json_t *rec;
	char *text;

	json_array_foreach(records, i, rec) {
		if ((text = event_text(rec, &len)) == NULL)
			continue;
		stream_send(s, rec, text, len);
		free(text);
	}
	return json_array_size(records) >= API_EVENTS_BATCH;
}

static void
stream_read_done(void *arg, const struct vt_error *err, json_t *records,
    int64_t last_seq)
{
	struct api_events_read *rd = arg;
	struct api_stream *s = rd->s;
	bool more = false;

	if (rd->hub != NULL)
		TAILQ_REMOVE(&rd->hub->reads, rd, entry);
	if (rd->hub == NULL) {
		free(rd);
		return;
	}
	free(rd);
	s->reading = false;
	if (s->req == NULL) {		/* closed meanwhile */
		stream_free(s);
		return;
	}
	if (err != NULL) {
		log_warnx("api %s: event stream: %s", s->peer, err->msg);
		stream_cut(s, "the audit log cannot be read");
		return;
	}
	if (s->sent < 0)
		s->sent = last_seq;	/* new records only */
	else
		more = stream_feed(s, records);
	stream_next(s, more);
}

static void
stream_read(struct api_stream *s)
{
	struct api_events_read *rd = read_new(s->hub, s);

	s->reading = true;
	control_audit_list(s->hub->api->ctl, s->sent < 0 ? INT64_MAX :
	    s->sent, API_EVENTS_BATCH, stream_read_done, rd);
}

/* ---- the hub ---- */

static void
hub_poll_done(void *arg, const struct vt_error *err, json_t *records,
    int64_t last_seq)
{
	struct api_events_read *rd = arg;
	struct api_events *hub = rd->hub;
	struct api_stream *s, *next;
	size_t i, len;
	json_t *rec;
	char *text;

	if (hub != NULL)
		TAILQ_REMOVE(&hub->reads, rd, entry);
	free(rd);
	if (hub == NULL)
		return;
	hub->polling = false;
	if (err != NULL)
		return;		/* logged by the controller; rung again later */
	if (hub->last < 0)
		hub->last = last_seq;
	json_array_foreach(records, i, rec) {
		if ((text = event_text(rec, &len)) == NULL)
			continue;
		TAILQ_FOREACH(s, &hub->streams, entry)
			if (s->live)
				stream_send(s, rec, text, len);
		free(text);
		hub->last = (int64_t)json_integer_value(json_object_get(rec,
		    "seq"));
	}
	for (s = TAILQ_FIRST(&hub->streams); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		stream_next(s, false);
	}
	if (json_array_size(records) >= API_EVENTS_BATCH || hub->repoll) {
		hub->repoll = false;
		hub_poll(hub);
	}
}

static void
hub_poll(struct api_events *hub)
{
	struct api_events_read *rd;

	if (hub->n == 0)
		return;
	if (hub->polling) {
		hub->repoll = true;
		return;
	}
	hub->polling = true;
	rd = read_new(hub, NULL);
	control_audit_list(hub->api->ctl, hub->last < 0 ? INT64_MAX :
	    hub->last, API_EVENTS_BATCH, hub_poll_done, rd);
}

static void
hub_ring(void *arg)
{
	hub_poll(arg);
}

static void
hub_tick(evutil_socket_t fd, short what, void *arg)
{
	static const char keepalive[] = ": keep-alive\n\n";
	struct api_events *hub = arg;
	struct api_stream *s;

	(void)fd;
	(void)what;
	TAILQ_FOREACH(s, &hub->streams, entry)
		stream_write(s, keepalive, sizeof(keepalive) - 1);
	hub_poll(hub);		/* a bell lost is at most a tick late */
}

struct api_events *
api_events_new(struct api_server *api)
{
	struct api_events *hub = xcalloc(1, sizeof(*hub));
	struct timeval tv = { API_EVENTS_KEEPALIVE_S, 0 };

	hub->api = api;
	hub->last = -1;
	TAILQ_INIT(&hub->streams);
	TAILQ_INIT(&hub->reads);
	hub->ev_tick = event_new(api->base, -1, EV_PERSIST, hub_tick, hub);
	if (hub->ev_tick == NULL || event_add(hub->ev_tick, &tv) < 0) {
		if (hub->ev_tick != NULL)
			event_free(hub->ev_tick);
		free(hub);
		return NULL;
	}
	control_audit_watch(api->ctl, hub_ring, hub);
	return hub;
}

void
api_events_free(struct api_events *hub)
{
	struct api_events_read *rd;
	struct api_stream *s;

	if (hub == NULL)
		return;
	control_audit_watch(hub->api->ctl, NULL, NULL);
	while ((rd = TAILQ_FIRST(&hub->reads)) != NULL) {
		TAILQ_REMOVE(&hub->reads, rd, entry);
		rd->hub = NULL;		/* its done callback frees it */
	}
	while ((s = TAILQ_FIRST(&hub->streams)) != NULL)
		stream_free(s);
	event_free(hub->ev_tick);
	free(hub);
}

size_t
api_events_streams(const struct api_events *hub)
{
	return hub != NULL ? hub->n : 0;
}

unsigned long long
api_events_dropped(const struct api_events *hub)
{
	return hub != NULL ? hub->dropped : 0;
}

/* ---- GET /v1/events ---- */

/* ",a,b," from "a,b" ("session": attach and detach); -1 when too long. */
static int
stream_types(struct api_stream *s, const char *v)
{
	const char *t = strcmp(v, "session") == 0 ? "attach,detach" : v;
	int n = snprintf(s->types, sizeof(s->types), ",%s,", t);

	return n > 0 && (size_t)n < sizeof(s->types) ? 0 : -1;
}

/* Reads the filters and where to start; 0, or -1 after an answer. */
static int
stream_options(struct api_req *r, struct api_stream *s,
    const struct evkeyvalq *q)
{
	const char *v, *id = evhttp_find_header(
	    evhttp_request_get_input_headers(r->req), "Last-Event-ID");
	const struct control_token *tok;
	const struct control_vm *vm;
	char *end;

	if (id == NULL)
		id = evhttp_find_header(q, "after");
	s->sent = -1;
	if (id != NULL) {
		long long n = strtoll(id, &end, 10);

		if (*id == '\0' || *end != '\0' || n < 0) {
			api_reply_error(r, 400, "bad_request", "Last-Event-ID "
			    "and after: an audit seq is required");
			return -1;
		}
		s->sent = (int64_t)n;
	}
	if ((v = evhttp_find_header(q, "type")) != NULL &&
	    stream_types(s, v) < 0) {
		api_reply_error(r, 400, "bad_request", "type: too long");
		return -1;
	}
	if ((v = evhttp_find_header(q, "token")) != NULL) {
		if ((tok = control_token_find(r->ctl, v)) == NULL) {
			api_reply_error(r, 404, "not_found", "no token "
			    "\"%.64s\"", v);
			return -1;
		}
		snprintf(s->subject, sizeof(s->subject), "token:%s", tok->id);
	}
	if ((v = evhttp_find_header(q, "vm")) != NULL) {
		if ((vm = control_vm_find(r->ctl, v)) == NULL) {
			api_reply_error(r, 404, "not_found", "no VM \"%.64s\"",
			    v);
			return -1;
		}
		snprintf(s->vm, sizeof(s->vm), "%s", vm->id);
	}
	return 0;
}

void
api_events_open(struct api_req *r)
{
	static const char hello[] = ": vtoken events\n\n";
	struct api_events *hub = r->api->events;
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
	struct api_stream *s;
	struct evkeyvalq q;
	int rc;

	if (hub == NULL || hub->n >= API_EVENTS_MAX_STREAMS) {
		api_reply_error(r, 503, "too_many_streams", "at most %d event "
		    "streams at once", API_EVENTS_MAX_STREAMS);
		return;
	}
	if (api_query_parse(r, &q) < 0)
		return;
	s = xcalloc(1, sizeof(*s));
	rc = stream_options(r, s, &q);
	evhttp_clear_headers(&q);
	if (rc < 0) {
		free(s);
		return;
	}
	s->hub = hub;
	s->req = r->req;
	s->conn = evhttp_request_get_connection(r->req);
	snprintf(s->peer, sizeof(s->peer), "%s", r->peer);
	TAILQ_INSERT_TAIL(&hub->streams, s, entry);
	hub->n++;
	api_guard_on_close(r->api, r->req, stream_closed, s);
	evhttp_add_header(out, "Content-Type", "text/event-stream");
	evhttp_add_header(out, "Cache-Control", "no-store");
	evhttp_send_reply_start(r->req, 200, "OK");
	r->answered = true;		/* the stream is the answer */
	r->api->stats.by_class[2]++;
	log_info("api %s: event stream opened by %s", r->peer, r->actor);
	stream_write(s, hello, sizeof(hello) - 1);
	stream_read(s);
}
