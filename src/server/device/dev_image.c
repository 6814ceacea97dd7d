/*
 * dev_image: chunked, copy-on-write block images (see dev_image.h).
 */
#include "server/device/dev_image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cause.h"
#include "common/xmalloc.h"

struct image_chunk {
	unsigned refs;
	uint8_t data[DEV_IMAGE_CHUNK_SIZE];
};

struct dev_image {
	uint64_t size;			/* bytes, multiple of 512 */
	size_t nchunks;
	struct image_chunk **chunks;	/* NULL entry = all zero */
	bool readonly;
	int fd;				/* backing file or -1 */
	struct dev_image_sink sink;	/* flush == NULL: none */
	uint8_t *dirty;			/* a bit per chunk, with a sink */
	size_t ndirty;
	struct dev_image_snap *inflight;	/* snapshots not yet done */
};

static struct dev_image *
dev_image_alloc(uint64_t size)
{
	struct dev_image *img;
	uint64_t n = (size + DEV_IMAGE_CHUNK_SIZE - 1) / DEV_IMAGE_CHUNK_SIZE;

	if (size == 0 || size % DEV_IMAGE_SECTOR_SIZE != 0 ||
	    n > SIZE_MAX / sizeof(struct image_chunk *))
		return NULL;
	img = calloc(1, sizeof(*img));
	if (img == NULL)
		return NULL;
	img->chunks = calloc((size_t)n ? (size_t)n : 1, sizeof(*img->chunks));
	if (img->chunks == NULL) {
		free(img);
		return NULL;
	}
	img->dirty = calloc(((size_t)n + 7) / 8 ? ((size_t)n + 7) / 8 : 1, 1);
	if (img->dirty == NULL) {
		free(img->chunks);
		free(img);
		return NULL;
	}
	img->size = size;
	img->nchunks = (size_t)n;
	img->fd = -1;
	return img;
}

struct dev_image *
dev_image_new(uint64_t size)
{
	return dev_image_alloc(size);
}

/* Token images hold private keys: a chunk is wiped before it is freed. */
static void
chunk_unref(struct image_chunk *c)
{
	if (c != NULL && --c->refs == 0) {
		explicit_bzero(c->data, sizeof(c->data));
		free(c);
	}
}

void
dev_image_free(struct dev_image *img)
{
	if (img == NULL)
		return;
	for (size_t i = 0; i < img->nchunks; i++)
		chunk_unref(img->chunks[i]);
	for (struct dev_image_snap *s = img->inflight; s != NULL; s = s->next)
		s->img = NULL;
	free(img->chunks);
	free(img->dirty);
	if (img->fd >= 0)
		close(img->fd);
	free(img);
}

static bool
is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* Reads the whole file into chunks; zero chunks stay NULL. */
static int
dev_image_fill_chunks(struct dev_image *img, int fd, char **cause, const char *path,
    uint8_t buf[DEV_IMAGE_CHUNK_SIZE])
{
	for (size_t i = 0; i < img->nchunks; i++) {
		uint64_t off = (uint64_t)i * DEV_IMAGE_CHUNK_SIZE;
		size_t want = img->size - off < DEV_IMAGE_CHUNK_SIZE ?
		    (size_t)(img->size - off) : DEV_IMAGE_CHUNK_SIZE;
		size_t got = 0;

		while (got < want) {
			ssize_t r = pread(fd, buf + got, want - got,
			    (off_t)(off + got));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				cause_set(cause, "%s: read: %s", path,
				    r == 0 ? "unexpected end of file" :
				    strerror(errno));
				return -1;
			}
			got += (size_t)r;
		}
		memset(buf + want, 0, DEV_IMAGE_CHUNK_SIZE - want);
		if (is_zero(buf, want))
			continue;
		img->chunks[i] = malloc(sizeof(struct image_chunk));
		if (img->chunks[i] == NULL) {
			cause_set(cause, "%s: out of memory", path);
			return -1;
		}
		img->chunks[i]->refs = 1;
		memcpy(img->chunks[i]->data, buf, DEV_IMAGE_CHUNK_SIZE);
	}
	return 0;
}

/* dev_image_fill_chunks with a bounce buffer that is wiped (key material). */
static int
dev_image_fill_from_fd(struct dev_image *img, int fd, char **cause, const char *path)
{
	uint8_t buf[DEV_IMAGE_CHUNK_SIZE];
	int rv = dev_image_fill_chunks(img, fd, cause, path, buf);

	explicit_bzero(buf, sizeof(buf));
	return rv;
}

