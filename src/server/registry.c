/*
 * registry: exported devices by busid (see registry.h).
 */
#include "server/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/image.h"

void
registry_init(struct registry *reg, uint16_t vendor, uint16_t product,
    const char *manufacturer, const char *product_name)
{
	memset(reg, 0, sizeof(*reg));
	TAILQ_INIT(&reg->devices);
	reg->vendor_id = vendor;
	reg->product_id = product;
	reg->manufacturer = xstrdup(manufacturer);
	reg->product = xstrdup(product_name);
}

void
registry_clear(struct registry *reg)
{
	struct vt_device *d;

	while ((d = TAILQ_FIRST(&reg->devices)) != NULL)
		registry_remove(reg, d);
	free(reg->manufacturer);
	free(reg->product);
	reg->manufacturer = reg->product = NULL;
}

static bool
registry_port_used(const struct registry *reg, unsigned port)
{
	const struct vt_device *d;

	TAILQ_FOREACH(d, &reg->devices, entry)
		if (d->devnum == port)
			return true;
	return false;
}

unsigned
registry_free_port(const struct registry *reg)
{
	for (unsigned port = 1; port <= 65535; port++)
		if (!registry_port_used(reg, port))
			return port;
	return 0;
}

struct vt_device *
registry_add(struct registry *reg, struct image *img, const char *id,
    const char *name, unsigned port, bool open_to_all)
{
	struct vt_device *d;
	struct usb_ident ident;

	if (port == 0)
		port = registry_free_port(reg);
	if (port == 0 || port > 65535 || registry_port_used(reg, port)) {
		image_free(img);
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	d->busnum = 1;
	d->devnum = port;
	snprintf(d->busid, sizeof(d->busid), "%u-%u", d->busnum, port);
	snprintf(d->id, sizeof(d->id), "%s", id);
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->open_to_all = open_to_all;
	d->img = img;
	memset(&ident, 0, sizeof(ident));
	ident.vendor = reg->vendor_id;
	ident.product = reg->product_id;
	ident.bcd_device = 0x0100;
	ident.manufacturer = reg->manufacturer;
	ident.product_name = reg->product;
	ident.serial = d->id;
	usb_dev_init(&d->usb, &ident, img);
	TAILQ_INSERT_TAIL(&reg->devices, d, entry);
	reg->count++;
	return d;
}

void
registry_remove(struct registry *reg, struct vt_device *dev)
{
	TAILQ_REMOVE(&reg->devices, dev, entry);
	reg->count--;
	usb_dev_detach(&dev->usb);
	image_free(dev->img);
	free(dev);
}

struct vt_device *
registry_find_busid(struct registry *reg, const char *busid)
{
	struct vt_device *d;

	TAILQ_FOREACH(d, &reg->devices, entry)
		if (strcmp(d->busid, busid) == 0)
			return d;
	return NULL;
}

bool
registry_peer_allowed(const struct registry *reg, const struct vt_device *dev,
    const struct sockaddr *sa)
{
	(void)reg;
	if (dev->open_to_all)
		return true;
	if (dev->acl == NULL)
		return false;
	for (size_t i = 0; i < dev->acl->n; i++)
		if (netaddr_cidr_match(&dev->acl->cidr[i], sa))
			return true;
	return false;
}

void
registry_dev_info(const struct vt_device *dev, struct usbip_dev_info *info)
{
	memset(info, 0, sizeof(*info));
	snprintf(info->path, sizeof(info->path), "/vtoken/%s", dev->name);
	memcpy(info->busid, dev->busid, sizeof(info->busid));
	info->busnum = dev->busnum;
	info->devnum = dev->devnum;
	info->speed = 3;	/* USB_SPEED_HIGH: vhci's HS root hub */
	info->vendor = dev->usb.ident.vendor;
	info->product = dev->usb.ident.product;
	info->bcd_device = dev->usb.ident.bcd_device;
	info->dev_class = 0;
	info->dev_subclass = 0;
	info->dev_proto = 0;
	info->config_value = 1;
	info->num_configs = 1;
	info->num_ifaces = 1;
	info->ifaces[0].cls = USB_CLASS_MASS_STORAGE;
	info->ifaces[0].subcls = USB_SUBCLASS_SCSI;
	info->ifaces[0].proto = USB_PROTO_BOT;
}
