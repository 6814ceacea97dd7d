/*
 * vt_wait: monotonic clock and bounded poll (see vt_wait.h).
 */
#include "vt_wait.h"

#include <errno.h>
#include <poll.h>
#include <time.h>

int64_t
vt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
vt_wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int64_t left;
	int r;

	for (;;) {
		left = deadline - vt_now_ms();
		if (left < 0)
			left = 0;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		return r < 0 ? -1 : r > 0;
	}
}