struct dev_image *
dev_image_load_file(const char *path, bool writable, char **cause)
{
	struct dev_image *img;
	struct stat st;
	int fd;

	/* Never through a link: it could point anywhere the daemon reads. */
	fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC |
	    O_NOFOLLOW);
	if (fd < 0) {
		cause_set(cause, "%s: %s", path, errno == ELOOP ? "a symbolic "
		    "link is refused" : strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		cause_set(cause, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if (st.st_size <= 0 || st.st_size % DEV_IMAGE_SECTOR_SIZE != 0) {
		cause_set(cause, "%s: size %lld is not a positive multiple "
		    "of %u bytes", path, (long long)st.st_size,
		    DEV_IMAGE_SECTOR_SIZE);
		close(fd);
		return NULL;
	}
	img = dev_image_alloc((uint64_t)st.st_size);
	if (img == NULL) {
		cause_set(cause, "%s: out of memory", path);
		close(fd);
		return NULL;
	}
	if (dev_image_fill_from_fd(img, fd, cause, path) < 0) {
		close(fd);
		dev_image_free(img);
		return NULL;
	}
	if (writable)
		img->fd = fd;
	else {
		close(fd);
		img->readonly = true;
	}
	return img;
}

struct dev_image *
dev_image_clone(const struct dev_image *src)
{
	struct dev_image *img = dev_image_alloc(src->size);

	if (img == NULL)
		return NULL;
	for (size_t i = 0; i < img->nchunks; i++) {
		img->chunks[i] = src->chunks[i];
		if (img->chunks[i] != NULL)
			img->chunks[i]->refs++;
	}
	return img;
}

static int
write_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t r = pwrite(fd, p, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		p += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	return 0;
}

uint64_t
dev_image_size(const struct dev_image *img)
{
	return img->size;
}

uint64_t
dev_image_sectors(const struct dev_image *img)
{
	return img->size / DEV_IMAGE_SECTOR_SIZE;
}

bool
dev_image_is_readonly(const struct dev_image *img)
{
	return img->readonly;
}

void
dev_image_set_readonly(struct dev_image *img, bool ro)
{
	img->readonly = ro;
}

uint64_t
dev_image_mem_bytes(const struct dev_image *img)
{
	uint64_t n = 0;

	for (size_t i = 0; i < img->nchunks; i++)
		if (img->chunks[i] != NULL)
			n += sizeof(struct image_chunk);
	return n;
}

bool
dev_image_range(const struct dev_image *img, uint64_t lba, uint64_t count,
    uint64_t *off, uint64_t *len)
{
	uint64_t sectors = dev_image_sectors(img);

	if (lba > sectors || count > sectors - lba)
		return false;
	*off = lba * DEV_IMAGE_SECTOR_SIZE;
	*len = count * DEV_IMAGE_SECTOR_SIZE;
	return true;
}

static bool
dev_image_bytes_ok(const struct dev_image *img, uint64_t off, size_t len)
{
	return off <= img->size && len <= img->size - off;
}

int
dev_image_read(const struct dev_image *img, uint64_t off, void *dst, size_t len)
{
	uint8_t *d = dst;

	if (!dev_image_bytes_ok(img, off, len))
		return -1;
	while (len > 0) {
		size_t ci = (size_t)(off / DEV_IMAGE_CHUNK_SIZE);
		size_t co = (size_t)(off % DEV_IMAGE_CHUNK_SIZE);
		size_t n = DEV_IMAGE_CHUNK_SIZE - co < len ?
		    DEV_IMAGE_CHUNK_SIZE - co : len;

		if (img->chunks[ci] != NULL)
			memcpy(d, img->chunks[ci]->data + co, n);
		else
			memset(d, 0, n);
		d += n;
		off += n;
		len -= n;
	}
	return 0;
}

int
dev_image_compare(const struct dev_image *img, uint64_t off, const void *buf,
    size_t len)
{
	static const uint8_t zero[DEV_IMAGE_CHUNK_SIZE];
	const uint8_t *b = buf;

	if (!dev_image_bytes_ok(img, off, len))
		return -1;
	while (len > 0) {
		size_t ci = (size_t)(off / DEV_IMAGE_CHUNK_SIZE);
		size_t co = (size_t)(off % DEV_IMAGE_CHUNK_SIZE);
		size_t n = DEV_IMAGE_CHUNK_SIZE - co < len ?
		    DEV_IMAGE_CHUNK_SIZE - co : len;
		const uint8_t *src = img->chunks[ci] != NULL ?
		    img->chunks[ci]->data + co : zero;

		if (memcmp(src, b, n) != 0)
			return 1;
		b += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Makes chunk ci private and present, copying shared content first. */
static struct image_chunk *
chunk_own(struct dev_image *img, size_t ci)
{
	struct image_chunk *c = img->chunks[ci], *n;

	if (c != NULL && c->refs == 1)
		return c;
	n = malloc(sizeof(*n));
	if (n == NULL)
		return NULL;
	n->refs = 1;
	if (c != NULL) {
		memcpy(n->data, c->data, DEV_IMAGE_CHUNK_SIZE);
		c->refs--;
	} else
		memset(n->data, 0, DEV_IMAGE_CHUNK_SIZE);
	img->chunks[ci] = n;
	return n;
}

/* With a sink, chunk ci must be handed over at the next flush. */
static void
dev_image_mark(struct dev_image *img, size_t ci)
{
	uint8_t bit = (uint8_t)(1u << (ci % 8));

	if (img->sink.flush == NULL || (img->dirty[ci / 8] & bit))
		return;
	img->dirty[ci / 8] |= bit;
	img->ndirty++;
}

int
dev_image_write(struct dev_image *img, uint64_t off, const void *src, size_t len)
{
	const uint8_t *s = src;

	if (img->readonly) {
		errno = EROFS;
		return -1;
	}
	if (!dev_image_bytes_ok(img, off, len)) {
		errno = ERANGE;
		return -1;
	}
	/* File first: memory must never hold data the file lacks. */
	if (img->fd >= 0 && write_full(img->fd, src, len, off) < 0)
		return -1;
	while (len > 0) {
		size_t ci = (size_t)(off / DEV_IMAGE_CHUNK_SIZE);
		size_t co = (size_t)(off % DEV_IMAGE_CHUNK_SIZE);
		size_t n = DEV_IMAGE_CHUNK_SIZE - co < len ?
		    DEV_IMAGE_CHUNK_SIZE - co : len;
		struct image_chunk *c;

		if (img->chunks[ci] == NULL && is_zero(s, n))
			goto next;
		c = chunk_own(img, ci);
		if (c == NULL) {
			errno = ENOMEM;
			return -1;
		}
		memcpy(c->data + co, s, n);
		dev_image_mark(img, ci);
next:
		s += n;
		off += n;
		len -= n;
	}
	return 0;
}

int
dev_image_flush(struct dev_image *img, void (*done)(void *, int), void *arg)
{
	struct dev_image_snap *snap;

	if (img->fd >= 0)
		return fsync(img->fd);
	if (img->sink.flush == NULL || (snap = dev_image_snapshot(img)) ==
	    NULL)
		return 0;	/* memory only, or nothing new */
	snap->done = done;
	snap->done_arg = arg;
	img->sink.flush(img->sink.arg, snap);
	return DEV_IMAGE_PENDING;
}

void
dev_image_set_sink(struct dev_image *img, const struct dev_image_sink *sink)
{
	img->sink = *sink;
}

int
dev_image_load_chunk(struct dev_image *img, uint32_t idx,
    const uint8_t *data)
{
	struct image_chunk *c;

	if (idx >= img->nchunks)
		return -1;
	if (is_zero(data, DEV_IMAGE_CHUNK_SIZE))
		return 0;
	if ((c = chunk_own(img, idx)) == NULL)
		return -1;
	memcpy(c->data, data, DEV_IMAGE_CHUNK_SIZE);
	return 0;
}

int
dev_image_foreach_chunk(const struct dev_image *img,
    int (*fn)(void *arg, uint32_t idx, const uint8_t *data), void *arg)
{
	int r;

	for (size_t i = 0; i < img->nchunks; i++)
		if (img->chunks[i] != NULL &&
		    (r = fn(arg, (uint32_t)i, img->chunks[i]->data)) != 0)
			return r;
	return 0;
}

bool
dev_image_is_dirty(const struct dev_image *img)
{
	return img->ndirty > 0;
}

struct dev_image_snap *
dev_image_snapshot(struct dev_image *img)
{
	struct dev_image_snap *snap;
	size_t k = 0;

	if (img->ndirty == 0)
		return NULL;
	snap = xcalloc(1, sizeof(*snap));
	snap->idx = xcalloc(img->ndirty, sizeof(*snap->idx));
	snap->data = xcalloc(img->ndirty, sizeof(*snap->data));
	snap->refs = xcalloc(img->ndirty, sizeof(*snap->refs));
	for (size_t i = 0; i < img->nchunks && k < img->ndirty; i++) {
		struct image_chunk *c = img->chunks[i];

		if (!(img->dirty[i / 8] & (1u << (i % 8))))
			continue;
		snap->idx[k] = (uint32_t)i;
		if (c != NULL && !is_zero(c->data, DEV_IMAGE_CHUNK_SIZE)) {
			c->refs++;	/* writers copy from now on */
			snap->refs[k] = c;
			snap->data[k] = c->data;
		}
		k++;
	}
	snap->n = k;
	memset(img->dirty, 0, (img->nchunks + 7) / 8);
	img->ndirty = 0;
	snap->img = img;
	snap->next = img->inflight;
	img->inflight = snap;
	return snap;
}

void
dev_image_snap_done(struct dev_image_snap *snap, int err)
{
	struct dev_image *img = snap->img;
	struct dev_image_snap **p;

	if (img != NULL) {
		for (p = &img->inflight; *p != NULL; p = &(*p)->next)
			if (*p == snap) {
				*p = snap->next;
				break;
			}
		for (size_t i = 0; err != 0 && i < snap->n; i++)
			dev_image_mark(img, snap->idx[i]);
	}
	for (size_t i = 0; i < snap->n; i++)
		chunk_unref(snap->refs[i]);
	if (snap->done != NULL)
		snap->done(snap->done_arg, err != 0 ? -1 : 0);
	free(snap->idx);
	free(snap->data);
	free(snap->refs);
	free(snap);
}
