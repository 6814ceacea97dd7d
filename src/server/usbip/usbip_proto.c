/*
 * usbip_proto: the USB/IP codec.  Every field is written explicitly so that
 * padding is always zero and nothing depends on host struct layout.
 */
#include "server/usbip/usbip_proto.h"

#include <string.h>

#include "common/bytes.h"

void
usbip_op_common_put(uint8_t out[USBIP_OP_COMMON_SIZE],
    const struct usbip_op_common *op)
{
	put_be16(out, op->version);
	put_be16(out + 2, op->code);
	put_be32(out + 4, op->status);
}

size_t
usbip_op_common_get(const uint8_t *p, size_t len, struct usbip_op_common *op)
{
	if (len < USBIP_OP_COMMON_SIZE)
		return 0;
	op->version = get_be16(p);
	op->code = get_be16(p + 2);
	op->status = get_be32(p + 4);
	return USBIP_OP_COMMON_SIZE;
}

int
usbip_import_busid_get(const uint8_t body[USBIP_BUSID_SIZE],
    char busid[USBIP_BUSID_SIZE])
{
	const void *nul = memchr(body, '\0', USBIP_BUSID_SIZE);

	if (nul == NULL || body[0] == '\0')
		return -1;
	memcpy(busid, body, USBIP_BUSID_SIZE);
	return 0;
}

/* Copies a C string into a fixed NUL-padded wire field. */
static void
put_strfield(uint8_t *out, size_t size, const char *s)
{
	size_t n = strnlen(s, size - 1);

	memset(out, 0, size);
	memcpy(out, s, n);
}

void
usbip_dev_put(uint8_t out[USBIP_DEV_SIZE], const struct usbip_dev_info *dev)
{
	put_strfield(out, USBIP_PATH_SIZE, dev->path);
	put_strfield(out + 0x100, USBIP_BUSID_SIZE, dev->busid);
	put_be32(out + 0x120, dev->busnum);
	put_be32(out + 0x124, dev->devnum);
	put_be32(out + 0x128, dev->speed);
	put_be16(out + 0x12c, dev->vendor);
	put_be16(out + 0x12e, dev->product);
	put_be16(out + 0x130, dev->bcd_device);
	out[0x132] = dev->dev_class;
	out[0x133] = dev->dev_subclass;
	out[0x134] = dev->dev_proto;
	out[0x135] = dev->config_value;
	out[0x136] = dev->num_configs;
	out[0x137] = dev->num_ifaces;
}

size_t
usbip_ifaces_put(uint8_t *out, const struct usbip_dev_info *dev)
{
	size_t n = dev->num_ifaces;

	if (n > USBIP_MAX_IFACES)
		n = USBIP_MAX_IFACES;
	for (size_t i = 0; i < n; i++) {
		out[4 * i] = dev->ifaces[i].cls;
		out[4 * i + 1] = dev->ifaces[i].subcls;
		out[4 * i + 2] = dev->ifaces[i].proto;
		out[4 * i + 3] = 0;
	}
	return 4 * n;
}

int
usbip_dev_get(const uint8_t *p, size_t len, struct usbip_dev_info *dev)
{
	if (len < USBIP_DEV_SIZE)
		return -1;
	memset(dev, 0, sizeof(*dev));
	memcpy(dev->path, p, USBIP_PATH_SIZE - 1);
	memcpy(dev->busid, p + 0x100, USBIP_BUSID_SIZE - 1);
	dev->busnum = get_be32(p + 0x120);
	dev->devnum = get_be32(p + 0x124);
	dev->speed = get_be32(p + 0x128);
	dev->vendor = get_be16(p + 0x12c);
	dev->product = get_be16(p + 0x12e);
	dev->bcd_device = get_be16(p + 0x130);
	dev->dev_class = p[0x132];
	dev->dev_subclass = p[0x133];
	dev->dev_proto = p[0x134];
	dev->config_value = p[0x135];
	dev->num_configs = p[0x136];
	dev->num_ifaces = p[0x137];
	return 0;
}

