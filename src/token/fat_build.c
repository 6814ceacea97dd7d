/*
 * fat_build: lays out a fresh FAT12/16 superfloppy (see fat.h).
 *
 * Geometry follows mkfs.fat's habits for small media: 512-byte sectors,
 * two FATs, 512 root directory entries, media 0xf8 and 4 sectors (2 KiB)
 * per cluster, doubled until the cluster count suits a FAT type.  The
 * type follows from the cluster count alone (fatgen103); we also keep
 * clear of the ambiguous 16 clusters on either side of the FAT12/16 and
 * FAT16/32 limits, as the specification advises, so an 8 MiB volume gets
 * 4 KiB clusters rather than 4080 clusters of 2 KiB.  The data area
 * starts on a 4 KiB and cluster boundary (reserved sectors pad it), so
 * clusters line up with the 4 KiB chunks of server/image.c.
 */
#include "token/fat.h"

#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/cause.h"
#include "token/fat_impl.h"

#define FAT_BUILD_SECTOR	512u
#define FAT_BUILD_ROOT_ENTRIES	512u
#define FAT_BUILD_MIN_SPC	4u
#define FAT_BUILD_MAX_SPC	64u	/* 32 KiB clusters */
#define FAT_BUILD_ALIGN		8u	/* sectors: 4 KiB */
#define FAT_TYPE_MARGIN		16u
#define FAT_BUILD_OEM		"VTOKEN  "

/* DOS time stamp of the label and every file. */
struct fat_stamp {
	uint16_t date;
	uint16_t time;
	uint8_t tenth;		/* 10 ms units, 0..199 */
};

/* What the builder writes, with its buffers. */
struct fat_plan {
	struct fat_geometry geo;
	struct fat_stamp stamp;
	uint8_t label[11];		/* space-padded; all spaces: none */
	uint32_t serial;
	uint8_t *fat;			/* one FAT, geo.fat_sectors long */
	uint8_t *root;			/* the root directory */
	uint32_t *first;		/* first cluster per file */
};

static bool fat_geometry_try(uint32_t, uint32_t, enum fat_type,
    struct fat_geometry *);
static int fat_label_encode(const char *, uint8_t *);
static void fat_stamp_make(time_t, struct fat_stamp *);
static void fat_set(struct fat_plan *, uint32_t, uint32_t);
static void fat_dirent_put(uint8_t *, const uint8_t *, uint8_t,
    const struct fat_stamp *, uint32_t, uint32_t);
static bool fat_plan_taken(const struct fat_plan *, uint32_t,
    const struct fat_file *, size_t, const uint8_t *);
static int fat_plan_name(const struct fat_plan *, uint32_t,
    const struct fat_file *, size_t, size_t, uint8_t *, size_t *, char **);
static int fat_plan_files(struct fat_plan *, const struct fat_file *,
    size_t, char **);
static void fat_boot_sector(const struct fat_plan *, uint8_t *);
static int fat_plan_write(const struct fat_plan *, fat_write_fn *, void *,
    const struct fat_file *, size_t, char **);

int
fat_geometry(uint64_t size, struct fat_geometry *geo, char **cause)
{
	uint32_t total;

	if (size < FAT_BUILD_MIN_SIZE || size > FAT_BUILD_MAX_SIZE ||
	    size % FAT_BUILD_SECTOR != 0)
		return cause_set(cause, "image size %llu is not a multiple "
		    "of 512 between %u and %u bytes",
		    (unsigned long long)size, FAT_BUILD_MIN_SIZE,
		    FAT_BUILD_MAX_SIZE);
	total = (uint32_t)(size / FAT_BUILD_SECTOR);
	for (uint32_t spc = FAT_BUILD_MIN_SPC; spc <= FAT_BUILD_MAX_SPC;
	    spc *= 2) {
		if (fat_geometry_try(total, spc, FAT_TYPE_12, geo) ||
		    fat_geometry_try(total, spc, FAT_TYPE_16, geo))
			return 0;
	}
	return cause_set(cause, "no FAT12/16 layout for %llu bytes",
	    (unsigned long long)size);
}

/*
 * Sizes the FAT for one type and cluster size: the FAT shrinks the data
 * area, which shrinks the FAT, so iterate to the fixed point (two rounds
 * in practice).  True when the resulting cluster count suits the type.
 */
static bool
fat_geometry_try(uint32_t total, uint32_t spc, enum fat_type type,
    struct fat_geometry *geo)
{
	uint32_t root_secs, align, fatsz = 1, data = 0, clusters = 0;
	uint64_t need;

