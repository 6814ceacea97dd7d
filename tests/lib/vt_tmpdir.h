/*
 * vt_tmpdir: private temporary directories for tests, made with mkdtemp
 * under $TMPDIR (/tmp when unset or empty) and removed with all they
 * hold.  Nothing here calls Check, so unit tests, the daemon spawner and
 * threads may all use it.
 */
#ifndef VTOKEN_TEST_VT_TMPDIR_H
#define VTOKEN_TEST_VT_TMPDIR_H

#include <limits.h>
#include <stddef.h>

/*
 * Creates "$TMPDIR/<prefix>.XXXXXX" and writes its name into dir (the
 * caller's buffer).  0, or -1 with errno set and dir "".
 */
int vt_tmpdir_make(char *dir, size_t len, const char *prefix);
/*
 * Removes dir and everything below it, as far as it can (symbolic links
 * are removed, never followed).  "" does nothing.
 */
void vt_tmpdir_remove(const char *dir);

/*
 * Fixtures (Check's void (*)(void)) for a test program that needs one
 * directory at a time, named after the program: vt_tmpdir_setup() makes
 * it into vt_tmpdir, or prints why not and aborts, which fails the test;
 * vt_tmpdir_teardown() removes it and empties vt_tmpdir.
 */
extern char vt_tmpdir[PATH_MAX];
void vt_tmpdir_setup(void);
void vt_tmpdir_teardown(void);

#endif
