/*
 * vt-usbip-hold: holds one USB/IP session open with the project's own
 * test client (tests/lib/usbip_client.c), for tests written in other
 * languages (the web console's browser test).
 *
 *   vt-usbip-hold HOST PORT BUSID [SECONDS]
 *
 * Connects, imports BUSID, enumerates the device and prints "attached";
 * then reads sector 0 every 100 ms (so that the session moves bytes)
 * until the server closes the connection, when it prints "closed" and
 * exits 0.  After SECONDS (default 60) without a close it prints
 * "timeout" and exits 3; any other failure exits 2 with a message on
 * standard error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../lib/usbip_client.h"
#include "../lib/vt_wait.h"

static int
hold_port(const char *s, uint16_t *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int
main(int argc, char **argv)
{
	static struct usbip_client c;
	static uint8_t sector[4096];
	uint16_t port;
	long secs = 60;
	time_t end;

	if (argc < 4 || argc > 5 || hold_port(argv[2], &port) < 0 ||
	    (argc == 5 && ((secs = strtol(argv[4], NULL, 10)) < 1 ||
	    secs > 3600))) {
		fprintf(stderr, "usage: vt-usbip-hold HOST PORT BUSID "
		    "[SECONDS]\n");
		return 2;
	}
	usbip_client_init(&c);
	if (usbip_client_attach(&c, argv[1], port, NULL, argv[3]) < 0) {
		fprintf(stderr, "error: attach %s: %s\n", argv[3], c.err);
		return 2;
	}
	printf("attached\n");
	fflush(stdout);
	end = time(NULL) + secs;
	while (time(NULL) < end) {
		if (usbip_client_read10(&c, 0, 1, sector) < 0) {
			if (c.timed_out) {
				fprintf(stderr, "error: read: %s\n", c.err);
				return 2;
			}
			printf("closed\n");
			return 0;
		}
		vt_sleep_ms(100);
	}
	printf("timeout\n");
	return 3;
}
