/*
 * test_flood: fair shares under a connection flood, on each listener
 * (issue #14).  The VM is at 127.0.0.1 (its USB/IP client, its agent, the
 * operator's REST calls); the flood comes from 127.0.5.1 .. 127.0.5.N,
 * addresses that are no VM's, with more connections than the listener's
 * total cap, held and reopened for FLOOD_SECONDS (default 30; env
 * VT_FLOOD_SECONDS bounds a CI run).  The daemon runs with small caps
 * (CFG) so that "more than the total" is a few hundred connections.
 *
 * usbip: idle connections (each closed by the handshake deadline or by
 * a cap, and opened again at once).  During the flood a VM's device
 * list, an import and a read loop (4 KiB READ(10)s) work, and its read
 * p99 stays within 3x + 2 ms of the undisturbed run measured first in
 * the same test; the real agent (vtoken-agent --once) authenticates.
 *
 * api: every flood connection announces a 1 MiB body to POST
 * /v1/agent/challenge and tries to send it; the rest of the connections
 * wait idle.  The answer must be 413 before the body is read (or the
 * connection closed by a cap), quickly; during the flood the agent
 * authenticates and the VM's import works.
 *
 * Both: vtokend's RSS grows by at most RSS_GROWTH_KIB and its descriptor
 * count stays under the caps plus its own (FD_BOUND); the log's refusal
 * lines are rate-limited (at most one a second per cause, so at most
 * 3 x FLOOD_SECONDS + slack) and carry "more suppressed" counts.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/control_fixture.h"
#include "../lib/vt_wait.h"
#include "common/monotime.h"
#include "fault_util.h"

#define USBIP_TOTAL	256
#define USBIP_RESERVE	64
#define API_TOTAL	64
#define API_RESERVE	16
#define PER_ADDR	16
#define FLOOD_ADDRS	25		/* 127.0.5.1 .. 127.0.5.25 */
#define FLOOD_CONNS	(FLOOD_ADDRS * PER_ADDR)	/* 400 */
#define CONNECTS_PER_S	500		/* the flood's reopen rate */
#define READS_BASE	400
#define READ_SECTORS	8
#define RSS_GROWTH_KIB	(48 * 1024)
#define FD_BOUND	(USBIP_TOTAL + API_TOTAL + 64)
#define BODY_SIZE	(1u << 20)

#define CFG \
	"usbip:\n" \
	"  max_sessions: 256\n" \
	"  max_per_peer: 16\n" \
	"  vm_reserve: 64\n" \
	"  handshake_timeout: 10\n" \
	"api:\n" \
	"  max_connections: 64\n" \
	"  max_connections_per_address: 16\n" \
	"  vm_reserve: 16\n" \
	"  timeout: 10\n"

static struct vtd vtd;

struct flood {
	uint16_t port;
	bool body;			/* announce and send a 1 MiB body */
	int seconds;
	atomic_bool stop;
	/* Results. */
	unsigned long opened, closed_by_server, answered_413, other_status;
	int64_t answer_ms_max;		/* headers sent to 413, the slowest */
};

static int
flood_seconds(void)
{
	const char *e = getenv("VT_FLOOD_SECONDS");
	char *end;
	long s = e != NULL ? strtol(e, &end, 10) : 30;

	return e == NULL || *end != '\0' || s < 3 || s > 600 ? 30 : (int)s;
}

/*
 * A nonblocking connection from src to 127.0.0.1:port, or -1.  The port
 * is chosen at connect (IP_BIND_ADDRESS_NO_PORT) and the connection ends
 * with a reset (SO_LINGER 0): tens of thousands of bind()-owned ports in
 * TIME_WAIT would leave no ephemeral port for other tests' connect().
 */
static int
flood_connect(const char *src, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET }, b = a;
	struct linger lg = { 1, 0 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0), one = 1;

	if (fd < 0)
		return -1;
	(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	inet_pton(AF_INET, src, &a.sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &b.sin_addr);
	b.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (connect(fd, (struct sockaddr *)&b, sizeof(b)) < 0 &&
	    errno != EINPROGRESS)) {
		close(fd);
		return -1;
	}
	return fd;
}

