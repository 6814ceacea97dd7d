/*
 * fault_util: see fault_util.h.
 */
#include "fault_util.h"
#include "../lib/vt_wait.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/monotime.h"

int64_t
fu_cpu_ms(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long long ut, st;
	long tck = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after "(comm)": state is field 3, utime 14, stime 15. */
	p = strrchr(buf, ')');
	if (p == NULL || tck <= 0 || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d "
	    "%*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (int64_t)((ut + st) * 1000 / (unsigned long long)tck);
}

int
fu_fd_count(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int
fu_connect(const char *host, uint16_t port, int timeout_ms)
{
	struct sockaddr_in sa;
	int fd, err = 0, fl;
	socklen_t len = sizeof(err);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EINPROGRESS ||
		    vt_wait_fd(fd, POLLOUT, monotime_ms() + timeout_ms) != 1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
		    err != 0) {
			close(fd);
			return -1;
		}
	}
	fl = fcntl(fd, F_GETFL);
	(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

int
fu_local_addr(int fd, char *buf, size_t len)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char host[INET_ADDRSTRLEN];

	if (getsockname(fd, (struct sockaddr *)&sa, &sl) < 0 ||
	    sa.sin_family != AF_INET ||
	    inet_ntop(AF_INET, &sa.sin_addr, host, sizeof(host)) == NULL)
		return -1;
	snprintf(buf, len, "%s:%u", host, ntohs(sa.sin_port));
	return 0;
}

int
fu_send(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t r;

	while (len > 0) {
		r = send(fd, p, len, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int
fu_send_str(int fd, const char *s)
{
	return fu_send(fd, s, strlen(s));
}

bool
fu_wait_closed(int fd, int timeout_ms, int64_t *ms)
{
	int64_t t0 = monotime_ms(), deadline = t0 + timeout_ms;
	char buf[4096];
	ssize_t r;

	for (;;) {
		if (vt_wait_fd(fd, POLLIN, deadline) != 1)
			break;
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			if (ms != NULL)
				*ms = monotime_ms() - t0;
			return true;
		}
	}
	if (ms != NULL)
		*ms = monotime_ms() - t0;
	return false;
}

int
fu_http_status(const char *host, uint16_t port, const char *path,
    int timeout_ms)
{
	int64_t deadline = monotime_ms() + timeout_ms;
	char req[512], buf[1024];
	size_t got = 0;
	ssize_t r;
	int fd, status = -1;

	fd = fu_connect(host, port, timeout_ms);
	if (fd < 0)
		return -1;
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n",
	    path, host);
	if (fu_send_str(fd, req) < 0) {
		close(fd);
		return -1;
	}
	while (got < sizeof(buf) - 1 && vt_wait_fd(fd, POLLIN, deadline) == 1) {
		r = recv(fd, buf + got, sizeof(buf) - 1 - got, MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		buf[got] = '\0';
		if (strstr(buf, "\r\n") != NULL)
			break;
	}
	buf[got] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		status = -1;
	close(fd);
	return status;
}

int
fu_sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(stdout);
	fflush(stderr);
	st = system(cmd);
	if (st < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}
