/*
 * usbip_proto: pure encode/decode of the USB/IP wire format (see
 * docs/PROTOCOL.md, "USB/IP").  All header integers are big-endian; the
 * SETUP packet is copied raw.  No I/O, no allocation, no logging: decoders
 * take (bytes, length) and either fill a struct or say why the input is
 * unacceptable, which makes them easy to golden-test and to fuzz.
 */
#ifndef VTOKEN_USBIP_PROTO_H
#define VTOKEN_USBIP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define USBIP_VERSION		0x0111
#define USBIP_OP_REQUEST	0x8000
#define USBIP_OP_DEVLIST	0x0005
#define USBIP_OP_IMPORT		0x0003
#define USBIP_OP_REQ_DEVLIST	(USBIP_OP_REQUEST | USBIP_OP_DEVLIST)
#define USBIP_OP_REQ_IMPORT	(USBIP_OP_REQUEST | USBIP_OP_IMPORT)

#define USBIP_ST_OK		0
#define USBIP_ST_NA		1
#define USBIP_ST_DEV_BUSY	2
#define USBIP_ST_DEV_ERR	3
#define USBIP_ST_NODEV		4
#define USBIP_ST_ERROR		5

#define USBIP_CMD_SUBMIT	1
#define USBIP_CMD_UNLINK	2
#define USBIP_RET_SUBMIT	3
#define USBIP_RET_UNLINK	4

#define USBIP_DIR_OUT		0
#define USBIP_DIR_IN		1

/* Wire transfer flags; only SHORT_NOT_OK changes what a server does. */
#define USBIP_URB_SHORT_NOT_OK	0x0001

#define USBIP_OP_COMMON_SIZE	8
#define USBIP_BUSID_SIZE	32
#define USBIP_PATH_SIZE		256
#define USBIP_DEV_SIZE		312
#define USBIP_IFACE_SIZE	4
#define USBIP_HDR_SIZE		48
#define USBIP_IMPORT_REQ_SIZE	(USBIP_OP_COMMON_SIZE + USBIP_BUSID_SIZE)

/* Linux errno values as they travel in RET_* status fields. */
#define USBIP_ENOENT		(-2)
#define USBIP_EPIPE		(-32)
#define USBIP_EPROTO		(-71)
#define USBIP_EOVERFLOW		(-75)
#define USBIP_ECONNRESET	(-104)
#define USBIP_EREMOTEIO		(-121)

struct usbip_op_common {
	uint16_t version;
	uint16_t code;
	uint32_t status;
};

struct usbip_iface_info {
	uint8_t cls, subcls, proto;
};

#define USBIP_MAX_IFACES 8

/* The 312-byte usbip_usb_device plus its interface triples. */
struct usbip_dev_info {
	char path[USBIP_PATH_SIZE];	/* NUL-padded on the wire */
	char busid[USBIP_BUSID_SIZE];	/* e.g. "1-3" */
	uint32_t busnum, devnum, speed;
	uint16_t vendor, product, bcd_device;
	uint8_t dev_class, dev_subclass, dev_proto;
	uint8_t config_value, num_configs, num_ifaces;
	struct usbip_iface_info ifaces[USBIP_MAX_IFACES];
};

/* A decoded 48-byte usbip_header (CMD_* or RET_*). */
struct usbip_hdr {
	uint32_t command;
	uint32_t seqnum;
	uint32_t devid;
	uint32_t direction;
	uint32_t ep;
	union {
		struct {
			uint32_t flags;
			uint32_t length;	/* raw; may be >= 2^31 */
			int32_t start_frame;
			int32_t npackets;
			int32_t interval;
			uint8_t setup[8];
		} submit;
		struct {
			int32_t status;
			uint32_t actual;
			int32_t start_frame;
			int32_t npackets;
			int32_t error_count;
		} ret_submit;
		struct {
			uint32_t seqnum;	/* the PDU to cancel */
		} unlink;
		struct {
			int32_t status;
		} ret_unlink;
	} u;
};

/* --- op phase ---------------------------------------------------------- */

void usbip_op_common_put(uint8_t out[USBIP_OP_COMMON_SIZE],
    const struct usbip_op_common *op);
/* Decodes 8 bytes; returns 8, or 0 when len < 8 (need more). */
size_t usbip_op_common_get(const uint8_t *p, size_t len,
    struct usbip_op_common *op);

/*
 * Extracts the busid of an OP_REQ_IMPORT body (32 bytes after op_common).
 * Returns 0, or -1 when it is not NUL-terminated within 32 bytes or empty.
 */
int usbip_import_busid_get(const uint8_t body[USBIP_BUSID_SIZE],
    char busid[USBIP_BUSID_SIZE]);

/* Writes the 312-byte device record (no interface entries). */
void usbip_dev_put(uint8_t out[USBIP_DEV_SIZE],
    const struct usbip_dev_info *dev);
/* Writes 4 bytes per interface; returns the number of bytes written. */
size_t usbip_ifaces_put(uint8_t *out, const struct usbip_dev_info *dev);
/* Decodes a device record (used by test clients).  0 or -1. */
int usbip_dev_get(const uint8_t *p, size_t len, struct usbip_dev_info *dev);

/* --- URB phase --------------------------------------------------------- */

/* Encodes the 48-byte header for any command (fields by hdr->command). */
void usbip_hdr_put(uint8_t out[USBIP_HDR_SIZE], const struct usbip_hdr *hdr);
/*
 * Decodes 48 bytes into *hdr by its command field.  Returns 48, 0 when
 * len < 48, or -1 when the command is not one of the four known codes.
 */
int usbip_hdr_get(const uint8_t *p, size_t len, struct usbip_hdr *hdr);

/* Human-readable name of a URB-phase command code, for logs. */
const char *usbip_command_name(uint32_t command);

#endif
