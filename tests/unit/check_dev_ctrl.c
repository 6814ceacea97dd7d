/*
 * check_dev_ctrl: endpoint-0 requests (src/server/device/dev_ctrl.c,
 * descriptors from dev_desc.c) through dev_usb_submit(), as a session sends
 * them: descriptors and their truncation, strings, configuration, endpoint
 * halts, the Bulk-Only class requests, and SETUP/URB consistency checks
 * (docs/PROTOCOL.md, "USB device model" and "Bad input" item 16).
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/device/dev_image.h"
#include "server/device/dev_desc.h"
#include "server/device/dev_usb.h"
#include "../lib/vt_sink.h"

#define MAX_LOG		32
#define MAX_DATA	256	/* longest reply any test here asks for */
#define EP_IN		1
#define EP_OUT		2

static struct vt_sink rec;		/* every completion, in order */
static uint32_t next_seq;
static struct dev_image *img;
static struct dev_usb dev;

static const struct dev_ident ident = {
	.vendor = 0x1209,
	.product = 0xbeef,
	.bcd_device = 0x0123,
	.manufacturer = "Acme",
	.product_name = "Token X",
	.serial = "00112233AABB",
};

/* Beyond what vt_sink checks: no reply exceeds the longest asked for. */
static void
sink_check(struct vt_sink *s, const struct dev_urb *urb,
    const struct vt_sink_rec *r)
{
	(void)s;
	(void)urb;
	ck_assert_uint_le(r->actual, MAX_DATA);
}

static const struct vt_sink_rec *
submit_raw(uint8_t ep, bool in, uint32_t len, uint32_t flags,
    const uint8_t setup[8], const uint8_t *out, uint32_t out_len)
{
	struct dev_urb u;
	size_t before = rec.n;

	vt_sink_urb(&u, ++next_seq, ep, in, flags, len, setup);
	ck_assert_int_eq(dev_usb_submit(&dev, &u, out, out_len), 0);
	/* The URB's own completion, if any, is the last one logged. */
	if (rec.n == before || rec.log[rec.n - 1].seqnum != u.seqnum)
		return NULL;
	return &rec.log[rec.n - 1];
}

static void
make_setup(uint8_t s[8], uint8_t type, uint8_t req, uint16_t value,
    uint16_t index, uint16_t length)
{
	s[0] = type;
	s[1] = req;
	s[2] = (uint8_t)value;
	s[3] = (uint8_t)(value >> 8);
	s[4] = (uint8_t)index;
	s[5] = (uint8_t)(index >> 8);
	s[6] = (uint8_t)length;
	s[7] = (uint8_t)(length >> 8);
}

/* A well-formed control URB: direction from bmRequestType. */
static const struct vt_sink_rec *
ctrl(uint8_t type, uint8_t req, uint16_t value, uint16_t index,
    uint16_t length)
{
	uint8_t s[8];
	const struct vt_sink_rec *c;

	make_setup(s, type, req, value, index, length);
	c = submit_raw(0, (type & 0x80) != 0, length, 0, s, NULL, 0);
	ck_assert_ptr_nonnull(c);	/* control URBs complete at once */
	return c;
}

static void
expect_stall(const struct vt_sink_rec *c)
{
	ck_assert_int_eq(c->status, DEV_URB_EPIPE);
	ck_assert_uint_eq(c->actual, 0);
}

static void
expect_ok(const struct vt_sink_rec *c, uint32_t actual)
{
	ck_assert_int_eq(c->status, 0);
	ck_assert_uint_eq(c->actual, actual);
}

static const struct vt_sink_rec *
get_descriptor(uint8_t type, uint8_t index, uint16_t langid,
    uint16_t length)
{
	return ctrl(0x80, 0x06, (uint16_t)(type << 8 | index), langid,
	    length);
}

static void
dev_setup(void)
{
	img = dev_image_new(64 * DEV_IMAGE_SECTOR_SIZE);
	ck_assert_ptr_nonnull(img);
	vt_sink_init(&rec, MAX_LOG, sink_check, NULL);
	next_seq = 0;
	dev_usb_init(&dev, &ident, img);
	dev_usb_attach(&dev, &rec.sink, 8, 64u << 20);
}

static void
dev_teardown(void)
{
	dev_usb_detach(&dev);
	vt_sink_free(&rec);
	dev_image_free(img);
	img = NULL;
}

