/*
 * bench_tcp: the physical baseline, raw TCP over loopback between two
 * sockets in this process (a writer thread and a reader), with the same
 * TCP_NODELAY setting the USB/IP connection uses.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

struct writer {
	int fd;
	uint64_t total;
	size_t chunk;
	int err;
};

double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	uint8_t *buf = malloc(w->chunk);
	uint64_t sent = 0;

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
	socklen_t len = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM, 0), on = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(l, 1) < 0 || getsockname(l, (struct sockaddr *)&sin,
	    &len) < 0)
		return -1;
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
	t0 = bench_now();
	if (pthread_create(&th, NULL, writer_main, &w) != 0)
		return -1;
	while (got < total) {
		ssize_t r = read(rfd, buf, chunk);

		if (r <= 0)
			break;
		got += (uint64_t)r;
	}
	dt = bench_now() - t0;
	pthread_join(th, NULL);
	close(w.fd);
	close(rfd);
	free(buf);
	if (got != total || w.err)
		return -1;
	return (double)total / (1 << 20) / dt;
}
