/*
 * vt_port: loopback TCP ports for tests, always chosen by the kernel
 * (bind to port 0), never a fixed number: a test must not collide with a
 * vtokend running on the machine (127.0.0.1:3240/3241) or with another
 * test running in parallel.  Nothing here calls Check.
 */
#ifndef VTOKEN_TEST_VT_PORT_H
#define VTOKEN_TEST_VT_PORT_H

#include <stdint.h>

/*
 * A TCP socket bound to 127.0.0.1 on a port the kernel chose (in *port),
 * not yet listening; the fd (close-on-exec), or -1 with errno set.
 */
int vt_port_bind(uint16_t *port);
/*
 * A port that was free a moment ago (vt_port_bind, then closed), for a
 * process that must be told its port.  Another process may take it
 * before that one binds: the caller retries (see vtd_start).  0 or -1.
 */
int vt_free_port(uint16_t *port);

#endif
