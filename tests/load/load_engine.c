/*
 * load_engine: one thread driving many USB/IP sessions over non-blocking
 * sockets and one epoll set.
 *
 * Each session behaves like Linux usb-storage: one URB outstanding at a
 * time, CBW, then the data URB, then the CSW, each sent when the previous
 * RET_SUBMIT has arrived.  The latency of a URB runs from its CMD_SUBMIT
 * to the end of its RET_SUBMIT (payload included); the latency of a
 * command from the CBW's CMD_SUBMIT to the CSW.  Every reply is checked:
 * seqnum, status, length, CSW signature, tag, residue and status, and the
 * data (against the whole image for verified tokens, else the FAT boot
 * signature whenever sector 0 is read).  Setup (connect, import,
 * enumerate, READ CAPACITY) uses the blocking test client.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/bytes.h"
#include "load.h"
#include "../lib/usbip_client.h"

#define ENG_EVENTS		256
#define ENG_TICK_MS		100
#define ENG_URB_TIMEOUT_NS	(10ull * 1000000000u)	/* stall */
#define ENG_DRAIN_NS		(15ull * 1000000000u)	/* after stop */
#define ENG_ATTACH_TIMEOUT_MS	20000
#define ENG_LBA0_EVERY		16	/* every 16th command reads LBA 0 */
#define ENG_READS_PER_EVENT	64	/* recv calls per readiness event */
#define CSW_SIG			0x53425355u
#define CBW_SIG			0x43425355u

enum sess_phase {
	PH_IDLE = 0,	/* between commands (after stop) */
	PH_CBW,		/* CBW sent on ep 2 */
	PH_DATA,	/* data IN URB sent on ep 1 */
	PH_CSW,		/* CSW IN URB sent on ep 1 */
	PH_DEAD,	/* failed; socket closed */
};

struct load_sess {
	int fd;
	unsigned tok;
	enum sess_phase phase;
	uint32_t devid;
	uint32_t next_seq;
	uint32_t seq;		/* of the outstanding URB */
	uint32_t tag;		/* of the current CBW */
	uint32_t want;		/* transfer_buffer_length outstanding */
	bool in;		/* outstanding URB is IN */
	uint32_t lba;
	uint16_t nblk;
	uint64_t t_urb, t_cmd;
	uint64_t cmds;
	uint64_t rng;
	uint8_t obuf[USBIP_HDR_SIZE + MSC_CBW_LEN];
	size_t olen, ooff;
	bool want_out;		/* EPOLLOUT registered */
	uint8_t *ibuf;		/* header + largest payload */
	size_t ilen, iwant;
	bool have_hdr;
	struct usbip_hdr h;
};

struct load_engine {
	struct load_ctx *x;
	unsigned idx;
	pthread_barrier_t *go;
	int ep;
	struct load_sess *s;
	unsigned ns;
	unsigned active;	/* sessions with a URB outstanding */
	struct hist urb_lat, cmd_lat;
	uint64_t urbs, bytes;
};

static void sess_fail(struct load_engine *, struct load_sess *,
    const char *, ...) __attribute__((format(printf, 3, 4)));

