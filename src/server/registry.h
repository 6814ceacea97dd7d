/*
 * registry: the devices this server exports, by busid.  Each entry owns its
 * image and embeds the virtual USB device; at most one USB/IP session is
 * attached to an entry at a time.
 *
 * Busids are "1-N" (bus 1, port N) and stay stable for an entry's life;
 * devid = 1 << 16 | N, as vhci computes it from the import reply.
 */
#ifndef VTOKEN_REGISTRY_H
#define VTOKEN_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "common/netaddr.h"
#include "server/usb_dev.h"
#include "server/usbip_proto.h"

struct image;
struct usbip_conn;

/*
 * The source addresses allowed to see a device: the CIDRs of the VM it is
 * assigned to.  Owned by the controller's VM; devices borrow it.
 */
struct vt_acl {
	size_t n;
	struct netaddr_cidr cidr[];
};

#define REGISTRY_ID_MAX		64
#define REGISTRY_NAME_MAX	128

struct vt_device {
	char busid[USBIP_BUSID_SIZE];
	uint32_t busnum, devnum;
	char id[REGISTRY_ID_MAX];	/* token id; also the USB serial */
	char name[REGISTRY_NAME_MAX];
	bool open_to_all;		/* --serve-image: no access control */
	const struct vt_acl *acl;	/* assigned VM's addresses, or NULL */
	void *owner;			/* the controller's token, or NULL */
	struct image *img;		/* owned */
	struct usb_dev usb;
	struct usbip_conn *session;	/* attached session, or NULL */
	TAILQ_ENTRY(vt_device) entry;
};
TAILQ_HEAD(vt_device_list, vt_device);

struct registry {
	struct vt_device_list devices;
	unsigned count;
	uint16_t vendor_id, product_id;	/* for new devices */
	char *manufacturer;		/* owned copies */
	char *product;
};

/* Copies the identity strings. */
void registry_init(struct registry *reg, uint16_t vendor, uint16_t product,
    const char *manufacturer, const char *product_name);
/* Frees every device and the strings; sessions must be closed first. */
void registry_clear(struct registry *reg);

/*
 * Adds a device serving img (ownership passes to the registry, also on
 * failure).  port 0 picks the lowest free port.  Returns the device, or
 * NULL when the port is taken or out of range (1..65535).
 */
struct vt_device *registry_add(struct registry *reg, struct image *img,
    const char *id, const char *name, unsigned port, bool open_to_all);
/* The lowest unused port (1..65535), or 0 when all are taken. */
unsigned registry_free_port(const struct registry *reg);
/* Detaches nothing: the caller closes the session first.  Frees dev. */
void registry_remove(struct registry *reg, struct vt_device *dev);

struct vt_device *registry_find_busid(struct registry *reg,
    const char *busid);
/* True when the peer at sa may list and import dev. */
bool registry_peer_allowed(const struct registry *reg,
    const struct vt_device *dev, const struct sockaddr *sa);
/* Fills the USB/IP device record advertised for dev. */
void registry_dev_info(const struct vt_device *dev,
    struct usbip_dev_info *info);

#endif
