/*
 * agent_udev: finding token disks with libudev.
 *
 * A token is a block device of devtype "disk" whose USB ancestor
 * (usb/usb_device) has the configured idVendor/idProduct; that device's
 * "serial" attribute is the token id (a disk whose serial is not 16 hex
 * digits is not a token).  Start-up enumerates sysfs; later
 * changes come from a udev monitor.
 *
 * It works without a udev daemon (a minimal guest with only devtmpfs and
 * sysfs): when /run/udev/control does not exist, the monitor listens to
 * the kernel's own uevents ("kernel" netlink group) instead of udevd's
 * ("udev"), since libudev delivers nothing from "udev" without udevd.
 * The device node is udev_device_get_devnode(), or "/dev/" + sysname
 * where that is NULL (devtmpfs names nodes after the kernel name).
 *
 * Nothing here logs; errors come back through `char **cause'.
 */
#ifndef VTOKEN_AGENT_UDEV_H
#define VTOKEN_AGENT_UDEV_H

#include <stdbool.h>

enum agent_udev_action {
	AGENT_UDEV_ADD,		/* a token disk appeared (matched) */
	AGENT_UDEV_REMOVE,	/* some disk went away (not matched) */
};

/* A disk; the strings are allocated (agent_udev_dev_clear frees them). */
struct agent_udev_dev {
	char *syspath;
	char *devnode;
	char *serial;		/* USB serial; NULL for a removal */
};

struct agent_udev;

/*
 * Creates the udev context and starts the monitor (before any
 * enumeration, so that nothing falls between the two).  NULL with
 * *cause.
 */
struct agent_udev *agent_udev_open(unsigned vendor_id, unsigned product_id,
    char **cause);
/* NULL is a no-op. */
void agent_udev_close(struct agent_udev *u);
/* The monitor's file descriptor, for poll(2) (POLLIN). */
int agent_udev_fd(const struct agent_udev *u);
/* "kernel" or "udev": the monitor's event source. */
const char *agent_udev_source(const struct agent_udev *u);

/*
 * The first token disk present now: 1 (*out filled), 0 none, -1 error
 * (*cause set).
 */
int agent_udev_find(struct agent_udev *u, struct agent_udev_dev *out,
    char **cause);
/*
 * Reads one monitor event without blocking: 1 (*act and *out filled),
 * 0 nothing of interest, -1 when events may have been lost (the caller
 * rescans with agent_udev_find).
 */
int agent_udev_receive(struct agent_udev *u, enum agent_udev_action *act,
    struct agent_udev_dev *out);
void agent_udev_dev_clear(struct agent_udev_dev *d);

#endif