static uint64_t
sess_rand(struct load_sess *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

static void
sess_fail(struct load_engine *e, struct load_sess *s, const char *fmt, ...)
{
	const struct load_token *t = &e->x->tok[s->tok];
	char msg[256], a[16];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	load_addr_str(t->addr, a);
	load_error("session %s (%s) from %s: %s", t->busid, t->name, a, msg);
	if (s->phase != PH_IDLE && s->phase != PH_DEAD)
		e->active--;
	s->phase = PH_DEAD;
	if (s->fd >= 0) {
		(void)epoll_ctl(e->ep, EPOLL_CTL_DEL, s->fd, NULL);
		close(s->fd);
		s->fd = -1;
	}
}

static void
sess_events(struct load_engine *e, struct load_sess *s, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

	if (out == s->want_out)
		return;
	if (out)
		ev.events |= EPOLLOUT;
	s->want_out = out;
	if (epoll_ctl(e->ep, EPOLL_CTL_MOD, s->fd, &ev) < 0)
		sess_fail(e, s, "epoll_ctl: %s", strerror(errno));
}

/* Writes what is left of obuf; EPOLLOUT while the socket is full. */
static void
sess_flush(struct load_engine *e, struct load_sess *s)
{
	ssize_t n;

	while (s->ooff < s->olen) {
		n = send(s->fd, s->obuf + s->ooff, s->olen - s->ooff,
		    MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			sess_events(e, s, true);
			return;
		}
		if (n <= 0) {
			sess_fail(e, s, "send: %s", strerror(errno));
			return;
		}
		s->ooff += (size_t)n;
	}
	sess_events(e, s, false);
}

/* One bulk CMD_SUBMIT: ep 2 OUT with payload, or ep 1 IN of len. */
static void
sess_submit(struct load_engine *e, struct load_sess *s, bool in,
    uint32_t len, const uint8_t *payload)
{
	struct usbip_hdr h;

	memset(&h, 0, sizeof(h));
	h.command = USBIP_CMD_SUBMIT;
	h.seqnum = s->seq = s->next_seq++;
	h.devid = s->devid;
	h.direction = in ? USBIP_DIR_IN : USBIP_DIR_OUT;
	h.ep = in ? USBIP_CLIENT_EP_IN : USBIP_CLIENT_EP_OUT;
	h.u.submit.length = len;
	usbip_hdr_put(s->obuf, &h);
	s->olen = USBIP_HDR_SIZE;
	if (!in) {
		memcpy(s->obuf + USBIP_HDR_SIZE, payload, len);
		s->olen += len;
	}
	s->ooff = 0;
	s->in = in;
	s->want = len;
	s->ilen = 0;
	s->iwant = USBIP_HDR_SIZE;
	s->have_hdr = false;
	s->t_urb = load_now_ns();
	sess_flush(e, s);
}

/* Starts a READ(10): random length and place; sector 0 now and then. */
static void
sess_start(struct load_engine *e, struct load_sess *s)
{
	static const uint16_t sizes[] = { 1, 8, 64 };
	uint8_t cbw[MSC_CBW_LEN];

	s->nblk = sizes[sess_rand(s) % 3];
	s->lba = s->cmds % ENG_LBA0_EVERY == 0 ? 0 :
	    (uint32_t)(sess_rand(s) % (LOAD_TOKEN_SECTORS - s->nblk + 1));
	s->tag++;
	memset(cbw, 0, sizeof(cbw));
	put_le32(cbw, CBW_SIG);
	put_le32(cbw + 4, s->tag);
	put_le32(cbw + 8, (uint32_t)s->nblk * LOAD_SECTOR);
	cbw[12] = 0x80;			/* data IN */
	cbw[14] = 10;			/* CDB length */
	cbw[15] = 0x28;			/* READ(10) */
	put_be32(cbw + 17, s->lba);
	put_be16(cbw + 22, s->nblk);
	if (s->phase == PH_IDLE)
		e->active++;
	s->phase = PH_CBW;
	s->t_cmd = load_now_ns();
	sess_submit(e, s, false, MSC_CBW_LEN, cbw);
}

static bool
sess_data_ok(struct load_engine *e, struct load_sess *s, const uint8_t *p)
{
	const struct load_token *t = &e->x->tok[s->tok];
	size_t len = (size_t)s->nblk * LOAD_SECTOR;

	if (t->image != NULL)
		return memcmp(p, t->image + (size_t)s->lba * LOAD_SECTOR,
		    len) == 0;
	if (s->lba == 0)
		return p[510] == 0x55 && p[511] == 0xaa;
	return true;
}

static void
sess_csw(struct load_engine *e, struct load_sess *s, const uint8_t *p)
{
	uint64_t now = load_now_ns();

	if (get_le32(p) != CSW_SIG || get_le32(p + 4) != s->tag ||
	    get_le32(p + 8) != 0 || p[12] != 0) {
		sess_fail(e, s, "READ(10) of %u at %u: CSW signature %08x tag "
		    "%u (want %u) residue %u status %u", s->nblk, s->lba,
		    get_le32(p), get_le32(p + 4), s->tag, get_le32(p + 8),
		    p[12]);
		return;
	}
	hist_add(&e->cmd_lat, now - s->t_cmd);
	s->cmds++;
	if (atomic_load_explicit(&e->x->stop, memory_order_relaxed)) {
		s->phase = PH_IDLE;
		e->active--;
		return;
	}
	sess_start(e, s);
}

/* A whole RET_SUBMIT (and its payload) is in ibuf. */
static void
sess_complete(struct load_engine *e, struct load_sess *s)
{
	const struct usbip_hdr *h = &s->h;
	const uint8_t *p = s->ibuf + USBIP_HDR_SIZE;
	uint32_t want = s->want;

	hist_add(&e->urb_lat, load_now_ns() - s->t_urb);
	e->urbs++;
	if (h->u.ret_submit.status != 0 || h->u.ret_submit.actual != want) {
		sess_fail(e, s, "phase %d: RET_SUBMIT status %d, %u of %u "
		    "bytes", s->phase, h->u.ret_submit.status,
		    h->u.ret_submit.actual, want);
		return;
	}
	switch (s->phase) {
	case PH_CBW:
		s->phase = PH_DATA;
		sess_submit(e, s, true, (uint32_t)s->nblk * LOAD_SECTOR, NULL);
		break;
	case PH_DATA:
		if (!sess_data_ok(e, s, p)) {
			sess_fail(e, s, "READ(10) of %u at %u: wrong data",
			    s->nblk, s->lba);
			return;
		}
		e->bytes += want;
		s->phase = PH_CSW;
		sess_submit(e, s, true, MSC_CSW_LEN, NULL);
		break;
	case PH_CSW:
		sess_csw(e, s, p);
		break;
	default:
		sess_fail(e, s, "reply in phase %d", s->phase);
	}
}

/* The header is in: checks it and says how much payload follows. */
static int
sess_header(struct load_engine *e, struct load_sess *s)
{
	struct usbip_hdr *h = &s->h;

	if (usbip_hdr_get(s->ibuf, USBIP_HDR_SIZE, h) < 0 ||
	    h->command != USBIP_RET_SUBMIT || h->seqnum != s->seq) {
		sess_fail(e, s, "unexpected PDU %08x seqnum %u (want "
		    "RET_SUBMIT %u)", h->command, h->seqnum, s->seq);
		return -1;
	}
	if (h->u.ret_submit.actual > s->want) {
		sess_fail(e, s, "RET_SUBMIT of %u bytes for %u",
		    h->u.ret_submit.actual, s->want);
		return -1;
	}
	s->have_hdr = true;
	if (s->in)
		s->iwant += h->u.ret_submit.actual;
	return 0;
}

static void
sess_read(struct load_engine *e, struct load_sess *s)
{
	ssize_t n;

	for (unsigned i = 0; i < ENG_READS_PER_EVENT &&
	    s->phase != PH_DEAD && s->phase != PH_IDLE; i++) {
		n = recv(s->fd, s->ibuf + s->ilen, s->iwant - s->ilen, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			sess_fail(e, s, "recv: %s", n == 0 ?
			    "server closed the session" : strerror(errno));
			return;
		}
		s->ilen += (size_t)n;
		if (s->ilen < s->iwant)
			continue;
		if (!s->have_hdr) {
			if (sess_header(e, s) < 0)
				return;
			if (s->ilen < s->iwant)
				continue;
		}
		sess_complete(e, s);
	}
}

static void
eng_stalls(struct load_engine *e, uint64_t now)
{
	for (unsigned i = 0; i < e->ns; i++) {
		struct load_sess *s = &e->s[i];

		if (s->phase >= PH_CBW && s->phase <= PH_CSW &&
		    now - s->t_urb > ENG_URB_TIMEOUT_NS)
			sess_fail(e, s, "no RET_SUBMIT for %.1f s (phase %d)",
			    (double)(now - s->t_urb) / 1e9, s->phase);
	}
}

/* Blocking setup of one session; the socket then joins the epoll set. */
static int
sess_attach(struct load_engine *e, struct load_sess *s)
{
	const struct load_token *t = &e->x->tok[s->tok];
	struct usbip_client c;
	struct usbip_client_opts o = { .timeout_ms = ENG_ATTACH_TIMEOUT_MS };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
	uint32_t last = 0, blk = 0;
	char a[16];

	load_addr_str(t->addr, a);
	o.src_addr = a;
	usbip_client_init(&c);
	if (usbip_client_attach(&c, e->x->d.host, e->x->d.port, &o,
	    t->busid) < 0 || usbip_client_read_capacity(&c, &last,
	    &blk) != 0 || last != LOAD_TOKEN_SECTORS - 1 ||
	    blk != LOAD_SECTOR) {
		load_error("attach %s from %s: %s (capacity %u x %u)",
		    t->busid, a, c.err, last + 1, blk);
		usbip_client_close(&c);
		return -1;
	}
	s->fd = c.fd;
	c.fd = -1;
	s->devid = c.devid;
	s->next_seq = c.next_seqnum;
	s->tag = c.cbw_tag;
	if (epoll_ctl(e->ep, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
		load_error("epoll_ctl: %s", strerror(errno));
		close(s->fd);
		s->fd = -1;
		return -1;
	}
	return 0;
}

struct load_engine *
load_engine_new(struct load_ctx *x, unsigned i, unsigned n,
    pthread_barrier_t *go)
{
	struct load_engine *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->ep = -1;
	e->x = x;
	e->idx = i;
	e->go = go;
	e->ns = (x->o.sessions - i + n - 1) / n;	/* tokens i, i+n, ... */
	e->s = calloc(e->ns ? e->ns : 1, sizeof(*e->s));
	e->ep = epoll_create1(EPOLL_CLOEXEC);
	if (e->s == NULL || e->ep < 0) {
		load_engine_free(e);
		return NULL;
	}
	for (unsigned k = 0; k < e->ns; k++) {
		struct load_sess *s = &e->s[k];

		s->fd = -1;
		s->phase = PH_DEAD;
		s->tok = i + k * n;
		s->rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)s->tok + 1) *
		    0xbf58476d1ce4e5b9ull;
		s->ibuf = malloc(USBIP_HDR_SIZE + LOAD_MAX_XFER);
		if (s->ibuf == NULL) {
			load_engine_free(e);
			return NULL;
		}
	}
	return e;
}

