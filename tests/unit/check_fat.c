/*
 * check_fat: the FAT12/16 builder and reader (src/token/fat.h).
 *
 * Round trips at every supported size, the FAT12/16 choice, images made
 * by mkfs.vfat and mtools, and hostile images: none may crash (the ASan
 * build runs these too) and every bad one must be an error.
 */
#include <check.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "token/fat.h"
#include "../lib/vt_tmpdir.h"

#define MIB		(1024u * 1024u)
#define T_SERIAL	0x1234abcdu
#define T_MTIME		1700000000	/* 2023-11-14 22:13:20 UTC */

static const char t_json[] = "{\"token_id\":\"t1\",\"version\":1}";
static const char t_key[] = "-----BEGIN PRIVATE KEY-----\nxx\n"
    "-----END PRIVATE KEY-----\n";

/* Deterministic pseudo-random bytes (xorshift64). */
static uint64_t
t_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A buffer of len bytes counting up, so misplaced clusters show. */
static uint8_t *
t_pattern(size_t len, uint8_t seed)
{
	uint8_t *p = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7 + i / 251);
	return p;
}

static uint8_t *
t_build(uint64_t size, const struct fat_file *files, size_t n)
{
	struct fat_build_opts o = { size, "VTOKEN", T_SERIAL, T_MTIME };
	uint8_t *buf = malloc((size_t)size);
	char *cause = NULL;

	ck_assert_ptr_nonnull(buf);
	if (fat_build(buf, &o, files, n, &cause) != 0)
		ck_abort_msg("fat_build: %s", cause);
	return buf;
}

/* Opens len bytes at buf; NULL (cause freed) when fat_open refuses. */
static struct fat *
t_open(struct fat_mem *m, const uint8_t *buf, size_t len)
{
	struct fat *fs;
	char *cause = NULL;

	m->buf = buf;
	m->len = len;
	fs = fat_open(fat_mem_read, m, len, &cause);
	if (fs == NULL) {
		ck_assert_ptr_nonnull(cause);
		ck_assert(strlen(cause) > 0);
	}
	free(cause);
	return fs;
}

/* The two standard files of a token plus an empty and a big one. */
static size_t
t_files(struct fat_file *f, uint8_t *big, size_t biglen)
{
	memset(f, 0, 4 * sizeof(*f));
	f[0].name = "TOKEN.JSON";
	f[0].data = t_json;
	f[0].len = strlen(t_json);
	f[0].attr = FAT_ATTR_READONLY;
	f[1].name = "TOKEN.KEY";
	f[1].data = t_key;
	f[1].len = strlen(t_key);
	f[1].attr = FAT_ATTR_READONLY | FAT_ATTR_HIDDEN;
	f[2].name = "EMPTY.TXT";
	f[3].name = "big.bin";
	f[3].data = big;
	f[3].len = biglen;
	f[3].attr = FAT_ATTR_ARCHIVE;
	return 4;
}

/* Reads name with cap and compares it with want (wlen bytes). */
static void
t_expect_file(struct fat *fs, const char *name, const void *want,
    size_t wlen)
{
	uint8_t *data;
	size_t len;
	char *cause = NULL;

	if (fat_read_file(fs, name, 1 << 20, &data, &len, &cause) != 0)
		ck_abort_msg("read %s: %s", name, cause);
	ck_assert_uint_eq(len, wlen);
	ck_assert(wlen == 0 || memcmp(data, want, wlen) == 0);
	ck_assert_int_eq(data[len], 0);
	free(data);
}

/* Reading name must fail (and say why). */
static void
t_expect_fail(struct fat *fs, const char *name, size_t max,
    const char *why)
{
	uint8_t *data = (uint8_t *)1;
	size_t len = 1;
	char *cause = NULL;

	ck_assert_int_eq(fat_read_file(fs, name, max, &data, &len, &cause),
	    -1);
	ck_assert_ptr_null(data);
	ck_assert_uint_eq(len, 0);
	ck_assert_ptr_nonnull(cause);
	if (why != NULL)
		ck_assert_msg(strstr(cause, why) != NULL, "cause \"%s\" lacks "
		    "\"%s\"", cause, why);
	free(cause);
}

/*
 * Geometry, for every size the API accepts (multiples of 512): the type
 * follows the cluster count, with margins, and the FAT holds every entry
 * (FAT12 once rounded 1.5 bytes per entry down: 1382 KiB lost a cluster).
 */
