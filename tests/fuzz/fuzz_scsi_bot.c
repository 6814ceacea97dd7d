/*
 * fuzz_scsi_bot: the virtual device (dev_usb, dev_ctrl), the Bulk-Only
 * Transport (dev_bot) and SCSI (dev_scsi, dev_scsi_info) driven URB by
 * URB, as the USB/IP session drives them, without sockets.  A recording
 * dev_sink (tests/lib/vt_sink) checks every completion:
 *
 *  - it answers a URB that was submitted and is neither answered nor
 *    unlinked; control and OUT URBs are answered during their submit,
 *    bulk-IN URBs then or later; unlink and is_pending agree with that;
 *  - actual <= length (and <= the OUT payload), status 0, -EPIPE,
 *    -EOVERFLOW (IN only) or -EREMOTEIO (SHORT_NOT_OK and short only);
 *    IN payload is copied out of the device (ASan checks the source);
 *  - a data phase moves at most dCBWDataTransferLength bytes, and a
 *    CSW is 13 bytes "USBS" with the CBW's tag, status <= 2 and a
 *    residue <= dCBWDataTransferLength.
 *
 * Input: byte 0 holds flags (FLAG_*), then operations, each an opcode
 * byte (its value mod NOPS picks the kind, high bits are variants) and
 * its operands; operands past the end read as zero.
 */
#include <stdbool.h>
#include <string.h>

#include "common/bytes.h"
#include "fuzz.h"
#include "server/device/dev_image.h"
#include "server/device/dev_bot.h"
#include "server/device/dev_usb.h"
#include "../lib/vt_sink.h"

#define FLAG_RO		0x01	/* read-only medium */
#define FLAG_UNCONF	0x02	/* do not SET_CONFIGURATION first */

#define NSECT		512u	/* 256 KiB image */
#define MAX_PENDING	16u
/* Below MAX_PENDING x MAX_BULK, so both caps get hit. */
#define MAX_PENDING_BYTES	(4u * MAX_BULK)
#define MAX_LIVE	(MAX_PENDING + 2)
#define MAX_BULK	(64u << 10)
#define MAX_CTRL_OUT	4096u
#define EP_IN		1
#define EP_OUT		2

enum op {
	OP_CBW,		/* a CBW built from operands */
	OP_OUT,		/* raw bulk OUT */
	OP_IN,		/* bulk IN */
	OP_CTRL,	/* control transfer */
	OP_UNLINK,	/* unlink a recent seqnum */
	OP_FILL,	/* bulk OUT of pattern bytes (write data) */
	OP_REATTACH,	/* session ends and a new one starts */
	NOPS
};

struct live {
	uint32_t seqnum, length, flags, out_len;
	uint8_t ep;
	bool in;
};

/* Operand reader: bytes past the end read as zero. */
struct rd {
	const uint8_t *p;
	size_t n;
};

static struct {
	struct dev_usb dev;
	struct dev_image *img;
	struct live live[MAX_LIVE];
	size_t nlive;
	uint32_t seq;
	uint32_t submitting;	/* seqnum inside dev_usb_submit, or 0 */
	unsigned completed;	/* completions of `submitting' */
	bool cbw;		/* `submitting' is an OUT in IDLE */
	uint64_t phase_in, phase_out;	/* data bytes of this command */
	struct vt_sink rec;	/* completions of the current submit */
} fz;

static uint8_t pattern[MAX_BULK];

static uint8_t
rd_u8(struct rd *r)
{
	uint8_t v = r->n > 0 ? r->p[0] : 0;

	if (r->n > 0) {
		r->p++;
		r->n--;
	}
	return v;
}

static uint16_t
rd_u16(struct rd *r)
{
	uint16_t lo = rd_u8(r);

	return (uint16_t)(lo | rd_u8(r) << 8);
}

/* Copies len operand bytes into dst (zero-padded). */
static void
rd_bytes(struct rd *r, uint8_t *dst, size_t len)
{
	size_t n = len < r->n ? len : r->n;

	memcpy(dst, r->p, n);
	memset(dst + n, 0, len - n);
	r->p += n;
	r->n -= n;
}