/* Checks that string descriptor d is the UTF-16LE form of s. */
static void
expect_utf16(const struct vt_sink_rec *c, const char *s)
{
	size_t n = strlen(s);

	expect_ok(c, (uint32_t)(2 + 2 * n));
	ck_assert_uint_eq(c->data[0], 2 + 2 * n);
	ck_assert_uint_eq(c->data[1], USB_DESC_STRING);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(c->data[2 + 2 * i], (uint8_t)s[i]);
		ck_assert_uint_eq(c->data[3 + 2 * i], 0);
	}
}

/* --- descriptors --------------------------------------------------------- */

START_TEST(device_descriptor)
{
	static const uint8_t want[USB_DEVICE_DESC_SIZE] = {
		18, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 64,
		0x09, 0x12, 0xef, 0xbe, 0x23, 0x01, 1, 2, 3, 1,
	};
	const struct vt_sink_rec *c;

	/* Linux's first read asks for 64 and gets all 18 bytes. */
	c = get_descriptor(USB_DESC_DEVICE, 0, 0, 64);
	expect_ok(c, 18);
	ck_assert_mem_eq(c->data, want, sizeof(want));
	c = get_descriptor(USB_DESC_DEVICE, 0, 0, 18);
	expect_ok(c, 18);
	ck_assert_mem_eq(c->data, want, sizeof(want));
	/* Truncated to wLength. */
	c = get_descriptor(USB_DESC_DEVICE, 0, 0, 8);
	expect_ok(c, 8);
	ck_assert_mem_eq(c->data, want, 8);
}
END_TEST

START_TEST(device_descriptor_short_not_ok)
{
	uint8_t s[8];
	const struct vt_sink_rec *c;

	/* A short control IN with SHORT_NOT_OK is -EREMOTEIO, data kept. */
	make_setup(s, 0x80, 0x06, USB_DESC_DEVICE << 8, 0, 64);
	c = submit_raw(0, true, 64, DEV_URB_SHORT_NOT_OK, s, NULL, 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->status, DEV_URB_EREMOTEIO);
	ck_assert_uint_eq(c->actual, 18);
	ck_assert_uint_eq(c->data[0], 18);
}
END_TEST

START_TEST(config_descriptor)
{
	static const uint8_t want[USB_CONFIG_TOTAL_SIZE] = {
		9, 0x02, 32, 0, 1, 1, 0, 0x80, 50,
		9, 0x04, 0, 0, 2, 0x08, 0x06, 0x50, 0,
		7, 0x05, 0x81, 0x02, 0x00, 0x02, 0,
		7, 0x05, 0x02, 0x02, 0x00, 0x02, 0,
	};
	const struct vt_sink_rec *c;

	c = get_descriptor(USB_DESC_CONFIG, 0, 0, 9);
	expect_ok(c, 9);
	ck_assert_mem_eq(c->data, want, 9);
	ck_assert_uint_eq(c->data[2] | c->data[3] << 8, 32);
	c = get_descriptor(USB_DESC_CONFIG, 0, 0, 32);
	expect_ok(c, 32);
	ck_assert_mem_eq(c->data, want, sizeof(want));
	c = get_descriptor(USB_DESC_CONFIG, 0, 0, 255);
	expect_ok(c, 32);
	/* There is only configuration index 0. */
	expect_stall(get_descriptor(USB_DESC_CONFIG, 1, 0, 9));
}
END_TEST

START_TEST(string_descriptors)
{
	static const uint8_t langids[] = { 4, 0x03, 0x09, 0x04 };
	const struct vt_sink_rec *c;

	c = get_descriptor(USB_DESC_STRING, 0, 0, 255);
	expect_ok(c, 4);
	ck_assert_mem_eq(c->data, langids, sizeof(langids));
	expect_utf16(get_descriptor(USB_DESC_STRING, 1, 0x0409, 255), "Acme");
	expect_utf16(get_descriptor(USB_DESC_STRING, 2, 0x0409, 255),
	    "Token X");
	expect_utf16(get_descriptor(USB_DESC_STRING, 3, 0x0409, 255),
	    "00112233AABB");
	/* usbcore's retry: 2 bytes first, then the exact length. */
	c = get_descriptor(USB_DESC_STRING, 3, 0x0409, 2);
	expect_ok(c, 2);
	ck_assert_uint_eq(c->data[0], 26);
	ck_assert_uint_eq(c->data[1], USB_DESC_STRING);
}
END_TEST

