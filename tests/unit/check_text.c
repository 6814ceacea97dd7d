/*
 * check_text: the printable filters and the UTF-8 cut (common/text.h).
 */
#include <check.h>
#include <string.h>

#include "common/text.h"

START_TEST(printable)
{
	char out[8];

	ck_assert_str_eq(text_printable("a\nb\x1b[", out, sizeof(out)),
	    "a?b?[");
	ck_assert_str_eq(text_printable("0123456789", out, sizeof(out)),
	    "0123456");
}
END_TEST

START_TEST(utf8_cut)
{
	char out[6];

	/* "é" is 2 bytes, "€" 3: never half of one. */
	ck_assert_str_eq(text_utf8_copy("abcd\xc3\xa9", out, sizeof(out)),
	    "abcd");
	ck_assert_str_eq(text_utf8_copy("ab\xe2\x82\xac" "cd", out,
	    sizeof(out)), "ab\xe2\x82\xac");
	ck_assert_str_eq(text_utf8_copy("a\xe2\x82\xac\xe2\x82\xac", out,
	    sizeof(out)), "a\xe2\x82\xac");
	ck_assert_str_eq(text_utf8_copy("short", out, sizeof(out)), "short");
	ck_assert_str_eq(text_utf8_copy("", out, 1), "");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("text");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, printable);
	tcase_add_test(tc, utf8_cut);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
