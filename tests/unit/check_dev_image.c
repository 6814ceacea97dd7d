/*
 * check_dev_image: the chunked copy-on-write block image
 * (src/server/device/dev_image.[ch]): range checks at the 64-bit edges,
 * I/O across chunk boundaries, sparse zero chunks, clone isolation,
 * read-only images and file backing.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/device/dev_image.h"
#include "../lib/vt_tmpdir.h"

#define SECTOR	DEV_IMAGE_SECTOR_SIZE
#define CHUNK	DEV_IMAGE_CHUNK_SIZE


/* Returns "vt_tmpdir/name" in a static buffer. */
static const char *
tmp_path(const char *name)
{
	static char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", vt_tmpdir, name);

	ck_assert(n > 0 && (size_t)n < sizeof(path));
	return path;
}

/* Creates a file of len bytes from data (NULL: zeros). */
static void
write_file(const char *path, const uint8_t *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	uint8_t zero[SECTOR];

	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	memset(zero, 0, sizeof(zero));
	while (len > 0) {
		size_t n = len < sizeof(zero) ? len : sizeof(zero);
		ssize_t r = write(fd, data != NULL ? data : zero, n);

		ck_assert_int_eq(r, (ssize_t)n);
		if (data != NULL)
			data += n;
		len -= n;
	}
	close(fd);
}

static void
pattern(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seed * 13 + 1);
}

/* Memory of one stored chunk, measured rather than assumed. */
static uint64_t
chunk_mem(void)
{
	struct dev_image *img = dev_image_new(CHUNK);
	uint8_t b = 1;
	uint64_t n;

	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(dev_image_write(img, 0, &b, 1), 0);
	n = dev_image_mem_bytes(img);
	dev_image_free(img);
	ck_assert_uint_ge(n, CHUNK);
	return n;
}

/* --- construction and ranges ------------------------------------------- */

START_TEST(new_sizes)
{
	struct dev_image *img;

	ck_assert_ptr_null(dev_image_new(0));
	ck_assert_ptr_null(dev_image_new(1000));
	ck_assert_ptr_null(dev_image_new(SECTOR + 1));
	/* 2.5 chunks: a partial last chunk is fine. */
	img = dev_image_new(5 * SECTOR + 2 * CHUNK);
	ck_assert_ptr_nonnull(img);
	ck_assert_uint_eq(dev_image_size(img), 5 * SECTOR + 2 * CHUNK);
	ck_assert_uint_eq(dev_image_sectors(img), 5 + 2 * CHUNK / SECTOR);
	ck_assert(!dev_image_is_readonly(img));
	ck_assert_uint_eq(dev_image_mem_bytes(img), 0);
	dev_image_free(img);
	dev_image_free(NULL);
}
END_TEST

START_TEST(range_inside)
{
	struct dev_image *img = dev_image_new(100 * SECTOR);
	uint64_t off = 1, len = 1;

	ck_assert(dev_image_range(img, 0, 100, &off, &len));
	ck_assert_uint_eq(off, 0);
	ck_assert_uint_eq(len, 100 * SECTOR);
	ck_assert(dev_image_range(img, 99, 1, &off, &len));
	ck_assert_uint_eq(off, 99 * SECTOR);
	ck_assert_uint_eq(len, SECTOR);
	/* Zero blocks at the very end is a valid, empty range. */
	ck_assert(dev_image_range(img, 100, 0, &off, &len));
	ck_assert_uint_eq(off, 100 * SECTOR);
	ck_assert_uint_eq(len, 0);
	dev_image_free(img);
}
END_TEST

START_TEST(range_outside)
{
	struct dev_image *img = dev_image_new(100 * SECTOR);
	uint64_t off = 7, len = 7;

	ck_assert(!dev_image_range(img, 100, 1, &off, &len));
	ck_assert(!dev_image_range(img, 99, 2, &off, &len));
	ck_assert(!dev_image_range(img, 101, 0, &off, &len));
	ck_assert(!dev_image_range(img, 0, 101, &off, &len));
	ck_assert_uint_eq(off, 7);	/* untouched on failure */
	ck_assert_uint_eq(len, 7);
	dev_image_free(img);
}
END_TEST

