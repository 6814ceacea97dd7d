/*
 * bench: shared pieces of vtoken-bench.
 */
#ifndef VTOKEN_BENCH_H
#define VTOKEN_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic seconds. */
double bench_now(void);
/*
 * Raw loopback TCP throughput: one thread writes `total` bytes in
 * `chunk`-byte writes to 127.0.0.1, this thread reads them.  MiB/s, or
 * a negative value on failure.
 */
double bench_tcp_mibps(uint64_t total, size_t chunk);

#endif