void
usbip_hdr_put(uint8_t out[USBIP_HDR_SIZE], const struct usbip_hdr *h)
{
	memset(out, 0, USBIP_HDR_SIZE);
	put_be32(out, h->command);
	put_be32(out + 0x04, h->seqnum);
	put_be32(out + 0x08, h->devid);
	put_be32(out + 0x0c, h->direction);
	put_be32(out + 0x10, h->ep);
	switch (h->command) {
	case USBIP_CMD_SUBMIT:
		put_be32(out + 0x14, h->u.submit.flags);
		put_be32(out + 0x18, h->u.submit.length);
		put_be32(out + 0x1c, (uint32_t)h->u.submit.start_frame);
		put_be32(out + 0x20, (uint32_t)h->u.submit.npackets);
		put_be32(out + 0x24, (uint32_t)h->u.submit.interval);
		memcpy(out + 0x28, h->u.submit.setup, 8);
		break;
	case USBIP_RET_SUBMIT:
		put_be32(out + 0x14, (uint32_t)h->u.ret_submit.status);
		put_be32(out + 0x18, h->u.ret_submit.actual);
		put_be32(out + 0x1c, (uint32_t)h->u.ret_submit.start_frame);
		put_be32(out + 0x20, (uint32_t)h->u.ret_submit.npackets);
		put_be32(out + 0x24, (uint32_t)h->u.ret_submit.error_count);
		break;
	case USBIP_CMD_UNLINK:
		put_be32(out + 0x14, h->u.unlink.seqnum);
		break;
	case USBIP_RET_UNLINK:
		put_be32(out + 0x14, (uint32_t)h->u.ret_unlink.status);
		break;
	default:
		break;
	}
}

int
usbip_hdr_get(const uint8_t *p, size_t len, struct usbip_hdr *h)
{
	if (len < USBIP_HDR_SIZE)
		return 0;
	memset(h, 0, sizeof(*h));
	h->command = get_be32(p);
	h->seqnum = get_be32(p + 0x04);
	h->devid = get_be32(p + 0x08);
	h->direction = get_be32(p + 0x0c);
	h->ep = get_be32(p + 0x10);
	switch (h->command) {
	case USBIP_CMD_SUBMIT:
		h->u.submit.flags = get_be32(p + 0x14);
		h->u.submit.length = get_be32(p + 0x18);
		h->u.submit.start_frame = (int32_t)get_be32(p + 0x1c);
		h->u.submit.npackets = (int32_t)get_be32(p + 0x20);
		h->u.submit.interval = (int32_t)get_be32(p + 0x24);
		memcpy(h->u.submit.setup, p + 0x28, 8);
		return USBIP_HDR_SIZE;
	case USBIP_RET_SUBMIT:
		h->u.ret_submit.status = (int32_t)get_be32(p + 0x14);
		h->u.ret_submit.actual = get_be32(p + 0x18);
		h->u.ret_submit.start_frame = (int32_t)get_be32(p + 0x1c);
		h->u.ret_submit.npackets = (int32_t)get_be32(p + 0x20);
		h->u.ret_submit.error_count = (int32_t)get_be32(p + 0x24);
		return USBIP_HDR_SIZE;
	case USBIP_CMD_UNLINK:
		h->u.unlink.seqnum = get_be32(p + 0x14);
		return USBIP_HDR_SIZE;
	case USBIP_RET_UNLINK:
		h->u.ret_unlink.status = (int32_t)get_be32(p + 0x14);
		return USBIP_HDR_SIZE;
	default:
		return -1;
	}
}

const char *
usbip_command_name(uint32_t command)
{
	switch (command) {
	case USBIP_CMD_SUBMIT:
		return "CMD_SUBMIT";
	case USBIP_CMD_UNLINK:
		return "CMD_UNLINK";
	case USBIP_RET_SUBMIT:
		return "RET_SUBMIT";
	case USBIP_RET_UNLINK:
		return "RET_UNLINK";
	default:
		return "unknown";
	}
}
