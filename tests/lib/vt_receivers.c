/*
 * vt_receivers: see vt_receivers.h.
 */
#include "vt_receivers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/monotime.h"
#include "vt_wait.h"

static int
bind_loopback(int type, uint16_t *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 16) < 0)) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* ---- webhook ---- */

/* Reads one request (head and Content-Length body) within 5 s. */
static char *
read_request(int fd, size_t *headlen, size_t *bodylen)
{
	size_t cap = 1 << 20, len = 0, want = 0;
	char *buf = malloc(cap + 1), *end = NULL, *cl;
	int64_t deadline = monotime_ms() + 5000;

	while (buf != NULL && monotime_ms() < deadline) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		if ((n = read(fd, buf + len, cap - len)) <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
			*headlen = (size_t)(end - buf) + 4;
			cl = strcasestr(buf, "\r\nContent-Length:");
			want = cl != NULL ? strtoul(cl + 17, NULL, 10) : 0;
		}
		if (end != NULL && len >= *headlen + want && want < cap) {
			*bodylen = want;
			return buf;
		}
	}
	free(buf);
	return NULL;
}

static bool
signature_ok(struct vt_webhook *w, const char *head, const char *body,
    size_t len)
{
	static const char name[] = "\r\nX-Vtoken-Signature: sha256=";
	const char *h = strcasestr(head, name);
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (h == NULL)
		return false;
	HMAC(EVP_sha256(), w->secret, (int)strlen(w->secret),
	    (const unsigned char *)body, len, mac, &maclen);
	for (unsigned i = 0; i < maclen; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	h += sizeof(name) - 1;
	return strncmp(h, hex, 2 * maclen) == 0 && h[2 * maclen] == '\r';
}

static void
serve_one(struct vt_webhook *w, int c)
{
	size_t hl = 0, bl = 0;
	char *req = read_request(c, &hl, &bl);
	const char *answer = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n";
	bool sig;

	if (req == NULL)
		return;
	sig = signature_ok(w, req, req + hl, bl);
	pthread_mutex_lock(&w->mu);
	w->posts++;
	if (!sig)
		w->bad_sigs++;
	if (w->posts <= w->fail_first)
		answer = "HTTP/1.1 500 Internal Server Error\r\n"
		    "Content-Length: 0\r\nConnection: close\r\n\r\n";
	else if (w->nbodies < VT_RECV_MAX)
		w->bodies[w->nbodies++] = strndup(req + hl, bl);
	pthread_mutex_unlock(&w->mu);
	(void)write(c, answer, strlen(answer));
	free(req);
}

static void *
webhook_run(void *arg)
{
	struct vt_webhook *w = arg;

	while (!atomic_load(&w->stop)) {
		struct pollfd p = { w->fd, POLLIN, 0 };
		int c;

		if (poll(&p, 1, 100) <= 0)
			continue;
		if ((c = accept(w->fd, NULL, NULL)) < 0)
			continue;
		serve_one(w, c);
		close(c);
	}
	return NULL;
}

int
vt_webhook_start(struct vt_webhook *w, const char *secret,
    unsigned fail_first)
{
	memset(w, 0, sizeof(*w));
	snprintf(w->secret, sizeof(w->secret), "%s", secret);
	w->fail_first = fail_first;
	pthread_mutex_init(&w->mu, NULL);
	if ((w->fd = bind_loopback(SOCK_STREAM, &w->port)) < 0)
		return -1;
	return pthread_create(&w->th, NULL, webhook_run, w) == 0 ? 0 : -1;
}

void
vt_webhook_stop(struct vt_webhook *w)
{
	atomic_store(&w->stop, true);
	pthread_join(w->th, NULL);
	close(w->fd);
	for (unsigned i = 0; i < w->nbodies; i++)
		free(w->bodies[i]);
	pthread_mutex_destroy(&w->mu);
}

/* Waits for a message containing needle in msgs[0..*n) under mu. */
static char *
wait_for(pthread_mutex_t *mu, char **msgs, unsigned *n, const char *needle,
    int ms)
{
	int64_t deadline = monotime_ms() + ms;
	char *found = NULL;

	for (;;) {
		pthread_mutex_lock(mu);
		for (unsigned i = 0; i < *n && found == NULL; i++)
			if (strstr(msgs[i], needle) != NULL)
				found = strdup(msgs[i]);
		pthread_mutex_unlock(mu);
		if (found != NULL || monotime_ms() >= deadline)
			return found;
		vt_sleep_ms(20);
	}
}

char *
vt_webhook_wait(struct vt_webhook *w, const char *needle, int ms)
{
	return wait_for(&w->mu, w->bodies, &w->nbodies, needle, ms);
}

/* ---- syslog ---- */

static void *
syslog_run(void *arg)
{
	struct vt_syslog *s = arg;
	char buf[65536];

	while (!atomic_load(&s->stop)) {
		struct pollfd p = { s->fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		if ((n = recv(s->fd, buf, sizeof(buf) - 1, 0)) <= 0)
			continue;
		buf[n] = '\0';
		pthread_mutex_lock(&s->mu);
		if (s->n < VT_RECV_MAX)
			s->msgs[s->n++] = strdup(buf);
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

int
vt_syslog_start(struct vt_syslog *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	if ((s->fd = bind_loopback(SOCK_DGRAM, &s->port)) < 0)
		return -1;
	return pthread_create(&s->th, NULL, syslog_run, s) == 0 ? 0 : -1;
}

void
vt_syslog_stop(struct vt_syslog *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->th, NULL);
	close(s->fd);
	for (unsigned i = 0; i < s->n; i++)
		free(s->msgs[i]);
	pthread_mutex_destroy(&s->mu);
}

char *
vt_syslog_wait(struct vt_syslog *s, const char *needle, int ms)
{
	return wait_for(&s->mu, s->msgs, &s->n, needle, ms);
}

int
vt_blackhole_open(uint16_t *port)
{
	return bind_loopback(SOCK_STREAM, port);
}