START_TEST(test_geometry_sweep)
{
	struct fat_geometry g;
	char *cause = NULL;

	for (uint64_t size = FAT_BUILD_MIN_SIZE; size <= FAT_BUILD_MAX_SIZE;
	    size += 512) {
		uint64_t need;

		ck_assert_int_eq(fat_geometry(size, &g, &cause), 0);
		ck_assert_uint_eq(g.total_sectors, size / 512);
		if (g.type == FAT_TYPE_12)
			ck_assert_uint_le(g.clusters, 4084 - 16);
		else
			ck_assert(g.clusters >= 4085 + 16 &&
			    g.clusters <= 65524 - 16);
		ck_assert_uint_ge(g.reserved_sectors, 1);
		ck_assert_uint_eq(g.data_start % 8, 0);
		ck_assert_uint_eq(g.data_start % g.sectors_per_cluster, 0);
		ck_assert_uint_eq(g.data_start, g.reserved_sectors +
		    2 * g.fat_sectors + 32);
		ck_assert_uint_le((uint64_t)g.data_start +
		    (uint64_t)g.clusters * g.sectors_per_cluster,
		    g.total_sectors);
		need = ((uint64_t)g.clusters + 2) * (g.type == FAT_TYPE_12 ?
		    12 : 16);
		ck_assert_uint_ge((uint64_t)g.fat_sectors * 512 * 8, need);
		/* Not wasteful: one FAT sector less would not do. */
		ck_assert_uint_lt((uint64_t)(g.fat_sectors - 1) * 512 * 8,
		    need + 8 * 512);
	}
}
END_TEST

START_TEST(test_geometry_types)
{
	static const struct {
		unsigned mib;
		enum fat_type type;
		uint32_t spc;
	} want[] = {
		{ 1, FAT_TYPE_12, 4 }, { 2, FAT_TYPE_12, 4 },
		{ 4, FAT_TYPE_12, 4 }, { 8, FAT_TYPE_12, 8 },
		{ 16, FAT_TYPE_16, 4 }, { 32, FAT_TYPE_16, 4 },
		{ 64, FAT_TYPE_16, 4 },
	};
	struct fat_geometry g;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_int_eq(fat_geometry((uint64_t)want[i].mib * MIB, &g,
		    NULL), 0);
		ck_assert_int_eq(g.type, want[i].type);
		ck_assert_uint_eq(g.sectors_per_cluster, want[i].spc);
	}
}
END_TEST

START_TEST(test_geometry_bad_size)
{
	const uint64_t bad[] = { 0, 512, MIB - 512, MIB + 1, MIB + 100,
	    64ull * MIB + 512, 1ull << 40 };
	struct fat_geometry g;
	char *cause = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(fat_geometry(bad[i], &g, &cause), -1);
		ck_assert_ptr_nonnull(cause);
		free(cause);
		cause = NULL;
	}
}
END_TEST

static const unsigned t_sizes[] = { 1, 2, 4, 8, 16, 32, 64 };

/* Build and read back at each size (loop test over t_sizes). */
START_TEST(test_roundtrip)
{
	uint64_t size = (uint64_t)t_sizes[_i] * MIB;
	struct fat_file f[4];
	struct fat_dirent ent;
	struct fat_mem m;
	struct fat *fs;
	size_t biglen = 3 * 4096 + 123, n;
	uint8_t *big = t_pattern(biglen, (uint8_t)_i), *img;
	char label[FAT_LABEL_MAX], *cause = NULL;
	uint32_t pos = 0;
	int count = 0;

	n = t_files(f, big, biglen);
	img = t_build(size, f, n);
	fs = t_open(&m, img, (size_t)size);
	ck_assert_ptr_nonnull(fs);
	ck_assert_int_eq(fat_type(fs), t_sizes[_i] <= 8 ? FAT_TYPE_12 :
	    FAT_TYPE_16);
	ck_assert_uint_eq(fat_serial(fs), T_SERIAL);
	ck_assert_uint_eq(fat_sector_size(fs), 512);
	ck_assert_int_eq(fat_label_read(fs, label, &cause), 0);
	ck_assert_str_eq(label, "VTOKEN");

	while (fat_readdir(fs, &pos, &ent, &cause) == 1) {
		ck_assert_int_lt(count, 4);
		ck_assert_str_eq(ent.name, f[count].name);
		ck_assert_uint_eq(ent.attr, f[count].attr);
		ck_assert_uint_eq(ent.size, f[count].len);
		ck_assert_uint_eq(ent.wdate, (2023 - 1980) << 9 | 11 << 5 | 14);
		ck_assert_uint_eq(ent.wtime, 22 << 11 | 13 << 5 | 10);
		count++;
	}
	ck_assert_int_eq(count, 4);

	t_expect_file(fs, "TOKEN.JSON", t_json, strlen(t_json));
	t_expect_file(fs, "token.json", t_json, strlen(t_json));
	t_expect_file(fs, "TOKEN~1.JSO", t_json, strlen(t_json));
	t_expect_file(fs, "Token.Key", t_key, strlen(t_key));
	t_expect_file(fs, "EMPTY.TXT", "", 0);
	t_expect_file(fs, "BIG.BIN", big, biglen);
	t_expect_fail(fs, "NOPE.TXT", 100, "no such file");
	t_expect_fail(fs, "TOKEN.JSON", strlen(t_json) - 1, "limit");
	t_expect_fail(fs, "bad/name", 100, "not a valid");
	ck_assert_int_eq(fat_find(fs, "TOKEN.KEY", &ent, NULL), 1);
	ck_assert_str_eq(ent.short_name, "TOKEN.KEY");
	ck_assert_int_eq(fat_find(fs, "TOKEN.JSON", &ent, NULL), 1);
	ck_assert_str_eq(ent.short_name, "TOKEN~1.JSO");
	ck_assert_int_eq(fat_find(fs, "TOKEN.JS", &ent, NULL), 0);
	fat_close(fs);
	free(img);
	free(big);
}
END_TEST

