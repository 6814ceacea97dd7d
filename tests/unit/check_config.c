/*
 * check_config: the YAML configuration loader (src/server/config.[ch]):
 * defaults, a full valid file, FILE:LINE:COL error messages collected in
 * one pass, bounds, hex and K/M values, listen addresses, serve_images and
 * config_restart_key().  Fixtures live in tests/data/config/.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/yamlconf.h"
#include "server/config.h"
#include "../lib/vt_tmpdir.h"

static char datadir[PATH_MAX];

/* tests/data/config, found from this file's path as the compiler saw it. */
static void
datadir_init(void)
{
	const char *f = __FILE__;
	const char *slash = strrchr(f, '/');
	int n;

	ck_assert_msg(slash != NULL, "need an absolute __FILE__: %s", f);
	n = snprintf(datadir, sizeof(datadir), "%.*s/../data/config",
	    (int)(slash - f), f);
	ck_assert(n > 0 && (size_t)n < sizeof(datadir));
	ck_assert_msg(access(datadir, R_OK) == 0, "%s: %s", datadir,
	    strerror(errno));
}

/* Returns the fixture's path in a static buffer. */
static const char *
fixture(const char *name)
{
	static char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", datadir, name);

	ck_assert(n > 0 && (size_t)n < sizeof(path));
	return path;
}

/* Loads a fixture that must fail; returns the errors (caller frees). */
static char *
load_fail(const char *path)
{
	char *errors = (char *)1;
	struct vtd_config *cfg = config_load(path, &errors);

	ck_assert_msg(cfg == NULL, "%s loaded", path);
	ck_assert_ptr_nonnull(errors);
	return errors;
}

static struct vtd_config *
load_ok(const char *path)
{
	char *errors = NULL;
	struct vtd_config *cfg = config_load(path, &errors);

	ck_assert_msg(cfg != NULL, "%s", errors != NULL ? errors : "?");
	ck_assert_ptr_null(errors);
	return cfg;
}

/* Builds "PATH:LINE:COL: MSG" for the fixture. */
static char *
errline(const char *path, unsigned line, unsigned col, const char *msg)
{
	char *s;

	ck_assert_int_ge(asprintf(&s, "%s:%u:%u: %s", path, line, col, msg),
	    0);
	return s;
}

static void
expect_error_line(const char *errors, const char *path, unsigned line,
    unsigned col, const char *msg)
{
	char *want = errline(path, line, col, msg);

	ck_assert_msg(strstr(errors, want) != NULL,
	    "missing \"%s\" in:\n%s", want, errors);
	free(want);
}

