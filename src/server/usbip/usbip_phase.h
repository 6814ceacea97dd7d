/*
 * usbip_phase: what the files of the USB/IP layer share.  Not for other
 * layers.
 *
 * The two protocol phases of a connection, called by usbip_conn's input
 * loop: each handler looks at the head of the input buffer and returns 1
 * after consuming one message, 0 when more bytes are needed (*need =
 * bytes wanted in total), or -1 when it closed the connection
 * (usbip_conn_close already called).
 */
#ifndef VTOKEN_USBIP_PHASE_H
#define VTOKEN_USBIP_PHASE_H

#include <stddef.h>

struct usbip_conn;
struct evbuffer;
struct export_device;

int usbip_op_process(struct usbip_conn *c, struct evbuffer *in, size_t *need);
int usbip_urb_process(struct usbip_conn *c, struct evbuffer *in,
    size_t *need);
/*
 * Makes c the session of dev, whose import the export layer granted: the
 * device's completions go to c's socket from now on.
 */
void usbip_urb_attach(struct usbip_conn *c, struct export_device *dev);
/* Ends the session on c's device, if any, and logs its totals. */
void usbip_urb_detach(struct usbip_conn *c);
/*
 * The export layer's kick (arg is the connection): ends the session at
 * once, from outside the connection's callbacks, and closes it on the
 * next loop turn with `why` in the log.
 */
void usbip_conn_kick(void *arg, const char *why);
/* Reads and runs requests again after an import answered late. */
void usbip_conn_resume(struct usbip_conn *c);

#endif
