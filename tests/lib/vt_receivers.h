/*
 * vt_receivers: the outside world of alarm delivery, for tests: a
 * webhook receiver (an HTTP/1.1 server in a thread that checks each
 * POST's X-Vtoken-Signature against the shared secret and answers a
 * programmed status), a syslog receiver (a UDP socket in a thread), and
 * a black hole (a listening socket that never accepts, so a connection
 * is made and then nothing answers).  All on 127.0.0.1, free ports.
 * Nothing here calls Check; every wait is bounded.
 */
#ifndef VTOKEN_TEST_VT_RECEIVERS_H
#define VTOKEN_TEST_VT_RECEIVERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VT_RECV_MAX	256	/* messages kept */

struct vt_webhook {
	int fd;
	uint16_t port;
	pthread_t th;
	atomic_bool stop;
	pthread_mutex_t mu;
	char secret[128];
	unsigned fail_first;	/* answer 500 to this many POSTs first */
	unsigned posts;		/* POSTs seen (any answer); guarded by mu */
	unsigned bad_sigs;	/* with a missing or wrong signature */
	char *bodies[VT_RECV_MAX];	/* of the POSTs answered 200 */
	unsigned nbodies;
};

struct vt_syslog {
	int fd;
	uint16_t port;
	pthread_t th;
	atomic_bool stop;
	pthread_mutex_t mu;
	char *msgs[VT_RECV_MAX];
	unsigned n;
};

/* 0 or -1. */
int vt_webhook_start(struct vt_webhook *w, const char *secret,
    unsigned fail_first);
void vt_webhook_stop(struct vt_webhook *w);
/*
 * Waits up to ms for an accepted body containing needle; a copy
 * (allocated) or NULL.
 */
char *vt_webhook_wait(struct vt_webhook *w, const char *needle, int ms);

int vt_syslog_start(struct vt_syslog *s);
void vt_syslog_stop(struct vt_syslog *s);
char *vt_syslog_wait(struct vt_syslog *s, const char *needle, int ms);

/* A port that accepts connections into its backlog and never answers. */
int vt_blackhole_open(uint16_t *port);

#endif