struct fconn {
	int fd;
	int64_t sent_hdr_ms;	/* when the headers went out; 0 not yet */
	size_t body_sent;
	char resp[64];
	size_t rlen;
};

/* Pushes as much of the announced body as the socket takes. */
static void
flood_push_body(struct fconn *c)
{
	static char zeros[65536];
	ssize_t n;

	while (c->body_sent < BODY_SIZE) {
		size_t left = BODY_SIZE - c->body_sent;

		n = send(c->fd, zeros, left < sizeof(zeros) ? left :
		    sizeof(zeros), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n <= 0)
			return;
		c->body_sent += (size_t)n;
	}
}

static void
flood_close(struct flood *f, struct fconn *c, bool by_server)
{
	if (by_server)
		f->closed_by_server++;
	close(c->fd);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Input on c: a status line, or the end of the stream. */
static void
flood_input(struct flood *f, struct fconn *c)
{
	ssize_t n = recv(c->fd, c->resp + c->rlen, sizeof(c->resp) - 1 -
	    c->rlen, MSG_DONTWAIT);

	if (n > 0) {
		c->rlen += (size_t)n;
		c->resp[c->rlen] = '\0';
		if (c->rlen >= 12 && c->sent_hdr_ms > 0) {
			int64_t ms = monotime_ms() - c->sent_hdr_ms;

			if (strncmp(c->resp + 9, "413", 3) == 0)
				f->answered_413++;
			else
				f->other_status++;
			if (ms > f->answer_ms_max)
				f->answer_ms_max = ms;
			flood_close(f, c, false);
		}
		return;
	}
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		flood_close(f, c, true);
}

static void *
flood_run(void *arg)
{
	static const char hdr[] = "POST /v1/agent/challenge HTTP/1.1\r\n"
	    "Host: vtokend\r\nContent-Type: application/json\r\n"
	    "Content-Length: 1048576\r\n\r\n";
	struct flood *f = arg;
	struct fconn *c = calloc(FLOOD_CONNS, sizeof(*c));
	struct pollfd *pfd = calloc(FLOOD_CONNS, sizeof(*pfd));
	int64_t end = monotime_ms() + (int64_t)f->seconds * 1000;
	int64_t tick = monotime_ms();
	unsigned budget = 0;
	char src[32];

	for (size_t i = 0; i < FLOOD_CONNS; i++)
		c[i].fd = -1;
	while (!atomic_load(&f->stop) && monotime_ms() < end) {
		if (monotime_ms() - tick >= 50) {	/* the reopen rate */
			tick = monotime_ms();
			budget = CONNECTS_PER_S / 20;
		}
		for (size_t i = 0; i < FLOOD_CONNS; i++) {
			if (c[i].fd < 0 && budget > 0) {
				budget--;
				snprintf(src, sizeof(src), "127.0.5.%zu",
				    1 + i % FLOOD_ADDRS);
				if ((c[i].fd = flood_connect(src, f->port)) >= 0)
					f->opened++;
			}
			pfd[i].fd = c[i].fd;
			pfd[i].events = POLLIN;
			if (f->body && c[i].fd >= 0 && c[i].body_sent < BODY_SIZE)
				pfd[i].events |= POLLOUT;
		}
		if (poll(pfd, FLOOD_CONNS, 20) <= 0)
			continue;
		for (size_t i = 0; i < FLOOD_CONNS; i++) {
			if (c[i].fd < 0 || pfd[i].revents == 0)
				continue;
			if (f->body && (pfd[i].revents & POLLOUT)) {
				if (c[i].sent_hdr_ms == 0 && send(c[i].fd, hdr,
				    sizeof(hdr) - 1, MSG_NOSIGNAL) ==
				    (ssize_t)sizeof(hdr) - 1)
					c[i].sent_hdr_ms = monotime_ms();
				if (c[i].sent_hdr_ms > 0)
					flood_push_body(&c[i]);
			}
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				flood_input(f, &c[i]);
		}
	}
	for (size_t i = 0; i < FLOOD_CONNS; i++)
		if (c[i].fd >= 0)
			close(c[i].fd);
	free(c);
	free(pfd);
	return NULL;
}

/* VmRSS of pid in KiB, or -1. */
static long
rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(fp);
	return kib;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The 99th percentile of n samples (sorted in place). */
static int64_t
p99(int64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_i64);
	return v[n * 99 / 100 < n ? n * 99 / 100 : n - 1];
}