/* A write target that counts its calls. */
struct t_wbuf {
	uint8_t *buf;
	size_t len;
	int calls;
};

static int
t_write_mem(void *arg, uint64_t off, const void *buf, size_t len)
{
	struct t_wbuf *w = arg;

	ck_assert(off <= w->len && w->len - off >= len);
	memcpy(w->buf + off, buf, len);
	w->calls++;
	return 0;
}

/* fat_build_write onto zeros gives the same bytes as fat_build. */
START_TEST(test_build_write_same)
{
	struct fat_build_opts o = { 2 * MIB, "VTOKEN", 7, T_MTIME };
	struct fat_file f[4];
	struct t_wbuf w;
	uint8_t big[5000], *img;
	size_t n;

	memset(big, 0x5a, sizeof(big));
	n = t_files(f, big, sizeof(big));
	img = t_build(2 * MIB, f, n);
	w.buf = calloc(1, 2 * MIB);
	w.len = 2 * MIB;
	w.calls = 0;
	ck_assert_ptr_nonnull(w.buf);
	ck_assert_int_eq(fat_build_write(t_write_mem, &w, &o, f, n, NULL), 0);
	ck_assert_int_le(w.calls, 8);	/* data, 2 FATs, root, boot */
	put_le32(w.buf + 0x27, T_SERIAL);	/* only the serial differs */
	ck_assert(memcmp(w.buf, img, 2 * MIB) == 0);
	free(w.buf);
	free(img);
}
END_TEST

START_TEST(test_build_errors)
{
	struct fat_build_opts o = { MIB, "VTOKEN", 1, T_MTIME };
	struct fat_file f[2];
	uint8_t *buf = malloc(MIB), *huge = calloc(1, MIB);
	const char *badnames[] = { "", "a*b", "x/y", "trailing.", "sp ",
	    "a\tb", NULL };
	char *cause = NULL;

	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(huge);
	memset(f, 0, sizeof(f));
	for (size_t i = 0; i < sizeof(badnames) / sizeof(badnames[0]); i++) {
		f[0].name = badnames[i];
		ck_assert_int_eq(fat_build(buf, &o, f, 1, &cause), -1);
		ck_assert_ptr_nonnull(cause);
		free(cause);
		cause = NULL;
	}
	f[0].name = "a.txt";
	f[1].name = "A.TXT";
	ck_assert_int_eq(fat_build(buf, &o, f, 2, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "duplicate"));
	free(cause);
	f[1].name = "B.TXT";
	f[1].attr = FAT_ATTR_DIR;
	ck_assert_int_eq(fat_build(buf, &o, f, 2, NULL), -1);
	f[1].attr = 0;
	f[1].data = huge;
	f[1].len = MIB;
	ck_assert_int_eq(fat_build(buf, &o, f, 2, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "no space"));
	free(cause);
	f[1].len = 0;
	o.label = "lower ok";
	ck_assert_int_eq(fat_build(buf, &o, f, 2, NULL), 0);
	o.label = "TWELVE CHARS";
	ck_assert_int_eq(fat_build(buf, &o, f, 2, NULL), -1);
	o.label = " LEAD";
	ck_assert_int_eq(fat_build(buf, &o, f, 2, NULL), -1);
	o.label = "";
	ck_assert_int_eq(fat_build(buf, &o, f, 2, NULL), -1);
	o.label = NULL;
	o.size = MIB - 512;
	ck_assert_int_eq(fat_build(buf, &o, f, 2, NULL), -1);
	free(buf);
	free(huge);
}
END_TEST

