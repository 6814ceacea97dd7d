/*
 * dev_ctrl: endpoint-0 requests of the virtual device: the USB 2.0
 * standard requests and the two Bulk-Only class requests.  Anything else
 * stalls (-EPIPE for that request only).
 */
#ifndef VTOKEN_DEV_CTRL_H
#define VTOKEN_DEV_CTRL_H

#include <stdint.h>

struct dev_usb;
struct dev_urb;

/* Answers one control URB; always completes it. */
void dev_ctrl_submit(struct dev_usb *dev, const struct dev_urb *urb,
    const uint8_t *out, uint32_t out_len);

#endif