START_TEST(string_missing_stall)
{
	expect_stall(get_descriptor(USB_DESC_STRING, 4, 0x0409, 255));
	expect_stall(get_descriptor(USB_DESC_STRING, 0xee, 0, 18));
	expect_stall(get_descriptor(USB_DESC_STRING, 0xff, 0x0409, 255));
}
END_TEST

START_TEST(string_sanitized_and_capped)
{
	static char longname[200];
	struct dev_ident id = ident;
	const struct vt_sink_rec *c;

	memset(longname, 'L', sizeof(longname) - 1);
	id.manufacturer = "A\tB\xc3\xa9";
	id.product_name = longname;
	dev_usb_init(&dev, &id, img);
	dev_usb_attach(&dev, &rec.sink, 8, 64u << 20);
	/* Non-printable and non-ASCII bytes become '?'. */
	expect_utf16(get_descriptor(USB_DESC_STRING, 1, 0x0409, 255),
	    "A?B??");
	/* bLength is one byte: at most 126 characters. */
	c = get_descriptor(USB_DESC_STRING, 2, 0x0409, 255);
	expect_ok(c, 254);
	ck_assert_uint_eq(c->data[0], 254);
	ck_assert_uint_eq(c->data[253], 0);
	ck_assert_uint_eq(c->data[252], 'L');
}
END_TEST

START_TEST(device_qualifier)
{
	static const uint8_t want[USB_QUALIFIER_SIZE] = {
		10, 0x06, 0x00, 0x02, 0, 0, 0, 64, 1, 0
	};
	const struct vt_sink_rec *c;

	c = get_descriptor(USB_DESC_DEVICE_QUALIFIER, 0, 0, 10);
	expect_ok(c, 10);
	ck_assert_mem_eq(c->data, want, sizeof(want));
}
END_TEST

START_TEST(unsupported_descriptors_stall)
{
	expect_stall(get_descriptor(0x0f, 0, 0, 5));	/* BOS */
	expect_stall(get_descriptor(0x07, 0, 0, 9));	/* other speed */
	expect_stall(get_descriptor(0x04, 0, 0, 9));	/* interface */
	expect_stall(get_descriptor(0x05, 0, 0, 7));	/* endpoint */
	expect_stall(get_descriptor(0x21, 0, 0, 9));	/* HID */
	/* GET_DESCRIPTOR to the interface recipient. */
	expect_stall(ctrl(0x81, 0x06, USB_DESC_DEVICE << 8, 0, 18));
}
END_TEST

/* --- configuration and interface ---------------------------------------- */

START_TEST(set_get_configuration)
{
	const struct vt_sink_rec *c;

	c = ctrl(0x80, 0x08, 0, 0, 1);
	expect_ok(c, 1);
	ck_assert_uint_eq(c->data[0], 0);
	expect_ok(ctrl(0x00, 0x09, 1, 0, 0), 0);
	c = ctrl(0x80, 0x08, 0, 0, 1);
	expect_ok(c, 1);
	ck_assert_uint_eq(c->data[0], 1);
	expect_stall(ctrl(0x00, 0x09, 2, 0, 0));
	c = ctrl(0x80, 0x08, 0, 0, 1);
	ck_assert_uint_eq(c->data[0], 1);
	expect_ok(ctrl(0x00, 0x09, 0, 0, 0), 0);
	ck_assert_uint_eq(dev.config, 0);
}
END_TEST

START_TEST(interface_requests)
{
	const struct vt_sink_rec *c;

	/* Unconfigured: the interface does not exist yet. */
	expect_stall(ctrl(0x01, 0x0b, 0, 0, 0));
	expect_stall(ctrl(0x81, 0x0a, 0, 0, 1));
	expect_ok(ctrl(0x00, 0x09, 1, 0, 0), 0);
	c = ctrl(0x81, 0x0a, 0, 0, 1);
	expect_ok(c, 1);
	ck_assert_uint_eq(c->data[0], 0);
	expect_ok(ctrl(0x01, 0x0b, 0, 0, 0), 0);
	expect_stall(ctrl(0x01, 0x0b, 1, 0, 0));	/* alt 1 */
	expect_stall(ctrl(0x01, 0x0b, 0, 1, 0));	/* interface 1 */
	c = ctrl(0x81, 0x00, 0, 0, 2);			/* GET_STATUS */
	expect_ok(c, 2);
	ck_assert_uint_eq(c->data[0], 0);
	expect_stall(ctrl(0x81, 0x00, 0, 1, 2));
}
END_TEST