	root_secs = FAT_BUILD_ROOT_ENTRIES * FAT_DIRENT_SIZE /
	    FAT_BUILD_SECTOR;
	align = spc > FAT_BUILD_ALIGN ? spc : FAT_BUILD_ALIGN;
	for (int round = 0; round < 32; round++) {
		data = 1 + 2 * fatsz + root_secs;
		data = (data + align - 1) / align * align;
		if (data >= total)
			return false;
		clusters = (total - data) / spc;
		/* Bytes of table, rounded up: FAT12 has 1.5 per entry. */
		need = type == FAT_TYPE_12 ?
		    (((uint64_t)clusters + 2) * 3 + 1) / 2 :
		    ((uint64_t)clusters + 2) * 2;
		need = (need + FAT_BUILD_SECTOR - 1) / FAT_BUILD_SECTOR;
		if (need <= fatsz)
			break;
		fatsz = (uint32_t)need;
	}
	if (type == FAT_TYPE_12 ?
	    clusters > FAT12_MAX_CLUSTERS - FAT_TYPE_MARGIN :
	    (clusters < FAT12_MAX_CLUSTERS + 1 + FAT_TYPE_MARGIN ||
	    clusters > FAT16_MAX_CLUSTERS - FAT_TYPE_MARGIN))
		return false;
	geo->type = type;
	geo->total_sectors = total;
	geo->sectors_per_cluster = spc;
	geo->reserved_sectors = data - 2 * fatsz - root_secs;
	geo->fat_sectors = fatsz;
	geo->root_entries = FAT_BUILD_ROOT_ENTRIES;
	geo->data_start = data;
	geo->clusters = clusters;
	return true;
}

/* A volume label: up to 11 characters of 8.3 names, or inner spaces. */
static int
fat_label_encode(const char *label, uint8_t *out)
{
	size_t len;
	uint8_t name[11];

	memset(out, ' ', 11);
	if (label == NULL)
		return 0;
	len = strlen(label);
	if (len == 0 || len > 11 || label[0] == ' ')
		return -1;
	for (size_t i = 0; i < len; i++) {
		char one[2] = { label[i], '\0' };

		if (label[i] == ' ')
			continue;
		if (fat_name_encode(one, name) != 0)
			return -1;
		out[i] = name[0];
	}
	return 0;
}

static void
fat_stamp_make(time_t t, struct fat_stamp *st)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < 80) {
		st->date = 1 << 5 | 1;		/* 1980-01-01 00:00:00 */
		st->time = 0;
		st->tenth = 0;
		return;
	}
	if (tm.tm_year > 80 + 127) {
		tm.tm_year = 80 + 127;		/* 2107-12-31 23:59:58 */
		tm.tm_mon = 11;
		tm.tm_mday = 31;
		tm.tm_hour = 23;
		tm.tm_min = 59;
		tm.tm_sec = 58;
	}
	if (tm.tm_sec > 59)
		tm.tm_sec = 59;			/* leap second */
	st->date = (uint16_t)((tm.tm_year - 80) << 9 | (tm.tm_mon + 1) << 5 |
	    tm.tm_mday);
	st->time = (uint16_t)(tm.tm_hour << 11 | tm.tm_min << 5 |
	    tm.tm_sec / 2);
	st->tenth = (uint8_t)(tm.tm_sec % 2 * 100);
}

/* Sets FAT entry c to v. */
static void
fat_set(struct fat_plan *pl, uint32_t c, uint32_t v)
{
	uint8_t *p;

	if (pl->geo.type == FAT_TYPE_16) {
		put_le16(pl->fat + (size_t)c * 2, (uint16_t)v);
		return;
	}
	p = pl->fat + (size_t)c + c / 2;
	if (c & 1) {
		p[0] = (uint8_t)((p[0] & 0x0f) | (v & 0x0f) << 4);
		p[1] = (uint8_t)(v >> 4);
	} else {
		p[0] = (uint8_t)v;
		p[1] = (uint8_t)((p[1] & 0xf0) | (v >> 8 & 0x0f));
	}
}

