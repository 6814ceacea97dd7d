/*
 * fat: the FAT12/16 reader and 8.3 names (see fat.h).  The builder is
 * in fat_build.c.
 *
 * Everything read from the device is hostile.  fat_open checks the BPB so
 * that every later offset (FAT entries of valid clusters, root directory
 * entries, data clusters) lies inside the volume, and the volume inside
 * the device; all arithmetic is 64-bit on 16- and 32-bit fields, so it
 * cannot overflow.  Reads go through a one-sector cache that refuses any
 * sector past the volume's end.
 */
#include "token/fat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/cause.h"
#include "token/fat_impl.h"

#define FAT_MAX_SECTOR_SIZE	4096u
#define FAT_MAX_CLUSTER_SIZE	(64u << 10)
#define FAT_MAX_NUMFATS		4u
#define FAT_NO_SECTOR		UINT64_MAX

struct fat {
	fat_read_fn *read;		/* borrowed device */
	void *arg;
	uint64_t vol_bytes;		/* total sectors * sector size */
	enum fat_type type;
	uint32_t bps;			/* bytes per sector */
	uint32_t cluster_size;		/* bytes */
	uint32_t clusters;		/* data clusters, numbered 2.. */
	uint64_t fat_off;		/* byte offset of the first FAT */
	uint64_t root_off;
	uint32_t root_entries;
	uint64_t data_off;		/* byte offset of cluster 2 */
	uint32_t serial;
	uint8_t bs_label[11];		/* all spaces when absent */
	uint64_t cache_sector;		/* FAT_NO_SECTOR when empty */
	uint8_t cache[FAT_MAX_SECTOR_SIZE];
};

struct fat_bpb;
static int fat_bpb_parse(const uint8_t *, uint64_t, struct fat_bpb *,
    char **);
static int fat_layout(struct fat *, const struct fat_bpb *, char **);
static int fat_check_bpb(struct fat *, const uint8_t *, uint64_t, char **);
static int fat_bytes_at(struct fat *, uint64_t, size_t, const uint8_t **,
    char **);
static int fat_entry(struct fat *, uint32_t, uint32_t *, char **);
static int fat_raw_next(struct fat *, uint32_t *, const uint8_t **, char *,
    char **);
static void fat_decode_name(const uint8_t *, bool, char *);
static void fat_decode_dirent(const uint8_t *, const char *,
    struct fat_dirent *);
static int fat_chain_step(struct fat *, uint32_t, bool, uint32_t *,
    char **);
static int fat_read_chain(struct fat *, const struct fat_dirent *,
    uint8_t *, char **);

