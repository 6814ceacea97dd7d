/*
 * agent_udev: libudev enumeration and monitor (see agent_udev.h).
 */
#include "agent/agent_udev.h"

#include <errno.h>
#include <libudev.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cause.h"
#include "common/encode.h"
#include "common/xmalloc.h"

#define UDEV_CONTROL	"/run/udev/control"	/* exists while udevd runs */

struct agent_udev {
	struct udev *udev;
	struct udev_monitor *mon;
	const char *source;		/* "kernel" or "udev" */
	unsigned vendor_id, product_id;
};

static bool agent_udev_hex_is(const char *s, unsigned want);
static char *agent_udev_devnode(struct udev_device *dev);
static bool agent_udev_is_disk(struct udev_device *dev);
static bool agent_udev_match(const struct agent_udev *u,
    struct udev_device *dev, struct agent_udev_dev *out);
static int agent_udev_event(const struct agent_udev *u,
    struct udev_device *dev, enum agent_udev_action *act,
    struct agent_udev_dev *out);

struct agent_udev *
agent_udev_open(unsigned vendor_id, unsigned product_id, char **cause)
{
	struct agent_udev *u = xcalloc(1, sizeof(*u));

	u->vendor_id = vendor_id;
	u->product_id = product_id;
	u->source = access(UDEV_CONTROL, F_OK) == 0 ? "udev" : "kernel";
	if ((u->udev = udev_new()) == NULL) {
		cause_set(cause, "udev_new: %s", strerror(errno));
		goto fail;
	}
	u->mon = udev_monitor_new_from_netlink(u->udev, u->source);
	if (u->mon == NULL) {
		cause_set(cause, "udev monitor (%s): %s", u->source,
		    strerror(errno));
		goto fail;
	}
	/* Only udevd's messages are filtered in the kernel; we check too. */
	if (udev_monitor_filter_add_match_subsystem_devtype(u->mon, "block",
	    "disk") < 0 || udev_monitor_enable_receiving(u->mon) < 0) {
		cause_set(cause, "udev monitor (%s): %s", u->source,
		    strerror(errno));
		goto fail;
	}
	return u;
fail:
	agent_udev_close(u);
	return NULL;
}

void
agent_udev_close(struct agent_udev *u)
{
	if (u == NULL)
		return;
	if (u->mon != NULL)
		udev_monitor_unref(u->mon);
	if (u->udev != NULL)
		udev_unref(u->udev);
	free(u);
}

int
agent_udev_fd(const struct agent_udev *u)
{
	return udev_monitor_get_fd(u->mon);
}

const char *
agent_udev_source(const struct agent_udev *u)
{
	return u->source;
}

/* True when s is 1..4 hex digits with the value want (sysfs "1209"). */
static bool
agent_udev_hex_is(const char *s, unsigned want)
{
	unsigned long v;
	char *end;

	if (s == NULL || s[0] == '\0' || strlen(s) > 4 ||
	    strspn(s, "0123456789abcdefABCDEF") != strlen(s))
		return false;
	v = strtoul(s, &end, 16);
	return *end == '\0' && v == want;
}

/* The device node: udev's name, else devtmpfs's "/dev/<sysname>". */
static char *
agent_udev_devnode(struct udev_device *dev)
{
	const char *node = udev_device_get_devnode(dev);
	const char *name;

	if (node != NULL)
		return xstrdup(node);
	name = udev_device_get_sysname(dev);
	if (name == NULL || name[0] == '\0' || strchr(name, '/') != NULL ||
	    strcmp(name, "..") == 0)
		return NULL;
	return xasprintf("/dev/%s", name);
}

static bool
agent_udev_is_disk(struct udev_device *dev)
{
	const char *ss = udev_device_get_subsystem(dev);
	const char *dt = udev_device_get_devtype(dev);

	return ss != NULL && dt != NULL && strcmp(ss, "block") == 0 &&
	    strcmp(dt, "disk") == 0;
}