static void
fat_dirent_put(uint8_t *p, const uint8_t *name, uint8_t attr,
    const struct fat_stamp *st, uint32_t first, uint32_t size)
{
	memcpy(p + FAT_DE_NAME, name, 11);
	p[FAT_DE_ATTR] = attr;
	p[FAT_DE_CRTTIMETENTH] = st->tenth;
	put_le16(p + FAT_DE_CRTTIME, st->time);
	put_le16(p + FAT_DE_CRTDATE, st->date);
	put_le16(p + FAT_DE_LSTACCDATE, st->date);
	put_le16(p + FAT_DE_WRTTIME, st->time);
	put_le16(p + FAT_DE_WRTDATE, st->date);
	put_le16(p + FAT_DE_FSTCLUSLO, (uint16_t)first);
	put_le32(p + FAT_DE_FILESIZE, size);
}

/*
 * True when the short name is in use: by an entry placed so far, or as
 * the 8.3 name of any file (so an alias never takes a later file's name).
 */
static bool
fat_plan_taken(const struct fat_plan *pl, uint32_t slots,
    const struct fat_file *files, size_t nfiles, const uint8_t *name)
{
	uint8_t other[11];

	for (uint32_t j = 0; j < slots; j++) {
		const uint8_t *de = pl->root + FAT_DIRENT_SIZE * j;

		if ((de[FAT_DE_ATTR] & FAT_ATTR_LFN_MASK) != FAT_ATTR_LFN &&
		    !(de[FAT_DE_ATTR] & FAT_ATTR_VOLUME) &&
		    memcmp(de, name, 11) == 0)
			return true;
	}
	for (size_t i = 0; i < nfiles; i++) {
		if (fat_name_encode(files[i].name, other) == 0 &&
		    memcmp(other, name, 11) == 0)
			return true;
	}
	return false;
}

/*
 * The short name for file i: its own when it is upper-case 8.3, else an
 * unused alias, with *nlfn set to the long-name entries it needs.
 */
static int
fat_plan_name(const struct fat_plan *pl, uint32_t slots,
    const struct fat_file *files, size_t nfiles, size_t i, uint8_t *name,
    size_t *nlfn, char **cause)
{
	const char *s = files[i].name;

	*nlfn = 0;
	if (fat_name_encode(s, name) == 0 &&
	    strpbrk(s, "abcdefghijklmnopqrstuvwxyz") == NULL)
		return 0;
	if (!fat_name_long_ok(s))
		return cause_set(cause, "bad file name \"%s\"",
		    s != NULL ? s : "(null)");
	for (unsigned n = 1; n < 1000000; n++) {
		fat_name_alias(s, n, name);
		if (!fat_plan_taken(pl, slots, files, nfiles, name)) {
			*nlfn = fat_name_lfn_entries(strlen(s));
			return 0;
		}
	}
	return cause_set(cause, "%s: no free alias", s);
}

/*
 * Fills the FAT and root directory: the label first, then each file
 * (long-name entries, then its short entry) with a contiguous chain
 * starting after the previous file's.
 */
static int
fat_plan_files(struct fat_plan *pl, const struct fat_file *files,
    size_t nfiles, char **cause)
{
	const uint8_t allowed = FAT_ATTR_READONLY | FAT_ATTR_HIDDEN |
	    FAT_ATTR_SYSTEM | FAT_ATTR_ARCHIVE;
	uint32_t csize, next = 2, slot = 0;
	uint8_t name[11];
	uint64_t n;
	size_t nlfn;

	csize = pl->geo.sectors_per_cluster * FAT_BUILD_SECTOR;
	if (memcmp(pl->label, "           ", 11) != 0)
		fat_dirent_put(pl->root + FAT_DIRENT_SIZE * slot++, pl->label,
		    FAT_ATTR_VOLUME, &pl->stamp, 0, 0);
	for (size_t i = 0; i < nfiles; i++) {
		const struct fat_file *f = &files[i];

		if (fat_plan_name(pl, slot, files, nfiles, i, name, &nlfn,
		    cause) != 0)
			return -1;
		for (size_t j = 0; j < i; j++) {
			if (fat_name_eq(files[j].name, f->name))
				return cause_set(cause, "duplicate file "
				    "name \"%s\"", f->name);
		}
		if (f->attr & ~allowed)
			return cause_set(cause, "%s: bad attributes 0x%02x",
			    f->name, f->attr);
		if (f->len > 0 && f->data == NULL)
			return cause_set(cause, "%s: no data", f->name);
		if (nlfn + 1 > pl->geo.root_entries - slot)
			return cause_set(cause, "%s: root directory full",
			    f->name);
		n = ((uint64_t)f->len + csize - 1) / csize;
		if (n > (uint64_t)pl->geo.clusters + 2 - next)
			return cause_set(cause, "%s: no space left (%zu "
			    "bytes)", f->name, f->len);
		pl->first[i] = n > 0 ? next : 0;
		if (nlfn > 0)
			fat_name_lfn_put(pl->root + FAT_DIRENT_SIZE * slot,
			    f->name, fat_name_checksum(name));
		slot += (uint32_t)nlfn;
		fat_dirent_put(pl->root + FAT_DIRENT_SIZE * slot++, name,
		    f->attr, &pl->stamp, pl->first[i], (uint32_t)f->len);
		for (uint32_t k = 0; k < n; k++, next++)
			fat_set(pl, next, k + 1 < n ? next + 1 :
			    (pl->geo.type == FAT_TYPE_12 ? 0xfff : 0xffff));
	}
	return 0;
}

