/*
 * test_datapath: a well-behaved client's whole flow against the real
 * vtokend over loopback: device list, import, enumeration, SCSI reads of
 * whole images, writes that reach the backing file, the read-only image,
 * detach and re-import, and many clients at once.
 */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/monotime.h"
#include "../lib/usbip_client.h"
#include "../lib/vtd_spawn.h"

#define FAT_KIB		2048		/* fat.img, 1-1 */
#define RW_SECTORS	1024		/* rw.img, 1-2, seed 2 */
#define RO_SECTORS	512		/* ro.img, 1-3, seed 3 */
#define CHUNK_BLOCKS	128		/* 64 KiB per READ(10) */

#define CC_NDEV		8		/* images, concurrency test */
#define CC_SECTORS	256
#define CC_SEED0	10
#define CC_CLIENTS	20
#define CC_ROUNDS	3
#define CC_READS	6
#define CC_DEADLINE_MS	30000

static struct vtd vtd;
static char fat_path[512], rw_path[512], ro_path[512], fat_src[512];

static void
write_blob(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* Starts vtokend serving fat.img (with TOKEN.BIN), rw.img:rw and ro.img. */
static void
dp_setup(void)
{
	const char *files[] = { fat_src, NULL };
	char spec_rw[600];
	const char *args[] = { "--serve-image", fat_path, "--serve-image",
	    spec_rw, "--serve-image", ro_path, NULL };
	uint8_t blob[8192];

	ck_assert_msg(vtd_init(&vtd) == 0, "%s", vtd.err);
	vtd_path(&vtd, "fat.img", fat_path, sizeof(fat_path));
	vtd_path(&vtd, "rw.img", rw_path, sizeof(rw_path));
	vtd_path(&vtd, "ro.img", ro_path, sizeof(ro_path));
	vtd_path(&vtd, "TOKEN.BIN", fat_src, sizeof(fat_src));
	vtd_pattern_fill(7, 0, blob, sizeof(blob) / 512);
	write_blob(fat_src, blob, sizeof(blob));
	ck_assert_int_eq(vtd_make_fat_image(fat_path, FAT_KIB, files), 0);
	ck_assert_int_eq(vtd_make_pattern_image(rw_path, RW_SECTORS, 2), 0);
	ck_assert_int_eq(vtd_make_pattern_image(ro_path, RO_SECTORS, 3), 0);
	snprintf(spec_rw, sizeof(spec_rw), "%s:rw", rw_path);
	ck_assert_msg(vtd_start(&vtd, args) == 0, "%s", vtd.err);
}

static void
dp_teardown(void)
{
	vtd_cleanup(&vtd);
}

/* Ends a test: no connection closed for bad input, a clean exit. */
static void
dp_finish(void)
{
	ck_assert_int_eq(vtd_log_count(&vtd, "closing:"), 0);
	ck_assert_int_eq(vtd_log_count(&vtd, "Sanitizer"), 0);
	ck_assert_int_eq(vtd_log_count(&vtd, "runtime error"), 0);
	ck_assert_int_eq(vtd_stop(&vtd), 0);
}

static void
dp_connect(struct usbip_client *c, const char *src)
{
	struct usbip_client_opts o = { .src_addr = src };

	usbip_client_init(c);
	ck_assert_msg(usbip_client_connect(c, vtd.host, vtd.port, &o) == 0,
	    "%s", c->err);
}

static void
dp_attach(struct usbip_client *c, const char *busid)
{
	usbip_client_init(c);
	ck_assert_msg(usbip_client_attach(c, vtd.host, vtd.port, NULL,
	    busid) == 0, "%s: %s", busid, c->err);
}

/* Imports busid, retrying while the previous session is being torn down. */
static void
dp_reattach(struct usbip_client *c, const char *busid)
{
	uint32_t st = USBIP_ST_DEV_BUSY;

	for (int i = 0; i < 200 && st == USBIP_ST_DEV_BUSY; i++) {
		dp_connect(c, NULL);
		ck_assert_msg(usbip_client_import(c, busid, &st, NULL) == 0,
		    "%s", c->err);
		if (st == USBIP_ST_DEV_BUSY) {
			usbip_client_close(c);
			usleep(10000);
		}
	}
	ck_assert_uint_eq(st, USBIP_ST_OK);
	ck_assert_msg(usbip_client_enumerate(c) == 0, "%s", c->err);
}

static uint64_t
file_sectors(const char *path)
{
	size_t len;
	uint8_t *b = vtd_read_file(path, &len);

	free(b);
	return len / 512;
}

/* An OP_REP_IMPORT record carries no interface triples (ifaces false). */
static void
check_dev_record(const struct usbip_dev_info *d, unsigned n,
    const char *name, bool ifaces)
{
	char busid[16], path[64];

	snprintf(busid, sizeof(busid), "1-%u", n);
	snprintf(path, sizeof(path), "/vtoken/%s", name);
	ck_assert_str_eq(d->busid, busid);
	ck_assert_str_eq(d->path, path);
	ck_assert_uint_eq(d->busnum, 1);
	ck_assert_uint_eq(d->devnum, n);
	ck_assert_uint_eq(d->speed, 3);
	ck_assert_uint_eq(d->vendor, 0x1209);
	ck_assert_uint_eq(d->product, 0x0001);
	ck_assert_uint_eq(d->config_value, 1);
	ck_assert_uint_eq(d->num_configs, 1);
	ck_assert_uint_eq(d->num_ifaces, 1);
	if (!ifaces)
		return;
	ck_assert_uint_eq(d->ifaces[0].cls, 0x08);
	ck_assert_uint_eq(d->ifaces[0].subcls, 0x06);
	ck_assert_uint_eq(d->ifaces[0].proto, 0x50);
}

START_TEST(test_devlist)
{
	struct usbip_client c;
	struct usbip_dev_info devs[4];
	static const char *const names[] = { "fat.img", "rw.img", "ro.img" };
	size_t n = 0, extra = 99;

	/* Twice: each DEVLIST connection is answered, then closed. */
	for (int round = 0; round < 2; round++) {
		dp_connect(&c, round == 0 ? NULL : "127.0.0.7");
		ck_assert_msg(usbip_client_devlist(&c, devs, 4, &n) == 0, "%s",
		    c.err);
		ck_assert_uint_eq(n, 3);
		for (unsigned i = 0; i < 3; i++)
			check_dev_record(&devs[i], i + 1, names[i], true);
		ck_assert_msg(usbip_client_expect_closed(&c, 3000, &extra),
		    "%s", c.err);
		ck_assert_uint_eq(extra, 0);
		usbip_client_close(&c);
	}
	ck_assert_int_eq(vtd_log_count(&vtd, "device list: 3 device(s)"), 2);
	dp_finish();
}
END_TEST

/* The descriptors the device answers on ep0, checked field by field. */
static void
check_descriptors(struct usbip_client *c)
{
	uint8_t b[255];
	int32_t st;
	uint32_t n;

	ck_assert(usbip_client_control(c, 0x80, 6, 0x0100, 0, b, 64, &st,
	    &n) == 0);
	ck_assert_int_eq(st, 0);
	ck_assert_uint_eq(n, 18);
	ck_assert_uint_eq(get_le16(b + 2), 0x0200);
	ck_assert_uint_eq(b[7], 64);
	ck_assert_uint_eq(get_le16(b + 8), 0x1209);
	ck_assert_uint_eq(get_le16(b + 10), 0x0001);
	ck_assert(usbip_client_control(c, 0x80, 6, 0x0200, 0, b, 255, &st,
	    &n) == 0);
	ck_assert_int_eq(st, 0);
	ck_assert_uint_eq(n, 32);
	ck_assert_uint_eq(b[9 + 5], 0x08);
	ck_assert_uint_eq(b[9 + 6], 0x06);
	ck_assert_uint_eq(b[9 + 7], 0x50);
	ck_assert_uint_eq(b[18 + 2], 0x81);
	ck_assert_uint_eq(b[25 + 2], 0x02);
	ck_assert_uint_eq(get_le16(b + 18 + 4), 512);
	/* GET_MAX_LUN: one LUN. */
	ck_assert(usbip_client_control(c, 0xa1, 0xfe, 0, 0, b, 1, &st,
	    &n) == 0);
	ck_assert_int_eq(st, 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(b[0], 0);
	/* Serial string: at least 12 hex digits (BOT 4.1.1). */
	ck_assert(usbip_client_control(c, 0x80, 6, 0x0303, 0x0409, b, 255,
	    &st, &n) == 0);
	ck_assert_int_eq(st, 0);
	ck_assert_uint_ge(n, 2 + 2 * 12);
	ck_assert_uint_eq(b[0], n);
}

START_TEST(test_import_enumerate)
{
	struct usbip_client c;
	struct usbip_dev_info d;
	uint8_t inq[36];
	uint32_t st, last = 0, blen = 0;

	dp_connect(&c, NULL);
	ck_assert_msg(usbip_client_import(&c, "1-1", &st, &d) == 0, "%s",
	    c.err);
	ck_assert_uint_eq(st, USBIP_ST_OK);
	check_dev_record(&d, 1, "fat.img", false);
	ck_assert_uint_eq(c.devid, 0x00010001);
	ck_assert_msg(usbip_client_enumerate(&c) == 0, "%s", c.err);
	check_descriptors(&c);
	ck_assert_int_eq(usbip_client_test_unit_ready(&c), 0);
	ck_assert_msg(usbip_client_inquiry(&c, inq) == 0, "%s", c.err);
	ck_assert_uint_eq(inq[0], 0x00);
	ck_assert_uint_eq(inq[1], 0x80);
	ck_assert(memcmp(inq + 8, "vtoken  ", 8) == 0);
	ck_assert_msg(usbip_client_read_capacity(&c, &last, &blen) == 0, "%s",
	    c.err);
	ck_assert_uint_eq(last, FAT_KIB * 2 - 1);
	ck_assert_uint_eq(blen, 512);
	usbip_client_close(&c);
	dp_finish();
}
END_TEST

/*
 * A client may send its first URB right behind OP_REQ_IMPORT, in the same
 * write, since the devid follows from the busid.
 */
START_TEST(test_import_pipelined)
{
	struct usbip_client c;
	uint8_t req[USBIP_IMPORT_REQ_SIZE + USBIP_HDR_SIZE], rep[8 + 312];
	uint8_t d[18];
	struct usbip_op_common op = { USBIP_VERSION, USBIP_OP_REQ_IMPORT, 0 };
	struct usbip_hdr h;
	struct usbip_ret r;

	dp_connect(&c, NULL);
	memset(req, 0, sizeof(req));
	usbip_op_common_put(req, &op);
	memcpy(req + 8, "1-3", 3);
	c.devid = 0x00010003;
	usbip_client_hdr_submit(&c, &h, 0, USBIP_DIR_IN, 18);
	h.u.submit.setup[0] = 0x80;
	h.u.submit.setup[1] = 6;
	h.u.submit.setup[3] = 1;
	h.u.submit.setup[6] = 18;
	usbip_hdr_put(req + USBIP_IMPORT_REQ_SIZE, &h);
	ck_assert(usbip_client_track(&c, &h) == 0);
	ck_assert(usbip_client_send(&c, req, sizeof(req)) == 0);
	ck_assert(usbip_client_recv(&c, rep, sizeof(rep), NULL) == 0);
	ck_assert_uint_eq(get_be32(rep + 4), USBIP_ST_OK);
	ck_assert_msg(usbip_client_wait(&c, h.seqnum, &r, d, sizeof(d)) == 0,
	    "%s", c.err);
	ck_assert_int_eq(r.hdr.u.ret_submit.status, 0);
	ck_assert_uint_eq(r.hdr.u.ret_submit.actual, 18);
	ck_assert_uint_eq(d[1], 1);
	usbip_client_close(&c);
	dp_finish();
}
END_TEST

START_TEST(test_read_whole_image)
{
	struct usbip_client c;
	size_t len;
	uint8_t *file = vtd_read_file(fat_path, &len);
	uint8_t *got;
	uint32_t nsec;

	ck_assert_ptr_nonnull(file);
	ck_assert_uint_eq(len, FAT_KIB * 1024u);
	nsec = (uint32_t)(len / 512);
	got = malloc(len);
	ck_assert_ptr_nonnull(got);
	dp_attach(&c, "1-1");
	for (uint32_t lba = 0; lba < nsec; lba += CHUNK_BLOCKS)
		ck_assert_msg(usbip_client_read10(&c, lba, CHUNK_BLOCKS,
		    got + (size_t)lba * 512) == 0, "LBA %u: %s", lba, c.err);
	ck_assert(memcmp(got, file, len) == 0);
	/* Once more in 1 MiB commands: the largest bulk transfer. */
	memset(got, 0, len);
	for (uint32_t lba = 0; lba < nsec; lba += 2048)
		ck_assert_msg(usbip_client_read10(&c, lba, 2048,
		    got + (size_t)lba * 512) == 0, "LBA %u: %s", lba, c.err);
	ck_assert(memcmp(got, file, len) == 0);
	usbip_client_close(&c);
	/* The read-only pattern image, end to end. */
	dp_attach(&c, "1-3");
	for (uint32_t lba = 0; lba < RO_SECTORS; lba += CHUNK_BLOCKS) {
		ck_assert_msg(usbip_client_read10(&c, lba, CHUNK_BLOCKS,
		    got) == 0, "%s", c.err);
		ck_assert_int_eq(vtd_pattern_check(3, lba, got, CHUNK_BLOCKS),
		    -1);
	}
	usbip_client_close(&c);
	free(got);
	free(file);
	dp_finish();
}
END_TEST

static void
pread_exact(const char *path, void *buf, size_t len, off_t off)
{
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

START_TEST(test_write_reaches_file)
{
	struct usbip_client c;
	uint8_t want[16 * 512], got[16 * 512], edge[512];

	dp_attach(&c, "1-2");
	vtd_pattern_fill(99, 0, want, 16);
	ck_assert_msg(usbip_client_write10(&c, 100, 16, want) == 0, "%s",
	    c.err);
	ck_assert_msg(usbip_client_sync_cache(&c) == 0, "%s", c.err);
	/* On disk after the sync, while still attached. */
	pread_exact(rw_path, got, sizeof(got), 100 * 512);
	ck_assert(memcmp(got, want, sizeof(want)) == 0);
	pread_exact(rw_path, edge, 512, 99 * 512);
	ck_assert_int_eq(vtd_pattern_check(2, 99, edge, 1), -1);
	pread_exact(rw_path, edge, 512, 116 * 512);
	ck_assert_int_eq(vtd_pattern_check(2, 116, edge, 1), -1);
	/* And through the device. */
	memset(got, 0, sizeof(got));
	ck_assert(usbip_client_read10(&c, 100, 16, got) == 0);
	ck_assert(memcmp(got, want, sizeof(want)) == 0);
	/* The last sector is writable too. */
	ck_assert(usbip_client_write10(&c, RW_SECTORS - 1, 1, want) == 0);
	ck_assert(usbip_client_sync_cache(&c) == 0);
	pread_exact(rw_path, edge, 512, (off_t)(RW_SECTORS - 1) * 512);
	ck_assert(memcmp(edge, want, 512) == 0);
	ck_assert_uint_eq(file_sectors(rw_path), RW_SECTORS);
	usbip_client_close(&c);
	dp_finish();
}
END_TEST

START_TEST(test_write_readonly_fails)
{
	struct usbip_client c;
	uint8_t data[4 * 512], disk[4 * 512], key = 0, asc = 0, ascq = 0;
	bool wp = false;

	dp_attach(&c, "1-3");
	vtd_pattern_fill(55, 0, data, 4);
	ck_assert_int_eq(usbip_client_write10(&c, 8, 4, data), 1);
	ck_assert(usbip_client_request_sense(&c, &key, &asc, &ascq) == 0);
	ck_assert_uint_eq(key, 0x07);
	ck_assert_uint_eq(asc, 0x27);
	ck_assert_uint_eq(ascq, 0x00);
	ck_assert(usbip_client_mode_sense_wp(&c, &wp) == 0);
	ck_assert(wp);
	pread_exact(ro_path, disk, sizeof(disk), 8 * 512);
	ck_assert_int_eq(vtd_pattern_check(3, 8, disk, 4), -1);
	ck_assert(usbip_client_read10(&c, 8, 4, disk) == 0);
	ck_assert_int_eq(vtd_pattern_check(3, 8, disk, 4), -1);
	usbip_client_close(&c);
	/* The writable image does not claim write protection. */
	dp_attach(&c, "1-2");
	ck_assert(usbip_client_mode_sense_wp(&c, &wp) == 0);
	ck_assert(!wp);
	usbip_client_close(&c);
	dp_finish();
}
END_TEST

START_TEST(test_detach_reimport)
{
	struct usbip_client a, b;
	uint8_t data[8 * 512], got[8 * 512];
	uint32_t st;
	size_t extra = 99;

	dp_attach(&a, "1-2");
	vtd_pattern_fill(77, 0, data, 8);
	ck_assert(usbip_client_write10(&a, 40, 8, data) == 0);
	/* Attached: a second import is refused, then closed. */
	dp_connect(&b, "127.0.0.9");
	ck_assert(usbip_client_import(&b, "1-2", &st, NULL) == 0);
	ck_assert_uint_eq(st, USBIP_ST_DEV_BUSY);
	ck_assert(usbip_client_expect_closed(&b, 3000, &extra));
	ck_assert_uint_eq(extra, 0);
	usbip_client_close(&b);
	ck_assert(usbip_client_read10(&a, 40, 8, got) == 0);
	usbip_client_close(&a);
	/* Detached by closing; the next import works and sees the data. */
	for (int round = 0; round < 3; round++) {
		dp_reattach(&b, "1-2");
		memset(got, 0, sizeof(got));
		ck_assert_msg(usbip_client_read10(&b, 40, 8, got) == 0, "%s",
		    b.err);
		ck_assert(memcmp(got, data, sizeof(data)) == 0);
		usbip_client_close(&b);
	}
	ck_assert(vtd_log_wait(&vtd, "detached 1-2", 4, 3000));
	dp_finish();
}
END_TEST

/* --- many clients ------------------------------------------------------- */

struct cc_worker {
	int id;
	int rounds;		/* rounds completed */
	int busy;		/* ST_DEV_BUSY answers seen */
	int reads;		/* reads with correct data */
	char err[300];
};

/* Imports some free device, preferring a different one per round. */
static int
cc_import(struct cc_worker *w, struct usbip_client *c, int round, int *idx)
{
	struct usbip_client_opts o;
	char src[32], busid[16];
	int64_t deadline = monotime_ms() + CC_DEADLINE_MS;
	uint32_t st;

	snprintf(src, sizeof(src), "127.0.1.%d", w->id + 1);
	o = (struct usbip_client_opts){ .src_addr = src };
	for (int a = 0; monotime_ms() < deadline; a++) {
		*idx = (w->id + round * 3 + a) % CC_NDEV;
		snprintf(busid, sizeof(busid), "1-%d", *idx + 1);
		if (usbip_client_connect(c, vtd.host, vtd.port, &o) < 0 ||
		    usbip_client_import(c, busid, &st, NULL) < 0)
			return -1;
		if (st == USBIP_ST_OK)
			return usbip_client_enumerate(c);
		usbip_client_close(c);
		if (st != USBIP_ST_DEV_BUSY) {
			snprintf(c->err, sizeof(c->err), "status %u", st);
			return -1;
		}
		w->busy++;
		if (a % CC_NDEV == CC_NDEV - 1)
			usleep(2000);
	}
	snprintf(c->err, sizeof(c->err), "no free device in %d ms",
	    CC_DEADLINE_MS);
	return -1;
}

static int
cc_round(struct cc_worker *w, struct usbip_client *c, int round)
{
	uint8_t buf[16 * 512];
	int idx;
	long bad;

	if (cc_import(w, c, round, &idx) < 0)
		return -1;
	for (int k = 0; k < CC_READS; k++) {
		uint32_t lba = (uint32_t)(w->id * 7 + k * 37 + round * 11) %
		    (CC_SECTORS - 16);

		if (usbip_client_read10(c, lba, 16, buf) != 0)
			return -1;
		bad = vtd_pattern_check(CC_SEED0 + (uint32_t)idx, lba, buf, 16);
		if (bad >= 0) {
			snprintf(c->err, sizeof(c->err), "1-%d LBA %u: wrong "
			    "byte at %ld", idx + 1, lba, bad);
			return -1;
		}
		w->reads++;
	}
	usbip_client_close(c);
	return 0;
}

static void *
cc_run(void *arg)
{
	struct cc_worker *w = arg;
	struct usbip_client c;

	usbip_client_init(&c);
	for (int r = 0; r < CC_ROUNDS; r++) {
		if (cc_round(w, &c, r) < 0) {
			snprintf(w->err, sizeof(w->err), "round %d: %s", r,
			    c.err);
			break;
		}
		w->rounds++;
	}
	usbip_client_close(&c);
	return NULL;
}

static void
cc_setup(void)
{
	char paths[CC_NDEV][512];
	const char *args[2 * CC_NDEV + 1];

	ck_assert_msg(vtd_init(&vtd) == 0, "%s", vtd.err);
	for (int i = 0; i < CC_NDEV; i++) {
		char name[16];

		snprintf(name, sizeof(name), "cc%d.img", i);
		vtd_path(&vtd, name, paths[i], sizeof(paths[i]));
		ck_assert_int_eq(vtd_make_pattern_image(paths[i], CC_SECTORS,
		    CC_SEED0 + (uint32_t)i), 0);
		args[2 * i] = "--serve-image";
		args[2 * i + 1] = paths[i];
	}
	args[2 * CC_NDEV] = NULL;
	ck_assert_msg(vtd_start(&vtd, args) == 0, "%s", vtd.err);
}

START_TEST(test_concurrent_clients)
{
	struct cc_worker w[CC_CLIENTS];
	pthread_t th[CC_CLIENTS];
	int total = 0;

	memset(w, 0, sizeof(w));
	for (int i = 0; i < CC_CLIENTS; i++) {
		w[i].id = i;
		ck_assert_int_eq(pthread_create(&th[i], NULL, cc_run, &w[i]),
		    0);
	}
	for (int i = 0; i < CC_CLIENTS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < CC_CLIENTS; i++) {
		ck_assert_msg(w[i].err[0] == '\0', "client %d: %s", i,
		    w[i].err);
		ck_assert_int_eq(w[i].rounds, CC_ROUNDS);
		ck_assert_int_eq(w[i].reads, CC_ROUNDS * CC_READS);
		total += w[i].rounds;
	}
	ck_assert_int_eq(total, CC_CLIENTS * CC_ROUNDS);
	ck_assert_int_eq(vtd_log_count(&vtd, ": attached 1-"),
	    CC_CLIENTS * CC_ROUNDS);
	dp_finish();
}
END_TEST

static Suite *
datapath_suite(void)
{
	Suite *s = suite_create("datapath");
	TCase *tc = tcase_create("flow");
	TCase *cc = tcase_create("concurrent");

	tcase_add_checked_fixture(tc, dp_setup, dp_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_devlist);
	tcase_add_test(tc, test_import_enumerate);
	tcase_add_test(tc, test_import_pipelined);
	tcase_add_test(tc, test_read_whole_image);
	tcase_add_test(tc, test_write_reaches_file);
	tcase_add_test(tc, test_write_readonly_fails);
	tcase_add_test(tc, test_detach_reimport);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(cc, cc_setup, dp_teardown);
	tcase_set_timeout(cc, 90);
	tcase_add_test(cc, test_concurrent_clients);
	suite_add_tcase(s, cc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(datapath_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
