/*
 * fat: FAT12/FAT16 "superfloppy" filesystems (no partition table; the
 * whole device is the filesystem, as mkfs.fat makes on a USB stick).
 *
 * The builder lays out a fresh filesystem with files in the root
 * directory, each in one contiguous cluster chain.  The reader opens a
 * filesystem through a read callback, so it works on an in-memory image
 * and directly on a block device or file, lists the root directory and
 * reads one file by name.
 *
 * Names: "TOKEN.JSON" is not an 8.3 name (the extension has four
 * letters), so, as Windows, Linux and mtools do, the builder gives any
 * name that is not upper-case 8.3 a VFAT long-name entry plus a generated
 * alias ("TOKEN~1.JSO"), and the reader matches either.  Only ASCII is
 * supported in long names; other characters read back as '?'.
 *
 * The reader treats the image as hostile: every BPB field is checked,
 * every access stays inside the device, cluster chains are followed with
 * cycle and range checks, and no allocation exceeds the caller's cap.
 * Nothing here uses global state or logs; errors come back through
 * `char **cause' (allocated, the caller frees it; NULL to ignore).
 *
 * Not handled: FAT32, and subdirectories (listed, never entered).
 */
#ifndef VTOKEN_FAT_H
#define VTOKEN_FAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define FAT_BUILD_MIN_SIZE	(1u << 20)	/* 1 MiB */
#define FAT_BUILD_MAX_SIZE	(64u << 20)	/* 64 MiB */
#define FAT_NAME_MAX		13		/* "BASENAME.EXT" + NUL */
#define FAT_LFN_MAX		255		/* long name characters */
#define FAT_LABEL_MAX		12		/* 11 characters + NUL */

/* Directory entry attributes. */
#define FAT_ATTR_READONLY	0x01
#define FAT_ATTR_HIDDEN		0x02
#define FAT_ATTR_SYSTEM		0x04
#define FAT_ATTR_VOLUME		0x08
#define FAT_ATTR_DIR		0x10
#define FAT_ATTR_ARCHIVE	0x20

/*
 * Reads len bytes at byte offset off into buf: 0, or -1 on any error
 * (a short read is an error).  The reader never asks for bytes past the
 * device size it was given.
 */
typedef int fat_read_fn(void *arg, uint64_t off, void *buf, size_t len);
/* Writes len bytes at byte offset off: 0 or -1. */
typedef int fat_write_fn(void *arg, uint64_t off, const void *buf,
    size_t len);

enum fat_type {
	FAT_TYPE_12 = 12,
	FAT_TYPE_16 = 16
};

/* A file for the builder; all pointers are borrowed for the call. */
struct fat_file {
	const char *name;	/* "TOKEN.KEY", or a long name "TOKEN.JSON" */
	const void *data;	/* may be NULL when len is 0 */
	size_t len;
	uint8_t attr;		/* READONLY, HIDDEN, SYSTEM, ARCHIVE */
};

struct fat_build_opts {
	uint64_t size;		/* bytes: 512 * n, MIN..MAX_SIZE */
	const char *label;	/* volume label, up to 11 chars; NULL: none */
	uint32_t serial;	/* volume serial number */
	time_t mtime;		/* stamp of the label and files (UTC) */
};

/* Geometry the builder chose (or would choose) for a size. */
struct fat_geometry {
	enum fat_type type;
	uint32_t total_sectors;		/* 512-byte sectors */
	uint32_t sectors_per_cluster;
	uint32_t reserved_sectors;
	uint32_t fat_sectors;		/* per FAT; there are two */
	uint32_t root_entries;
	uint32_t data_start;		/* first sector of cluster 2 */
	uint32_t clusters;		/* data clusters */
};

/* A root directory entry as the reader reports it. */
struct fat_dirent {
	char name[FAT_LFN_MAX + 1];	/* long name, else the short name */
	char short_name[FAT_NAME_MAX];	/* "NAME.EXT" */
	uint8_t attr;
	uint32_t size;			/* bytes (0 for directories) */
	uint32_t first_cluster;
	uint16_t wdate;			/* DOS date of last write */
	uint16_t wtime;			/* and time */
};

/* An in-memory image for fat_mem_read (borrowed buffer). */
struct fat_mem {
	const uint8_t *buf;
	size_t len;
};

struct fat;

