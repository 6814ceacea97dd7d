/*
 * store_fixture: see store_fixture.h.
 */
#include "store_fixture.h"
#include "vt_tmpdir.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>

static char store_fx_path[PATH_MAX + 8];

void
store_fx_setup(void)
{
	vt_tmpdir_setup();
	snprintf(store_fx_path, sizeof(store_fx_path), "%s/t.db", vt_tmpdir);
}

void
store_fx_teardown(void)
{
	vt_tmpdir_teardown();
	store_fx_path[0] = '\0';
}

const char *
store_fx_db(void)
{
	return store_fx_path;
}

struct store *
store_fx_open(void)
{
	char *cause = NULL;
	struct store *st = store_open("sqlite", store_fx_path, NULL, &cause);

	ck_assert_msg(st != NULL, "%s", cause ? cause : "?");
	return st;
}