START_TEST(device_status_and_features)
{
	const struct vt_sink_rec *c;

	c = ctrl(0x80, 0x00, 0, 0, 2);
	expect_ok(c, 2);
	ck_assert_uint_eq(c->data[0], 0);
	ck_assert_uint_eq(c->data[1], 0);
	expect_ok(ctrl(0x00, 0x03, 1, 0, 0), 0);	/* remote wakeup */
	expect_ok(ctrl(0x00, 0x01, 1, 0, 0), 0);
	expect_stall(ctrl(0x00, 0x03, 2, 0, 0));	/* test mode */
	expect_ok(ctrl(0x00, 0x05, 7, 0, 0), 0);	/* SET_ADDRESS */
}
END_TEST

/* --- endpoint halts ------------------------------------------------------ */

static uint8_t
ep_status(uint16_t ep)
{
	const struct vt_sink_rec *c = ctrl(0x82, 0x00, 0, ep, 2);

	expect_ok(c, 2);
	ck_assert_uint_eq(c->data[1], 0);
	return c->data[0];
}

START_TEST(endpoint_halt_in)
{
	const struct vt_sink_rec *c;

	expect_ok(ctrl(0x00, 0x09, 1, 0, 0), 0);
	ck_assert_uint_eq(ep_status(0x81), 0);
	ck_assert_uint_eq(ep_status(0x02), 0);
	ck_assert_uint_eq(ep_status(0x00), 0);
	expect_ok(ctrl(0x02, 0x03, 0, 0x81, 0), 0);	/* SET_FEATURE */
	ck_assert_uint_eq(ep_status(0x81), 1);
	ck_assert_uint_eq(ep_status(0x02), 0);
	c = submit_raw(EP_IN, true, 13, 0, NULL, NULL, 0);
	ck_assert_ptr_nonnull(c);
	expect_stall(c);
	expect_ok(ctrl(0x02, 0x01, 0, 0x81, 0), 0);	/* CLEAR_FEATURE */
	ck_assert_uint_eq(ep_status(0x81), 0);
	/* Now the IN URB waits (NAK) instead of failing. */
	ck_assert_ptr_null(submit_raw(EP_IN, true, 13, 0, NULL, NULL, 0));
	ck_assert_uint_eq(dev.npending, 1);
}
END_TEST

START_TEST(endpoint_halt_fails_waiting_in)
{
	const struct vt_sink_rec *c;
	size_t before;

	expect_ok(ctrl(0x00, 0x09, 1, 0, 0), 0);
	ck_assert_ptr_null(submit_raw(EP_IN, true, 13, 0, NULL, NULL, 0));
	before = rec.n;
	/* SET_FEATURE(HALT) fails the waiting URB with -EPIPE. */
	expect_ok(ctrl(0x02, 0x03, 0, 0x81, 0), 0);
	ck_assert_uint_eq(rec.n, before + 2);
	c = &rec.log[before];
	ck_assert_uint_eq(c->seqnum, next_seq - 1);
	expect_stall(c);
	ck_assert_uint_eq(dev.npending, 0);
}
END_TEST

START_TEST(endpoint_halt_out)
{
	static const uint8_t junk[31];
	const struct vt_sink_rec *c;

	expect_ok(ctrl(0x00, 0x09, 1, 0, 0), 0);
	expect_ok(ctrl(0x02, 0x03, 0, 0x02, 0), 0);
	ck_assert_uint_eq(ep_status(0x02), 1);
	ck_assert_uint_eq(ep_status(0x81), 0);
	c = submit_raw(EP_OUT, false, sizeof(junk), 0, NULL, junk,
	    sizeof(junk));
	ck_assert_ptr_nonnull(c);
	expect_stall(c);
	ck_assert(!dev.wedged);	/* the CBW never reached the BOT */
	expect_ok(ctrl(0x02, 0x01, 0, 0x02, 0), 0);
	ck_assert_uint_eq(ep_status(0x02), 0);
}
END_TEST

