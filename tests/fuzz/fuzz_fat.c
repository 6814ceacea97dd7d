/*
 * fuzz_fat: the FAT12/16 reader (src/token/fat.c, fat_name.c) and the
 * token reader on top of it (token_image_read: TOKEN.JSON and TOKEN.KEY)
 * on a hostile device image.  Byte 0 of the input chooses the device:
 * even, the rest of the input is the whole device (fat_mem_read); odd,
 * the rest is the start of a 64 MiB device whose remaining bytes read as
 * zero, so that a seed can be the first few KiB of a real token image.
 * Checked: memory safety, allocation caps, and that what readdir lists
 * fat_find finds again with the same size.
 */
#include <string.h>

#include "fuzz.h"
#include "token/fat.h"
#include "token/token_cred.h"
#include "token/token_image.h"

#define FILE_CAP	(256u << 10)
#define MAX_ENTRIES	64

/* A zero-extended device: the input, then zeros up to size. */
struct zdev {
	struct fat_mem mem;
	uint64_t size;
};

static int
zdev_read(void *arg, uint64_t off, void *buf, size_t len)
{
	const struct zdev *z = arg;
	struct fat_mem head = z->mem;
	size_t n;

	if (off > z->size || z->size - off < len)
		return -1;
	n = off < head.len ? (size_t)(head.len - off) : 0;
	if (n > len)
		n = len;
	if (n > 0 && fat_mem_read(&head, off, buf, n) != 0)
		return -1;
	memset((uint8_t *)buf + n, 0, len - n);
	return 0;
}

/* Lists the root directory and reads every file in it. */
static void
fuzz_volume(struct fat *fs)
{
	struct fat_dirent ent, again;
	char label[FAT_LABEL_MAX], *cause = NULL;
	uint8_t raw[11];
	uint32_t pos = 0;
	uint8_t *data;
	size_t len;
	int r, n = 0;

	FUZZ_CHECK(fat_type(fs) == FAT_TYPE_12 || fat_type(fs) == FAT_TYPE_16);
	FUZZ_CHECK(fat_clusters(fs) > 0 && fat_cluster_size(fs) >=
	    fat_sector_size(fs));
	(void)fat_serial(fs);
	if (fat_label_read(fs, label, &cause) == 0)
		FUZZ_CHECK(strlen(label) < FAT_LABEL_MAX);
	free(cause);
	cause = NULL;
	while (n++ < MAX_ENTRIES && (r = fat_readdir(fs, &pos, &ent,
	    &cause)) == 1) {
		if (getenv("FUZZ_VERBOSE") != NULL)
			fprintf(stderr, "fat: \"%s\" (%s) attr 0x%02x, %u "
			    "bytes at %u\n", ent.name, ent.short_name, ent.attr,
			    ent.size, ent.first_cluster);
		FUZZ_CHECK(strlen(ent.name) <= FAT_LFN_MAX);
		FUZZ_CHECK(strlen(ent.short_name) < FAT_NAME_MAX);
		if (ent.attr & (FAT_ATTR_DIR | FAT_ATTR_VOLUME))
			continue;
		/*
		 * A listed file with a usable name is found (maybe a twin).
		 * Not a short name with a dot: a hostile "A.B     " lists as
		 * "A.B" too, which means "A       B".
		 */
		if (strcmp(ent.name, ent.short_name) != 0 ?
		    fat_name_long_ok(ent.name) :
		    fat_name_encode(ent.name, raw) == 0 &&
		    strchr(ent.name, '.') == NULL)
			FUZZ_CHECK(fat_find(fs, ent.name, &again, NULL) == 1);
		else
			FUZZ_CHECK(fat_find(fs, ent.name, &again, NULL) >= 0 ||
			    !fat_name_long_ok(ent.name));
		if (fat_read_file(fs, ent.name, FILE_CAP, &data, &len,
		    &cause) == 0) {
			FUZZ_CHECK(len <= FILE_CAP && data[len] == '\0');
			free(data);
		} else {
			FUZZ_CHECK(data == NULL && cause != NULL);
			free(cause);
			cause = NULL;
		}
	}
	free(cause);
}

static void
fuzz_device(fat_read_fn *read, void *arg, uint64_t size)
{
	struct token_image_info info;
	struct token_cred *cred;
	struct fat *fs;
	char *cause = NULL;

	if ((fs = fat_open(read, arg, size, &cause)) == NULL)
		FUZZ_CHECK(cause != NULL);
	else {
		fuzz_volume(fs);
		fat_close(fs);
	}
	free(cause);
	cause = NULL;
	if (token_image_read(read, arg, size, &info, &cred, &cause) == 0) {
		FUZZ_CHECK(info.token_id != NULL && info.controller != NULL);
		FUZZ_CHECK(cred != NULL);
		token_image_info_clear(&info);
		token_cred_free(cred);
	} else {
		FUZZ_CHECK(cause != NULL && cred == NULL);
		FUZZ_CHECK(info.token_id == NULL);
	}
	free(cause);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zdev z;

	if (size == 0)
		return 0;
	z.mem.buf = data + 1;
	z.mem.len = size - 1;
	if (data[0] & 1) {
		z.size = FAT_BUILD_MAX_SIZE;
		fuzz_device(zdev_read, &z, z.size);
	} else
		fuzz_device(fat_mem_read, &z.mem, z.mem.len);
	return 0;
}
