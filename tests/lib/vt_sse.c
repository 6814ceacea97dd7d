/*
 * vt_sse: see vt_sse.h.
 */
#include "vt_sse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/monotime.h"

#include "vt_http.h"

static int
sse_fail(struct vt_sse *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* The Content-Type of a response head of len bytes, into out ("": none). */
static void
sse_content_type(const char *head, size_t len, char *out, size_t outlen)
{
	char *copy = strndup(head, len), *line, *save = NULL;

	out[0] = '\0';
	for (line = copy ? strtok_r(copy, "\r\n", &save) : NULL; line != NULL;
	    line = strtok_r(NULL, "\r\n", &save))
		if (strncasecmp(line, "Content-Type:", 13) == 0) {
			snprintf(out, outlen, "%s", line + 13 + strspn(line +
			    13, " \t"));
			break;
		}
	free(copy);
}

/* Reads what is there within ms into raw; 1 read, 0 timeout, -1 end. */
static int
sse_fill(struct vt_sse *s, int ms)
{
	struct pollfd p = { s->fd, POLLIN, 0 };
	char buf[16384];
	ssize_t n;

	if (s->rawlen + sizeof(buf) > VT_SSE_MAX)
		return sse_fail(s, "more than %d bytes buffered", VT_SSE_MAX);
	if (poll(&p, 1, ms) <= 0)
		return 0;
	n = read(s->fd, buf, sizeof(buf));
	if (n <= 0)
		return sse_fail(s, "stream ended (%s)", n < 0 ?
		    strerror(errno) : "EOF");
	memcpy(s->raw + s->rawlen, buf, (size_t)n);
	s->rawlen += (size_t)n;
	return 1;
}

static void
sse_consume(struct vt_sse *s, size_t n)
{
	memmove(s->raw, s->raw + n, s->rawlen - n);
	s->rawlen -= n;
}

/* Moves decoded chunk payload from raw to text; -1 on a bad coding. */
static int
sse_dechunk(struct vt_sse *s)
{
	for (;;) {
		if (s->in_chunk) {
			size_t n = s->rawlen < s->chunk_left ? s->rawlen :
			    s->chunk_left;

			if (s->textlen + n > VT_SSE_MAX)
				return sse_fail(s, "events over %d bytes "
				    "unread", VT_SSE_MAX);
			memcpy(s->text + s->textlen, s->raw, n);
			s->textlen += n;
			sse_consume(s, n);
			if ((s->chunk_left -= n) > 0)
				return 0;
			s->in_chunk = false;
		}
		char *eol = memmem(s->raw, s->rawlen, "\r\n", 2);
		size_t len;

		if (eol == NULL)
			return 0;
		len = (size_t)(eol - s->raw);
		if (len == 0) {		/* the CRLF after a chunk */
			sse_consume(s, 2);
			continue;
		}
		s->chunk_left = strtoul(s->raw, NULL, 16);
		sse_consume(s, len + 2);
		if (s->chunk_left == 0) {
			s->ended = true;
			return 0;
		}
		if (s->chunk_left > VT_SSE_MAX / 2)
			return sse_fail(s, "chunk of %zu bytes", s->chunk_left);
		s->in_chunk = true;
	}
}

int
vt_sse_open(struct vt_sse *s, uint16_t port, const char *key,
    const char *path, long long last_id, int rcvbuf)
{
	struct sockaddr_in sin;
	char req[1024], idh[64] = "", authh[256] = "", ctype[128];
	int64_t deadline = monotime_ms() + 5000;
	char *end;
	int status = -1;

	memset(s, 0, sizeof(*s));
	s->raw = malloc(VT_SSE_MAX);
	s->text = malloc(VT_SSE_MAX);
	if (s->raw == NULL || s->text == NULL ||
	    (s->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return sse_fail(s, "no memory or socket");
	if (rcvbuf > 0)
		(void)setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(s->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return sse_fail(s, "connect: %s", strerror(errno));
	if (last_id >= 0)
		snprintf(idh, sizeof(idh), "Last-Event-ID: %lld\r\n", last_id);
	if (key != NULL)
		snprintf(authh, sizeof(authh), "Authorization: Bearer %s\r\n",
		    key);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Accept: text/event-stream\r\n%s%s\r\n", path, authh, idh);
	if (write(s->fd, req, strlen(req)) != (ssize_t)strlen(req))
		return sse_fail(s, "write: %s", strerror(errno));
	while ((end = memmem(s->raw, s->rawlen, "\r\n\r\n", 4)) == NULL) {
		if (monotime_ms() > deadline || sse_fill(s, 100) < 0)
			return sse_fail(s, "no response head");
	}
	if (sscanf(s->raw, "HTTP/1.%*d %d", &status) != 1)
		return sse_fail(s, "bad status line");
	sse_content_type(s->raw, (size_t)(end - s->raw), ctype, sizeof(ctype));
	vt_http_record("GET", path, NULL, status, ctype[0] ? ctype : NULL,
	    NULL, 0, status == 200 ? "an event stream" : "not read by vt_sse");
	if (status == 200 && (memmem(s->raw, (size_t)(end - s->raw),
	    "text/event-stream", 17) == NULL || memmem(s->raw,
	    (size_t)(end - s->raw), "chunked", 7) == NULL))
		return sse_fail(s, "200 without an event stream");
	sse_consume(s, (size_t)(end - s->raw) + 4);
	return status;
}

/* Takes one "\n\n"-terminated block from text into ev; 1 or 0. */
static int
sse_take(struct vt_sse *s, struct vt_sse_event *ev)
{
	char *blk = memmem(s->text, s->textlen, "\n\n", 2), *line, *save;
	size_t len;
	int got = 0;

	if (blk == NULL)
		return 0;
	len = (size_t)(blk - s->text);
	blk = strndup(s->text, len);
	memmove(s->text, s->text + len + 2, s->textlen - len - 2);
	s->textlen -= len + 2;
	ev->id = -1;
	ev->type[0] = '\0';
	ev->data = NULL;
	for (line = strtok_r(blk, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "id: ", 4) == 0)
			ev->id = strtoll(line + 4, NULL, 10), got = 1;
		else if (strncmp(line, "event: ", 7) == 0)
			snprintf(ev->type, sizeof(ev->type), "%s", line + 7),
			    got = 1;
		else if (strncmp(line, "data: ", 6) == 0) {
			free(ev->data);
			ev->data = strdup(line + 6);
			got = 1;
		}
	}
	free(blk);
	return got ? 1 : -2;	/* -2: a comment only; take the next */
}

int
vt_sse_next(struct vt_sse *s, int timeout_ms, struct vt_sse_event *ev)
{
	int64_t deadline = monotime_ms() + timeout_ms;
	int r;

	for (;;) {
		while ((r = sse_take(s, ev)) == -2)
			;
		if (r == 1)
			return 1;
		if (s->ended)
			return sse_fail(s, "stream ended");
		if (monotime_ms() >= deadline)
			return 0;
		r = sse_fill(s, (int)(deadline - monotime_ms()));
		if (r < 0 || sse_dechunk(s) < 0)
			return -1;
	}
}

void
vt_sse_close(struct vt_sse *s)
{
	if (s->fd > 0)
		close(s->fd);
	free(s->raw);
	free(s->text);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}