static bool
fat_is_pow2(uint32_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

struct fat *
fat_open(fat_read_fn *read, void *arg, uint64_t dev_size, char **cause)
{
	struct fat *fs;
	uint8_t bs[512];

	if (dev_size < sizeof(bs)) {
		cause_set(cause, "device too small for a FAT boot sector "
		    "(%llu bytes)", (unsigned long long)dev_size);
		return NULL;
	}
	if (read(arg, 0, bs, sizeof(bs)) != 0) {
		cause_set(cause, "cannot read the boot sector");
		return NULL;
	}
	if ((fs = calloc(1, sizeof(*fs))) == NULL) {
		cause_set(cause, "out of memory");
		return NULL;
	}
	fs->read = read;
	fs->arg = arg;
	fs->cache_sector = FAT_NO_SECTOR;
	if (fat_check_bpb(fs, bs, dev_size, cause) != 0) {
		free(fs);
		return NULL;
	}
	return fs;
}

/* The BPB fields the geometry depends on, once checked. */
struct fat_bpb {
	uint32_t bps;		/* bytes per sector */
	uint32_t spc;		/* sectors per cluster */
	uint32_t rsvd;		/* reserved sectors */
	uint32_t nfats;
	uint32_t rootent;	/* root directory entries */
	uint32_t fatsz;		/* sectors per FAT */
	uint32_t totsec;	/* total sectors */
};

/*
 * Checks each BPB field on its own, and that the volume fits the device.
 * Order matters: each check only uses fields already shown to be sane.
 */
static int
fat_bpb_parse(const uint8_t *bs, uint64_t dev_size, struct fat_bpb *b,
    char **cause)
{
	if (bs[FAT_BS_SIG] != 0x55 || bs[FAT_BS_SIG + 1] != 0xaa)
		return cause_set(cause, "no boot sector signature 55 aa");
	if (bs[FAT_BS_JMP] != 0xeb && bs[FAT_BS_JMP] != 0xe9)
		return cause_set(cause, "no jump instruction in the boot "
		    "sector (partitioned device?)");
	b->bps = get_le16(bs + FAT_BPB_BYTSPERSEC);
	if (b->bps < 512 || b->bps > FAT_MAX_SECTOR_SIZE ||
	    !fat_is_pow2(b->bps))
		return cause_set(cause, "bad bytes per sector %u", b->bps);
	b->spc = bs[FAT_BPB_SECPERCLUS];
	if (!fat_is_pow2(b->spc) || b->bps * b->spc > FAT_MAX_CLUSTER_SIZE)
		return cause_set(cause, "bad sectors per cluster %u", b->spc);
	if ((b->rsvd = get_le16(bs + FAT_BPB_RSVDSECCNT)) == 0)
		return cause_set(cause, "no reserved sectors");
	b->nfats = bs[FAT_BPB_NUMFATS];
	if (b->nfats == 0 || b->nfats > FAT_MAX_NUMFATS)
		return cause_set(cause, "bad number of FATs %u", b->nfats);
	b->fatsz = get_le16(bs + FAT_BPB_FATSZ16);
	b->rootent = get_le16(bs + FAT_BPB_ROOTENTCNT);
	if (b->fatsz == 0 || b->rootent == 0)
		return cause_set(cause, "FAT32 is not supported");
	if (bs[FAT_BPB_MEDIA] < 0xf8 && bs[FAT_BPB_MEDIA] != 0xf0)
		return cause_set(cause, "bad media byte 0x%02x",
		    bs[FAT_BPB_MEDIA]);
	b->totsec = get_le16(bs + FAT_BPB_TOTSEC16);
	if (b->totsec == 0)
		b->totsec = get_le32(bs + FAT_BPB_TOTSEC32);
	if (b->totsec == 0)
		return cause_set(cause, "zero total sectors");
	if ((uint64_t)b->totsec * b->bps > dev_size)
		return cause_set(cause, "filesystem (%llu bytes) is larger "
		    "than the device (%llu bytes)",
		    (unsigned long long)b->totsec * b->bps,
		    (unsigned long long)dev_size);
	return 0;
}

/*
 * Derives the layout: the regions must fit in the volume, the cluster
 * count decides the type, and the FAT must be long enough for it.  All
 * arithmetic is 64-bit on fields of at most 32 bits.
 */
static int
fat_layout(struct fat *fs, const struct fat_bpb *b, char **cause)
{
	uint64_t root_secs, data_sec, clusters, need;

	root_secs = ((uint64_t)b->rootent * FAT_DIRENT_SIZE + b->bps - 1) /
	    b->bps;
	data_sec = b->rsvd + (uint64_t)b->nfats * b->fatsz + root_secs;
	if (data_sec >= b->totsec)
		return cause_set(cause, "no room for data: metadata takes "
		    "%llu of %u sectors", (unsigned long long)data_sec,
		    b->totsec);
	clusters = (b->totsec - data_sec) / b->spc;
	if (clusters == 0)
		return cause_set(cause, "no data clusters");
	if (clusters > FAT16_MAX_CLUSTERS)
		return cause_set(cause, "%llu clusters: FAT32 is not "
		    "supported", (unsigned long long)clusters);
	fs->type = clusters <= FAT12_MAX_CLUSTERS ? FAT_TYPE_12 : FAT_TYPE_16;
	need = ((clusters + 2) * (fs->type == FAT_TYPE_12 ? 12 : 16) + 7) / 8;
	if (need > (uint64_t)b->fatsz * b->bps)
		return cause_set(cause, "FAT of %u sectors is too small for "
		    "%llu clusters", b->fatsz, (unsigned long long)clusters);
	fs->bps = b->bps;
	fs->cluster_size = b->bps * b->spc;
	fs->clusters = (uint32_t)clusters;
	fs->vol_bytes = (uint64_t)b->totsec * b->bps;
	fs->fat_off = (uint64_t)b->rsvd * b->bps;
	fs->root_off = fs->fat_off + (uint64_t)b->nfats * b->fatsz * b->bps;
	fs->root_entries = b->rootent;
	fs->data_off = data_sec * b->bps;
	return 0;
}

/* Validates the boot sector and fills in the geometry, serial, label. */
static int
fat_check_bpb(struct fat *fs, const uint8_t *bs, uint64_t dev_size,
    char **cause)
{
	struct fat_bpb b;

	memset(&b, 0, sizeof(b));
	if (fat_bpb_parse(bs, dev_size, &b, cause) != 0 ||
	    fat_layout(fs, &b, cause) != 0)
		return -1;
	memset(fs->bs_label, ' ', sizeof(fs->bs_label));
	if (bs[FAT_BS_BOOTSIG] == FAT_BOOTSIG_EXT) {
		fs->serial = get_le32(bs + FAT_BS_VOLID);
		memcpy(fs->bs_label, bs + FAT_BS_VOLLAB, sizeof(fs->bs_label));
		if (memcmp(fs->bs_label, "NO NAME    ", 11) == 0)
			memset(fs->bs_label, ' ', sizeof(fs->bs_label));
	}
	return 0;
}

void
fat_close(struct fat *fs)
{
	free(fs);
}

enum fat_type
fat_type(const struct fat *fs)
{
	return fs->type;
}

uint32_t
fat_serial(const struct fat *fs)
{
	return fs->serial;
}

uint32_t
fat_sector_size(const struct fat *fs)
{
	return fs->bps;
}

uint32_t
fat_cluster_size(const struct fat *fs)
{
	return fs->cluster_size;
}

uint32_t
fat_clusters(const struct fat *fs)
{
	return fs->clusters;
}

/*
 * Points *p at len bytes at off, through the sector cache.  The range
 * must not cross a sector boundary and must lie inside the volume.
 */
static int
fat_bytes_at(struct fat *fs, uint64_t off, size_t len, const uint8_t **p,
    char **cause)
{
	uint64_t sector = off / fs->bps;
	size_t in = (size_t)(off % fs->bps);

	if (len > fs->bps - in || off >= fs->vol_bytes ||
	    fs->vol_bytes - off < len)
		return cause_set(cause, "read outside the volume at %llu",
		    (unsigned long long)off);
	if (fs->cache_sector != sector) {
		fs->cache_sector = FAT_NO_SECTOR;
		if (fs->read(fs->arg, sector * fs->bps, fs->cache,
		    fs->bps) != 0)
			return cause_set(cause, "read error at sector %llu",
			    (unsigned long long)sector);
		fs->cache_sector = sector;
	}
	*p = fs->cache + in;
	return 0;
}

/* The first FAT's entry for cluster c (2 <= c <= clusters + 1). */
static int
fat_entry(struct fat *fs, uint32_t c, uint32_t *next, char **cause)
{
	const uint8_t *p;
	uint64_t off;
	uint32_t lo, hi;

	if (fs->type == FAT_TYPE_16) {
		if (fat_bytes_at(fs, fs->fat_off + (uint64_t)c * 2, 2, &p,
		    cause) != 0)
			return -1;
		*next = get_le16(p);
		return 0;
	}
	/* FAT12: 1.5 bytes per entry; the pair may straddle sectors. */
	off = fs->fat_off + (uint64_t)c + c / 2;
	if (fat_bytes_at(fs, off, 1, &p, cause) != 0)
		return -1;
	lo = *p;
	if (fat_bytes_at(fs, off + 1, 1, &p, cause) != 0)
		return -1;
	hi = *p;
	*next = c & 1 ? (lo >> 4 | hi << 4) : (lo | (hi & 0x0f) << 8);
	return 0;
}

/*
 * The next short root directory entry: 1 with *ent pointing into the
 * cache (valid until the next read) and its long name in lname
 * (FAT_LFN_MAX + 1 bytes; "" without one), 0 at the end.  Deleted
 * entries are skipped, long-name entries collected; a long name counts
 * only when its sequence is complete and its checksum matches.
 */
static int
fat_raw_next(struct fat *fs, uint32_t *pos, const uint8_t **ent,
    char *lname, char **cause)
{
	struct fat_lfn lfn;
	const uint8_t *p;

	lfn.count = 0;
	lfn.next = 0;
	while (*pos < fs->root_entries) {
		if (fat_bytes_at(fs, fs->root_off +
		    (uint64_t)*pos * FAT_DIRENT_SIZE, FAT_DIRENT_SIZE, &p,
		    cause) != 0)
			return -1;
		if (p[FAT_DE_NAME] == FAT_DE_END) {
			*pos = fs->root_entries;
			return 0;
		}
		(*pos)++;
		if (p[FAT_DE_NAME] == FAT_DE_DELETED) {
			lfn.count = 0;
			continue;
		}
		if ((p[FAT_DE_ATTR] & FAT_ATTR_LFN_MASK) == FAT_ATTR_LFN) {
			fat_name_lfn_feed(&lfn, p);
			continue;
		}
		if (!fat_name_lfn_take(&lfn, p, lname))
			lname[0] = '\0';
		*ent = p;
		return 1;
	}
	return 0;
}

static char
fat_show_char(uint8_t c, bool lower)
{
	if (c < 0x20 || c > 0x7e)
		return '?';
	if (lower && c >= 'A' && c <= 'Z')
		return (char)(c - 'A' + 'a');
	return (char)c;
}

/*
 * "NAME    EXT" to "NAME.EXT".  With ntres, honours the Windows NT
 * lower-case flags; labels pass false.  out holds FAT_NAME_MAX bytes.
 */
static void
fat_decode_name(const uint8_t *raw, bool ntres, char *out)
{
	uint8_t flags = ntres ? raw[FAT_DE_NTRES] : 0;
	size_t blen = 8, elen = 3, n = 0;

	while (blen > 0 && raw[blen - 1] == ' ')
		blen--;
	while (elen > 0 && raw[8 + elen - 1] == ' ')
		elen--;
	for (size_t i = 0; i < blen; i++) {
		uint8_t c = raw[i];

		if (i == 0 && c == FAT_DE_KANJI_E5)
			c = FAT_DE_DELETED;
		out[n++] = fat_show_char(c, flags & FAT_NTRES_LOWER_BASE);
	}
	if (elen > 0)
		out[n++] = '.';
	for (size_t i = 0; i < elen; i++)
		out[n++] = fat_show_char(raw[8 + i],
		    flags & FAT_NTRES_LOWER_EXT);
	out[n] = '\0';
}

static void
fat_decode_dirent(const uint8_t *p, const char *lname,
    struct fat_dirent *ent)
{
	memset(ent, 0, sizeof(*ent));
	fat_decode_name(p, true, ent->short_name);
	if (lname[0] != '\0')
		memcpy(ent->name, lname, strlen(lname) + 1);
	else
		memcpy(ent->name, ent->short_name, sizeof(ent->short_name));
	ent->attr = p[FAT_DE_ATTR];
	ent->first_cluster = get_le16(p + FAT_DE_FSTCLUSLO);
	ent->size = ent->attr & FAT_ATTR_DIR ? 0 :
	    get_le32(p + FAT_DE_FILESIZE);
	ent->wdate = get_le16(p + FAT_DE_WRTDATE);
	ent->wtime = get_le16(p + FAT_DE_WRTTIME);
}

int
fat_label_read(struct fat *fs, char label[FAT_LABEL_MAX], char **cause)
{
	const uint8_t *p;
	uint8_t raw[11];
	char lname[FAT_LFN_MAX + 1];
	uint32_t pos = 0;
	int r;

	memcpy(raw, fs->bs_label, sizeof(raw));
	while ((r = fat_raw_next(fs, &pos, &p, lname, cause)) == 1) {
		if ((p[FAT_DE_ATTR] & (FAT_ATTR_VOLUME | FAT_ATTR_DIR)) ==
		    FAT_ATTR_VOLUME) {
			memcpy(raw, p + FAT_DE_NAME, sizeof(raw));
			break;
		}
	}
	if (r < 0)
		return -1;
	for (size_t i = 0; i < sizeof(raw); i++)
		label[i] = fat_show_char(raw[i], false);
	label[sizeof(raw)] = '\0';
	for (size_t i = sizeof(raw); i > 0 && label[i - 1] == ' '; i--)
		label[i - 1] = '\0';
	return 0;
}

int
fat_readdir(struct fat *fs, uint32_t *pos, struct fat_dirent *ent,
    char **cause)
{
	const uint8_t *p;
	char lname[FAT_LFN_MAX + 1];
	int r;

	while ((r = fat_raw_next(fs, pos, &p, lname, cause)) == 1) {
		if ((p[FAT_DE_ATTR] & (FAT_ATTR_VOLUME | FAT_ATTR_DIR)) ==
		    FAT_ATTR_VOLUME)
			continue;
		fat_decode_dirent(p, lname, ent);
		return 1;
	}
	return r;
}

int
fat_find(struct fat *fs, const char *name, struct fat_dirent *ent,
    char **cause)
{
	const uint8_t *p;
	uint8_t want[11], have[11];
	char lname[FAT_LFN_MAX + 1];
	uint32_t pos = 0;
	bool short_ok;
	int r;

	short_ok = fat_name_encode(name, want) == 0;
	if (!short_ok && !fat_name_long_ok(name))
		return cause_set(cause, "not a valid file name");
	while ((r = fat_raw_next(fs, &pos, &p, lname, cause)) == 1) {
		if (p[FAT_DE_ATTR] & (FAT_ATTR_VOLUME | FAT_ATTR_DIR))
			continue;
		for (size_t i = 0; i < sizeof(have); i++) {
			uint8_t c = p[FAT_DE_NAME + i];

			have[i] = c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
		}
		if ((lname[0] != '\0' && fat_name_eq(lname, name)) ||
		    (short_ok && memcmp(have, want, sizeof(want)) == 0)) {
			fat_decode_dirent(p, lname, ent);
			return 1;
		}
	}
	return r;
}

/*
 * Checks the FAT entry after cluster c: with last, it must end the
 * chain; otherwise it must name another data cluster, stored in *next.
 */
static int
fat_chain_step(struct fat *fs, uint32_t c, bool last, uint32_t *next,
    char **cause)
{
	uint32_t v, eoc, bad;

	if (fat_entry(fs, c, &v, cause) != 0)
		return -1;
	eoc = fs->type == FAT_TYPE_12 ? FAT12_EOC_MIN : FAT16_EOC_MIN;
	bad = fs->type == FAT_TYPE_12 ? FAT12_BAD : FAT16_BAD;
	if (v >= eoc) {
		if (last)
			return 0;
		return cause_set(cause, "cluster chain ends before the "
		    "file's size");
	}
	if (last)
		return cause_set(cause, "cluster chain is longer than the "
		    "file's size");
	if (v == bad)
		return cause_set(cause, "bad cluster in the chain");
	if (v < 2)
		return cause_set(cause, "free cluster in the chain");
	if (v > fs->clusters + 1)
		return cause_set(cause, "cluster chain points outside the "
		    "volume (%u)", v);
	*next = v;
	return 0;
}

/* Reads the data of ent (size <= cap already checked) into buf. */
static int
fat_read_chain(struct fat *fs, const struct fat_dirent *ent, uint8_t *buf,
    char **cause)
{
	uint8_t *seen;
	uint32_t c = ent->first_cluster, left = ent->size, n;
	int rv = -1;

	if (c < 2 || c > fs->clusters + 1)
		return cause_set(cause, "bad first cluster %u", c);
	if ((seen = calloc((fs->clusters + 2) / 8 + 1, 1)) == NULL)
		return cause_set(cause, "out of memory");
	while (left > 0) {
		if (seen[c / 8] & 1u << (c % 8)) {
			cause_set(cause, "cluster chain loops at %u", c);
			goto out;
		}
		seen[c / 8] |= 1u << (c % 8);
		n = left < fs->cluster_size ? left : fs->cluster_size;
		if (fs->read(fs->arg, fs->data_off +
		    (uint64_t)(c - 2) * fs->cluster_size, buf, n) != 0) {
			cause_set(cause, "read error in cluster %u", c);
			goto out;
		}
		buf += n;
		left -= n;
		if (fat_chain_step(fs, c, left == 0, &c, cause) != 0)
			goto out;
	}
	rv = 0;
out:
	free(seen);
	return rv;
}

int
fat_read_file(struct fat *fs, const char *name, size_t max, uint8_t **data,
    size_t *len, char **cause)
{
	struct fat_dirent ent;
	uint8_t *buf;
	int r;

	*data = NULL;
	*len = 0;
	if ((r = fat_find(fs, name, &ent, cause)) < 0)
		return -1;
	if (r == 0)
		return cause_set(cause, "%s: no such file", name);
	if (ent.size > max || (size_t)ent.size + 1 == 0)
		return cause_set(cause, "%s: %u bytes, more than the limit "
		    "of %zu", name, ent.size, max);
	if (ent.size > (uint64_t)fs->clusters * fs->cluster_size)
		return cause_set(cause, "%s: %u bytes, more than the volume "
		    "holds", name, ent.size);
	if ((buf = malloc((size_t)ent.size + 1)) == NULL)
		return cause_set(cause, "%s: out of memory", name);
	if (ent.size > 0 && fat_read_chain(fs, &ent, buf, cause) != 0) {
		/* A part of TOKEN.KEY may already be in it. */
		explicit_bzero(buf, (size_t)ent.size + 1);
		free(buf);
		return -1;
	}
	buf[ent.size] = '\0';
	*data = buf;
	*len = ent.size;
	return 0;
}

int
fat_mem_read(void *arg, uint64_t off, void *buf, size_t len)
{
	const struct fat_mem *m = arg;

	if (off > m->len || m->len - off < len)
		return -1;
	memcpy(buf, m->buf + off, len);
	return 0;
}

int
fat_fd_read(void *arg, uint64_t off, void *buf, size_t len)
{
	int fd = *(int *)arg;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (off + done > (uint64_t)INT64_MAX)
			return -1;
		n = pread(fd, (char *)buf + done, len - done,
		    (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}