/*
 * Computes the layout for a filesystem of size bytes: 0, or -1 with
 * *cause set when the size is out of range.
 */
int fat_geometry(uint64_t size, struct fat_geometry *geo, char **cause);

/*
 * Builds a filesystem into buf, which holds opts->size bytes; the whole
 * buffer is overwritten.  Files go into the root directory in order.
 * 0, or -1 with *cause set (bad size, name, label or not enough space).
 */
int fat_build(uint8_t *buf, const struct fat_build_opts *opts,
    const struct fat_file *files, size_t nfiles, char **cause);
/*
 * Like fat_build, but through a write callback, writing only the
 * metadata and file data: the target must already read as zeros
 * (a fresh image or file).  Write errors are reported as -1 with *cause.
 */
int fat_build_write(fat_write_fn *write, void *arg,
    const struct fat_build_opts *opts, const struct fat_file *files,
    size_t nfiles, char **cause);

/*
 * Opens the filesystem on a device of dev_size bytes read through
 * read(arg, ...); arg is borrowed until fat_close.  Only the boot sector
 * is read and validated here.  Returns NULL with *cause set on failure.
 * Reads start on sector boundaries but a file's last read may be short
 * of one, so a block device must be read with buffered I/O (no O_DIRECT).
 */
struct fat *fat_open(fat_read_fn *read, void *arg, uint64_t dev_size,
    char **cause);
/* Frees fs; NULL is a no-op. */
void fat_close(struct fat *fs);

enum fat_type fat_type(const struct fat *fs);
uint32_t fat_serial(const struct fat *fs);
/* Sector size, bytes per cluster and number of data clusters. */
uint32_t fat_sector_size(const struct fat *fs);
uint32_t fat_cluster_size(const struct fat *fs);
uint32_t fat_clusters(const struct fat *fs);
/*
 * Copies the volume label into label: the root directory's label entry,
 * else the boot sector's, else ""; trailing spaces removed and bytes
 * outside printable ASCII shown as '?'.  0, or -1 with *cause.
 */
int fat_label_read(struct fat *fs, char label[FAT_LABEL_MAX], char **cause);

/*
 * Root directory iteration.  Set *pos to 0, then call until it returns
 * 0 (end) or -1 (error, *cause set); 1 means *ent was filled.  Deleted
 * entries and the volume label are skipped, long-name entries give
 * ent->name (when complete and matching their alias's checksum), and
 * subdirectories are reported with FAT_ATTR_DIR.
 */
int fat_readdir(struct fat *fs, uint32_t *pos, struct fat_dirent *ent,
    char **cause);
/*
 * Finds a file (not a directory) in the root directory whose long or
 * short name is name, ignoring ASCII case: 1 found (*ent filled), 0 not
 * found, -1 error (also for a name that cannot exist).
 */
int fat_find(struct fat *fs, const char *name, struct fat_dirent *ent,
    char **cause);
/*
 * Reads the file called name (as fat_find) from the root directory.  A
 * file larger than max bytes, or than the volume, is an error, checked
 * before anything is allocated.  On success *data is an allocated buffer
 * of *len bytes plus a terminating NUL (so text can be used as a string;
 * the caller frees it).  The cluster chain must match the file size
 * exactly, without loops; following it takes a bitmap of at most 8 KiB.
 * 0, or -1 with *cause.
 */
int fat_read_file(struct fat *fs, const char *name, size_t max,
    uint8_t **data, size_t *len, char **cause);

/*
 * Encodes a name such as "token.key" as the 11-byte space-padded
 * directory form ("TOKEN   KEY"), upper-casing letters: 0, or -1 if it
 * is not a valid 8.3 name.
 */
int fat_name_encode(const char *name, uint8_t out[11]);
/*
 * True for a name a long-name entry may hold: 1..255 printable ASCII
 * characters without "*\/:<>?| and without a trailing dot or space.
 */
bool fat_name_long_ok(const char *name);

/* A fat_read_fn over a struct fat_mem. */
int fat_mem_read(void *arg, uint64_t off, void *buf, size_t len);
/*
 * A fat_read_fn over a file descriptor (arg points at the int): pread(2)
 * until len bytes came, for a block device or an image file.
 */
int fat_fd_read(void *arg, uint64_t off, void *buf, size_t len);

#endif