/* A literal "TOKEN~1.JSO" pushes TOKEN.JSON's alias to ~2. */
START_TEST(test_alias_collision)
{
	struct fat_file f[2];
	struct fat_dirent ent;
	struct fat_mem m;
	struct fat *fs;
	uint8_t *img;

	memset(f, 0, sizeof(f));
	f[0].name = "TOKEN.JSON";
	f[0].data = "a";
	f[0].len = 1;
	f[1].name = "TOKEN~1.JSO";
	f[1].data = "b";
	f[1].len = 1;
	img = t_build(MIB, f, 2);
	fs = t_open(&m, img, MIB);
	ck_assert_ptr_nonnull(fs);
	ck_assert_int_eq(fat_find(fs, "TOKEN.JSON", &ent, NULL), 1);
	ck_assert_str_eq(ent.short_name, "TOKEN~2.JSO");
	t_expect_file(fs, "TOKEN.JSON", "a", 1);
	t_expect_file(fs, "TOKEN~1.JSO", "b", 1);
	t_expect_file(fs, "TOKEN~2.JSO", "a", 1);
	fat_close(fs);
	free(img);
}
END_TEST

START_TEST(test_names)
{
	uint8_t n[11];

	ck_assert_int_eq(fat_name_encode("token.key", n), 0);
	ck_assert(memcmp(n, "TOKEN   KEY", 11) == 0);
	ck_assert_int_eq(fat_name_encode("README", n), 0);
	ck_assert(memcmp(n, "README     ", 11) == 0);
	ck_assert_int_eq(fat_name_encode("TOKEN.JSON", n), -1);
	ck_assert_int_eq(fat_name_encode("NINECHARS.A", n), -1);
	ck_assert_int_eq(fat_name_encode("A.B.C", n), -1);
	ck_assert_int_eq(fat_name_encode(".X", n), -1);
	ck_assert_int_eq(fat_name_encode("A.", n), -1);
	ck_assert_int_eq(fat_name_encode("A B", n), -1);
	ck_assert(fat_name_long_ok("A long file name.txt"));
	ck_assert(!fat_name_long_ok("what?"));
	ck_assert(!fat_name_long_ok(""));
}
END_TEST

/* ---- Images from mkfs.vfat and mtools. ---- */

static char *
t_tool(const char *name)
{
	static const char *dirs[] = { "/usr/sbin", "/sbin", "/usr/bin",
	    "/bin", "/usr/local/sbin", "/usr/local/bin" };
	char *path;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (asprintf(&path, "%s/%s", dirs[i], name) < 0)
			return NULL;
		if (access(path, X_OK) == 0)
			return path;
		free(path);
	}
	return NULL;
}

static uint8_t *
t_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *buf;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fstat(fileno(f), &st), 0);
	*len = (size_t)st.st_size;
	buf = malloc(*len);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, *len, f), *len);
	fclose(f);
	return buf;
}

static void
t_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
t_run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

/* mkfs.vfat (loop over FAT12, FAT16, and FAT16 with 4096-byte sectors). */
START_TEST(test_mkfs_vfat)
{
	static const char *opts[] = { "", "", "-S 4096" };
	static const unsigned kib[] = { 2048, 20480, 32768 };
	static const int type[] = { FAT_TYPE_12, FAT_TYPE_16, 0 };
	char *mkfs = t_tool("mkfs.vfat"), *mcopy = t_tool("mcopy");
	char *mmd = t_tool("mmd"), *mdel = t_tool("mdel");
	char dir[PATH_MAX], label[FAT_LABEL_MAX];
	char *cause = NULL, img[PATH_MAX + 16], lfn[PATH_MAX + 32];
	struct fat_dirent ent;
	struct fat_mem m;
	struct fat *fs;
	uint8_t *buf;
	size_t len;
	uint32_t pos = 0;
	int seen_lfn = 0, seen_dir = 0, seen_gone = 0;

	/* scripts/deps.sh installs them: missing is a failure, not a skip. */
	ck_assert_msg(mkfs != NULL && mcopy != NULL && mmd != NULL &&
	    mdel != NULL, "mkfs.vfat or mtools not installed "
	    "(apt-get install dosfstools mtools)");
	ck_assert_int_eq(vt_tmpdir_make(dir, sizeof(dir), "check_fat"), 0);
	snprintf(img, sizeof(img), "%s/fs.img", dir);
	snprintf(lfn, sizeof(lfn), "%s/A long file name.txt", dir);
	t_run("%s -C %s -n MYLABEL -i 0badcafe %s %u >/dev/null", mkfs,
	    opts[_i], img, kib[_i]);
	t_run("printf '%%s' '%s' >%s/TOKEN.JSON", t_json, dir);
	t_run("printf 'hello' >'%s'", lfn);
	t_run("echo gone >%s/gone.txt", dir);
	t_run("%s -i %s %s/gone.txt '%s' %s/TOKEN.JSON ::",
	    mcopy, img, dir, lfn, dir);
	t_run("%s -i %s ::SUBDIR", mmd, img);
	t_run("%s -i %s ::gone.txt", mdel, img);

	buf = t_slurp(img, &len);
	fs = t_open(&m, buf, len);
	ck_assert_ptr_nonnull(fs);
	if (type[_i] != 0)
		ck_assert_int_eq(fat_type(fs), type[_i]);
	ck_assert_uint_eq(fat_sector_size(fs), _i == 2 ? 4096 : 512);
	ck_assert_uint_eq(fat_serial(fs), 0x0badcafe);
	ck_assert_int_eq(fat_label_read(fs, label, NULL), 0);
	ck_assert_str_eq(label, "MYLABEL");
	while (fat_readdir(fs, &pos, &ent, &cause) == 1) {
		if (strcmp(ent.name, "A long file name.txt") == 0) {
			ck_assert_uint_eq(ent.size, 5);
			seen_lfn++;
		}
		if (strcmp(ent.name, "SUBDIR") == 0) {
			ck_assert(ent.attr & FAT_ATTR_DIR);
			seen_dir++;
		}
		if (strcasecmp(ent.name, "gone.txt") == 0)
			seen_gone++;
	}
	ck_assert_ptr_null(cause);
	ck_assert_int_eq(seen_lfn, 1);
	ck_assert_int_eq(seen_dir, 1);
	ck_assert_int_eq(seen_gone, 0);
	t_expect_file(fs, "TOKEN.JSON", t_json, strlen(t_json));
	t_expect_file(fs, "a long FILE name.txt", "hello", 5);
	t_expect_fail(fs, "gone.txt", 100, "no such file");
	t_expect_fail(fs, "SUBDIR", 100, "no such file");
	fat_close(fs);
	free(buf);
	vt_tmpdir_remove(dir);
	free(mkfs), free(mcopy), free(mmd), free(mdel);
}
END_TEST