START_TEST(range_overflow)
{
	struct dev_image *img = dev_image_new(100 * SECTOR);
	uint64_t off, len;

	/* lba + count wraps to a small number. */
	ck_assert(!dev_image_range(img, UINT64_MAX, 1, &off, &len));
	ck_assert(!dev_image_range(img, UINT64_MAX, 2, &off, &len));
	ck_assert(!dev_image_range(img, 1, UINT64_MAX, &off, &len));
	ck_assert(!dev_image_range(img, 0, UINT64_MAX, &off, &len));
	ck_assert(!dev_image_range(img, UINT64_MAX - 5, 10, &off, &len));
	/* lba * 512 wraps to 0. */
	ck_assert(!dev_image_range(img, UINT64_C(1) << 55, 1, &off, &len));
	ck_assert(!dev_image_range(img, 0, UINT64_C(1) << 55, &off, &len));
	dev_image_free(img);
}
END_TEST

START_TEST(read_write_bounds)
{
	struct dev_image *img = dev_image_new(4 * SECTOR);
	uint8_t buf[2 * SECTOR];

	pattern(buf, sizeof(buf), 1);
	ck_assert_int_eq(dev_image_read(img, 3 * SECTOR, buf, SECTOR), 0);
	ck_assert_int_eq(dev_image_read(img, 3 * SECTOR, buf, SECTOR + 1), -1);
	ck_assert_int_eq(dev_image_read(img, 4 * SECTOR, buf, 1), -1);
	ck_assert_int_eq(dev_image_read(img, 4 * SECTOR, buf, 0), 0);
	ck_assert_int_eq(dev_image_read(img, UINT64_MAX - 10, buf, 20), -1);
	ck_assert_int_eq(dev_image_read(img, 1, buf, SIZE_MAX), -1);

	errno = 0;
	ck_assert_int_eq(dev_image_write(img, 3 * SECTOR + 1, buf, SECTOR), -1);
	ck_assert_int_eq(errno, ERANGE);
	errno = 0;
	ck_assert_int_eq(dev_image_write(img, UINT64_MAX - 10, buf, 20), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_uint_eq(dev_image_mem_bytes(img), 0);
	ck_assert_int_eq(dev_image_compare(img, 4 * SECTOR - 1, buf, 2), -1);
	dev_image_free(img);
}
END_TEST

/* --- data ---------------------------------------------------------------- */

START_TEST(io_across_chunks)
{
	struct dev_image *img = dev_image_new(4 * CHUNK);
	uint8_t in[CHUNK + 2 * SECTOR], out[sizeof(in)];
	uint64_t one = chunk_mem();

	pattern(in, sizeof(in), 2);
	/* Starts 512 bytes before chunk 1 and ends 512 bytes into chunk 2. */
	ck_assert_int_eq(dev_image_write(img, CHUNK - SECTOR, in, sizeof(in)), 0);
	ck_assert_uint_eq(dev_image_mem_bytes(img), 3 * one);
	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(dev_image_read(img, CHUNK - SECTOR, out, sizeof(out)), 0);
	ck_assert_mem_eq(out, in, sizeof(in));
	/* Neighbours stay zero. */
	ck_assert_int_eq(dev_image_read(img, CHUNK - SECTOR - 1, out, 1), 0);
	ck_assert_uint_eq(out[0], 0);
	ck_assert_int_eq(dev_image_read(img, 2 * CHUNK + SECTOR, out, 1), 0);
	ck_assert_uint_eq(out[0], 0);
	/* Unaligned read straddling a stored and a never-written chunk. */
	ck_assert_int_eq(dev_image_read(img, 2 * CHUNK + SECTOR - 3, out, 8), 0);
	ck_assert_mem_eq(out, in + sizeof(in) - 3, 3);
	ck_assert_uint_eq(out[3], 0);
	ck_assert_uint_eq(out[7], 0);
	/* dev_image_compare agrees. */
	ck_assert_int_eq(dev_image_compare(img, CHUNK - SECTOR, in, sizeof(in)),
	    0);
	in[CHUNK] ^= 1;
	ck_assert_int_eq(dev_image_compare(img, CHUNK - SECTOR, in, sizeof(in)),
	    1);
	dev_image_free(img);
}
END_TEST

START_TEST(partial_last_chunk)
{
	struct dev_image *img = dev_image_new(CHUNK + 3 * SECTOR);
	uint8_t in[SECTOR], out[SECTOR];

	pattern(in, sizeof(in), 3);
	ck_assert_int_eq(dev_image_write(img, CHUNK + 2 * SECTOR, in, SECTOR), 0);
	ck_assert_int_eq(dev_image_read(img, CHUNK + 2 * SECTOR, out, SECTOR), 0);
	ck_assert_mem_eq(out, in, SECTOR);
	ck_assert_int_eq(dev_image_write(img, CHUNK + 3 * SECTOR, in, 1), -1);
	dev_image_free(img);
}
END_TEST

START_TEST(zero_chunks_not_stored)
{
	struct dev_image *img = dev_image_new(16 * CHUNK);
	uint8_t zero[2 * CHUNK], b = 0x5a;
	uint64_t one = chunk_mem();

	memset(zero, 0, sizeof(zero));
	ck_assert_int_eq(dev_image_write(img, CHUNK / 2, zero, sizeof(zero)), 0);
	ck_assert_uint_eq(dev_image_mem_bytes(img), 0);
	ck_assert_int_eq(dev_image_compare(img, 0, zero, sizeof(zero)), 0);
	/* One non-zero byte stores exactly one chunk. */
	ck_assert_int_eq(dev_image_write(img, 5 * CHUNK + 17, &b, 1), 0);
	ck_assert_uint_eq(dev_image_mem_bytes(img), one);
	/* Zeroing a stored chunk keeps it (no free-on-zero promised). */
	ck_assert_int_eq(dev_image_write(img, 5 * CHUNK, zero, CHUNK), 0);
	ck_assert_int_eq(dev_image_compare(img, 5 * CHUNK, zero, CHUNK), 0);
	ck_assert_uint_le(dev_image_mem_bytes(img), one);
	dev_image_free(img);
}
END_TEST

START_TEST(clone_shares_until_write)
{
	struct dev_image *tpl = dev_image_new(8 * CHUNK), *a, *b;
	uint8_t data[3 * CHUNK], out[3 * CHUNK], x[SECTOR];
	uint64_t one = chunk_mem();

	pattern(data, sizeof(data), 4);
	ck_assert_int_eq(dev_image_write(tpl, CHUNK, data, sizeof(data)), 0);
	dev_image_set_readonly(tpl, true);
	a = dev_image_clone(tpl);
	b = dev_image_clone(tpl);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	/* A clone is writable even when its template is not. */
	ck_assert(!dev_image_is_readonly(a));
	ck_assert_uint_eq(dev_image_size(a), dev_image_size(tpl));
	ck_assert_uint_eq(dev_image_mem_bytes(a), 3 * one);
	ck_assert_int_eq(dev_image_read(a, CHUNK, out, sizeof(out)), 0);
	ck_assert_mem_eq(out, data, sizeof(data));

	/* Clone a writes: neither the template nor clone b sees it. */
	pattern(x, sizeof(x), 9);
	ck_assert_int_eq(dev_image_write(a, 2 * CHUNK + SECTOR, x, SECTOR), 0);
	ck_assert_int_eq(dev_image_read(tpl, CHUNK, out, sizeof(out)), 0);
	ck_assert_mem_eq(out, data, sizeof(data));
	ck_assert_int_eq(dev_image_read(b, CHUNK, out, sizeof(out)), 0);
	ck_assert_mem_eq(out, data, sizeof(data));
	/* ...and a sees its own write plus the rest of the shared chunk. */
	ck_assert_int_eq(dev_image_read(a, CHUNK, out, sizeof(out)), 0);
	ck_assert_mem_eq(out + CHUNK + SECTOR, x, SECTOR);
	ck_assert_mem_eq(out, data, CHUNK + SECTOR);
	ck_assert_mem_eq(out + CHUNK + 2 * SECTOR, data + CHUNK + 2 * SECTOR,
	    sizeof(data) - CHUNK - 2 * SECTOR);

	/* The template outlives nothing: its chunks stay with the clones. */
	dev_image_free(tpl);
	ck_assert_int_eq(dev_image_read(b, CHUNK, out, sizeof(out)), 0);
	ck_assert_mem_eq(out, data, sizeof(data));
	dev_image_free(a);
	ck_assert_int_eq(dev_image_read(b, CHUNK, out, sizeof(out)), 0);
	ck_assert_mem_eq(out, data, sizeof(data));
	dev_image_free(b);
}
END_TEST

START_TEST(clone_template_write_isolated)
{
	struct dev_image *tpl = dev_image_new(4 * CHUNK), *c;
	uint8_t data[CHUNK], y[SECTOR], out[CHUNK], zero[SECTOR];

	pattern(data, sizeof(data), 5);
	memset(zero, 0, sizeof(zero));
	ck_assert_int_eq(dev_image_write(tpl, 0, data, sizeof(data)), 0);
	c = dev_image_clone(tpl);
	ck_assert_ptr_nonnull(c);
	/* The template writes a shared chunk and a never-stored one. */
	pattern(y, sizeof(y), 11);
	ck_assert_int_eq(dev_image_write(tpl, SECTOR, y, SECTOR), 0);
	ck_assert_int_eq(dev_image_write(tpl, 3 * CHUNK, y, SECTOR), 0);
	ck_assert_int_eq(dev_image_read(c, 0, out, sizeof(out)), 0);
	ck_assert_mem_eq(out, data, sizeof(data));
	ck_assert_int_eq(dev_image_compare(c, 3 * CHUNK, zero, SECTOR), 0);
	ck_assert_int_eq(dev_image_compare(tpl, SECTOR, y, SECTOR), 0);
	ck_assert_int_eq(dev_image_compare(tpl, 3 * CHUNK, y, SECTOR), 0);
	/* The clone writes back over the same bytes. */
	ck_assert_int_eq(dev_image_write(c, SECTOR, zero, SECTOR), 0);
	ck_assert_int_eq(dev_image_compare(tpl, SECTOR, y, SECTOR), 0);
	ck_assert_int_eq(dev_image_compare(c, SECTOR, zero, SECTOR), 0);
	dev_image_free(c);
	dev_image_free(tpl);
}
END_TEST

START_TEST(readonly_erofs)
{
	struct dev_image *img = dev_image_new(4 * SECTOR);
	uint8_t b[SECTOR];

	pattern(b, sizeof(b), 6);
	dev_image_set_readonly(img, true);
	ck_assert(dev_image_is_readonly(img));
	errno = 0;
	ck_assert_int_eq(dev_image_write(img, 0, b, sizeof(b)), -1);
	ck_assert_int_eq(errno, EROFS);
	/* Read-only wins over a range error. */
	errno = 0;
	ck_assert_int_eq(dev_image_write(img, 100 * SECTOR, b, 1), -1);
	ck_assert_int_eq(errno, EROFS);
	ck_assert_uint_eq(dev_image_mem_bytes(img), 0);
	dev_image_set_readonly(img, false);
	ck_assert_int_eq(dev_image_write(img, 0, b, sizeof(b)), 0);
	ck_assert_int_eq(dev_image_compare(img, 0, b, sizeof(b)), 0);
	dev_image_free(img);
}
END_TEST

/* --- files --------------------------------------------------------------- */

START_TEST(load_missing)
{
	char *cause = NULL;
	const char *p = tmp_path("missing.img");

	ck_assert_ptr_null(dev_image_load_file(p, false, &cause));
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, p));
	ck_assert_ptr_nonnull(strstr(cause, strerror(ENOENT)));
	free(cause);
}
END_TEST

