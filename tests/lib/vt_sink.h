/*
 * vt_sink: a recording struct dev_sink, for tests that drive the virtual
 * device (src/server/device) URB by URB as a USB/IP session would, but
 * without one: the device unit tests and the scsi_bot fuzz target.  It
 * also builds their URBs and names the device they plug in.
 *
 * Every completion becomes a record of what the session would have
 * encoded in RET_SUBMIT, with a copy of exactly `actual` IN payload
 * bytes in a buffer of that size, so that ASan sees a device that hands
 * out less than it claims.  The recorder owns the records and the
 * copies; a pointer to a record stays valid until vt_sink_clear().
 *
 * The recorder enforces the dev_sink contract every session relies on:
 * the completion carries the sink's arg, actual never exceeds the URB's
 * length (CVE-2016-3955), and an IN completion with data has a payload.
 * A test adds its own invariants in the check hook, which runs on each
 * completion once it is recorded.  Nothing here calls Check (the fuzz
 * build has none): a broken contract, or more than `max` records, prints
 * the reason and aborts, which fails a Check test and makes libFuzzer
 * keep the input.
 */
#ifndef VTOKEN_TEST_VT_SINK_H
#define VTOKEN_TEST_VT_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/device/dev_usb.h"

/* One completion. */
struct vt_sink_rec {
	uint32_t seqnum;
	uint8_t ep;
	bool in;
	uint32_t flags;		/* the URB's DEV_URB_* flags */
	uint32_t length;	/* the URB's transfer length */
	int32_t status;
	uint32_t actual;
	uint8_t *data;		/* IN payload (actual bytes) or NULL */
};

struct vt_sink;

/* A test's invariants for one completion: urb as the device passed it,
 * r the record just made. */
typedef void vt_sink_check_fn(struct vt_sink *s, const struct dev_urb *urb,
    const struct vt_sink_rec *r);

struct vt_sink {
	struct dev_sink sink;		/* what dev_usb_attach() takes */
	struct vt_sink_rec *log;	/* n records, oldest first */
	size_t n;
	size_t max;
	vt_sink_check_fn *check;	/* or NULL */
	void *arg;			/* the test's, for check */
};

/* Room for max (> 0) records; check (may be NULL) sees every completion. */
void vt_sink_init(struct vt_sink *s, size_t max, vt_sink_check_fn *check,
    void *arg);
/* Forgets every record and frees the payload copies. */
void vt_sink_clear(struct vt_sink *s);
void vt_sink_free(struct vt_sink *s);
/* The first record of seqnum, or NULL. */
const struct vt_sink_rec *vt_sink_find(const struct vt_sink *s,
    uint32_t seqnum);

/*
 * Fills *u as a session decodes a CMD_SUBMIT, ready for dev_usb_submit();
 * setup is the 8-byte SETUP packet of a control transfer, or NULL.
 */
void vt_sink_urb(struct dev_urb *u, uint32_t seqnum, uint8_t ep, bool in,
    uint32_t flags, uint32_t length, const uint8_t *setup);
/* The identity the tests give a device unless identity is under test. */
extern const struct dev_ident vt_sink_ident;

#endif