/* True (and *out filled) when dev is a token disk. */
static bool
agent_udev_match(const struct agent_udev *u, struct udev_device *dev,
    struct agent_udev_dev *out)
{
	struct udev_device *usb;
	const char *serial;
	char *node;

	if (!agent_udev_is_disk(dev))
		return false;
	/* Borrowed: the parent belongs to dev. */
	usb = udev_device_get_parent_with_subsystem_devtype(dev, "usb",
	    "usb_device");
	if (usb == NULL ||
	    !agent_udev_hex_is(udev_device_get_sysattr_value(usb, "idVendor"),
	    u->vendor_id) ||
	    !agent_udev_hex_is(udev_device_get_sysattr_value(usb,
	    "idProduct"), u->product_id))
		return false;
	/* The serial is the token id; anything else is not a token. */
	serial = udev_device_get_sysattr_value(usb, "serial");
	if (serial == NULL || !encode_is_id(serial))
		return false;
	if ((node = agent_udev_devnode(dev)) == NULL)
		return false;
	out->syspath = xstrdup(udev_device_get_syspath(dev));
	out->devnode = node;
	out->serial = xstrdup(serial);
	return true;
}

int
agent_udev_find(struct agent_udev *u, struct agent_udev_dev *out,
    char **cause)
{
	struct udev_enumerate *e;
	struct udev_list_entry *it;
	int found = 0;

	memset(out, 0, sizeof(*out));
	if ((e = udev_enumerate_new(u->udev)) == NULL ||
	    udev_enumerate_add_match_subsystem(e, "block") < 0 ||
	    udev_enumerate_scan_devices(e) < 0) {
		cause_set(cause, "udev enumerate: %s", strerror(errno));
		if (e != NULL)
			udev_enumerate_unref(e);
		return -1;
	}
	udev_list_entry_foreach(it, udev_enumerate_get_list_entry(e)) {
		struct udev_device *dev;

		dev = udev_device_new_from_syspath(u->udev,
		    udev_list_entry_get_name(it));
		if (dev == NULL)
			continue;	/* gone meanwhile */
		found = agent_udev_match(u, dev, out);
		udev_device_unref(dev);
		if (found)
			break;
	}
	udev_enumerate_unref(e);
	return found;
}

/* 1 when dev is an event of interest (*act, *out filled), else 0. */
static int
agent_udev_event(const struct agent_udev *u, struct udev_device *dev,
    enum agent_udev_action *act, struct agent_udev_dev *out)
{
	const char *action = udev_device_get_action(dev);
	const char *sp;

	if (action == NULL)
		return 0;
	if (strcmp(action, "add") == 0 && agent_udev_match(u, dev, out)) {
		*act = AGENT_UDEV_ADD;
		return 1;
	}
	if (strcmp(action, "remove") != 0 || !agent_udev_is_disk(dev) ||
	    (sp = udev_device_get_syspath(dev)) == NULL)
		return 0;
	*act = AGENT_UDEV_REMOVE;
	out->syspath = xstrdup(sp);
	out->devnode = agent_udev_devnode(dev);
	return 1;
}

int
agent_udev_receive(struct agent_udev *u, enum agent_udev_action *act,
    struct agent_udev_dev *out)
{
	struct udev_device *dev;
	int r;

	memset(out, 0, sizeof(*out));
	for (;;) {
		errno = 0;
		if ((dev = udev_monitor_receive_device(u->mon)) == NULL) {
			/* ENOBUFS: the socket overflowed, events are lost. */
			return errno == ENOBUFS ? -1 : 0;
		}
		r = agent_udev_event(u, dev, act, out);
		udev_device_unref(dev);
		if (r == 1)
			return 1;
	}
}

void
agent_udev_dev_clear(struct agent_udev_dev *d)
{
	free(d->syspath);
	free(d->devnode);
	free(d->serial);
	memset(d, 0, sizeof(*d));
}