/*
 * A jump over the BPB to code that prints a note and waits for a key,
 * then tries the next boot device (int 19h), in case a BIOS boots it.
 */
static const uint8_t fat_boot_code[] = {
	0x31, 0xc0,		/* 3e: xor ax, ax */
	0x8e, 0xd8,		/* 40: mov ds, ax */
	0xbe, 0x5b, 0x7c,	/* 42: mov si, 0x7c5b (the message) */
	0xac,			/* 45: lodsb */
	0x84, 0xc0,		/* 46: test al, al */
	0x74, 0x09,		/* 48: jz 0x53 */
	0xb4, 0x0e,		/* 4a: mov ah, 0x0e (teletype output) */
	0xbb, 0x07, 0x00,	/* 4c: mov bx, 7 */
	0xcd, 0x10,		/* 4f: int 0x10 */
	0xeb, 0xf2,		/* 51: jmp 0x45 */
	0x31, 0xc0,		/* 53: xor ax, ax */
	0xcd, 0x16,		/* 55: int 0x16 (wait for a key) */
	0xcd, 0x19,		/* 57: int 0x19 (next boot device) */
	0xeb, 0xfe,		/* 59: jmp $ */
};
static const char fat_boot_msg[] =
    "This is a vtoken credential volume, not a boot disk.\r\n";

static void
fat_boot_sector(const struct fat_plan *pl, uint8_t *bs)
{
	const struct fat_geometry *g = &pl->geo;

	memset(bs, 0, FAT_BUILD_SECTOR);
	bs[0] = 0xeb;
	bs[1] = FAT_BS_BOOTCODE - 2;
	bs[2] = 0x90;
	memcpy(bs + FAT_BS_OEM, FAT_BUILD_OEM, 8);
	put_le16(bs + FAT_BPB_BYTSPERSEC, FAT_BUILD_SECTOR);
	bs[FAT_BPB_SECPERCLUS] = (uint8_t)g->sectors_per_cluster;
	put_le16(bs + FAT_BPB_RSVDSECCNT, (uint16_t)g->reserved_sectors);
	bs[FAT_BPB_NUMFATS] = 2;
	put_le16(bs + FAT_BPB_ROOTENTCNT, (uint16_t)g->root_entries);
	if (g->total_sectors <= UINT16_MAX)
		put_le16(bs + FAT_BPB_TOTSEC16, (uint16_t)g->total_sectors);
	else
		put_le32(bs + FAT_BPB_TOTSEC32, g->total_sectors);
	bs[FAT_BPB_MEDIA] = FAT_MEDIA_FIXED;
	put_le16(bs + FAT_BPB_FATSZ16, (uint16_t)g->fat_sectors);
	put_le16(bs + FAT_BPB_SECPERTRK, 32);
	put_le16(bs + FAT_BPB_NUMHEADS, 64);
	bs[FAT_BS_DRVNUM] = 0x80;
	bs[FAT_BS_BOOTSIG] = FAT_BOOTSIG_EXT;
	put_le32(bs + FAT_BS_VOLID, pl->serial);
	if (memcmp(pl->label, "           ", 11) == 0)
		memcpy(bs + FAT_BS_VOLLAB, "NO NAME    ", 11);
	else
		memcpy(bs + FAT_BS_VOLLAB, pl->label, 11);
	memcpy(bs + FAT_BS_FILSYSTYPE,
	    g->type == FAT_TYPE_12 ? "FAT12   " : "FAT16   ", 8);
	memcpy(bs + FAT_BS_BOOTCODE, fat_boot_code, sizeof(fat_boot_code));
	memcpy(bs + FAT_BS_BOOTCODE + sizeof(fat_boot_code), fat_boot_msg,
	    sizeof(fat_boot_msg));
	bs[FAT_BS_SIG] = 0x55;
	bs[FAT_BS_SIG + 1] = 0xaa;
}

