/*
 * ctl_sse: the Server-Sent Events parser (see ctl_sse.h).  Bytes are
 * split into lines as they come; the line being read, the event's data
 * and its type live in capped buffers whose combined size is checked
 * before every append, so a peer cannot make the parser hold more than
 * max_event bytes for one event (the persistent last event ID is bounded
 * the same way, by the line it came on).
 */
#include "ctl/ctl_sse.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/capbuf.h"
#include "common/cause.h"
#include "common/xmalloc.h"

/* ctl_sse.bom once the start of the stream is behind. */
#define SSE_BOM_DONE	4

static const unsigned char sse_bom[3] = { 0xef, 0xbb, 0xbf };

struct ctl_sse {
	ctl_sse_event_fn fn;
	void *arg;		/* borrowed */
	size_t max;		/* bytes of one event */
	struct capbuf line;	/* the line being read, no terminator */
	struct capbuf data;	/* the event's data lines, each + '\n' */
	struct capbuf type;	/* the event's "event" field */
	struct capbuf id;	/* the last event ID */
	unsigned bom;		/* BOM bytes matched, or SSE_BOM_DONE */
	bool skip_lf;		/* the last line ended with CR */
	bool failed;
};

static int sse_fail(struct ctl_sse *p, char **cause, const char *what);
static int sse_append_line(struct ctl_sse *p, const char *s, size_t n,
	    char **cause);
static int sse_start(struct ctl_sse *p, const unsigned char **s,
	    const unsigned char *end, char **cause);
static const char *sse_eol(const char *s, const char *end);
static int sse_set(struct ctl_sse *p, struct capbuf *b, const char *v,
	    size_t n, char **cause);
static int sse_field(struct ctl_sse *p, const char *name, size_t nlen,
	    const char *value, size_t vlen, char **cause);
static int sse_line(struct ctl_sse *p, char **cause);
static int sse_dispatch(struct ctl_sse *p, char **cause);

struct ctl_sse *
ctl_sse_new(size_t max_event, ctl_sse_event_fn fn, void *arg)
{
	struct ctl_sse *p = xcalloc(1, sizeof(*p));

	p->fn = fn;
	p->arg = arg;
	p->max = max_event;
	capbuf_init(&p->line, max_event, false);
	capbuf_init(&p->data, max_event, false);
	capbuf_init(&p->type, max_event, false);
	capbuf_init(&p->id, max_event, false);
	return p;
}

void
ctl_sse_free(struct ctl_sse *p)
{
	if (p == NULL)
		return;
	capbuf_clear(&p->line);
	capbuf_clear(&p->data);
	capbuf_clear(&p->type);
	capbuf_clear(&p->id);
	free(p);
}

/* Marks p failed; says why (what, or running out of memory).  -1. */
static int
sse_fail(struct ctl_sse *p, char **cause, const char *what)
{
	p->failed = true;
	if (p->line.no_mem || p->data.no_mem || p->type.no_mem ||
	    p->id.no_mem)
		return cause_set(cause, "out of memory for an event");
	return cause_set(cause, "%s", what);
}

/* Adds n bytes to the line being read, within the event's cap. */
static int
sse_append_line(struct ctl_sse *p, const char *s, size_t n, char **cause)
{
	size_t held = p->line.len + p->data.len + p->type.len;

	if (n > p->max || held > p->max - n) {
		p->failed = true;
		return cause_set(cause, "an event of more than %zu bytes "
		    "refused", p->max);
	}
	if (capbuf_append(&p->line, s, n) == -1)
		return sse_fail(p, cause, "an event too large");
	return 0;
}

/*
 * Consumes a byte order mark at the start of the stream, which may come
 * split over pieces.  Bytes that only began one are the first line's.
 */
static int
sse_start(struct ctl_sse *p, const unsigned char **s,
    const unsigned char *end, char **cause)
{
	unsigned matched;

	while (p->bom != SSE_BOM_DONE && *s < end) {
		if (**s == sse_bom[p->bom]) {
			(*s)++;
			if (++p->bom == sizeof(sse_bom))
				p->bom = SSE_BOM_DONE;
			continue;
		}
		matched = p->bom;
		p->bom = SSE_BOM_DONE;
		if (matched > 0 && sse_append_line(p, (const char *)sse_bom,
		    matched, cause) == -1)
			return -1;
	}
	return 0;
}

