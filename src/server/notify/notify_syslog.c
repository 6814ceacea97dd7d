/*
 * notify_syslog: a syslog destination speaking RFC 5424:
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG
 *
 * PRI is facility local0 (16) * 8 + the message's severity; TIMESTAMP is
 * UTC when the message was posted; SD one structured-data element (the
 * alarm's or record's fields, so a SIEM can index them) or "-".  Over a
 * datagram socket (unix:PATH such as /dev/log, or udp:HOST:PORT) a
 * message is one datagram; over tcp:HOST:PORT it is framed by octet
 * counting (RFC 6587: "LEN SP MESSAGE"), and the connection is kept and
 * made again after a failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/cause.h"
#include "common/encode.h"
#include "common/netaddr.h"
#include "common/xmalloc.h"
#include "server/notify/notify_impl.h"

#define SYSLOG_FACILITY		16	/* local0 */
#define SYSLOG_MAX		8192	/* one message, at most */

struct syslogd {
	int type;			/* SOCK_DGRAM or SOCK_STREAM */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int fd;				/* -1: not connected */
	char hostname[256], app[49];
	char what[160];
};

static void
syslog_close(struct syslogd *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* A connected socket within timeout_s; 0 or -1 with why. */
static int
syslog_connect(struct syslogd *s, unsigned timeout_s, char *why,
    size_t whylen)
{
	struct pollfd p;
	int err = 0;
	socklen_t len = sizeof(err);

	if (s->fd >= 0)
		return 0;
	s->fd = socket(s->addr.ss_family, s->type | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0);
	if (s->fd < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(s->fd, (struct sockaddr *)&s->addr, s->addrlen) == 0)
		return 0;
	if (errno == EINPROGRESS) {
		p.fd = s->fd;
		p.events = POLLOUT;
		if (poll(&p, 1, (int)timeout_s * 1000) == 1 &&
		    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
		    err == 0)
			return 0;
		errno = err != 0 ? err : ETIMEDOUT;
	}
	snprintf(why, whylen, "connect: %s", strerror(errno));
	syslog_close(s);
	return -1;
}

/* Writes all of buf within timeout_s (stream) or as one datagram. */
static int
syslog_write(struct syslogd *s, const char *buf, size_t len,
    unsigned timeout_s, char *why, size_t whylen)
{
	struct pollfd p = { s->fd, POLLOUT, 0 };
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		if (poll(&p, 1, (int)timeout_s * 1000) != 1) {
			snprintf(why, whylen, "send: timed out");
			return -1;
		}
		n = send(s->fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			snprintf(why, whylen, "send: %s", strerror(errno));
			return -1;
		}
		if (s->type == SOCK_DGRAM && (size_t)n != len) {
			snprintf(why, whylen, "send: datagram cut");
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

static enum notify_result
syslog_send(void *arg, const struct notify_msg *m, unsigned timeout_s,
    char *why, size_t whylen)
{
	struct syslogd *s = arg;
	char ts[ENCODE_TIME_LEN + 1], msg[SYSLOG_MAX], framed[SYSLOG_MAX + 16];
	int n;

	encode_time(m->when, ts);
	n = snprintf(msg, sizeof(msg), "<%d>1 %s %s %s %d %s %s %s",
	    SYSLOG_FACILITY * 8 + (m->severity & 7), ts, s->hostname, s->app,
	    (int)getpid(), m->msgid, m->sd != NULL ? m->sd : "-", m->body);
	if (n < 0)
		return NOTIFY_REJECTED;
	if ((size_t)n >= sizeof(msg))
		n = (int)sizeof(msg) - 1;	/* cut, as receivers would */
	if (syslog_connect(s, timeout_s, why, whylen) < 0)
		return NOTIFY_RETRY;
	if (s->type == SOCK_STREAM) {
		int f = snprintf(framed, sizeof(framed), "%d %.*s", n, n, msg);

		if (syslog_write(s, framed, (size_t)f, timeout_s, why,
		    whylen) < 0) {
			syslog_close(s);
			return NOTIFY_RETRY;
		}
		return NOTIFY_SENT;
	}
	if (syslog_write(s, msg, (size_t)n, timeout_s, why, whylen) < 0) {
		syslog_close(s);	/* a receiver restarted: reconnect */
		return NOTIFY_RETRY;
	}
	return NOTIFY_SENT;
}

static void
syslog_free(void *arg)
{
	struct syslogd *s = arg;

	syslog_close(s);
	free(s);
}

/* Parses target into s; 0 or -1 with *cause. */
static int
syslog_target(struct syslogd *s, const char *target, char **cause)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&s->addr;
	const char *why = NULL;

	if (strncmp(target, "unix:", 5) == 0) {
		if (strlen(target + 5) == 0 ||
		    strlen(target + 5) >= sizeof(un->sun_path))
			return cause_set(cause, "syslog %s: a socket path is "
			    "needed", target);
		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof(un->sun_path), "%s", target + 5);
		s->addrlen = sizeof(*un);
		s->type = SOCK_DGRAM;
		return 0;
	}
	if (strncmp(target, "udp:", 4) == 0)
		s->type = SOCK_DGRAM;
	else if (strncmp(target, "tcp:", 4) == 0)
		s->type = SOCK_STREAM;
	else
		return cause_set(cause, "syslog %s: unix:PATH, udp:HOST:PORT "
		    "or tcp:HOST:PORT expected", target);
	if (netaddr_parse_hostport(target + 4, &s->addr, &s->addrlen,
	    &why) < 0)
		return cause_set(cause, "syslog %s: %s", target, why);
	return 0;
}

struct notify *
notify_syslog_new(const char *target, const char *hostname, const char *app,
    const struct notify_limits *lim, char **cause)
{
	struct notify_sink sink;
	struct syslogd *s = xcalloc(1, sizeof(*s));

	s->fd = -1;
	if (syslog_target(s, target, cause) < 0) {
		free(s);
		return NULL;
	}
	/* RFC 5424 fields are printable ASCII without spaces. */
	snprintf(s->hostname, sizeof(s->hostname), "%s", hostname[0] ?
	    hostname : "-");
	snprintf(s->app, sizeof(s->app), "%s", app);
	for (char *p = s->hostname; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~')
			*p = '_';
	snprintf(s->what, sizeof(s->what), "syslog %.140s", target);
	sink.what = s->what;
	sink.send = syslog_send;
	sink.free = syslog_free;
	sink.arg = s;
	return notify_start(&sink, lim, cause);
}
