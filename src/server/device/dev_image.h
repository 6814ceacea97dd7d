/*
 * dev_image: an in-memory block device image of 512-byte sectors.
 *
 * Storage is an array of 4 KiB chunks.  All-zero chunks are not stored
 * (NULL), and chunks are reference-counted so that dev_image_clone() shares
 * every block with its template until one side writes it (copy on write):
 * a token built from a template costs kilobytes, not its size.
 *
 * Where writes become durable is the owner's choice:
 *  - a backing file (dev_image_load_file, writable): writes go to the file
 *    first (pwrite, so they survive a crash of the daemon) and then to
 *    memory; dev_image_flush() makes them durable with fsync;
 *  - a sink (dev_image_set_sink): writes go to memory and the chunks they
 *    touch are marked dirty; dev_image_flush() hands a snapshot of the
 *    dirty chunks to the sink, which stores them somewhere (the
 *    controller: the database, on its store thread) and reports back
 *    later;
 *  - neither: the image lives only in memory.
 *
 * All offsets are 64-bit and every access is bounds-checked; nothing here
 * logs.  Not thread-safe: owned by the event loop.
 */
#ifndef VTOKEN_DEV_IMAGE_H
#define VTOKEN_DEV_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEV_IMAGE_SECTOR_SIZE	512u
#define DEV_IMAGE_CHUNK_SIZE	4096u

struct dev_image;

/*
 * The chunks written since the last snapshot, as they were when it was
 * taken: chunk idx[i] holds data[i] (DEV_IMAGE_CHUNK_SIZE bytes; NULL for
 * all zero).  The data stays valid and unchanged until the snapshot is
 * done, whatever is written meanwhile (the snapshot holds references;
 * writers copy), so another thread may read it.
 */
struct dev_image_snap {
	size_t n;
	uint32_t *idx;
	const uint8_t **data;
	struct dev_image *img;		/* NULL once the image is freed */
	void (*done)(void *arg, int err);	/* the flush's caller */
	void *done_arg;
	void **refs;			/* private: chunk references */
	struct dev_image_snap *next;	/* private: the image's in flight */
};

/*
 * A sink makes the image's writes durable.  flush(arg, snap) must call
 * dev_image_snap_done(snap, err) exactly once, now or later, on the
 * thread that owns the image.
 */
struct dev_image_sink {
	void (*flush)(void *arg, struct dev_image_snap *snap);
	void *arg;
};

#define DEV_IMAGE_PENDING	1	/* dev_image_flush: answered later */

/* A zero-filled, memory-only image of size bytes (a multiple of 512). */
struct dev_image *dev_image_new(uint64_t size);
/*
 * Loads PATH into memory.  With writable, the file stays open as the
 * backing store for writes; otherwise the image is read-only.  Returns
 * NULL and sets *cause (allocated; the caller frees it) on failure.
 */
struct dev_image *dev_image_load_file(const char *path, bool writable, char **cause);
/* A copy-on-write clone sharing all chunks with src; memory-only, writable. */
struct dev_image *dev_image_clone(const struct dev_image *src);
/*
 * Frees the image and drops its chunk references; snapshots in flight
 * stay valid (their img becomes NULL).  NULL is a no-op.
 */
void dev_image_free(struct dev_image *img);
/* Makes the sink (copied) the home of the image's writes. */
void dev_image_set_sink(struct dev_image *img,
    const struct dev_image_sink *sink);
/*
 * Sets chunk idx to data (DEV_IMAGE_CHUNK_SIZE bytes; all zero stays
 * unstored), as content the image starts with: not dirty.  0, or -1
 * (out of range, out of memory).
 */
int dev_image_load_chunk(struct dev_image *img, uint32_t idx,
    const uint8_t *data);
/*
 * Calls fn for every stored (non-zero) chunk in order; stops at the
 * first non-zero return and returns it.
 */
int dev_image_foreach_chunk(const struct dev_image *img,
    int (*fn)(void *arg, uint32_t idx, const uint8_t *data), void *arg);
/* True when writes since the last snapshot are not yet handed over. */
bool dev_image_is_dirty(const struct dev_image *img);
/*
 * Takes the dirty chunks (clearing the marks): a snapshot to hand to a
 * sink or to free with dev_image_snap_done, or NULL when nothing is
 * dirty.
 */
struct dev_image_snap *dev_image_snapshot(struct dev_image *img);
/*
 * The sink is done with snap: err 0 (durable) or -1, which marks its
 * chunks dirty again if the image still exists; calls the flush's done
 * callback if any; frees snap.
 */
void dev_image_snap_done(struct dev_image_snap *snap, int err);

uint64_t dev_image_size(const struct dev_image *img);
uint64_t dev_image_sectors(const struct dev_image *img);
bool dev_image_is_readonly(const struct dev_image *img);
void dev_image_set_readonly(struct dev_image *img, bool ro);
/* Bytes of chunk memory this image references (shared chunks included). */
uint64_t dev_image_mem_bytes(const struct dev_image *img);

/*
 * True when [lba, lba + count) lies inside the image; on success sets the
 * byte offset and length.  Overflow-safe for any 64-bit inputs.
 */
bool dev_image_range(const struct dev_image *img, uint64_t lba, uint64_t count,
    uint64_t *off, uint64_t *len);

/* Copies len bytes at off into dst.  0, or -1 if out of range. */
int dev_image_read(const struct dev_image *img, uint64_t off, void *dst, size_t len);
/*
 * Writes len bytes at off.  0; -1 with errno EROFS (read-only), ERANGE
 * (out of range), ENOMEM, or the backing file's write error.
 */
int dev_image_write(struct dev_image *img, uint64_t off, const void *src, size_t len);
/* Compares len bytes at off with buf; 0 equal, 1 different, -1 range. */
int dev_image_compare(const struct dev_image *img, uint64_t off, const void *buf,
    size_t len);
/*
 * Makes every write so far durable: fsync of the backing file, or a
 * snapshot to the sink.  Returns 0 (durable now), -1 (failed, errno
 * set), or DEV_IMAGE_PENDING: the sink is at work, and done(arg, 0 or -1)
 * runs later, exactly once.  done is not called when the answer is
 * returned.
 */
int dev_image_flush(struct dev_image *img, void (*done)(void *, int),
    void *arg);

#endif
