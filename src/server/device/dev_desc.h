/*
 * dev_desc: the descriptors of a USB 2.0 high-speed Bulk-Only mass-storage
 * device (one configuration, one interface 08/06/50, bulk EPs 0x81 and
 * 0x02 of 512 bytes).  Pure builders into caller buffers.
 */
#ifndef VTOKEN_DEV_DESC_H
#define VTOKEN_DEV_DESC_H

#include <stddef.h>
#include <stdint.h>

#define USB_DESC_DEVICE			1
#define USB_DESC_CONFIG			2
#define USB_DESC_STRING			3
#define USB_DESC_INTERFACE		4
#define USB_DESC_ENDPOINT		5
#define USB_DESC_DEVICE_QUALIFIER	6

#define USB_DEVICE_DESC_SIZE	18
#define USB_CONFIG_TOTAL_SIZE	32
#define USB_QUALIFIER_SIZE	10
#define USB_STRING_MAX		255	/* bLength is one byte */

#define USB_EP_BULK_IN		0x81
#define USB_EP_BULK_OUT		0x02
#define USB_BULK_MAX_PACKET	512
#define USB_CLASS_MASS_STORAGE	0x08
#define USB_SUBCLASS_SCSI	0x06
#define USB_PROTO_BOT		0x50

#define USB_STR_MANUFACTURER	1
#define USB_STR_PRODUCT		2
#define USB_STR_SERIAL		3

/* Identity of one virtual device; strings are borrowed. */
struct dev_ident {
	uint16_t vendor;
	uint16_t product;
	uint16_t bcd_device;
	const char *manufacturer;
	const char *product_name;
	const char *serial;
};

void dev_desc_device(const struct dev_ident *id,
    uint8_t out[USB_DEVICE_DESC_SIZE]);
void dev_desc_config(uint8_t out[USB_CONFIG_TOTAL_SIZE]);
void dev_desc_qualifier(uint8_t out[USB_QUALIFIER_SIZE]);
/*
 * Builds string descriptor `index` (0 = language table) into out.
 * Returns its length, or 0 when the index does not exist.
 */
size_t dev_desc_string(const struct dev_ident *id, uint8_t index,
    uint8_t out[USB_STRING_MAX]);

#endif