START_TEST(load_bad_size)
{
	char *cause = NULL;
	const char *p = tmp_path("odd.img");

	write_file(p, NULL, 1000);
	ck_assert_ptr_null(dev_image_load_file(p, false, &cause));
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, "1000"));
	ck_assert_ptr_nonnull(strstr(cause, "multiple of 512"));
	free(cause);

	cause = NULL;
	write_file(p, NULL, 0);
	ck_assert_ptr_null(dev_image_load_file(p, true, &cause));
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, "size 0"));
	free(cause);
}
END_TEST

START_TEST(load_directory)
{
	char *cause = NULL;

	ck_assert_ptr_null(dev_image_load_file(vt_tmpdir, false, &cause));
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, "not a regular file"));
	free(cause);
}
END_TEST

START_TEST(load_readonly_sparse)
{
	static uint8_t file[8 * CHUNK];
	struct dev_image *img;
	char *cause = NULL;
	uint8_t out[CHUNK];
	const char *p = tmp_path("ro.img");

	memset(file, 0, sizeof(file));
	pattern(file + 2 * CHUNK + 100, 300, 7);
	pattern(file + sizeof(file) - SECTOR, SECTOR, 8);
	write_file(p, file, sizeof(file));
	img = dev_image_load_file(p, false, &cause);
	ck_assert_msg(img != NULL, "%s", cause);
	ck_assert(dev_image_is_readonly(img));
	ck_assert_uint_eq(dev_image_sectors(img), sizeof(file) / SECTOR);
	/* Only the two chunks holding data are stored. */
	ck_assert_uint_eq(dev_image_mem_bytes(img), 2 * chunk_mem());
	ck_assert_int_eq(dev_image_read(img, 2 * CHUNK, out, CHUNK), 0);
	ck_assert_mem_eq(out, file + 2 * CHUNK, CHUNK);
	ck_assert_int_eq(dev_image_compare(img, 0, file, sizeof(file)), 0);
	errno = 0;
	ck_assert_int_eq(dev_image_write(img, 0, out, SECTOR), -1);
	ck_assert_int_eq(errno, EROFS);
	dev_image_free(img);
}
END_TEST

