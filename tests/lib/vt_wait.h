/*
 * vt_wait: the bounded poll and sleep every test helper uses.  Deadlines
 * are on the monotonic clock of common/monotime.h (monotime_ms()).
 * Nothing here calls Check.
 */
#ifndef VTOKEN_TEST_VT_WAIT_H
#define VTOKEN_TEST_VT_WAIT_H

#include <stdint.h>

/* Waits for ev on fd until deadline (monotime_ms): 1 ready, 0 timed out,
 * -1 error.  EINTR is retried with the time left. */
int vt_wait_fd(int fd, short ev, int64_t deadline);
/* Sleeps ms milliseconds, resuming after a signal. */
void vt_sleep_ms(unsigned ms);

#endif