static void
eng_loop(struct load_engine *e)
{
	struct epoll_event ev[ENG_EVENTS];
	uint64_t now, next_check = load_now_ns(), drain_end = 0;
	int n;

	while (e->active > 0) {
		n = epoll_wait(e->ep, ev, ENG_EVENTS, ENG_TICK_MS);
		if (n < 0 && errno != EINTR) {
			load_error("epoll_wait: %s", strerror(errno));
			return;
		}
		for (int i = 0; i < n; i++) {
			struct load_sess *s = ev[i].data.ptr;

			if (s->phase == PH_DEAD)
				continue;
			if (ev[i].events & EPOLLOUT)
				sess_flush(e, s);
			if (s->phase != PH_DEAD &&
			    ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				sess_read(e, s);
		}
		now = load_now_ns();
		if (now >= next_check) {
			eng_stalls(e, now);
			next_check = now + 1000000000u;
		}
		if (drain_end == 0 && atomic_load(&e->x->stop))
			drain_end = now + ENG_DRAIN_NS;
		if (drain_end != 0 && now > drain_end) {
			load_error("engine %u: %u session(s) still busy %llu s "
			    "after the stop", e->idx, e->active,
			    (unsigned long long)(ENG_DRAIN_NS / 1000000000u));
			return;
		}
	}
}

void *
load_engine_run(void *arg)
{
	struct load_engine *e = arg;

	for (unsigned k = 0; k < e->ns; k++)
		if (sess_attach(e, &e->s[k]) == 0)
			e->s[k].phase = PH_IDLE;
	pthread_barrier_wait(e->go);
	for (unsigned k = 0; k < e->ns; k++)
		if (e->s[k].phase == PH_IDLE)
			sess_start(e, &e->s[k]);
	eng_loop(e);
	return NULL;
}

void
load_engine_merge(const struct load_engine *e, struct load_ctx *x)
{
	hist_merge(&x->urb_lat, &e->urb_lat);
	hist_merge(&x->cmd_lat, &e->cmd_lat);
	x->urbs += e->urbs;
	x->bytes += e->bytes;
	for (unsigned k = 0; k < e->ns; k++) {
		uint64_t c = e->s[k].cmds;

		x->cmds += c;
		if (c < x->min_cmds)
			x->min_cmds = c;
		if (c > x->max_cmds)
			x->max_cmds = c;
	}
}

void
load_engine_close(struct load_engine *e)
{
	for (unsigned k = 0; k < e->ns; k++)
		if (e->s[k].fd >= 0) {
			close(e->s[k].fd);
			e->s[k].fd = -1;
		}
}

void
load_engine_free(struct load_engine *e)
{
	if (e == NULL)
		return;
	load_engine_close(e);
	for (unsigned k = 0; e->s != NULL && k < e->ns; k++)
		free(e->s[k].ibuf);
	free(e->s);
	if (e->ep >= 0)
		close(e->ep);
	free(e);
}
