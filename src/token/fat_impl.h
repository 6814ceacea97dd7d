/*
 * fat_impl: on-disk layout and name helpers shared by the FAT builder
 * (fat_build.c), reader (fat.c) and name code (fat_name.c).  Offsets are
 * from the Microsoft FAT specification ("FAT: General Overview of On-Disk
 * Format", fatgen103).  Not for other modules.
 */
#ifndef VTOKEN_FAT_IMPL_H
#define VTOKEN_FAT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Boot sector and BIOS parameter block, FAT12/16 layout. */
#define FAT_BS_JMP		0x00	/* EB xx 90 or E9 xx xx */
#define FAT_BS_OEM		0x03	/* 8 bytes */
#define FAT_BPB_BYTSPERSEC	0x0b	/* 16 bit */
#define FAT_BPB_SECPERCLUS	0x0d	/* 8 bit */
#define FAT_BPB_RSVDSECCNT	0x0e	/* 16 bit */
#define FAT_BPB_NUMFATS		0x10	/* 8 bit */
#define FAT_BPB_ROOTENTCNT	0x11	/* 16 bit */
#define FAT_BPB_TOTSEC16	0x13	/* 16 bit */
#define FAT_BPB_MEDIA		0x15	/* 8 bit */
#define FAT_BPB_FATSZ16		0x16	/* 16 bit; 0 on FAT32 */
#define FAT_BPB_SECPERTRK	0x18	/* 16 bit */
#define FAT_BPB_NUMHEADS	0x1a	/* 16 bit */
#define FAT_BPB_HIDDSEC		0x1c	/* 32 bit */
#define FAT_BPB_TOTSEC32	0x20	/* 32 bit */
#define FAT_BS_DRVNUM		0x24	/* 8 bit */
#define FAT_BS_BOOTSIG		0x26	/* 0x29: VOLID... follow */
#define FAT_BS_VOLID		0x27	/* 32 bit */
#define FAT_BS_VOLLAB		0x2b	/* 11 bytes */
#define FAT_BS_FILSYSTYPE	0x36	/* 8 bytes, informational only */
#define FAT_BS_BOOTCODE		0x3e
#define FAT_BS_SIG		0x1fe	/* 0x55 0xaa */

#define FAT_BOOTSIG_EXT		0x29
#define FAT_MEDIA_FIXED		0xf8

/* Directory entries. */
#define FAT_DIRENT_SIZE		32
#define FAT_DE_NAME		0x00	/* 11 bytes, "NAME    EXT" */
#define FAT_DE_ATTR		0x0b
#define FAT_DE_NTRES		0x0c	/* lower: 0x08 base, 0x10 ext */
#define FAT_DE_CRTTIMETENTH	0x0d
#define FAT_DE_CRTTIME		0x0e
#define FAT_DE_CRTDATE		0x10
#define FAT_DE_LSTACCDATE	0x12
#define FAT_DE_FSTCLUSHI	0x14
#define FAT_DE_WRTTIME		0x16
#define FAT_DE_WRTDATE		0x18
#define FAT_DE_FSTCLUSLO	0x1a
#define FAT_DE_FILESIZE		0x1c

#define FAT_DE_END		0x00	/* name[0]: no entries follow */
#define FAT_DE_DELETED		0xe5	/* name[0]: free entry */
#define FAT_DE_KANJI_E5		0x05	/* name[0]: a real 0xe5 */
#define FAT_ATTR_LFN_MASK	0x3f
#define FAT_ATTR_LFN		0x0f	/* RO|HIDDEN|SYSTEM|VOLUME */
#define FAT_NTRES_LOWER_BASE	0x08
#define FAT_NTRES_LOWER_EXT	0x10

/* VFAT long-name entries, stored in reverse order before their alias. */
#define FAT_LFN_ORD		0x00	/* sequence number 1..20 */
#define FAT_LFN_LAST		0x40	/* ord flag: the last part */
#define FAT_LFN_ORD_MASK	0x1f
#define FAT_LFN_TYPE		0x0c	/* 0 */
#define FAT_LFN_CHKSUM		0x0d	/* checksum of the alias */
#define FAT_LFN_CHARS		13	/* UCS-2 characters per entry */
#define FAT_LFN_MAX_ENTRIES	20	/* 20 * 13 >= 255 */

/*
 * Cluster counts decide the type (fatgen103, "FAT Type Determination"):
 * fewer than 4085 is FAT12, fewer than 65525 FAT16, else FAT32.
 */
#define FAT12_MAX_CLUSTERS	4084u
#define FAT16_MAX_CLUSTERS	65524u
#define FAT12_EOC_MIN		0xff8u
#define FAT16_EOC_MIN		0xfff8u
#define FAT12_BAD		0xff7u
#define FAT16_BAD		0xfff7u

/* A long name being collected by the reader. */
struct fat_lfn {
	uint16_t chars[FAT_LFN_MAX_ENTRIES * FAT_LFN_CHARS];
	unsigned count;		/* entries in the sequence; 0: none */
	unsigned next;		/* ordinal expected next; 0: complete */
	uint8_t sum;		/* alias checksum all entries carry */
};

/* ASCII-only case-insensitive equality, whatever the locale. */
bool fat_name_eq(const char *a, const char *b);
/* The checksum of an 11-byte short name that its LFN entries carry. */
uint8_t fat_name_checksum(const uint8_t *name);
/* Number of LFN entries a long name of len characters needs. */
size_t fat_name_lfn_entries(size_t len);
/*
 * Writes the LFN entries for name (fat_name_long_ok) into dst, in
 * on-disk order, carrying the alias checksum sum.
 */
void fat_name_lfn_put(uint8_t *dst, const char *name, uint8_t sum);
/*
 * A Windows-style alias for a long name with numeric tail n >= 1, e.g.
 * "TOKEN.JSON", 1 -> "TOKEN~1 JSO".
 */
void fat_name_alias(const char *name, unsigned n, uint8_t out[11]);

/* Feeds one LFN entry (32 bytes) to the collector. */
void fat_name_lfn_feed(struct fat_lfn *lfn, const uint8_t *ent);
/*
 * The collected long name for the short entry ent into out (FAT_LFN_MAX
 * + 1 bytes): true when a complete sequence with a matching checksum
 * precedes it.  Resets the collector either way.
 */
bool fat_name_lfn_take(struct fat_lfn *lfn, const uint8_t *ent, char *out);

#endif