/* ---- Hostile images. ---- */

/* A 1 MiB FAT12 or 16 MiB FAT16 token image with a 3-cluster file. */
struct t_img {
	uint8_t *buf;
	size_t len;
	struct fat_geometry g;
	uint8_t *big;
	size_t biglen;
};

static void
t_img_make(struct t_img *t, uint64_t size)
{
	struct fat_file f[4];
	size_t n;

	ck_assert_int_eq(fat_geometry(size, &t->g, NULL), 0);
	t->biglen = 2 * t->g.sectors_per_cluster * 512 + 100;
	t->big = t_pattern(t->biglen, 3);
	n = t_files(f, t->big, t->biglen);
	t->buf = t_build(size, f, n);
	t->len = (size_t)size;
}

static void
t_img_free(struct t_img *t)
{
	free(t->buf);
	free(t->big);
}

/* Sets FAT entry c in both FATs. */
static void
t_fat_set(struct t_img *t, uint32_t c, uint32_t v)
{
	for (int k = 0; k < 2; k++) {
		uint8_t *fat = t->buf + ((size_t)t->g.reserved_sectors +
		    (size_t)k * t->g.fat_sectors) * 512;

		if (t->g.type == FAT_TYPE_16) {
			put_le16(fat + 2 * c, (uint16_t)v);
		} else if (c & 1) {
			uint8_t *p = fat + c + c / 2;

			p[0] = (uint8_t)((p[0] & 0x0f) | (v & 0x0f) << 4);
			p[1] = (uint8_t)(v >> 4);
		} else {
			uint8_t *p = fat + c + c / 2;

			p[0] = (uint8_t)v;
			p[1] = (uint8_t)((p[1] & 0xf0) | (v >> 8 & 0x0f));
		}
	}
}

/* The root directory entry in slot i (0 is the label). */
static uint8_t *
t_root(struct t_img *t, unsigned i)
{
	return t->buf + ((size_t)t->g.reserved_sectors +
	    2 * (size_t)t->g.fat_sectors) * 512 + 32 * i;
}

/* The short entry for BIG.BIN (alias BIG~1.BIN: "big.bin" is lower). */
static uint8_t *
t_big(struct t_img *t)
{
	for (unsigned i = 0; i < 512; i++) {
		if (memcmp(t_root(t, i), "BIG~1   BIN", 11) == 0)
			return t_root(t, i);
	}
	ck_abort_msg("no BIG~1.BIN entry");
	return NULL;
}

/* BIG.BIN's first cluster: after TOKEN.JSON's and TOKEN.KEY's. */
#define T_BIG_FIRST	4u

static void
t_expect_open_fails(const uint8_t *buf, size_t len, size_t dev,
    const char *why)
{
	struct fat_mem m = { buf, len };
	char *cause = NULL;

	ck_assert_ptr_null(fat_open(fat_mem_read, &m, dev, &cause));
	ck_assert_ptr_nonnull(cause);
	if (why != NULL)
		ck_assert_msg(strstr(cause, why) != NULL, "cause \"%s\" lacks "
		    "\"%s\"", cause, why);
	free(cause);
}

