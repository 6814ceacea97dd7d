/*
 * check_logrl: the per-cause log rate limit (src/common/logrl.c) with an
 * injected clock: the first line goes out, lines within a second are
 * dropped and counted, the next line after the second carries the count,
 * and two causes do not share a limit.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/logrl.h"

START_TEST(one_a_second)
{
	struct logrl rl;
	unsigned long n = 99;

	memset(&rl, 0, sizeof(rl));
	ck_assert(logrl_take(&rl, 100.0, &n));
	ck_assert_uint_eq(n, 0);
	for (int i = 0; i < 500; i++)
		ck_assert(!logrl_take(&rl, 100.0 + i * 0.001, &n));
	ck_assert(!logrl_take(&rl, 100.999, &n));
	ck_assert(logrl_take(&rl, 101.0, &n));
	ck_assert_uint_eq(n, 501);
	/* A quiet cause speaks at once, with nothing to report. */
	ck_assert(logrl_take(&rl, 500.0, &n));
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(causes_apart)
{
	struct logrl a, b;
	unsigned long n;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ck_assert(logrl_take(&a, 1.0, &n));
	ck_assert(!logrl_take(&a, 1.5, &n));
	ck_assert(logrl_take(&b, 1.5, &n));
	ck_assert_uint_eq(n, 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("logrl");
	TCase *tc = tcase_create("logrl");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, one_a_second);
	tcase_add_test(tc, causes_apart);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