START_TEST(load_writable_writes_reach_file)
{
	static uint8_t file[3 * CHUNK + 2 * SECTOR];
	struct dev_image *img, *again;
	char *cause = NULL;
	uint8_t w[CHUNK], back[CHUNK];
	const char *p = tmp_path("rw.img");
	int fd;

	pattern(file, sizeof(file), 12);
	write_file(p, file, sizeof(file));
	img = dev_image_load_file(p, true, &cause);
	ck_assert_msg(img != NULL, "%s", cause);
	ck_assert(!dev_image_is_readonly(img));
	/* A write across the chunk 0/1 boundary. */
	pattern(w, sizeof(w), 13);
	ck_assert_int_eq(dev_image_write(img, CHUNK - 3 * SECTOR, w, sizeof(w)),
	    0);
	/* Zeros into the partial last chunk must reach the file too. */
	memset(back, 0, SECTOR);
	ck_assert_int_eq(dev_image_write(img, sizeof(file) - SECTOR, back, SECTOR),
	    0);
	ck_assert_int_eq(dev_image_flush(img, NULL, NULL), 0);

	fd = open(p, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, back, sizeof(back), CHUNK - 3 * SECTOR),
	    (ssize_t)sizeof(back));
	ck_assert_mem_eq(back, w, sizeof(w));
	ck_assert_int_eq(pread(fd, back, 16, CHUNK - 3 * SECTOR - 16), 16);
	ck_assert_mem_eq(back, file + CHUNK - 3 * SECTOR - 16, 16);
	ck_assert_int_eq(pread(fd, back, SECTOR, sizeof(file) - SECTOR),
	    SECTOR);
	for (size_t i = 0; i < SECTOR; i++)
		ck_assert_uint_eq(back[i], 0);
	close(fd);
	dev_image_free(img);

	/* Reloading sees the same bytes. */
	again = dev_image_load_file(p, false, &cause);
	ck_assert_msg(again != NULL, "%s", cause);
	ck_assert_int_eq(dev_image_compare(again, CHUNK - 3 * SECTOR, w,
	    sizeof(w)), 0);
	dev_image_free(again);
}
END_TEST