START_TEST(test_hostile_bpb)
{
	static const struct {
		unsigned off, width;
		uint32_t v;
		const char *why;
	} cases[] = {
		{ 0x0b, 2, 0, "bytes per sector" },
		{ 0x0b, 2, 3, "bytes per sector" },
		{ 0x0b, 2, 256, "bytes per sector" },
		{ 0x0b, 2, 768, "bytes per sector" },
		{ 0x0b, 2, 8192, "bytes per sector" },
		{ 0x0d, 1, 0, "sectors per cluster" },
		{ 0x0d, 1, 3, "sectors per cluster" },
		{ 0x0d, 1, 255, "sectors per cluster" },
		{ 0x0e, 2, 0, "reserved" },
		{ 0x0e, 2, 0xffff, "no room" },
		{ 0x10, 1, 0, "number of FATs" },
		{ 0x10, 1, 200, "number of FATs" },
		{ 0x11, 2, 0, "FAT32" },
		{ 0x11, 2, 0xffff, NULL },
		{ 0x13, 2, 0, "zero total" },
		{ 0x13, 2, 40, "no room" },
		{ 0x15, 1, 0x12, "media" },
		{ 0x16, 2, 0, "FAT32" },
		{ 0x16, 2, 1, "too small" },
		{ 0x16, 2, 0xffff, NULL },
		{ 0x1fe, 1, 0, "signature" },
		{ 0x00, 1, 0x33, "jump" },
	};
	struct t_img t;
	uint8_t save[512];

	t_img_make(&t, MIB);
	memcpy(save, t.buf, sizeof(save));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *p = t.buf + cases[i].off;

		if (cases[i].width == 1)
			*p = (uint8_t)cases[i].v;
		else
			put_le16(p, (uint16_t)cases[i].v);
		t_expect_open_fails(t.buf, t.len, t.len, cases[i].why);
		memcpy(t.buf, save, sizeof(save));
	}
	/* TotSec32 when TotSec16 is 0: huge, and zero. */
	put_le16(t.buf + 0x13, 0);
	put_le32(t.buf + 0x20, 0xffffffff);
	t_expect_open_fails(t.buf, t.len, t.len, "larger than the device");
	put_le32(t.buf + 0x20, 0);
	t_expect_open_fails(t.buf, t.len, t.len, "zero total");
	t_img_free(&t);
}
END_TEST

START_TEST(test_hostile_blank)
{
	uint8_t *zero = calloc(1, MIB), *rnd = calloc(1, MIB);
	uint64_t s = 0x9e3779b97f4a7c15ull;

	ck_assert_ptr_nonnull(zero);
	ck_assert_ptr_nonnull(rnd);
	t_expect_open_fails(zero, MIB, MIB, NULL);
	t_expect_open_fails(zero, MIB, 0, "too small");
	t_expect_open_fails(zero, MIB, 511, "too small");
	for (int i = 0; i < 2000; i++) {
		struct fat_mem m = { rnd, MIB };
		struct fat *fs;

		for (size_t j = 0; j < 4096; j += 8) {
			uint64_t v = t_rand(&s);

			memcpy(rnd + j, &v, 8);
		}
		fs = fat_open(fat_mem_read, &m, MIB, NULL);
		if (fs != NULL) {
			t_expect_fail(fs, "TOKEN.JSON", 4096, NULL);
			fat_close(fs);
		}
	}
	free(zero);
	free(rnd);
}
END_TEST

START_TEST(test_hostile_truncated)
{
	struct t_img t;
	struct fat_mem m;
	struct fat *fs;

	t_img_make(&t, 4 * MIB);
	t_expect_open_fails(t.buf, t.len, MIB, "larger than the device");
	t_expect_open_fails(t.buf, t.len, t.len - 512, "larger than the "
	    "device");
	t_expect_open_fails(t.buf, 100, 100, "too small");
	/* Device claims the full size but the bytes are not there. */
	m.buf = t.buf;
	m.len = (size_t)t.g.data_start * 512;
	fs = fat_open(fat_mem_read, &m, t.len, NULL);
	ck_assert_ptr_nonnull(fs);
	t_expect_fail(fs, "BIG.BIN", MIB, "read error");
	fat_close(fs);
	t_img_free(&t);
}
END_TEST