static size_t
count_lines(const char *s)
{
	size_t n = 1;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

/* --- defaults and good files -------------------------------------------- */

START_TEST(defaults)
{
	struct vtd_config *cfg = config_default();
	const struct sockaddr_in *sin =
	    (const struct sockaddr_in *)&cfg->usbip.addr;

	ck_assert_str_eq(cfg->data_dir, "./var");
	ck_assert_int_eq(cfg->log_level, LOG_LEVEL_INFO);
	ck_assert_str_eq(cfg->usbip.listen, "127.0.0.1:3240");
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_uint_eq(ntohs(sin->sin_port), 3240);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	ck_assert_uint_eq(cfg->usbip.addrlen, sizeof(struct sockaddr_in));
	ck_assert_uint_eq(cfg->usbip.max_sessions, 4096);
	ck_assert_uint_eq(cfg->usbip.max_per_peer, 16);
	ck_assert_uint_eq(cfg->usbip.handshake_timeout, 10);
	ck_assert_uint_eq(cfg->usbip.pdu_timeout, 30);
	ck_assert_uint_eq(cfg->usbip.tx_timeout, 30);
	ck_assert_uint_eq(cfg->usbip.max_urbs, 64);
	ck_assert_uint_eq(cfg->usbip.max_bulk, 1024 * 1024);
	ck_assert_uint_eq(cfg->usbip.max_control, 65535);
	ck_assert_uint_eq(cfg->usb.vendor_id, 0x1209);
	ck_assert_uint_eq(cfg->usb.product_id, 0x0001);
	ck_assert_str_eq(cfg->usb.manufacturer, "vtoken");
	ck_assert_str_eq(cfg->usb.product, "vtoken virtual token");
	ck_assert_uint_eq(cfg->nimages, 0);
	config_free(cfg);
	config_free(NULL);
}
END_TEST

START_TEST(full_file)
{
	struct vtd_config *cfg = load_ok(fixture("full.yaml"));
	const struct sockaddr_in6 *sin6 =
	    (const struct sockaddr_in6 *)&cfg->usbip.addr;

	ck_assert_str_eq(cfg->data_dir, "/var/lib/vtoken");
	ck_assert_int_eq(cfg->log_level, LOG_LEVEL_DEBUG);
	ck_assert_str_eq(cfg->usbip.listen, "[::1]:3241");
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_uint_eq(ntohs(sin6->sin6_port), 3241);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	ck_assert_uint_eq(cfg->usbip.addrlen, sizeof(struct sockaddr_in6));
	ck_assert_uint_eq(cfg->usbip.max_sessions, 100);
	ck_assert_uint_eq(cfg->usbip.max_per_peer, 4);
	ck_assert_uint_eq(cfg->usbip.handshake_timeout, 5);
	ck_assert_uint_eq(cfg->usbip.pdu_timeout, 20);
	ck_assert_uint_eq(cfg->usbip.tx_timeout, 15);
	ck_assert_uint_eq(cfg->usbip.max_urbs, 32);
	ck_assert_uint_eq(cfg->usbip.max_bulk, 256 * 1024);
	ck_assert_uint_eq(cfg->usbip.max_control, 4096);
	ck_assert_uint_eq(cfg->usb.vendor_id, 0x1d6b);
	ck_assert_uint_eq(cfg->usb.product_id, 0x0104);
	ck_assert_str_eq(cfg->usb.manufacturer, "Example Corp");
	ck_assert_str_eq(cfg->usb.product, "Example Token");
	ck_assert_uint_eq(cfg->nimages, 3);
	ck_assert_str_eq(cfg->images[0].path, "/srv/a.img");
	ck_assert(!cfg->images[0].writable);
	ck_assert_str_eq(cfg->images[1].path, "/srv/b.img");
	ck_assert(cfg->images[1].writable);
	ck_assert_str_eq(cfg->images[2].path, "/srv/c.img");
	ck_assert(!cfg->images[2].writable);
	config_free(cfg);
}
END_TEST

START_TEST(empty_file_defaults)
{
	struct vtd_config *cfg = load_ok(fixture("empty.yaml"));

	ck_assert_str_eq(cfg->data_dir, "./var");
	ck_assert_uint_eq(cfg->usbip.max_urbs, 64);
	config_free(cfg);
}
END_TEST

START_TEST(sizes_k_m)
{
	struct vtd_config *cfg = load_ok(fixture("sizes.yaml"));

	ck_assert_uint_eq(cfg->usbip.max_bulk, 16u << 20);
	ck_assert_uint_eq(cfg->usbip.max_control, 1024);
	config_free(cfg);
}
END_TEST

START_TEST(hex_values)
{
	struct vtd_config *cfg = load_ok(fixture("hex.yaml"));

	ck_assert_uint_eq(cfg->usb.vendor_id, 0xffff);
	ck_assert_uint_eq(cfg->usb.product_id, 0);
	ck_assert_uint_eq(cfg->usbip.max_urbs, 64);
	ck_assert_uint_eq(cfg->usbip.max_bulk, 4096);
	config_free(cfg);
}
END_TEST

/* --- errors -------------------------------------------------------------- */

START_TEST(unknown_key_exact)
{
	const char *path = fixture("unknown_key.yaml");
	char *errors = load_fail(path);
	char *want = errline(path, 4, 3, "unknown key \"usbip.max_sesions\"");

	ck_assert_str_eq(errors, want);
	free(want);
	free(errors);
}
END_TEST

START_TEST(errors_collected)
{
	const char *path = fixture("multi_error.yaml");
	char *errors = load_fail(path);

	ck_assert_uint_eq(count_lines(errors), 5);
	expect_error_line(errors, path, 1, 1, "unknown key \"bogus\"");
	expect_error_line(errors, path, 2, 12,
	    "log_level: expected error, warn, info or debug");
	expect_error_line(errors, path, 4, 13,
	    "usbip.max_urbs: value out of range");
	expect_error_line(errors, path, 5, 11, "usbip.listen: ");
	expect_error_line(errors, path, 7, 14,
	    "usb.vendor_id: value out of range");
	/* In file order, one per line. */
	ck_assert(strstr(errors, ":1:1: ") < strstr(errors, ":2:12: "));
	ck_assert(strstr(errors, ":5:11: ") < strstr(errors, ":7:14: "));
	free(errors);
}
END_TEST

START_TEST(out_of_range)
{
	const char *path = fixture("range.yaml");
	char *errors = load_fail(path);

	ck_assert_uint_eq(count_lines(errors), 8);
	expect_error_line(errors, path, 2, 17,
	    "usbip.max_sessions: expected a non-negative integer");
	expect_error_line(errors, path, 3, 22,
	    "usbip.handshake_timeout: value out of range");
	expect_error_line(errors, path, 4, 16,
	    "usbip.pdu_timeout: value out of range");
	expect_error_line(errors, path, 5, 22,
	    "usbip.max_bulk_transfer: value out of range");
	expect_error_line(errors, path, 6, 25,
	    "usbip.max_control_transfer: value out of range");
	expect_error_line(errors, path, 7, 13,
	    "usbip.max_urbs: value out of range");
	expect_error_line(errors, path, 9, 15,
	    "usb.product_id: value out of range");
	expect_error_line(errors, path, 10, 17,
	    "usb.manufacturer: string length out of range");
	free(errors);
}
END_TEST

START_TEST(bad_sizes)
{
	const char *path = fixture("bad_sizes.yaml");
	char *errors = load_fail(path);

	ck_assert_uint_eq(count_lines(errors), 2);
	expect_error_line(errors, path, 2, 22, "usbip.max_bulk_transfer: "
	    "expected a size such as 65536, 64K or 1M");
	expect_error_line(errors, path, 3, 25, "usbip.max_control_transfer: "
	    "expected a size such as 65536, 64K or 1M");
	free(errors);
}
END_TEST

START_TEST(bad_numbers)
{
	const char *path = fixture("bad_numbers.yaml");
	char *errors = load_fail(path);

	/* Blanks, signs and a doubled prefix are not numbers. */
	ck_assert_uint_eq(count_lines(errors), 7);
	expect_error_line(errors, path, 2, 14,
	    "usb.vendor_id: expected a non-negative integer");
	expect_error_line(errors, path, 3, 15,
	    "usb.product_id: expected a non-negative integer");
	expect_error_line(errors, path, 5, 13,
	    "usbip.max_urbs: expected a non-negative integer");
	expect_error_line(errors, path, 6, 17,
	    "usbip.max_sessions: expected a non-negative integer");
	expect_error_line(errors, path, 7, 17,
	    "usbip.max_per_peer: expected a non-negative integer");
	expect_error_line(errors, path, 8, 16,
	    "usbip.pdu_timeout: expected a non-negative integer");
	expect_error_line(errors, path, 9, 15,
	    "usbip.tx_timeout: expected a non-negative integer");
	free(errors);
}
END_TEST

START_TEST(bad_listen)
{
	const char *path = fixture("bad_listen.yaml");
	char *errors = load_fail(path);

	expect_error_line(errors, path, 2, 11, "usbip.listen: bad IPv4 "
	    "address (IPv6 needs [brackets])");
	free(errors);
}
END_TEST

START_TEST(images_errors)
{
	const char *path = fixture("images.yaml");
	char *errors = load_fail(path);

	ck_assert_uint_eq(count_lines(errors), 2);
	expect_error_line(errors, path, 2, 5, "serve_images: empty image path");
	expect_error_line(errors, path, 4, 5,
	    "serve_images: expected \"PATH[:rw]\"");
	free(errors);
}
END_TEST

START_TEST(images_not_list)
{
	const char *path = fixture("images_not_list.yaml");
	char *errors = load_fail(path);
	char *want = errline(path, 1, 15, "serve_images: expected a list");

	ck_assert_str_eq(errors, want);
	free(want);
	free(errors);
}
END_TEST

START_TEST(section_not_mapping)
{
	const char *path = fixture("not_mapping.yaml");
	char *errors = load_fail(path);

	ck_assert_uint_eq(count_lines(errors), 2);
	expect_error_line(errors, path, 1, 8, "usbip: expected a mapping");
	expect_error_line(errors, path, 3, 3, "usb: expected a mapping");
	free(errors);
}
END_TEST

START_TEST(toplevel_scalar)
{
	const char *path = fixture("toplevel_scalar.yaml");
	char *errors = load_fail(path);
	char *want = errline(path, 1, 1, "expected a mapping of keys");

	ck_assert_str_eq(errors, want);
	free(want);
	free(errors);
}
END_TEST

START_TEST(syntax_error)
{
	const char *path = fixture("syntax.yaml");
	char *errors = load_fail(path);
	char *prefix;

	/* libyaml reports the problem with a real (1-based) position. */
	ck_assert_int_ge(asprintf(&prefix, "%s:", path), 0);
	ck_assert_msg(strncmp(errors, prefix, strlen(prefix)) == 0, "%s",
	    errors);
	ck_assert_ptr_null(strstr(errors, ":0:0: "));
	ck_assert_uint_eq(count_lines(errors), 1);
	free(prefix);
	free(errors);
}
END_TEST

/* A key given twice is an error at the second one, in any mapping. */
START_TEST(duplicate_keys)
{
	const char *path = fixture("duplicate_keys.yaml");
	char *errors = load_fail(path);

	expect_error_line(errors, path, 4, 3,
	    "\"max_urbs\" given twice in one mapping");
	expect_error_line(errors, path, 6, 1,
	    "\"usbip\" given twice in one mapping");
	free(errors);
}
END_TEST

/* Only one document is read, so a second one is an error, not ignored. */
START_TEST(two_documents)
{
	const char *path = fixture("two_documents.yaml");
	char *errors = load_fail(path), *path2;
	FILE *f;

	expect_error_line(errors, path, 3, 1,
	    "a second YAML document (one is read)");
	free(errors);
	/* A trailing "---" alone is fine. */
	ck_assert_int_ge(asprintf(&path2, "%s/trailing.yaml", vt_tmpdir), 0);
	f = fopen(path2, "w");
	ck_assert_ptr_nonnull(f);
	fputs("log_level: info\n---\n", f);
	ck_assert_int_eq(fclose(f), 0);
	config_free(load_ok(path2));
	free(path2);
}
END_TEST

/* A reader error (invalid UTF-8) has a real position, not 0:0 or 1:1. */
START_TEST(bad_utf8_position)
{
	const char *path = fixture("bad_utf8.yaml");
	char *errors = load_fail(path);
	char *want;

	ck_assert_int_ge(asprintf(&want, "%s:3:", path), 0);
	ck_assert_msg(strncmp(errors, want, strlen(want)) == 0, "%s", errors);
	free(want);
	free(errors);
}
END_TEST

/* Errors past the cap are counted, not collected one by one. */
START_TEST(many_errors_capped)
{
	char *path, *errors;
	FILE *f;

	ck_assert_int_ge(asprintf(&path, "%s/many.yaml", vt_tmpdir), 0);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 20000; i++)
		fprintf(f, "bogus_%d: 1\n", i);
	ck_assert_int_eq(fclose(f), 0);
	errors = load_fail(path);
	ck_assert_uint_eq(count_lines(errors), YAMLCONF_MAX_ERRS + 1);
	/* Still FILE:LINE:COL, at the first error not shown (line 51). */
	expect_error_line(errors, path, 51, 1, "further errors not shown");
	free(errors);
	free(path);
}
END_TEST