/* The first CR or LF in [s, end), or end. */
static const char *
sse_eol(const char *s, const char *end)
{
	const char *lf = memchr(s, '\n', (size_t)(end - s));
	const char *cr = memchr(s, '\r', (size_t)((lf != NULL ? lf : end) -
	    s));

	if (cr != NULL)
		return cr;
	return lf != NULL ? lf : end;
}

/* Replaces b's contents by n bytes of v. */
static int
sse_set(struct ctl_sse *p, struct capbuf *b, const char *v, size_t n,
    char **cause)
{
	capbuf_clear(b);
	if (capbuf_append(b, v, n) == -1)
		return sse_fail(p, cause, "an event too large");
	return 0;
}

/* Applies one field of the event being read. */
static int
sse_field(struct ctl_sse *p, const char *name, size_t nlen,
    const char *value, size_t vlen, char **cause)
{
	if (nlen == 4 && memcmp(name, "data", 4) == 0) {
		if (capbuf_append(&p->data, value, vlen) == -1 ||
		    capbuf_append(&p->data, "\n", 1) == -1)
			return sse_fail(p, cause, "an event too large");
	} else if (nlen == 5 && memcmp(name, "event", 5) == 0) {
		return sse_set(p, &p->type, value, vlen, cause);
	} else if (nlen == 2 && memcmp(name, "id", 2) == 0) {
		if (memchr(value, '\0', vlen) == NULL)
			return sse_set(p, &p->id, value, vlen, cause);
	}
	/* "retry" and unknown fields are ignored. */
	return 0;
}

/* Interprets the complete line in p->line, then forgets it. */
static int
sse_line(struct ctl_sse *p, char **cause)
{
	const char *line = p->line.data != NULL ? p->line.data : "";
	const char *colon, *value;
	size_t len = p->line.len, nlen, vlen;
	int rc = 0;

	if (len == 0)
		return sse_dispatch(p, cause);
	if (line[0] != ':') {
		if ((colon = memchr(line, ':', len)) != NULL) {
			nlen = (size_t)(colon - line);
			value = colon + 1;
			vlen = len - nlen - 1;
			if (vlen > 0 && *value == ' ') {
				value++;
				vlen--;
			}
		} else {
			nlen = len;
			value = line + len;
			vlen = 0;
		}
		rc = sse_field(p, line, nlen, value, vlen, cause);
	}
	capbuf_clear(&p->line);
	return rc;
}

/*
 * A blank line: hands the event over, unless it had no data line, and
 * starts the next one (the last event ID stays).
 */
static int
sse_dispatch(struct ctl_sse *p, char **cause)
{
	struct ctl_sse_event ev;
	int rc = 0;

	if (p->data.len > 0) {
		/* The data ends with the '\n' of its last line: drop it. */
		ev.data_len = p->data.len - 1;
		p->data.data[ev.data_len] = '\0';
		ev.data = p->data.data;
		ev.type = p->type.len > 0 ? p->type.data : "message";
		ev.id = p->id.len > 0 ? p->id.data : "";
		if (p->fn(p->arg, &ev, cause) == -1) {
			p->failed = true;
			rc = -1;
		}
	}
	capbuf_clear(&p->data);
	capbuf_clear(&p->type);
	return rc;
}

int
ctl_sse_feed(struct ctl_sse *p, const void *buf, size_t n, char **cause)
{
	const unsigned char *u = buf, *uend = u + n;
	const char *s, *end, *eol;

	if (p->failed)
		return cause_set(cause, "the event stream failed before");
	if (sse_start(p, &u, uend, cause) == -1)
		return -1;
	s = (const char *)u;
	end = (const char *)uend;
	while (s < end) {
		if (p->skip_lf) {
			p->skip_lf = false;
			if (*s == '\n') {
				s++;
				continue;
			}
		}
		eol = sse_eol(s, end);
		if (eol > s && sse_append_line(p, s, (size_t)(eol - s),
		    cause) == -1)
			return -1;
		if (eol == end)
			break;
		p->skip_lf = *eol == '\r';
		s = eol + 1;
		if (sse_line(p, cause) == -1)
			return -1;
	}
	return 0;
}
