/*
 * monotime: the monotonic clock, the one every timeout, rate limit and
 * latency figure in vtoken is measured on (wall-clock time jumps).
 */
#ifndef VTOKEN_MONOTIME_H
#define VTOKEN_MONOTIME_H

#include <stdint.h>
#include <time.h>

/* Seconds since an arbitrary start, with nanosecond resolution. */
double monotime_sec(void);
/* Milliseconds since the same start. */
int64_t monotime_ms(void);
/* b - a in seconds. */
double monotime_diff(const struct timespec *a, const struct timespec *b);

#endif