START_TEST(missing_file)
{
	char *path, *errors;

	ck_assert_int_ge(asprintf(&path, "%s/nope.yaml", vt_tmpdir), 0);
	errors = load_fail(path);
	ck_assert_msg(strncmp(errors, path, strlen(path)) == 0, "%s", errors);
	ck_assert_ptr_nonnull(strstr(errors, strerror(ENOENT)));
	free(errors);
	free(path);
}
END_TEST

START_TEST(file_too_large)
{
	char *path, *errors;
	int fd;

	ck_assert_int_ge(asprintf(&path, "%s/big.yaml", vt_tmpdir), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, CONFIG_MAX_FILE_SIZE + 1), 0);
	close(fd);
	errors = load_fail(path);
	ck_assert_ptr_nonnull(strstr(errors, "at most"));
	free(errors);
	/* A directory is not a configuration file either. */
	errors = load_fail(vt_tmpdir);
	ck_assert_ptr_nonnull(errors);
	free(errors);
	free(path);
}
END_TEST

/* --- helpers and reload -------------------------------------------------- */

START_TEST(image_spec_parse)
{
	struct config_image img;
	const char *why = NULL;

	ck_assert_int_eq(config_image_parse("/a.img", &img, &why), 0);
	ck_assert_str_eq(img.path, "/a.img");
	ck_assert(!img.writable);
	free(img.path);
	ck_assert_int_eq(config_image_parse("/a.img:rw", &img, &why), 0);
	ck_assert_str_eq(img.path, "/a.img");
	ck_assert(img.writable);
	free(img.path);
	ck_assert_int_eq(config_image_parse("/a.img:ro", &img, &why), 0);
	ck_assert_str_eq(img.path, "/a.img");
	ck_assert(!img.writable);
	free(img.path);
	/* Only one suffix is stripped. */
	ck_assert_int_eq(config_image_parse("x:rw:rw", &img, &why), 0);
	ck_assert_str_eq(img.path, "x:rw");
	ck_assert(img.writable);
	free(img.path);
	ck_assert_int_eq(config_image_parse("", &img, &why), -1);
	ck_assert_str_eq(why, "empty image path");
	why = NULL;
	ck_assert_int_eq(config_image_parse(":ro", &img, &why), -1);
	ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(set_listen)
{
	struct vtd_config *cfg = config_default();
	const char *why = NULL;

	ck_assert_int_eq(config_set_listen(cfg, "0.0.0.0:0", &why), 0);
	ck_assert_str_eq(cfg->usbip.listen, "0.0.0.0:0");
	ck_assert_int_eq(config_set_listen(cfg, "127.0.0.1", &why), -1);
	ck_assert_ptr_nonnull(why);
	/* A failed set keeps the previous value. */
	ck_assert_str_eq(cfg->usbip.listen, "0.0.0.0:0");
	ck_assert_int_eq(config_set_listen(cfg, "[::]:3240", &why), 0);
	ck_assert_int_eq(cfg->usbip.addr.ss_family, AF_INET6);
	config_free(cfg);
}
END_TEST

START_TEST(add_image)
{
	struct vtd_config *cfg = config_default();
	char path[] = "/tmp/x.img";

	config_add_image(cfg, path, true);
	path[5] = 'y';		/* the config holds its own copy */
	config_add_image(cfg, "/tmp/z.img", false);
	ck_assert_uint_eq(cfg->nimages, 2);
	ck_assert_str_eq(cfg->images[0].path, "/tmp/x.img");
	ck_assert(cfg->images[0].writable);
	ck_assert_str_eq(cfg->images[1].path, "/tmp/z.img");
	config_free(cfg);
}
END_TEST

START_TEST(restart_key)
{
	struct vtd_config *a = config_default(), *b = config_default();
	const char *why;

	ck_assert_ptr_null(config_restart_key(a, b));
	/* Reloadable keys. */
	b->usbip.max_urbs = 8;
	b->usbip.max_bulk = 4096;
	b->log_level = LOG_LEVEL_DEBUG;
	ck_assert_ptr_null(config_restart_key(a, b));
	/* Restart-only keys, each on its own. */
	b->usb.vendor_id = 0x1234;
	ck_assert_str_eq(config_restart_key(a, b), "usb.vendor_id");
	b->usb.vendor_id = a->usb.vendor_id;
	ck_assert_int_eq(config_set_listen(b, "127.0.0.1:3241", &why), 0);
	ck_assert_str_eq(config_restart_key(a, b), "usbip.listen");
	ck_assert_int_eq(config_set_listen(b, "127.0.0.1:3240", &why), 0);
	ck_assert_ptr_null(config_restart_key(a, b));
	free(b->data_dir);
	b->data_dir = strdup("/elsewhere");
	ck_assert_str_eq(config_restart_key(a, b), "data_dir");
	free(b->data_dir);
	b->data_dir = strdup(a->data_dir);
	config_add_image(a, "/i.img", false);
	config_add_image(b, "/i.img", false);
	ck_assert_ptr_null(config_restart_key(a, b));
	b->images[0].writable = true;
	ck_assert_str_eq(config_restart_key(a, b), "serve_images");
	b->images[0].writable = false;
	config_add_image(b, "/j.img", false);
	ck_assert_str_eq(config_restart_key(a, b), "serve_images");
	config_free(a);
	config_free(b);
}
END_TEST

START_TEST(restart_key_from_files)
{
	struct vtd_config *a = config_default();
	struct vtd_config *b = load_ok(fixture("sizes.yaml"));
	struct vtd_config *c = load_ok(fixture("full.yaml"));

	ck_assert_ptr_null(config_restart_key(a, b));
	ck_assert_ptr_nonnull(config_restart_key(a, c));
	config_free(a);
	config_free(b);
	config_free(c);
}
END_TEST

static void
suite_setup(void)
{
	datadir_init();
	vt_tmpdir_setup();
}

/* --- alarms.rules ------------------------------------------------------- */

static struct vtd_config *
buffer_load(const char *text, char **errors)
{
	return config_load_buffer("t.yaml", text, strlen(text), errors);
}

START_TEST(alarm_rules_good)
{
	static const char text[] = "alarms:\n  rules:\n"
	    "    - name: revoke-storm\n      actions: [revoke, token.delete]\n"
	    "      per: vm\n      count: 50\n      window: 60\n"
	    "      severity: critical\n      deliver: [syslog]\n"
	    "    - name: one\n      actions: [assign]\n";
	char *errors = NULL;
	struct vtd_config *cfg = buffer_load(text, &errors);

	ck_assert_msg(cfg != NULL, "%s", errors ? errors : "");
	ck_assert_uint_eq(cfg->alarms.nrules, 2);
	ck_assert_str_eq(cfg->alarms.rules[0].actions, ",revoke,token.delete,");
	ck_assert_str_eq(cfg->alarms.rules[0].per, "vm");
	ck_assert_uint_eq(cfg->alarms.rules[0].count, 50);
	ck_assert(!cfg->alarms.rules[0].webhook);
	ck_assert(cfg->alarms.rules[0].syslog);
	ck_assert_str_eq(cfg->alarms.rules[1].severity, "warning");
	ck_assert_uint_eq(cfg->alarms.rules[1].count, 1);
	ck_assert(cfg->alarms.rules[1].webhook && cfg->alarms.rules[1].syslog);
	config_free(cfg);
}
END_TEST

START_TEST(alarm_rules_bad)
{
	static const char *const bad[][2] = {
		{ "alarms:\n  rules:\n    - name: x\n", "a name and actions" },
		{ "alarms:\n  rules:\n    - name: copied_token\n"
		  "      actions: [a]\n", "not a built-in" },
		{ "alarms:\n  rules:\n    - name: x\n      actions: [a]\n"
		  "      per: rack\n", "token, vm, address or none" },
		{ "alarms:\n  rules:\n    - name: x\n      actions: a\n",
		  "expected a list" },
		{ "alarms:\n  rules:\n    - name: x\n      actions: [a]\n"
		  "      count: 0\n", "1 to 1000000" },
		{ "alarms:\n  rules:\n    - name: x\n      actions: [a]\n"
		  "    - name: x\n      actions: [b]\n", "two rules named x" },
		{ "alarms:\n  rules:\n    - name: x\n      actions: [a]\n"
		  "      deliver: [pager]\n", "webhook or syslog" },
		{ "alarms:\n  webhook: {url: \"http://h/\"}\n",
		  "secret_file: required" },
		{ "alarms:\n  syslog: \"/dev/log\"\n", "unix:/PATH" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *errors = NULL;
		struct vtd_config *cfg = buffer_load(bad[i][0], &errors);

		ck_assert_msg(cfg == NULL, "accepted: %s", bad[i][0]);
		ck_assert_msg(strstr(errors, bad[i][1]) != NULL,
		    "%s: got %s", bad[i][0], errors);
		free(errors);
	}
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *good = tcase_create("good");
	TCase *bad = tcase_create("bad");
	TCase *api = tcase_create("api");

	tcase_add_unchecked_fixture(good, suite_setup, vt_tmpdir_teardown);
	tcase_add_test(good, defaults);
	tcase_add_test(good, full_file);
	tcase_add_test(good, empty_file_defaults);
	tcase_add_test(good, sizes_k_m);
	tcase_add_test(good, hex_values);
	suite_add_tcase(s, good);

	tcase_add_unchecked_fixture(bad, suite_setup, vt_tmpdir_teardown);
	tcase_add_test(bad, unknown_key_exact);
	tcase_add_test(bad, errors_collected);
	tcase_add_test(bad, out_of_range);
	tcase_add_test(bad, bad_sizes);
	tcase_add_test(bad, bad_numbers);
	tcase_add_test(bad, bad_listen);
	tcase_add_test(bad, images_errors);
	tcase_add_test(bad, images_not_list);
	tcase_add_test(bad, section_not_mapping);
	tcase_add_test(bad, toplevel_scalar);
	tcase_add_test(bad, syntax_error);
	tcase_add_test(bad, duplicate_keys);
	tcase_add_test(bad, two_documents);
	tcase_add_test(bad, bad_utf8_position);
	tcase_add_test(bad, missing_file);
	tcase_add_test(bad, file_too_large);
	tcase_add_test(bad, many_errors_capped);
	suite_add_tcase(s, bad);

	tcase_add_unchecked_fixture(api, suite_setup, vt_tmpdir_teardown);
	tcase_add_test(api, image_spec_parse);
	tcase_add_test(api, set_listen);
	tcase_add_test(api, add_image);
	tcase_add_test(api, restart_key);
	tcase_add_test(api, restart_key_from_files);
	tcase_add_test(api, alarm_rules_good);
	tcase_add_test(api, alarm_rules_bad);
	suite_add_tcase(s, api);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
