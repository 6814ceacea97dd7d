/*
 * vt_sink: the recording dev_sink (see vt_sink.h).
 */
#include "vt_sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct dev_ident vt_sink_ident = {
	.vendor = 0x1209,
	.product = 0x0001,
	.bcd_device = 0x0100,
	.manufacturer = "vtoken",
	.product_name = "Virtual Token",
	.serial = "0123456789AB",
};

static void __attribute__((noreturn))
vt_sink_abort(const char *why)
{
	fprintf(stderr, "vt_sink: %s\n", why);
	abort();
}

static void
vt_sink_complete(void *arg, const struct dev_urb *urb, int32_t status,
    uint32_t actual, const struct dev_payload *data)
{
	struct vt_sink *s = arg;
	struct vt_sink_rec *r;

	if (s == NULL || s->sink.arg != s)
		vt_sink_abort("completion without the sink's arg");
	if (actual > urb->length)
		vt_sink_abort("actual > transfer length");
	if (urb->in && actual > 0 && data == NULL)
		vt_sink_abort("IN data without a payload");
	if (s->n == s->max)
		vt_sink_abort("more completions than the test expects");
	r = &s->log[s->n++];
	memset(r, 0, sizeof(*r));
	r->seqnum = urb->seqnum;
	r->ep = urb->ep;
	r->in = urb->in;
	r->flags = urb->flags;
	r->length = urb->length;
	r->status = status;
	r->actual = actual;
	if (urb->in && actual > 0) {
		/* Exactly actual bytes: ASan sees any overrun of the source. */
		if ((r->data = malloc(actual)) == NULL)
			vt_sink_abort("out of memory");
		dev_payload_copy(data, r->data, actual);
	}
	if (s->check != NULL)
		s->check(s, urb, r);
}

void
vt_sink_init(struct vt_sink *s, size_t max, vt_sink_check_fn *check,
    void *arg)
{
	memset(s, 0, sizeof(*s));
	s->sink.complete = vt_sink_complete;
	s->sink.arg = s;
	s->max = max;
	s->check = check;
	s->arg = arg;
	if (max == 0 || (s->log = calloc(max, sizeof(*s->log))) == NULL)
		vt_sink_abort("out of memory");
}

void
vt_sink_clear(struct vt_sink *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->log[i].data);
	s->n = 0;
}

void
vt_sink_free(struct vt_sink *s)
{
	vt_sink_clear(s);
	free(s->log);
	s->log = NULL;
	s->max = 0;
}

const struct vt_sink_rec *
vt_sink_find(const struct vt_sink *s, uint32_t seqnum)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->log[i].seqnum == seqnum)
			return &s->log[i];
	return NULL;
}

void
vt_sink_urb(struct dev_urb *u, uint32_t seqnum, uint8_t ep, bool in,
    uint32_t flags, uint32_t length, const uint8_t *setup)
{
	memset(u, 0, sizeof(*u));
	u->seqnum = seqnum;
	u->ep = ep;
	u->in = in;
	u->flags = flags;
	u->length = length;
	if (setup != NULL)
		memcpy(u->setup, setup, sizeof(u->setup));
}