/* A sink that keeps what it was handed, answering when told. */
struct sink_rec {
	int calls;
	struct dev_image_snap *snap;
	int done_err;
	int dones;
};

static void
sink_flush(void *arg, struct dev_image_snap *snap)
{
	struct sink_rec *r = arg;

	r->calls++;
	r->snap = snap;
}

static void
sink_done(void *arg, int err)
{
	struct sink_rec *r = arg;

	r->dones++;
	r->done_err = err;
}

START_TEST(sink_gets_dirty_chunks)
{
	struct dev_image *img = dev_image_new(4 * CHUNK);
	struct sink_rec rec = { 0 }, told = { 0 };
	struct dev_image_sink sink = { sink_flush, &rec };
	uint8_t a[SECTOR], b[SECTOR], zero[SECTOR] = { 0 };

	pattern(a, sizeof(a), 21);
	pattern(b, sizeof(b), 22);
	dev_image_set_sink(img, &sink);
	ck_assert(!dev_image_is_dirty(img));
	ck_assert_int_eq(dev_image_flush(img, sink_done, &told), 0);
	ck_assert_int_eq(rec.calls, 0);		/* nothing written yet */
	ck_assert_int_eq(dev_image_write(img, 3 * CHUNK, a, SECTOR), 0);
	ck_assert_int_eq(dev_image_write(img, CHUNK + SECTOR, a, SECTOR), 0);
	/* Zeros into an unstored chunk change nothing. */
	ck_assert_int_eq(dev_image_write(img, 2 * CHUNK, zero, SECTOR), 0);
	ck_assert(dev_image_is_dirty(img));
	ck_assert_int_eq(dev_image_flush(img, sink_done, &told),
	    DEV_IMAGE_PENDING);
	ck_assert_int_eq(rec.calls, 1);
	ck_assert_uint_eq(rec.snap->n, 2);
	ck_assert_uint_eq(rec.snap->idx[0], 1);
	ck_assert_uint_eq(rec.snap->idx[1], 3);
	ck_assert(!dev_image_is_dirty(img));
	/* Written meanwhile: the snapshot keeps what it had (copy on write). */
	ck_assert_int_eq(dev_image_write(img, CHUNK + SECTOR, b, SECTOR), 0);
	ck_assert_mem_eq(rec.snap->data[0] + SECTOR, a, SECTOR);
	ck_assert(dev_image_is_dirty(img));
	ck_assert_int_eq(told.dones, 0);
	dev_image_snap_done(rec.snap, 0);
	ck_assert_int_eq(told.dones, 1);
	ck_assert_int_eq(told.done_err, 0);
	ck_assert_int_eq(dev_image_compare(img, CHUNK + SECTOR, b, SECTOR), 0);
	dev_image_free(img);
}
END_TEST

