/*
 * usbip_phase: the two protocol phases of a USB/IP connection, called by
 * usbip_conn's input loop.  Each handler looks at the head of the input
 * buffer and returns 1 after consuming one message, 0 when more bytes are
 * needed (*need = bytes wanted in total), or -1 when it closed the
 * connection (usbip_conn_close already called).
 */
#ifndef VTOKEN_USBIP_PHASE_H
#define VTOKEN_USBIP_PHASE_H

#include <stddef.h>

struct usbip_conn;
struct evbuffer;

int usbip_op_process(struct usbip_conn *c, struct evbuffer *in, size_t *need);
int usbip_urb_process(struct usbip_conn *c, struct evbuffer *in,
    size_t *need);
/*
 * Attaches c to its device as a session (for an import about to be
 * answered); -1, with nothing changed, when the controller could not
 * record the attach (see ctl_on_attach).
 */
int usbip_urb_attach(struct usbip_conn *c, struct vt_device *dev);
/* Ends the session on c's device, if any, and logs its totals. */
void usbip_urb_detach(struct usbip_conn *c);

#endif
