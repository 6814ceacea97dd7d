/*
 * dev_desc: descriptor builders (USB 2.0 chapter 9, MSC BOT 1.0 section 4).
 */
#include "server/device/dev_desc.h"

#include <string.h>

#include "common/bytes.h"

void
dev_desc_device(const struct dev_ident *id, uint8_t d[USB_DEVICE_DESC_SIZE])
{
	d[0] = USB_DEVICE_DESC_SIZE;
	d[1] = USB_DESC_DEVICE;
	/*
	 * 2.00, not 2.01: avoids the BOS request and LPM (docs/PROTOCOL.md,
	 * "USB device model").
	 */
	put_le16(d + 2, 0x0200);
	d[4] = 0;		/* class per interface */
	d[5] = 0;
	d[6] = 0;
	d[7] = 64;		/* bMaxPacketSize0 */
	put_le16(d + 8, id->vendor);
	put_le16(d + 10, id->product);
	put_le16(d + 12, id->bcd_device);
	d[14] = USB_STR_MANUFACTURER;
	d[15] = USB_STR_PRODUCT;
	d[16] = USB_STR_SERIAL;
	d[17] = 1;		/* one configuration */
}

void
dev_desc_config(uint8_t d[USB_CONFIG_TOTAL_SIZE])
{
	static const uint8_t cfg[USB_CONFIG_TOTAL_SIZE] = {
		/* configuration */
		9, USB_DESC_CONFIG, USB_CONFIG_TOTAL_SIZE, 0,
		1,		/* bNumInterfaces */
		1,		/* bConfigurationValue */
		0,		/* iConfiguration */
		0x80,		/* bus powered, no remote wakeup */
		50,		/* 100 mA */
		/* interface 0: mass storage, SCSI transparent, BOT */
		9, USB_DESC_INTERFACE, 0, 0, 2,
		USB_CLASS_MASS_STORAGE, USB_SUBCLASS_SCSI, USB_PROTO_BOT, 0,
		/* bulk IN 0x81 and bulk OUT 0x02, 512 bytes */
		7, USB_DESC_ENDPOINT, USB_EP_BULK_IN, 0x02,
		USB_BULK_MAX_PACKET & 0xff, USB_BULK_MAX_PACKET >> 8, 0,
		7, USB_DESC_ENDPOINT, USB_EP_BULK_OUT, 0x02,
		USB_BULK_MAX_PACKET & 0xff, USB_BULK_MAX_PACKET >> 8, 0,
	};

	memcpy(d, cfg, sizeof(cfg));
}

void
dev_desc_qualifier(uint8_t d[USB_QUALIFIER_SIZE])
{
	d[0] = USB_QUALIFIER_SIZE;
	d[1] = USB_DESC_DEVICE_QUALIFIER;
	put_le16(d + 2, 0x0200);
	d[4] = 0;
	d[5] = 0;
	d[6] = 0;
	d[7] = 64;
	d[8] = 1;
	d[9] = 0;
}

size_t
dev_desc_string(const struct dev_ident *id, uint8_t index,
    uint8_t out[USB_STRING_MAX])
{
	const char *s;
	size_t n;

	switch (index) {
	case 0:
		out[0] = 4;
		out[1] = USB_DESC_STRING;
		put_le16(out + 2, 0x0409);	/* English (US) */
		return 4;
	case USB_STR_MANUFACTURER:
		s = id->manufacturer;
		break;
	case USB_STR_PRODUCT:
		s = id->product_name;
		break;
	case USB_STR_SERIAL:
		s = id->serial;
		break;
	default:
		return 0;
	}
	/* UTF-16LE of a printable-ASCII string; 126 characters at most. */
	n = strnlen(s, (USB_STRING_MAX - 2) / 2);
	out[0] = (uint8_t)(2 + 2 * n);
	out[1] = USB_DESC_STRING;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		put_le16(out + 2 + 2 * i, c >= 0x20 && c < 0x7f ? c : '?');
	}
	return 2 + 2 * n;
}