static struct live *
live_find(uint32_t seqnum)
{
	for (size_t i = 0; i < fz.nlive; i++)
		if (fz.live[i].seqnum == seqnum)
			return &fz.live[i];
	return NULL;
}

static void
live_drop(struct live *l)
{
	*l = fz.live[--fz.nlive];
}

/* A CSW: the transport is in STATUS while it completes one. */
static void
check_csw(const struct dev_urb *urb, int32_t status, uint32_t actual,
    const uint8_t *p)
{
	const struct dev_bot *bot = &fz.dev.bot;

	FUZZ_CHECK(actual == (urb->length < MSC_CSW_SIZE ? urb->length :
	    MSC_CSW_SIZE));
	FUZZ_CHECK(status == (actual < MSC_CSW_SIZE ? DEV_URB_EOVERFLOW :
	    0) || status == DEV_URB_EREMOTEIO);
	if (actual < MSC_CSW_SIZE)
		return;
	FUZZ_CHECK(get_le32(p) == MSC_CSW_SIGNATURE);
	FUZZ_CHECK(get_le32(p + 4) == bot->tag);
	FUZZ_CHECK(p[12] <= MSC_CSW_PHASE_ERROR);
	FUZZ_CHECK(get_le32(p + 8) <= bot->h);
	FUZZ_CHECK(p[12] != MSC_CSW_PHASE_ERROR || get_le32(p + 8) == 0);
}

/* Data-phase and CSW accounting for a bulk completion. */
static void
check_bulk(const struct dev_urb *urb, int32_t status, uint32_t actual,
    const uint8_t *p)
{
	const struct dev_bot *bot = &fz.dev.bot;

	if (status == DEV_URB_EPIPE)
		return;
	if (!urb->in) {
		/* Data OUT completes before the transport moves on. */
		if (!fz.cbw) {
			FUZZ_CHECK(bot->state == DEV_BOT_DATA_OUT);
			fz.phase_out += actual;
			FUZZ_CHECK(fz.phase_out <= bot->h);
		}
		return;
	}
	if (bot->state == DEV_BOT_DATA_IN) {
		fz.phase_in += actual;
		FUZZ_CHECK(fz.phase_in <= bot->h);
		FUZZ_CHECK(fz.phase_in <= bot->xfer);
	} else {
		FUZZ_CHECK(bot->state == DEV_BOT_STATUS);
		check_csw(urb, status, actual, p);
	}
}

/*
 * Beyond the dev_sink contract vt_sink enforces (actual <= length, IN
 * data has a payload, copied out of the device so that ASan checks the
 * source): the URB is live, and the status fits the direction.
 */
static void
sink_check(struct vt_sink *s, const struct dev_urb *urb,
    const struct vt_sink_rec *r)
{
	struct live *l = live_find(urb->seqnum);

	(void)s;
	FUZZ_CHECK(l != NULL);
	FUZZ_CHECK(l->ep == urb->ep && l->in == urb->in &&
	    l->length == urb->length);
	FUZZ_CHECK(r->status == 0 || r->status == DEV_URB_EPIPE ||
	    (r->status == DEV_URB_EOVERFLOW && urb->in) ||
	    (r->status == DEV_URB_EREMOTEIO && urb->in &&
	    r->actual < urb->length && (urb->flags & DEV_URB_SHORT_NOT_OK)));
	FUZZ_CHECK(r->status != DEV_URB_EPIPE || r->actual == 0);
	if (!urb->in)
		FUZZ_CHECK(r->actual <= l->out_len);
	if (urb->ep != 0)
		check_bulk(urb, r->status, r->actual, r->data);
	if (urb->seqnum == fz.submitting)
		fz.completed++;
	live_drop(l);
}

