/*
 * fault_util: small helpers shared by the fault tests (tests/fault/): a
 * daemon's CPU time from /proc, raw TCP clients that can stall
 * half-way through a request, and shell commands with their output on
 * the test's stderr.  Nothing here calls Check; failures return -1.
 */
#ifndef VTOKEN_TEST_FAULT_UTIL_H
#define VTOKEN_TEST_FAULT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* utime + stime of pid in milliseconds, or -1. */
int64_t fu_cpu_ms(pid_t pid);
/* Number of open descriptors of pid (entries of /proc/PID/fd), or -1. */
int fu_fd_count(pid_t pid);

/*
 * A blocking TCP connection to host:port (numeric IPv4), bounded by
 * timeout_ms; the fd, or -1.
 */
int fu_connect(const char *host, uint16_t port, int timeout_ms);
/* "ADDR:PORT" of fd's local end, as vtokend logs a peer; 0 or -1. */
int fu_local_addr(int fd, char *buf, size_t len);
/* Sends all of s; 0 or -1. */
int fu_send(int fd, const void *buf, size_t len);
int fu_send_str(int fd, const char *s);
/*
 * Waits up to timeout_ms for the peer to close fd (end of stream or a
 * reset), discarding what arrives; true when it did.  *ms (if not NULL)
 * gets the time waited.
 */
bool fu_wait_closed(int fd, int timeout_ms, int64_t *ms);
/*
 * Sends an HTTP/1.0 request line+headers on a fresh connection and reads
 * the whole response; the status code, or -1 when none arrived within
 * timeout_ms.
 */
int fu_http_status(const char *host, uint16_t port, const char *path,
    int timeout_ms);

/* Runs "sh -c cmd" (printf-style); its exit status, or -1. */
int fu_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