/* File data, both FATs, the root directory and last the boot sector. */
static int
fat_plan_write(const struct fat_plan *pl, fat_write_fn *write, void *arg,
    const struct fat_file *files, size_t nfiles, char **cause)
{
	const struct fat_geometry *g = &pl->geo;
	uint8_t bs[FAT_BUILD_SECTOR];
	uint64_t off, fat_len = (uint64_t)g->fat_sectors * FAT_BUILD_SECTOR;

	for (size_t i = 0; i < nfiles; i++) {
		if (files[i].len == 0)
			continue;
		off = ((uint64_t)g->data_start + (uint64_t)(pl->first[i] - 2) *
		    g->sectors_per_cluster) * FAT_BUILD_SECTOR;
		if (write(arg, off, files[i].data, files[i].len) != 0)
			return cause_set(cause, "%s: write error",
			    files[i].name);
	}
	off = (uint64_t)g->reserved_sectors * FAT_BUILD_SECTOR;
	if (write(arg, off, pl->fat, (size_t)fat_len) != 0 ||
	    write(arg, off + fat_len, pl->fat, (size_t)fat_len) != 0 ||
	    write(arg, off + 2 * fat_len, pl->root,
	    (size_t)g->root_entries * FAT_DIRENT_SIZE) != 0)
		return cause_set(cause, "write error in the FAT area");
	fat_boot_sector(pl, bs);
	if (write(arg, 0, bs, sizeof(bs)) != 0)
		return cause_set(cause, "write error in the boot sector");
	return 0;
}

int
fat_build_write(fat_write_fn *write, void *arg,
    const struct fat_build_opts *opts, const struct fat_file *files,
    size_t nfiles, char **cause)
{
	struct fat_plan pl;
	int rv = -1;

	memset(&pl, 0, sizeof(pl));
	if (fat_geometry(opts->size, &pl.geo, cause) != 0)
		return -1;
	if (fat_label_encode(opts->label, pl.label) != 0)
		return cause_set(cause, "bad volume label \"%s\"", opts->label);
	if (nfiles >= pl.geo.root_entries)
		return cause_set(cause, "too many files (%zu)", nfiles);
	pl.serial = opts->serial;
	fat_stamp_make(opts->mtime, &pl.stamp);
	pl.fat = calloc(pl.geo.fat_sectors, FAT_BUILD_SECTOR);
	pl.root = calloc(pl.geo.root_entries, FAT_DIRENT_SIZE);
	pl.first = calloc(nfiles + 1, sizeof(*pl.first));
	if (pl.fat == NULL || pl.root == NULL || pl.first == NULL) {
		cause_set(cause, "out of memory");
		goto out;
	}
	/* Reserved entries: the media byte, then end of chain. */
	fat_set(&pl, 0, (pl.geo.type == FAT_TYPE_12 ? 0xf00 : 0xff00) |
	    FAT_MEDIA_FIXED);
	fat_set(&pl, 1, pl.geo.type == FAT_TYPE_12 ? 0xfff : 0xffff);
	if (fat_plan_files(&pl, files, nfiles, cause) != 0 ||
	    fat_plan_write(&pl, write, arg, files, nfiles, cause) != 0)
		goto out;
	rv = 0;
out:
	free(pl.fat);
	free(pl.root);
	free(pl.first);
	return rv;
}

/* fat_build's target: a writable buffer. */
struct fat_buf {
	uint8_t *buf;
	size_t len;
};

static int
fat_buf_write(void *arg, uint64_t off, const void *buf, size_t len)
{
	struct fat_buf *m = arg;

	if (off > m->len || m->len - off < len)
		return -1;
	memcpy(m->buf + off, buf, len);
	return 0;
}

int
fat_build(uint8_t *buf, const struct fat_build_opts *opts,
    const struct fat_file *files, size_t nfiles, char **cause)
{
	struct fat_geometry geo;
	struct fat_buf m;

	if (fat_geometry(opts->size, &geo, cause) != 0)
		return -1;
	memset(buf, 0, (size_t)opts->size);
	m.buf = buf;
	m.len = (size_t)opts->size;
	return fat_build_write(fat_buf_write, &m, opts, files, nfiles, cause);
}