START_TEST(endpoint_bad_index)
{
	expect_stall(ctrl(0x82, 0x00, 0, 0x83, 2));
	expect_stall(ctrl(0x82, 0x00, 0, 0x01, 2));	/* OUT 1: none */
	expect_stall(ctrl(0x02, 0x03, 0, 0x83, 0));
	expect_stall(ctrl(0x02, 0x01, 0, 0x82, 0));
	/* Only ENDPOINT_HALT is an endpoint feature. */
	expect_stall(ctrl(0x02, 0x03, 1, 0x81, 0));
	ck_assert(!dev.halted_in);
	/* Halting ep0 is a per-request matter: accepted, nothing kept. */
	expect_ok(ctrl(0x02, 0x03, 0, 0x00, 0), 0);
	ck_assert_uint_eq(ep_status(0x00), 0);
}
END_TEST

START_TEST(set_configuration_clears_halts)
{
	expect_ok(ctrl(0x00, 0x09, 1, 0, 0), 0);
	expect_ok(ctrl(0x02, 0x03, 0, 0x81, 0), 0);
	expect_ok(ctrl(0x02, 0x03, 0, 0x02, 0), 0);
	dev.wedged = true;
	expect_ok(ctrl(0x00, 0x09, 1, 0, 0), 0);
	ck_assert_uint_eq(ep_status(0x81), 0);
	ck_assert_uint_eq(ep_status(0x02), 0);
	ck_assert(!dev.wedged);
}
END_TEST

START_TEST(set_interface_clears_halts)
{
	expect_ok(ctrl(0x00, 0x09, 1, 0, 0), 0);
	expect_ok(ctrl(0x02, 0x03, 0, 0x81, 0), 0);
	expect_ok(ctrl(0x02, 0x03, 0, 0x02, 0), 0);
	expect_ok(ctrl(0x01, 0x0b, 0, 0, 0), 0);
	ck_assert_uint_eq(ep_status(0x81), 0);
	ck_assert_uint_eq(ep_status(0x02), 0);
}
END_TEST

/* --- class requests ------------------------------------------------------ */

START_TEST(get_max_lun)
{
	const struct vt_sink_rec *c;

	c = ctrl(0xa1, 0xfe, 0, 0, 1);
	expect_ok(c, 1);
	ck_assert_uint_eq(c->data[0], 0);
	expect_stall(ctrl(0xa1, 0xfe, 0, 1, 1));	/* interface 1 */
	expect_stall(ctrl(0xa1, 0xfe, 1, 0, 1));	/* wValue 1 */
	expect_stall(ctrl(0xa1, 0xfe, 0, 0, 2));	/* wLength 2 */
}
END_TEST

START_TEST(bot_reset_request)
{
	expect_ok(ctrl(0x00, 0x09, 1, 0, 0), 0);
	dev.wedged = true;
	dev.halted_in = true;
	dev.bot.state = DEV_BOT_STATUS;
	expect_ok(ctrl(0x21, 0xff, 0, 0, 0), 0);
	ck_assert(!dev.wedged);
	ck_assert_int_eq(dev.bot.state, DEV_BOT_IDLE);
	/* Halts stay until CLEAR_FEATURE. */
	ck_assert(dev.halted_in);
	expect_stall(ctrl(0x21, 0xff, 0, 1, 0));
	expect_stall(ctrl(0x21, 0xff, 1, 0, 0));
	/* Unknown class and vendor requests. */
	expect_stall(ctrl(0x21, 0x00, 0, 0, 0));
	expect_stall(ctrl(0xc0, 0x01, 0, 0, 4));
	expect_stall(ctrl(0x40, 0x01, 0, 0, 0));
}
END_TEST

/* --- SETUP versus URB ---------------------------------------------------- */

START_TEST(wlength_mismatch)
{
	uint8_t s[8];
	const struct vt_sink_rec *c;

	make_setup(s, 0x80, 0x06, USB_DESC_DEVICE << 8, 0, 18);
	c = submit_raw(0, true, 64, 0, s, NULL, 0);
	ck_assert_ptr_nonnull(c);
	expect_stall(c);
	c = submit_raw(0, true, 8, 0, s, NULL, 0);
	ck_assert_ptr_nonnull(c);
	expect_stall(c);
	/* A request without data in a URB with a buffer. */
	make_setup(s, 0x00, 0x09, 1, 0, 0);
	c = submit_raw(0, false, 4, 0, s, (const uint8_t *)"\0\0\0\0", 4);
	ck_assert_ptr_nonnull(c);
	expect_stall(c);
	ck_assert_uint_eq(dev.config, 0);
}
END_TEST