START_TEST(sink_failure_keeps_chunks_dirty)
{
	struct dev_image *img = dev_image_new(2 * CHUNK);
	struct sink_rec rec = { 0 }, told = { 0 };
	struct dev_image_sink sink = { sink_flush, &rec };
	uint8_t a[SECTOR], zero[SECTOR] = { 0 };

	pattern(a, sizeof(a), 23);
	dev_image_set_sink(img, &sink);
	ck_assert_int_eq(dev_image_write(img, 0, a, SECTOR), 0);
	ck_assert_int_eq(dev_image_flush(img, sink_done, &told),
	    DEV_IMAGE_PENDING);
	dev_image_snap_done(rec.snap, -1);
	ck_assert_int_eq(told.done_err, -1);
	ck_assert(dev_image_is_dirty(img));
	/* Overwritten with zeros: handed over as a chunk to remove. */
	ck_assert_int_eq(dev_image_write(img, 0, zero, SECTOR), 0);
	ck_assert_int_eq(dev_image_flush(img, NULL, NULL), DEV_IMAGE_PENDING);
	ck_assert_uint_eq(rec.snap->n, 1);
	ck_assert_uint_eq(rec.snap->idx[0], 0);
	ck_assert_ptr_null(rec.snap->data[0]);
	dev_image_snap_done(rec.snap, 0);
	ck_assert(!dev_image_is_dirty(img));
	dev_image_free(img);
}
END_TEST