/* Submits one URB and checks the synchronous part of its fate. */
static bool
submit(uint8_t ep, bool in, uint32_t len, uint32_t flags,
    const uint8_t setup[8], const uint8_t *out, uint32_t out_len)
{
	struct dev_urb u;
	struct live *l;
	size_t queued = 0;
	uint64_t queued_bytes = 0;
	int r;

	vt_sink_urb(&u, ++fz.seq, ep, in, flags, len, setup);
	FUZZ_CHECK(!dev_usb_is_pending(&fz.dev, u.seqnum));
	for (size_t i = 0; i < fz.nlive; i++)
		if (fz.live[i].in && fz.live[i].ep == EP_IN) {
			queued++;
			queued_bytes += fz.live[i].length;
		}
	FUZZ_CHECK(queued == fz.dev.npending);
	FUZZ_CHECK(queued_bytes == fz.dev.pending_bytes);
	FUZZ_CHECK(fz.nlive < MAX_LIVE);
	l = &fz.live[fz.nlive++];
	memset(l, 0, sizeof(*l));
	l->seqnum = u.seqnum;
	l->length = len;
	l->flags = flags;
	l->out_len = out_len;
	l->ep = ep;
	l->in = in;
	fz.submitting = u.seqnum;
	fz.completed = 0;
	vt_sink_clear(&fz.rec);
	/* An OUT in IDLE is a CBW: the next command's data phase starts. */
	fz.cbw = ep == EP_OUT && fz.dev.bot.state == DEV_BOT_IDLE;
	if (fz.cbw)
		fz.phase_in = fz.phase_out = 0;
	r = dev_usb_submit(&fz.dev, &u, out, out_len);
	fz.submitting = 0;
	fz.cbw = false;
	if (r < 0) {
		/* Only a bulk-IN URB over a cap may be refused. */
		FUZZ_CHECK(ep == EP_IN && in);
		FUZZ_CHECK(r == DEV_USB_TOO_BIG ?
		    queued_bytes + len > MAX_PENDING_BYTES :
		    queued >= MAX_PENDING);
		FUZZ_CHECK(fz.completed == 0);
		live_drop(live_find(u.seqnum));
		return false;
	}
	FUZZ_CHECK(fz.completed <= 1);
	if (ep != EP_IN)
		FUZZ_CHECK(fz.completed == 1);
	FUZZ_CHECK(dev_usb_is_pending(&fz.dev, u.seqnum) ==
	    (live_find(u.seqnum) != NULL));
	return true;
}

static bool
op_cbw(struct rd *r, uint8_t b)
{
	uint8_t cbw[MSC_CBW_SIZE + 1];
	uint32_t h = rd_u16(r), len = MSC_CBW_SIZE;

	if (b & 0x80)
		h *= DEV_IMAGE_SECTOR_SIZE;
	memset(cbw, 0, sizeof(cbw));
	put_le32(cbw, MSC_CBW_SIGNATURE);
	put_le32(cbw + 4, fz.seq * 3 + 1);
	put_le32(cbw + 8, h);
	cbw[12] = b & 0x40 ? 0x80 : 0x00;
	if (b & 0x20)
		cbw[12] |= rd_u8(r) & 0x7f;	/* reserved bits */
	cbw[13] = b & 0x10 ? rd_u8(r) : 0;
	cbw[14] = rd_u8(r) & 0x1f;
	rd_bytes(r, cbw + 15, 16);
	if (b & 0x08)
		len = rd_u8(r) % (sizeof(cbw) + 1);	/* not 31 bytes */
	return submit(EP_OUT, false, len, 0, NULL, cbw, len);
}

static bool
op_out(struct rd *r)
{
	uint8_t buf[MAX_CTRL_OUT];
	uint32_t len = rd_u16(r) % (MAX_CTRL_OUT + 1);

	rd_bytes(r, buf, len);
	return submit(EP_OUT, false, len, 0, NULL, buf, len);
}

static bool
op_fill(struct rd *r, uint8_t b)
{
	uint32_t len = rd_u16(r);

	if (b & 0x80)
		len *= DEV_IMAGE_SECTOR_SIZE;
	if (len > MAX_BULK)
		len = MAX_BULK;
	return submit(EP_OUT, false, len, 0, NULL, pattern, len);
}

