/*
 * vt_tmpdir: mkdtemp and recursive removal (see vt_tmpdir.h).
 */
#include "vt_tmpdir.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char vt_tmpdir[PATH_MAX];

int
vt_tmpdir_make(char *dir, size_t len, const char *prefix)
{
	const char *base = getenv("TMPDIR");
	int n;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	n = snprintf(dir, len, "%s/%s.XXXXXX", base, prefix);
	if (n < 0 || (size_t)n >= len) {
		if (len > 0)
			dir[0] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mkdtemp(dir) == NULL) {
		dir[0] = '\0';
		return -1;
	}
	return 0;
}

/* Keeps going past an entry it cannot remove: clean up all it can. */
static int
vt_tmpdir_rm_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

void
vt_tmpdir_remove(const char *dir)
{
	if (dir[0] != '\0')
		(void)nftw(dir, vt_tmpdir_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void
vt_tmpdir_setup(void)
{
	if (vt_tmpdir_make(vt_tmpdir, sizeof(vt_tmpdir),
	    program_invocation_short_name) < 0) {
		fprintf(stderr, "vt_tmpdir: mkdtemp: %s\n", strerror(errno));
		abort();
	}
}

void
vt_tmpdir_teardown(void)
{
	vt_tmpdir_remove(vt_tmpdir);
	vt_tmpdir[0] = '\0';
}
