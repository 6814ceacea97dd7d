/*
 * usb_ctrl: endpoint-0 requests of the virtual device: the USB 2.0
 * standard requests and the two Bulk-Only class requests.  Anything else
 * stalls (-EPIPE for that request only).
 */
#ifndef VTOKEN_USB_CTRL_H
#define VTOKEN_USB_CTRL_H

#include <stdint.h>

struct usb_dev;
struct usb_urb;

/* Answers one control URB; always completes it. */
void usb_ctrl_submit(struct usb_dev *dev, const struct usb_urb *urb,
    const uint8_t *out, uint32_t out_len);

#endif
