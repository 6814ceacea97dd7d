/*
 * dev_image: an in-memory block device image of 512-byte sectors.
 *
 * Storage is an array of 4 KiB chunks.  All-zero chunks are not stored
 * (NULL), and chunks are reference-counted so that dev_image_clone() shares
 * every block with its template until one side writes it (copy on write):
 * a token built from a template costs kilobytes, not its size.
 *
 * An image may have a backing file.  Writes go to the file first (pwrite,
 * so they survive a crash of the daemon) and then to memory;
 * dev_image_flush() makes them durable with fsync.  Without a backing file an
 * image lives only in memory.
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
 * Attaches an open file descriptor as the backing store (takes ownership
 * of fd; it is closed by dev_image_free).  The file is truncated and the
 * image's content written to it, zero chunks as holes.  0, or -1 with
 * errno set.
 */
int dev_image_attach_file(struct dev_image *img, int fd);
/* Closes the backing file (the image stays in memory). */
void dev_image_detach_file(struct dev_image *img);
/* Frees the image and drops its chunk references; NULL is a no-op. */
void dev_image_free(struct dev_image *img);

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
/* fsync of the backing file (no-op without one).  0 or -1 with errno. */
int dev_image_flush(struct dev_image *img);

#endif
