/*
 * bench: shared pieces of vtoken-bench.
 */
#ifndef VTOKEN_BENCH_H
#define VTOKEN_BENCH_H

#include <stddef.h>
#include <stdint.h>

/*
 * Raw loopback TCP throughput: one thread writes `total` bytes in
 * `chunk`-byte writes to 127.0.0.1, this thread reads them.  MiB/s, or
 * a negative value on failure.
 */
double bench_tcp_mibps(uint64_t total, size_t chunk);
/*
 * Loopback round-trip time: microseconds per 48-byte ping-pong, the
 * median of `n` over one connection, or negative on failure.
 */
double bench_tcp_rtt_us(unsigned n);
/*
 * The ceiling for the usb-storage access pattern on this machine: a
 * minimal blocking server in a thread answers the three turns of each
 * command the way the USB/IP client expects them (CBW -> 48-byte reply,
 * data URB -> 48 bytes + payload copied from a buffer, CSW URB -> 61
 * bytes), with no protocol work at all.  Reads `total` bytes in
 * `payload`-byte commands; MiB/s, or negative on failure.
 */
double bench_tcp_turns_mibps(uint64_t total, size_t payload);
/*
 * The same minimal 3-turn server, timed per command: the median
 * microseconds of `n` commands of `payload` bytes each (the latency
 * floor for a small READ), or negative on failure.
 */
double bench_tcp_turns_lat_us(unsigned n, size_t payload);
/*
 * With bench_pin_servers set (vtoken-bench -P), the server threads of
 * the baselines run on CPU 1 and the caller stays where it is (CPU 0,
 * pinned by vtoken-bench), as vtokend does.
 */
extern int bench_pin_servers;

#endif
