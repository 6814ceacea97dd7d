/*
 * vt_wait: the monotonic clock and bounded poll every test client uses.
 */
#ifndef VTOKEN_TEST_VT_WAIT_H
#define VTOKEN_TEST_VT_WAIT_H

#include <stdint.h>

/* Monotonic milliseconds. */
int64_t vt_now_ms(void);
/* Waits for ev on fd until deadline (vt_now_ms): 1 ready, 0 timed out,
 * -1 error.  EINTR is retried with the time left. */
int vt_wait_fd(int fd, short ev, int64_t deadline);

#endif
