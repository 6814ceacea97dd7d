/*
 * vt_sse: a Server-Sent Events client for tests, on a plain blocking
 * socket (so that a test can also stop reading on purpose): sends GET
 * with a bearer key and an optional Last-Event-ID, checks the 200 and
 * text/event-stream, undoes the chunked transfer coding, and returns one
 * event at a time.  Every wait is bounded.  Nothing here calls Check.
 */
#ifndef VTOKEN_TEST_VT_SSE_H
#define VTOKEN_TEST_VT_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VT_SSE_MAX	(1024 * 1024)	/* buffered, undecoded or not */

struct vt_sse {
	int fd;
	char *raw;		/* received, still chunk-coded */
	size_t rawlen;
	char *text;		/* decoded event stream, not yet returned */
	size_t textlen;
	size_t chunk_left;	/* bytes of the current chunk still due */
	bool in_chunk;
	bool ended;		/* last chunk or end of stream seen */
	char err[128];
};

struct vt_sse_event {
	long long id;		/* -1 when the event had no id */
	char type[64];
	char *data;		/* allocated; the caller frees it */
};

/*
 * Opens GET path on 127.0.0.1:port with key (NULL: none) and
 * last_id (negative: no Last-Event-ID).  rcvbuf > 0 sets SO_RCVBUF
 * before connecting.  Returns the HTTP status (200 when the stream is
 * open), or -1 with s->err.
 */
int vt_sse_open(struct vt_sse *s, uint16_t port, const char *key,
    const char *path, long long last_id, int rcvbuf);
/*
 * The next event (comments skipped): 1 and *ev filled, 0 when none came
 * within timeout_ms, -1 when the stream ended or failed (s->err).
 */
int vt_sse_next(struct vt_sse *s, int timeout_ms, struct vt_sse_event *ev);
void vt_sse_close(struct vt_sse *s);

#endif