struct vmside {
	struct fx_token a, b;		/* a: the read loop; b: imports */
	struct usbip_client reader;
	char img[600];			/* token a's image, for the agent */
	uint32_t lba, nlba;
};

static void
fl_start(struct vmside *vm)
{
	char cfg[512], busids[4][32];
	const char *args[] = { "-c", cfg, NULL };
	struct usbip_client_opts o = { .src_addr = "127.0.0.1" };
	struct vt_http_resp r;
	char path[128];
	uint32_t last, blen;
	FILE *fp;

	ck_assert_msg(vtd_init(&vtd) == 0, "%s", vtd.err);
	ck_assert_int_eq(vtd_write_file(&vtd, "vtokend.yaml", CFG), 0);
	vtd_path(&vtd, "vtokend.yaml", cfg, sizeof(cfg));
	ck_assert_msg(vtd_start(&vtd, args) == 0, "%s", vtd.err);
	fx_token(&vtd, "flood-a", false, &vm->a);
	fx_token(&vtd, "flood-b", false, &vm->b);
	fx_vm(&vtd, "flood-vm", "127.0.0.1");
	fx_assign(&vtd, "flood-a", "flood-vm");
	fx_assign(&vtd, "flood-b", "flood-vm");
	ck_assert_uint_eq(fx_devlist(&vtd, "127.0.0.1", busids, 4), 2);
	snprintf(path, sizeof(path), "/v1/tokens/%s/image", vm->a.id);
	ck_assert_int_eq(vt_api(&vtd, "GET", path, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	vtd_path(&vtd, "a.img", vm->img, sizeof(vm->img));
	ck_assert_ptr_nonnull(fp = fopen(vm->img, "w"));
	ck_assert_uint_eq(fwrite(r.body, 1, r.len, fp), r.len);
	fclose(fp);
	vt_http_resp_free(&r);
	usbip_client_init(&vm->reader);
	ck_assert_msg(usbip_client_attach(&vm->reader, vtd.host, vtd.port, &o,
	    vm->a.busid) == 0, "%s", vm->reader.err);
	ck_assert_int_eq(usbip_client_read_capacity(&vm->reader, &last,
	    &blen), 0);
	vm->nlba = last + 1;
	vm->lba = 0;
}

/* One timed READ(10) of READ_SECTORS; its time in microseconds. */
static int64_t
fl_read(struct vmside *vm)
{
	static uint8_t buf[READ_SECTORS * 512];
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_msg(usbip_client_read10(&vm->reader, vm->lba, READ_SECTORS,
	    buf) == 0, "read at %u: %s", vm->lba, vm->reader.err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	vm->lba = (vm->lba + READ_SECTORS) % (vm->nlba - READ_SECTORS);
	return (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000;
}

static bool
fl_agent_once(const struct vmside *vm)
{
	char url[128];
	const char *argv[] = { VT_BINARY_DIR "/bin/vtoken-agent", "--once",
	    "--device", vm->img, "--controller", url, NULL };

	vt_api_url(&vtd, "", url, sizeof(url));
	return vtd_run(argv) == 0;
}

/* An import of token b from the VM's address, then its close. */
static bool
fl_import(const struct vmside *vm)
{
	struct usbip_client c;
	uint32_t st = 1;

	/* The previous session of b may still be ending. */
	for (int i = 0; i < 50; i++) {
		st = fx_import(&vtd, "127.0.0.1", vm->b.busid, &c);
		if (st == 0) {
			usbip_client_close(&c);
			return true;
		}
		vt_sleep_ms(20);
	}
	return false;
}

struct during {
	int64_t *lat;
	size_t nlat, cap;
	unsigned devlists, imports, agents;
	long rss_max;
	int fds_max;
};

/*
 * The VM's side while the flood runs: reads all the time; every 2 s a
 * device list, an import and (every 6 s) the agent; RSS and descriptors
 * sampled.  Every step must succeed.
 */
static void
fl_during(struct vmside *vm, struct flood *f, struct during *d)
{
	int64_t end = monotime_ms() + (int64_t)f->seconds * 1000 - 500;
	int64_t next = monotime_ms() + 1000, next_agent = next;
	char busids[4][32];
	int fds;
	long rss;

	while (monotime_ms() < end) {
		if (d->nlat < d->cap)
			d->lat[d->nlat++] = fl_read(vm);
		if (monotime_ms() < next)
			continue;
		next = monotime_ms() + 2000;
		ck_assert_msg(fx_devlist(&vtd, "127.0.0.1", busids, 4) == 2,
		    "device list during the flood");
		d->devlists++;
		ck_assert_msg(fl_import(vm), "import during the flood");
		d->imports++;
		if (monotime_ms() >= next_agent) {
			ck_assert_msg(fl_agent_once(vm), "vtoken-agent --once "
			    "failed during the flood");
			d->agents++;
			next_agent = monotime_ms() + 6000;
		}
		if ((rss = rss_kib(vtd.pid)) > d->rss_max)
			d->rss_max = rss;
		if ((fds = fu_fd_count(vtd.pid)) > d->fds_max)
			d->fds_max = fds;
	}
}

static void fl_one_big_body(void);

/* Metric name's value from GET /metrics (admin key). */
static long long
fl_metric(const char *name)
{
	struct vt_http_resp r;
	long long v;

	ck_assert_int_eq(vt_api(&vtd, "GET", "/metrics", NULL, &r), 0);
	v = vt_metric(r.body, name);
	vt_http_resp_free(&r);
	return v;
}

/*
 * Log lines of refusals: over a connection cap (either listener), and
 * before a body (the API's gate).
 */
static int
fl_refusal_lines(void)
{
	return vtd_log_count(&vtd, "refused: connection limit reached") +
	    vtd_log_count(&vtd, "before reading it") +
	    vtd_log_count(&vtd, "(refused before its body)");
}

static void
fl_flood(const char *name, bool body, const char *refusal)
{
	struct vmside vm;
	struct flood f = { .body = body };
	struct during d = { 0 };
	int64_t base[READS_BASE], p_base, p_flood;
	long rss0;
	int fds0, lines, suppressed;
	pthread_t th;

	fl_start(&vm);
	f.port = body ? vtd.api_port : vtd.port;
	if (body)
		fl_one_big_body();
	for (size_t i = 0; i < READS_BASE; i++)
		base[i] = fl_read(&vm);
	p_base = p99(base, READS_BASE);
	ck_assert_msg(fl_agent_once(&vm), "vtoken-agent --once, undisturbed");
	rss0 = rss_kib(vtd.pid);
	fds0 = fu_fd_count(vtd.pid);
	d.rss_max = rss0;
	d.fds_max = fds0;
	d.cap = 2000000;
	d.lat = calloc(d.cap, sizeof(*d.lat));
	f.seconds = flood_seconds();
	atomic_init(&f.stop, false);
	ck_assert_int_eq(pthread_create(&th, NULL, flood_run, &f), 0);
	/* Until the flood fills its share (the caps refuse). */
	ck_assert_msg(vtd_log_wait(&vtd, refusal, 1, 10000),
	    "%s: no \"%s\" in the log", name, refusal);
	fl_during(&vm, &f, &d);
	atomic_store(&f.stop, true);
	pthread_join(th, NULL);
	ck_assert_uint_gt(d.nlat, 100);
	p_flood = p99(d.lat, d.nlat);
	lines = fl_refusal_lines();
	suppressed = vtd_log_count(&vtd, "more suppressed)");
	fprintf(stderr, "flood %s: %d s, %lu connections opened from %d "
	    "addresses (%lu closed by the server, %lu answered 413, %lu "
	    "other, slowest 413 %lld ms); VM: %zu reads, p99 %lld us "
	    "undisturbed, %lld us during the flood; %u device lists, %u "
	    "imports, %u agent runs; vtokend RSS %ld -> max %ld KiB, fds "
	    "%d -> max %d; %d refusal lines (%d with counts)\n", name,
	    f.seconds, f.opened, FLOOD_ADDRS, f.closed_by_server,
	    f.answered_413, f.other_status, (long long)f.answer_ms_max,
	    d.nlat, (long long)p_base, (long long)p_flood, d.devlists,
	    d.imports, d.agents, rss0, d.rss_max, fds0, d.fds_max, lines,
	    suppressed);
	ck_assert_uint_gt(f.opened, FLOOD_CONNS);
	ck_assert_msg(p_flood <= 3 * p_base + 2000, "read p99 %lld us during "
	    "the flood, %lld us undisturbed", (long long)p_flood,
	    (long long)p_base);
	ck_assert_uint_ge(d.agents, 1);
	ck_assert_msg(d.rss_max - rss0 <= RSS_GROWTH_KIB, "RSS grew by %ld "
	    "KiB", d.rss_max - rss0);
	ck_assert_msg(d.fds_max <= FD_BOUND, "%d descriptors", d.fds_max);
	/* At most one line a second per cause (3 causes), and counts. */
	ck_assert_int_le(lines, 3 * (f.seconds + 2));
	ck_assert_int_ge(suppressed, 1);
	if (body) {
		ck_assert_uint_gt(f.answered_413, 0);
		/* Answered at the headers, not after a 1 MiB read. */
		ck_assert_msg(f.answer_ms_max < 2000, "a 413 took %lld ms",
		    (long long)f.answer_ms_max);
		ck_assert_int_gt(fl_metric(
		    "vtoken_api_refused_before_body_total"), 0);
		ck_assert_int_gt(fl_metric(
		    "vtoken_api_connections_refused_total"), 0);
	} else
		ck_assert_int_gt(fl_metric("vtoken_usbip_refused_total"), 0);
	free(d.lat);
	usbip_client_close(&vm.reader);
	ck_assert_int_eq(vtd_stop(&vtd), 0);
}

START_TEST(flood_usbip)
{
	fl_flood("usbip", false, ": usbip 127.0.5.");
}
END_TEST

/* One request alone: 413 at once, the body unread. */
static void
fl_one_big_body(void)
{
	static const char hdr[] = "POST /v1/agent/challenge HTTP/1.1\r\n"
	    "Host: vtokend\r\nContent-Type: application/json\r\n"
	    "Content-Length: 1048576\r\n\r\n";
	int fd = fu_connect(vtd.host, vtd.api_port, 2000);
	int64_t t0 = monotime_ms();
	char resp[64] = "";
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fu_send(fd, hdr, sizeof(hdr) - 1), 0);
	ck_assert_int_eq(vt_wait_fd(fd, POLLIN, t0 + 2000), 1);
	n = recv(fd, resp, sizeof(resp) - 1, 0);
	ck_assert_int_gt(n, 12);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 413", 12) == 0, "%s", resp);
	ck_assert_int_lt(monotime_ms() - t0, 1000);
	close(fd);
}

START_TEST(flood_api)
{
	fl_flood("api", true, ": api 127.0.5.");
}
END_TEST

static Suite *
flood_suite(void)
{
	Suite *s = suite_create("flood");
	TCase *tc = tcase_create("flood");

	tcase_set_timeout(tc, 150);
	tcase_add_test(tc, flood_usbip);
	tcase_add_test(tc, flood_api);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(flood_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	vtd_cleanup(&vtd);
	return failed == 0 ? 0 : 1;
}