START_TEST(direction_mismatch)
{
	uint8_t s[8];
	static const uint8_t out[18];
	const struct vt_sink_rec *c;

	/* GET_DESCRIPTOR (device to host) in an OUT URB. */
	make_setup(s, 0x80, 0x06, USB_DESC_DEVICE << 8, 0, 18);
	c = submit_raw(0, false, 18, 0, s, out, sizeof(out));
	ck_assert_ptr_nonnull(c);
	expect_stall(c);
	/* A host-to-device request with data in an IN URB. */
	make_setup(s, 0x00, 0x07, USB_DESC_DEVICE << 8, 0, 18);
	c = submit_raw(0, true, 18, 0, s, NULL, 0);
	ck_assert_ptr_nonnull(c);
	expect_stall(c);
}
END_TEST

START_TEST(out_data_stalls)
{
	uint8_t s[8];
	static const uint8_t out[2] = { 1, 2 };
	const struct vt_sink_rec *c;

	/* SET_DESCRIPTOR carries data; nothing here accepts any. */
	make_setup(s, 0x00, 0x07, USB_DESC_DEVICE << 8, 0, 2);
	c = submit_raw(0, false, 2, 0, s, out, sizeof(out));
	ck_assert_ptr_nonnull(c);
	expect_stall(c);
}
END_TEST

START_TEST(zero_length_in_direction_ignored)
{
	uint8_t s[8];
	const struct vt_sink_rec *c;

	/* No data stage: the URB direction does not matter. */
	make_setup(s, 0x00, 0x09, 1, 0, 0);
	c = submit_raw(0, true, 0, 0, s, NULL, 0);
	ck_assert_ptr_nonnull(c);
	expect_ok(c, 0);
	ck_assert_uint_eq(dev.config, 1);
}
END_TEST

static Suite *
usb_ctrl_suite(void)
{
	Suite *s = suite_create("usb_ctrl");
	TCase *desc = tcase_create("descriptors");
	TCase *std = tcase_create("standard");
	TCase *cls = tcase_create("class");
	TCase *chk = tcase_create("checks");

	tcase_add_checked_fixture(desc, dev_setup, dev_teardown);
	tcase_add_test(desc, device_descriptor);
	tcase_add_test(desc, device_descriptor_short_not_ok);
	tcase_add_test(desc, config_descriptor);
	tcase_add_test(desc, string_descriptors);
	tcase_add_test(desc, string_missing_stall);
	tcase_add_test(desc, string_sanitized_and_capped);
	tcase_add_test(desc, device_qualifier);
	tcase_add_test(desc, unsupported_descriptors_stall);
	suite_add_tcase(s, desc);

	tcase_add_checked_fixture(std, dev_setup, dev_teardown);
	tcase_add_test(std, set_get_configuration);
	tcase_add_test(std, interface_requests);
	tcase_add_test(std, device_status_and_features);
	tcase_add_test(std, endpoint_halt_in);
	tcase_add_test(std, endpoint_halt_fails_waiting_in);
	tcase_add_test(std, endpoint_halt_out);
	tcase_add_test(std, endpoint_bad_index);
	tcase_add_test(std, set_configuration_clears_halts);
	tcase_add_test(std, set_interface_clears_halts);
	suite_add_tcase(s, std);

	tcase_add_checked_fixture(cls, dev_setup, dev_teardown);
	tcase_add_test(cls, get_max_lun);
	tcase_add_test(cls, bot_reset_request);
	suite_add_tcase(s, cls);

	tcase_add_checked_fixture(chk, dev_setup, dev_teardown);
	tcase_add_test(chk, wlength_mismatch);
	tcase_add_test(chk, direction_mismatch);
	tcase_add_test(chk, out_data_stalls);
	tcase_add_test(chk, zero_length_in_direction_ignored);
	suite_add_tcase(s, chk);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(usb_ctrl_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
