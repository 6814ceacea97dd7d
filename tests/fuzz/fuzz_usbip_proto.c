/*
 * fuzz_usbip_proto: the USB/IP codec decoders (src/server/usbip/usbip_proto.c)
 * on arbitrary bytes.  Besides memory safety it checks that decoding and
 * re-encoding gives back the input for the fixed-size structures, with
 * exactly the normalisation the format allows: string fields end at
 * their first NUL and are zero-padded, RET/UNLINK headers carry zero
 * padding, unknown commands are refused.  The input is read as a stream
 * of headers too, as a session would see it.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "server/usbip/usbip_proto.h"

static void
fuzz_op_common(const uint8_t *p, size_t len)
{
	struct usbip_op_common op;
	uint8_t back[USBIP_OP_COMMON_SIZE];
	size_t n = usbip_op_common_get(p, len, &op);

	if (len < USBIP_OP_COMMON_SIZE) {
		FUZZ_CHECK(n == 0);
		return;
	}
	FUZZ_CHECK(n == USBIP_OP_COMMON_SIZE);
	usbip_op_common_put(back, &op);
	FUZZ_CHECK(memcmp(back, p, sizeof(back)) == 0);
}

static void
fuzz_busid(const uint8_t *p, size_t len)
{
	char busid[USBIP_BUSID_SIZE];
	bool ok;

	if (len < USBIP_BUSID_SIZE)
		return;
	ok = memchr(p, '\0', USBIP_BUSID_SIZE) != NULL && p[0] != '\0';
	if (usbip_import_busid_get(p, busid) < 0) {
		FUZZ_CHECK(!ok);
		return;
	}
	FUZZ_CHECK(ok);
	FUZZ_CHECK(strlen(busid) > 0 && strlen(busid) < USBIP_BUSID_SIZE);
	FUZZ_CHECK(memcmp(busid, p, strlen(busid) + 1) == 0);
}

/* The wire form of a string field after a decode: up to NUL, then 0s. */
static void
canon_strfield(uint8_t *dst, const uint8_t *src, size_t size)
{
	size_t n = strnlen((const char *)src, size - 1);

	memset(dst, 0, size);
	memcpy(dst, src, n);
}

/* Field by field: bytes after a string's NUL do not count. */
static bool
dev_same(const struct usbip_dev_info *a, const struct usbip_dev_info *b)
{
	return strcmp(a->path, b->path) == 0 &&
	    strcmp(a->busid, b->busid) == 0 && a->busnum == b->busnum &&
	    a->devnum == b->devnum && a->speed == b->speed &&
	    a->vendor == b->vendor && a->product == b->product &&
	    a->bcd_device == b->bcd_device && a->dev_class == b->dev_class &&
	    a->dev_subclass == b->dev_subclass &&
	    a->dev_proto == b->dev_proto &&
	    a->config_value == b->config_value &&
	    a->num_configs == b->num_configs &&
	    a->num_ifaces == b->num_ifaces;
}

static void
fuzz_dev(const uint8_t *p, size_t len)
{
	struct usbip_dev_info dev, again;
	uint8_t back[USBIP_DEV_SIZE], want[USBIP_DEV_SIZE];
	uint8_t ifs[USBIP_IFACE_SIZE * USBIP_MAX_IFACES + 1];
	size_t n;

	if (usbip_dev_get(p, len, &dev) < 0) {
		FUZZ_CHECK(len < USBIP_DEV_SIZE);
		return;
	}
	FUZZ_CHECK(len >= USBIP_DEV_SIZE);
	FUZZ_CHECK(memchr(dev.path, '\0', sizeof(dev.path)) != NULL);
	FUZZ_CHECK(memchr(dev.busid, '\0', sizeof(dev.busid)) != NULL);
	usbip_dev_put(back, &dev);
	memcpy(want, p, USBIP_DEV_SIZE);
	canon_strfield(want, p, USBIP_PATH_SIZE);
	canon_strfield(want + 0x100, p + 0x100, USBIP_BUSID_SIZE);
	FUZZ_CHECK(memcmp(back, want, USBIP_DEV_SIZE) == 0);
	/* Decoding the canonical form is a fixed point. */
	FUZZ_CHECK(usbip_dev_get(back, sizeof(back), &again) == 0);
	FUZZ_CHECK(dev_same(&dev, &again));
	/* Interface entries: at most USBIP_MAX_IFACES, 4 bytes each. */
	ifs[sizeof(ifs) - 1] = 0xa5;
	n = usbip_ifaces_put(ifs, &dev);
	FUZZ_CHECK(n % USBIP_IFACE_SIZE == 0);
	FUZZ_CHECK(n <= USBIP_IFACE_SIZE * USBIP_MAX_IFACES);
	FUZZ_CHECK(n / USBIP_IFACE_SIZE == (dev.num_ifaces < USBIP_MAX_IFACES ?
	    dev.num_ifaces : USBIP_MAX_IFACES));
	FUZZ_CHECK(ifs[sizeof(ifs) - 1] == 0xa5);
}

/* Bytes of a header that survive a round trip, by command. */
static size_t
hdr_kept(uint32_t command)
{
	switch (command) {
	case USBIP_CMD_SUBMIT:
		return USBIP_HDR_SIZE;
	case USBIP_RET_SUBMIT:
		return 0x28;
	default:
		return 0x18;
	}
}

/* Decodes one header at p; returns its result for the stream walk. */
static int
fuzz_hdr(const uint8_t *p, size_t len)
{
	struct usbip_hdr h;
	uint8_t back[USBIP_HDR_SIZE], zero[USBIP_HDR_SIZE];
	int r = usbip_hdr_get(p, len, &h);
	size_t kept;

	if (len < USBIP_HDR_SIZE) {
		FUZZ_CHECK(r == 0);
		return r;
	}
	if (r < 0) {
		FUZZ_CHECK(h.command < USBIP_CMD_SUBMIT ||
		    h.command > USBIP_RET_UNLINK);
		FUZZ_CHECK(strcmp(usbip_command_name(h.command),
		    "unknown") == 0);
		return r;
	}
	FUZZ_CHECK(r == USBIP_HDR_SIZE);
	FUZZ_CHECK(h.command >= USBIP_CMD_SUBMIT &&
	    h.command <= USBIP_RET_UNLINK);
	usbip_hdr_put(back, &h);
	kept = hdr_kept(h.command);
	memset(zero, 0, sizeof(zero));
	FUZZ_CHECK(memcmp(back, p, kept) == 0);
	FUZZ_CHECK(memcmp(back + kept, zero, USBIP_HDR_SIZE - kept) == 0);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off;

	fuzz_op_common(data, size);
	fuzz_busid(data, size);
	if (size > USBIP_OP_COMMON_SIZE)
		fuzz_busid(data + USBIP_OP_COMMON_SIZE,
		    size - USBIP_OP_COMMON_SIZE);
	fuzz_dev(data, size);
	if (size > USBIP_OP_COMMON_SIZE)
		fuzz_dev(data + USBIP_OP_COMMON_SIZE,
		    size - USBIP_OP_COMMON_SIZE);
	/* A URB-phase stream: headers back to back until one is refused. */
	for (off = 0; off <= size; off += USBIP_HDR_SIZE)
		if (fuzz_hdr(data + off, size - off) <= 0)
			break;
	return 0;
}
