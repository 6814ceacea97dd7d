/*
 * api_events: GET /v1/events, the audit log as it grows, as Server-Sent
 * Events (docs/API.md, "Events").
 *
 * Every event is an audit record, once it has committed on any node:
 * "id:" is its seq, "event:" its action (attach and detach are the
 * session changes, with the bytes and duration in the detail), "data:"
 * the record as GET /v1/audit shows it.  A client that reconnects with
 * Last-Event-ID (or ?after=SEQ) gets every record after that one, read
 * back from the audit log, then the live ones: no gap, no repeat.
 * Filters: ?type=ACTION[,ACTION...] ("session" is attach,detach),
 * ?token=ID|NAME, ?vm=ID|NAME.
 *
 * Nothing here waits: records are read on the store thread when the
 * audit log rings (control_audit_watch) and written to each stream's
 * connection buffer; a stream with more than API_EVENTS_MAX_BUFFERED
 * bytes not yet taken by its reader (in our buffer and the kernel's send
 * queue: a reader that does not read) is cut,
 * logged and counted, so no reader can hold memory or the event loop.
 * A comment line every API_EVENTS_KEEPALIVE_S seconds keeps idle streams
 * open through proxies and finds dead peers.
 */
#ifndef VTOKEN_API_EVENTS_H
#define VTOKEN_API_EVENTS_H

#include <stddef.h>

#define API_EVENTS_MAX_STREAMS	256
#define API_EVENTS_MAX_BUFFERED	(1024 * 1024)
#define API_EVENTS_KEEPALIVE_S	15
#define API_EVENTS_BATCH	500	/* records per read */

struct api_server;
struct api_req;
struct api_events;

/* The hub of api's streams; NULL on failure.  Freed by api_events_free. */
struct api_events *api_events_new(struct api_server *api);
/* Ends every stream; reads still on the store thread are orphaned. */
void api_events_free(struct api_events *hub);
/* Streams open now, and streams cut for not reading, for /metrics. */
size_t api_events_streams(const struct api_events *hub);
unsigned long long api_events_dropped(const struct api_events *hub);

/* The handler of GET /v1/events. */
void api_events_open(struct api_req *r);

#endif