START_TEST(snapshot_outlives_image)
{
	struct dev_image *img = dev_image_new(2 * CHUNK);
	struct dev_image_snap *snap;
	struct dev_image_sink sink = { sink_flush, NULL };
	uint8_t a[SECTOR];

	pattern(a, sizeof(a), 24);
	dev_image_set_sink(img, &sink);
	ck_assert_int_eq(dev_image_write(img, CHUNK, a, SECTOR), 0);
	snap = dev_image_snapshot(img);
	ck_assert_ptr_nonnull(snap);
	ck_assert_ptr_null(dev_image_snapshot(img));	/* nothing more */
	dev_image_free(img);
	ck_assert_ptr_null(snap->img);
	ck_assert_mem_eq(snap->data[0], a, SECTOR);
	dev_image_snap_done(snap, -1);	/* no image to mark: no harm */
}
END_TEST

static int
count_chunk(void *arg, uint32_t idx, const uint8_t *data)
{
	(void)data;
	((uint32_t *)arg)[0]++;
	((uint32_t *)arg)[1] = idx;
	return 0;
}

START_TEST(load_chunk_is_not_dirty)
{
	struct dev_image *img = dev_image_new(3 * CHUNK);
	struct sink_rec rec = { 0 };
	struct dev_image_sink sink = { sink_flush, &rec };
	uint8_t c[CHUNK], zero[CHUNK] = { 0 };
	uint32_t seen[2] = { 0, 0 };

	pattern(c, sizeof(c), 25);
	dev_image_set_sink(img, &sink);
	ck_assert_int_eq(dev_image_load_chunk(img, 2, c), 0);
	ck_assert_int_eq(dev_image_load_chunk(img, 1, zero), 0);
	ck_assert_int_eq(dev_image_load_chunk(img, 3, c), -1);
	ck_assert(!dev_image_is_dirty(img));
	ck_assert_int_eq(dev_image_compare(img, 2 * CHUNK, c, CHUNK), 0);
	ck_assert_int_eq(dev_image_foreach_chunk(img, count_chunk, seen), 0);
	ck_assert_uint_eq(seen[0], 1);		/* the zero one is not stored */
	ck_assert_uint_eq(seen[1], 2);
	dev_image_free(img);
}
END_TEST

START_TEST(flush_without_file)
{
	struct dev_image *img = dev_image_new(SECTOR);

	ck_assert_int_eq(dev_image_flush(img, NULL, NULL), 0);
	dev_image_free(img);
}
END_TEST

static Suite *
image_suite(void)
{
	Suite *s = suite_create("image");
	TCase *mem = tcase_create("memory");
	TCase *file = tcase_create("file");

	tcase_add_test(mem, new_sizes);
	tcase_add_test(mem, range_inside);
	tcase_add_test(mem, range_outside);
	tcase_add_test(mem, range_overflow);
	tcase_add_test(mem, read_write_bounds);
	tcase_add_test(mem, io_across_chunks);
	tcase_add_test(mem, partial_last_chunk);
	tcase_add_test(mem, zero_chunks_not_stored);
	tcase_add_test(mem, clone_shares_until_write);
	tcase_add_test(mem, clone_template_write_isolated);
	tcase_add_test(mem, readonly_erofs);
	tcase_add_test(mem, flush_without_file);
	suite_add_tcase(s, mem);

	/* Unchecked: the directory goes away even when a test fails. */
	tcase_add_unchecked_fixture(file, vt_tmpdir_setup, vt_tmpdir_teardown);
	tcase_add_test(file, load_missing);
	tcase_add_test(file, load_bad_size);
	tcase_add_test(file, load_directory);
	tcase_add_test(file, load_readonly_sparse);
	tcase_add_test(file, load_writable_writes_reach_file);
	tcase_add_test(file, sink_gets_dirty_chunks);
	tcase_add_test(file, sink_failure_keeps_chunks_dirty);
	tcase_add_test(file, snapshot_outlives_image);
	tcase_add_test(file, load_chunk_is_not_dirty);
	suite_add_tcase(s, file);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(image_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