/* Chains: loop over the FAT12 and the FAT16 image. */
START_TEST(test_hostile_chains)
{
	struct t_img t;
	struct fat_mem m;
	struct fat *fs;
	uint32_t eoc, c = T_BIG_FIRST;
	uint8_t save[64 * 1024];

	t_img_make(&t, _i == 0 ? MIB : 16 * MIB);
	eoc = t.g.type == FAT_TYPE_12 ? 0xfff : 0xffff;
	memcpy(save, t.buf, sizeof(save));
#define T_CHAIN_CASE(setup, why) do {					\
	memcpy(t.buf, save, sizeof(save));				\
	setup;								\
	fs = t_open(&m, t.buf, t.len);					\
	ck_assert_ptr_nonnull(fs);					\
	t_expect_fail(fs, "BIG.BIN", MIB, why);				\
	fat_close(fs);							\
} while (0)
	T_CHAIN_CASE(t_fat_set(&t, c + 1, c), "loops");
	T_CHAIN_CASE(t_fat_set(&t, c, c), "loops");
	T_CHAIN_CASE(t_fat_set(&t, c, t.g.clusters + 2), "outside");
	T_CHAIN_CASE(t_fat_set(&t, c, eoc - 15), "outside");
	T_CHAIN_CASE(t_fat_set(&t, c, 0), "free cluster");
	T_CHAIN_CASE(t_fat_set(&t, c, 1), "free cluster");
	T_CHAIN_CASE(t_fat_set(&t, c, eoc - 8), "bad cluster");
	T_CHAIN_CASE(t_fat_set(&t, c + 1, eoc), "ends before");
	T_CHAIN_CASE(t_fat_set(&t, c + 2, c + 3), "longer");
	T_CHAIN_CASE(put_le16(t_big(&t) + 0x1a, 0), "first cluster");
	T_CHAIN_CASE(put_le16(t_big(&t) + 0x1a, 1), "first cluster");
	T_CHAIN_CASE(put_le16(t_big(&t) + 0x1a,
	    (uint16_t)(t.g.clusters + 2)), "first cluster");
	T_CHAIN_CASE(put_le32(t_big(&t) + 0x1c, 0xfffffff0u), "limit");
	T_CHAIN_CASE(put_le32(t_big(&t) + 0x1c, 0x7fffffffu), "limit");
#undef T_CHAIN_CASE
	/* Cap: a file larger than the cap fails before any allocation. */
	memcpy(t.buf, save, sizeof(save));
	fs = t_open(&m, t.buf, t.len);
	ck_assert_ptr_nonnull(fs);
	t_expect_fail(fs, "BIG.BIN", t.biglen - 1, "limit");
	t_expect_file(fs, "BIG.BIN", t.big, t.biglen);
	fat_close(fs);
	/* Huge size with no cap: still refused (the volume is smaller). */
	put_le32(t_big(&t) + 0x1c, 0xfffffff0u);
	fs = t_open(&m, t.buf, t.len);
	ck_assert_ptr_nonnull(fs);
	t_expect_fail(fs, "BIG.BIN", SIZE_MAX, "volume");
	fat_close(fs);
	t_img_free(&t);
}
END_TEST

START_TEST(test_hostile_lfn)
{
	struct t_img t;
	struct fat_dirent ent;
	struct fat_mem m;
	struct fat *fs;
	uint8_t *lfn;

	t_img_make(&t, MIB);
	lfn = t_root(&t, 1);		/* TOKEN.JSON's only LFN entry */
	ck_assert_uint_eq(lfn[0], 0x41);
	ck_assert_uint_eq(lfn[11], 0x0f);
	lfn[13] ^= 1;			/* checksum no longer matches */
	fs = t_open(&m, t.buf, t.len);
	ck_assert_ptr_nonnull(fs);
	ck_assert_int_eq(fat_find(fs, "TOKEN.JSON", &ent, NULL), 0);
	ck_assert_int_eq(fat_find(fs, "TOKEN~1.JSO", &ent, NULL), 1);
	ck_assert_str_eq(ent.name, "TOKEN~1.JSO");
	fat_close(fs);
	lfn[13] ^= 1;
	lfn[0] = 0x5f;			/* sequence number 31 */
	fs = t_open(&m, t.buf, t.len);
	ck_assert_ptr_nonnull(fs);
	ck_assert_int_eq(fat_find(fs, "TOKEN.JSON", &ent, NULL), 0);
	fat_close(fs);
	lfn[0] = 0x42;			/* claims two entries, has one */
	fs = t_open(&m, t.buf, t.len);
	ck_assert_ptr_nonnull(fs);
	ck_assert_int_eq(fat_find(fs, "TOKEN.JSON", &ent, NULL), 0);
	fat_close(fs);
	lfn[0] = 0x41;
	put_le16(lfn + 1, 0x263a);	/* a non-ASCII character */
	fs = t_open(&m, t.buf, t.len);
	ck_assert_ptr_nonnull(fs);
	ck_assert_int_eq(fat_find(fs, "?OKEN.JSON", &ent, NULL), -1);
	ck_assert_int_eq(fat_find(fs, "TOKEN~1.JSO", &ent, NULL), 1);
	ck_assert_str_eq(ent.name, "?OKEN.JSON");
	fat_close(fs);
	t_img_free(&t);
}
END_TEST