static bool
op_in(struct rd *r, uint8_t b)
{
	uint32_t len = rd_u16(r);

	if (b & 0x40)
		len = len * DEV_IMAGE_SECTOR_SIZE % (MAX_BULK + 1);
	return submit(EP_IN, true, len, b & 0x80 ? DEV_URB_SHORT_NOT_OK :
	    0, NULL, NULL, 0);
}

static bool
op_ctrl(struct rd *r, uint8_t b)
{
	uint8_t setup[8], buf[MAX_CTRL_OUT];
	uint32_t len;
	bool in;

	rd_bytes(r, setup, sizeof(setup));
	in = (setup[0] & 0x80) != 0;
	len = get_le16(setup + 6);
	if (b & 0x80)
		in = !in;			/* direction disagrees */
	if (b & 0x40)
		len = rd_u16(r);		/* length disagrees */
	if (!in) {
		if (len > MAX_CTRL_OUT)
			len = MAX_CTRL_OUT;
		rd_bytes(r, buf, len);
	}
	return submit(0, in, len, 0, setup, in ? NULL : buf, in ? 0 : len);
}

static void
op_unlink(struct rd *r)
{
	uint32_t target = fz.seq - rd_u8(r);
	struct live *l = live_find(target);
	int was = dev_usb_unlink(&fz.dev, target);

	FUZZ_CHECK(was == (l != NULL));
	if (l != NULL)
		live_drop(l);
	FUZZ_CHECK(!dev_usb_is_pending(&fz.dev, target));
}

/* Session end: waiting URBs are dropped, never completed. */
static void
detach(void)
{
	for (size_t i = 0; i < fz.nlive; i++)
		FUZZ_CHECK(fz.live[i].in && fz.live[i].ep == EP_IN);
	dev_usb_detach(&fz.dev);
	fz.nlive = 0;
}

static void
attach(bool configure)
{
	static const uint8_t set_config[8] = { 0x00, 0x09, 0x01, 0, 0, 0, 0,
	    0 };

	dev_usb_attach(&fz.dev, &fz.rec.sink, MAX_PENDING, MAX_PENDING_BYTES);
	fz.phase_in = fz.phase_out = 0;
	if (configure)
		FUZZ_CHECK(submit(0, false, 0, 0, set_config, NULL, 0));
}

static bool
run_op(struct rd *r)
{
	uint8_t b = rd_u8(r);

	switch (b % NOPS) {
	case OP_CBW:
		return op_cbw(r, b);
	case OP_OUT:
		return op_out(r);
	case OP_IN:
		return op_in(r, b);
	case OP_CTRL:
		return op_ctrl(r, b);
	case OP_UNLINK:
		op_unlink(r);
		return true;
	case OP_FILL:
		return op_fill(r, b);
	default:
		detach();
		attach(true);
		return true;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r = { data, size };
	uint8_t flags = rd_u8(&r);

	if (pattern[1] == 0)
		for (size_t i = 0; i < sizeof(pattern); i++)
			pattern[i] = (uint8_t)(i * 5 + 3);
	memset(&fz, 0, sizeof(fz));
	/* One submit completes at most every live URB. */
	vt_sink_init(&fz.rec, MAX_LIVE, sink_check, NULL);
	fz.img = dev_image_new((uint64_t)NSECT * DEV_IMAGE_SECTOR_SIZE);
	FUZZ_CHECK(fz.img != NULL);
	FUZZ_CHECK(dev_image_write(fz.img, 0, pattern, 4096) == 0);
	dev_image_set_readonly(fz.img, flags & FLAG_RO);
	dev_usb_init(&fz.dev, &vt_sink_ident, fz.img);
	attach(!(flags & FLAG_UNCONF));
	/* Bounded: every operation consumes at least its opcode byte. */
	while (r.n > 0)
		if (!run_op(&r))
			break;	/* the session would close here */
	detach();
	dev_image_free(fz.img);
	vt_sink_free(&fz.rec);
	return 0;
}
