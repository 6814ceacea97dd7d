/*
 * bench_tcp: the physical baselines, TCP over loopback between two sockets
 * in this process, with the same TCP_NODELAY setting the USB/IP connection
 * uses: raw streaming (a writer thread and a reader), the round-trip time,
 * and a minimal server with the usb-storage request/response pattern.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "../lib/vt_port.h"
#include "common/monotime.h"

int bench_pin_servers;

/* A baseline's server thread runs where vtokend runs (vtoken-bench -P). */
static void
bench_pin_server_thread(void)
{
	cpu_set_t set;

	if (!bench_pin_servers)
		return;
	CPU_ZERO(&set);
	CPU_SET(1, &set);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

struct writer {
	int fd;
	uint64_t total;
	size_t chunk;
	int err;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	uint8_t *buf = malloc(w->chunk);
	uint64_t sent = 0;

	bench_pin_server_thread();
	if (buf == NULL) {
		w->err = 1;
		return NULL;
	}
	memset(buf, 0xa5, w->chunk);
	while (sent < w->total) {
		size_t n = w->total - sent < w->chunk ?
		    (size_t)(w->total - sent) : w->chunk;
		ssize_t r = write(w->fd, buf, n);

		if (r <= 0) {
			w->err = 1;
			break;
		}
		sent += (uint64_t)r;
	}
	free(buf);
	return NULL;
}

static int
tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin;
	uint16_t port;
	int l = vt_port_bind(&port), on = 1;

	if (l < 0 || listen(l, 1) < 0)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*a = socket(AF_INET, SOCK_STREAM, 0);
	if (*a < 0 || connect(*a, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return -1;
	*b = accept(l, NULL, NULL);
	close(l);
	if (*b < 0)
		return -1;
	setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	return 0;
}

double
bench_tcp_mibps(uint64_t total, size_t chunk)
{
	struct writer w = { -1, total, chunk, 0 };
	pthread_t th;
	uint8_t *buf = malloc(chunk);
	uint64_t got = 0;
	int rfd = -1;
	double t0, dt;

	if (buf == NULL || tcp_pair(&w.fd, &rfd) < 0) {
		free(buf);
		return -1;
	}
	t0 = monotime_sec();
	if (pthread_create(&th, NULL, writer_main, &w) != 0)
		return -1;
	while (got < total) {
		ssize_t r = read(rfd, buf, chunk);

		if (r <= 0)
			break;
		got += (uint64_t)r;
	}
	dt = monotime_sec() - t0;
	pthread_join(th, NULL);
	close(w.fd);
	close(rfd);
	free(buf);
	if (got != total || w.err)
		return -1;
	return (double)total / (1 << 20) / dt;
}

/* Moves exactly n bytes; 0 or -1. */
static int
xfer_all(int fd, void *buf, size_t n, bool rd)
{
	uint8_t *p = buf;

	while (n > 0) {
		ssize_t r = rd ? read(fd, p, n) : write(fd, p, n);

		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

struct turns_srv {
	int fd;
	size_t payload;
	uint64_t commands;
	int err;
};

#define TURN_HDR	48
#define TURN_CBW	31
#define TURN_CSW	13
#define TURN_SRC	(64u << 20)	/* the "image" payload is copied from */

static void *
turns_main(void *arg)
{
	struct turns_srv *t = arg;
	uint8_t *src = malloc(TURN_SRC), *out = malloc(TURN_HDR + t->payload);
	uint8_t req[TURN_HDR + TURN_CBW];
	size_t pos = 0;

	bench_pin_server_thread();
	if (src == NULL || out == NULL) {
		t->err = 1;
		goto out;
	}
	memset(src, 0x5a, TURN_SRC);
	memset(out, 0, TURN_HDR);
	for (uint64_t i = 0; i < t->commands; i++) {
		if (pos + t->payload > TURN_SRC)
			pos = 0;
		memcpy(out + TURN_HDR, src + pos, t->payload);
		pos += t->payload;
		if (xfer_all(t->fd, req, TURN_HDR + TURN_CBW, true) < 0 ||
		    xfer_all(t->fd, req, TURN_HDR, false) < 0 ||
		    xfer_all(t->fd, req, TURN_HDR, true) < 0 ||
		    xfer_all(t->fd, out, TURN_HDR + t->payload, false) < 0 ||
		    xfer_all(t->fd, req, TURN_HDR, true) < 0 ||
		    xfer_all(t->fd, req, TURN_HDR + TURN_CSW, false) < 0) {
			t->err = 1;
			break;
		}
	}
out:
	free(src);
	free(out);
	return NULL;
}

double
bench_tcp_turns_mibps(uint64_t total, size_t payload)
{
	struct turns_srv t = { -1, payload, total / payload, 0 };
	uint8_t *buf = malloc(TURN_HDR + payload), req[TURN_HDR + TURN_CBW];
	pthread_t th;
	int fd = -1, ok = 0;
	double t0, dt;

	memset(req, 0, sizeof(req));
	if (buf == NULL || payload == 0 || tcp_pair(&fd, &t.fd) < 0 ||
	    pthread_create(&th, NULL, turns_main, &t) != 0) {
		free(buf);
		return -1;
	}
	t0 = monotime_sec();
	for (uint64_t i = 0; i < t.commands; i++, ok++)
		if (xfer_all(fd, req, TURN_HDR + TURN_CBW, false) < 0 ||
		    xfer_all(fd, buf, TURN_HDR, true) < 0 ||
		    xfer_all(fd, req, TURN_HDR, false) < 0 ||
		    xfer_all(fd, buf, TURN_HDR + payload, true) < 0 ||
		    xfer_all(fd, req, TURN_HDR, false) < 0 ||
		    xfer_all(fd, buf, TURN_HDR + TURN_CSW, true) < 0)
			break;
	dt = monotime_sec() - t0;
	shutdown(fd, SHUT_RDWR);
	pthread_join(th, NULL);
	close(fd);
	close(t.fd);
	free(buf);
	if ((uint64_t)ok != t.commands || t.err)
		return -1;
	return (double)t.commands * (double)payload / (1 << 20) / dt;
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The client's three turns of one command; 0 or -1. */
static int
turns_client_cmd(int fd, uint8_t *req, uint8_t *buf, size_t payload)
{
	if (xfer_all(fd, req, TURN_HDR + TURN_CBW, false) < 0 ||
	    xfer_all(fd, buf, TURN_HDR, true) < 0 ||
	    xfer_all(fd, req, TURN_HDR, false) < 0 ||
	    xfer_all(fd, buf, TURN_HDR + payload, true) < 0 ||
	    xfer_all(fd, req, TURN_HDR, false) < 0 ||
	    xfer_all(fd, buf, TURN_HDR + TURN_CSW, true) < 0)
		return -1;
	return 0;
}

double
bench_tcp_turns_lat_us(unsigned n, size_t payload)
{
	struct turns_srv t = { -1, payload, n, 0 };
	uint8_t *buf = malloc(TURN_HDR + payload), req[TURN_HDR + TURN_CBW];
	double *v = calloc(n ? n : 1, sizeof(*v)), med = -1;
	pthread_t th;
	int fd = -1;
	unsigned i = 0;

	memset(req, 0, sizeof(req));
	if (buf == NULL || v == NULL || payload == 0 || n == 0 ||
	    tcp_pair(&fd, &t.fd) < 0 ||
	    pthread_create(&th, NULL, turns_main, &t) != 0) {
		free(buf);
		free(v);
		return -1;
	}
	for (; i < n; i++) {
		double t0 = monotime_sec();

		if (turns_client_cmd(fd, req, buf, payload) < 0)
			break;
		v[i] = (monotime_sec() - t0) * 1e6;
	}
	shutdown(fd, SHUT_RDWR);
	pthread_join(th, NULL);
	close(fd);
	close(t.fd);
	if (i == n && !t.err) {
		qsort(v, n, sizeof(*v), cmp_dbl);
		med = v[n / 2];
	}
	free(buf);
	free(v);
	return med;
}

/* Echoes 48-byte messages until the peer closes. */
static void *
echo_main(void *arg)
{
	int fd = *(int *)arg;
	uint8_t b[TURN_HDR];

	bench_pin_server_thread();
	while (xfer_all(fd, b, sizeof(b), true) == 0 &&
	    xfer_all(fd, b, sizeof(b), false) == 0)
		;
	return NULL;
}

double
bench_tcp_rtt_us(unsigned n)
{
	double *v = calloc(n, sizeof(*v)), med = -1;
	uint8_t b[TURN_HDR];
	int fd = -1, echo = -1;
	pthread_t th;
	unsigned i = 0;

	if (v == NULL || n == 0 || tcp_pair(&fd, &echo) < 0 ||
	    pthread_create(&th, NULL, echo_main, &echo) != 0) {
		free(v);
		return -1;
	}
	memset(b, 0, sizeof(b));
	for (; i < n; i++) {
		double t0 = monotime_sec();

		if (xfer_all(fd, b, sizeof(b), false) < 0 ||
		    xfer_all(fd, b, sizeof(b), true) < 0)
			break;
		v[i] = (monotime_sec() - t0) * 1e6;
	}
	shutdown(fd, SHUT_RDWR);
	pthread_join(th, NULL);
	close(fd);
	close(echo);
	if (i == n) {
		qsort(v, n, sizeof(*v), cmp_dbl);
		med = v[n / 2];
	}
	free(v);
	return med;
}