/* A device whose reads fail from limit on. */
struct t_failing {
	uint64_t limit;
	struct fat_mem m;
};

static int
t_read_fails(void *arg, uint64_t off, void *buf, size_t len)
{
	struct t_failing *a = arg;

	return off + len > a->limit ? -1 : fat_mem_read(&a->m, off, buf, len);
}

START_TEST(test_hostile_read_errors)
{
	struct t_failing a;
	struct t_img t;
	struct fat *fs;
	char *cause = NULL;

	t_img_make(&t, MIB);
	a.m.buf = t.buf;
	a.m.len = t.len;
	a.limit = 0;
	ck_assert_ptr_null(fat_open(t_read_fails, &a, t.len, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "boot sector"));
	free(cause);
	a.limit = 512;		/* boot sector only */
	fs = fat_open(t_read_fails, &a, t.len, NULL);
	ck_assert_ptr_nonnull(fs);
	t_expect_fail(fs, "TOKEN.JSON", 4096, "read error");
	fat_close(fs);
	a.limit = (uint64_t)t.g.data_start * 512;	/* no data */
	fs = fat_open(t_read_fails, &a, t.len, NULL);
	ck_assert_ptr_nonnull(fs);
	t_expect_fail(fs, "TOKEN.JSON", 4096, "read error");
	fat_close(fs);
	t_img_free(&t);
}
END_TEST

/*
 * Random corruption of a valid image's metadata (boot sector, FATs,
 * root directory): whatever happens, no crash, no leak, and any data
 * returned stays within the cap.
 */
START_TEST(test_hostile_mutations)
{
	const char *names[] = { "TOKEN.JSON", "TOKEN.KEY", "BIG.BIN",
	    "EMPTY.TXT" };
	uint64_t s = 0x243f6a8885a308d3ull + (uint64_t)_i;
	struct t_img t;
	uint8_t *save;
	size_t meta;

	t_img_make(&t, _i == 0 ? MIB : 16 * MIB);
	meta = (size_t)t.g.data_start * 512;
	save = malloc(meta);
	ck_assert_ptr_nonnull(save);
	memcpy(save, t.buf, meta);
	for (int i = 0; i < 3000; i++) {
		struct fat_dirent ent;
		struct fat_mem m = { t.buf, t.len };
		struct fat *fs;
		uint32_t pos = 0;
		int flips = 1 + (int)(t_rand(&s) % 8);
		char label[FAT_LABEL_MAX];

		for (int k = 0; k < flips; k++) {
			uint64_t r = t_rand(&s);
			/* Half the hits on the boot sector and root. */
			size_t at = r & 1 ? (size_t)(r >> 8) % 512 :
			    (size_t)(r >> 8) % meta;

			t.buf[at] = (uint8_t)(r >> 40);
		}
		fs = fat_open(fat_mem_read, &m, t.len, NULL);
		if (fs != NULL) {
			for (int n = 0; fat_readdir(fs, &pos, &ent, NULL) == 1;
			    n++)
				ck_assert_int_lt(n, 65536);
			(void)fat_label_read(fs, label, NULL);
			for (size_t k = 0; k < 4; k++) {
				uint8_t *data = NULL;
				size_t len = 0;
				char *cause = NULL;

				if (fat_read_file(fs, names[k], 8192, &data,
				    &len, &cause) == 0)
					ck_assert_uint_le(len, 8192);
				free(data);
				free(cause);
			}
			fat_close(fs);
		}
		memcpy(t.buf, save, meta);
	}
	free(save);
	t_img_free(&t);
}
END_TEST

static Suite *
fat_suite(void)
{
	Suite *s = suite_create("fat");
	TCase *tc;

	tc = tcase_create("build");
	tcase_add_test(tc, test_geometry_sweep);
	tcase_add_test(tc, test_geometry_types);
	tcase_add_test(tc, test_geometry_bad_size);
	tcase_add_loop_test(tc, test_roundtrip, 0,
	    sizeof(t_sizes) / sizeof(t_sizes[0]));
	tcase_add_test(tc, test_build_write_same);
	tcase_add_test(tc, test_build_errors);
	tcase_add_test(tc, test_alias_collision);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("interop");
	tcase_add_loop_test(tc, test_mkfs_vfat, 0, 3);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_hostile_bpb);
	tcase_add_test(tc, test_hostile_blank);
	tcase_add_test(tc, test_hostile_truncated);
	tcase_add_loop_test(tc, test_hostile_chains, 0, 2);
	tcase_add_test(tc, test_hostile_lfn);
	tcase_add_test(tc, test_hostile_read_errors);
	tcase_add_loop_test(tc, test_hostile_mutations, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(fat_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);	/* CK_VERBOSITY, default normal */
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
