/*
 * check_netaddr: numeric address parsing, formatting and CIDR matching
 * (src/common/netaddr.[ch]).  No sockets are opened.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/netaddr.h"

/* Builds an IPv4 sockaddr. */
static struct sockaddr_storage
v4(const char *a, unsigned port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	ck_assert_int_eq(inet_pton(AF_INET, a, &sin->sin_addr), 1);
	return ss;
}

/* Builds an IPv6 sockaddr. */
static struct sockaddr_storage
v6(const char *a, unsigned port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	ck_assert_int_eq(inet_pton(AF_INET6, a, &sin6->sin6_addr), 1);
	return ss;
}

#define SA(ss)	((const struct sockaddr *)&(ss))

static void
parse_ok(const char *s, int family, unsigned port, const char *host)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	const char *why = NULL;
	char buf[64];

	ck_assert_msg(netaddr_parse_hostport(s, &ss, &len, &why) == 0,
	    "%s: %s", s, why != NULL ? why : "?");
	ck_assert_int_eq(ss.ss_family, family);
	if (family == AF_INET) {
		ck_assert_uint_eq(len, sizeof(struct sockaddr_in));
		ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port),
		    port);
	} else {
		ck_assert_uint_eq(len, sizeof(struct sockaddr_in6));
		ck_assert_uint_eq(ntohs(((struct sockaddr_in6 *)&ss)
		    ->sin6_port), port);
	}
	netaddr_format_host(SA(ss), buf, sizeof(buf));
	ck_assert_str_eq(buf, host);
}

static const char *
parse_bad(const char *s)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	const char *why = NULL;

	ck_assert_msg(netaddr_parse_hostport(s, &ss, &len, &why) == -1,
	    "\"%s\" accepted", s);
	ck_assert_ptr_nonnull(why);
	return why;
}

static struct netaddr_cidr
cidr(const char *s)
{
	struct netaddr_cidr c;
	const char *why = NULL;

	ck_assert_msg(netaddr_cidr_parse(s, &c, &why) == 0, "%s: %s", s,
	    why != NULL ? why : "?");
	return c;
}

static const char *
cidr_bad(const char *s)
{
	struct netaddr_cidr c;
	const char *why = NULL;

	ck_assert_msg(netaddr_cidr_parse(s, &c, &why) == -1,
	    "\"%s\" accepted", s);
	ck_assert_ptr_nonnull(why);
	return why;
}

/* --- host:port ----------------------------------------------------------- */

START_TEST(hostport_v4)
{
	parse_ok("127.0.0.1:3240", AF_INET, 3240, "127.0.0.1");
	parse_ok("0.0.0.0:0", AF_INET, 0, "0.0.0.0");
	parse_ok("10.1.2.3:65535", AF_INET, 65535, "10.1.2.3");
	parse_ok("192.168.0.1:080", AF_INET, 80, "192.168.0.1");
}
END_TEST

START_TEST(hostport_v6)
{
	parse_ok("[::1]:3240", AF_INET6, 3240, "::1");
	parse_ok("[::]:1", AF_INET6, 1, "::");
	parse_ok("[fd00:1::5]:443", AF_INET6, 443, "fd00:1::5");
	parse_ok("[::ffff:10.0.0.1]:22", AF_INET6, 22, "::ffff:10.0.0.1");
}
END_TEST

START_TEST(hostport_bad_ports)
{
	static const char *bad[] = {
		"127.0.0.1:65536", "127.0.0.1:", "127.0.0.1:-1",
		"127.0.0.1:+1", "127.0.0.1: 1", "127.0.0.1:1x",
		"127.0.0.1:99999999999999999999999", "[::1]:", "[::1]:70000",
		"127.0.0.1:0x10",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_str_eq(parse_bad(bad[i]), "bad port (0..65535)");
}
END_TEST

START_TEST(hostport_bad_hosts)
{
	ck_assert_str_eq(parse_bad("127.0.0.1"), "expected ADDRESS:PORT");
	ck_assert_str_eq(parse_bad(""), "expected ADDRESS:PORT");
	ck_assert_str_eq(parse_bad(":3240"), "bad address");
	ck_assert_str_eq(parse_bad("[]:3240"), "bad address");
	ck_assert_str_eq(parse_bad("[::1]"), "expected [IPv6]:PORT");
	ck_assert_str_eq(parse_bad("[::1]3240"), "expected [IPv6]:PORT");
	/* No names: the resolver never decides. */
	parse_bad("localhost:3240");
	parse_bad("256.0.0.1:1");
	parse_bad("1.2.3:1");
	/* IPv6 must be bracketed, and brackets hold only IPv6. */
	ck_assert_str_eq(parse_bad("::1:3240"),
	    "bad IPv4 address (IPv6 needs [brackets])");
	ck_assert_str_eq(parse_bad("[127.0.0.1]:1"), "bad IPv6 address");
	parse_bad("[fe80::1%eth0]:1");
	parse_bad("[::1]:1]:2");
	/* Longer than any address. */
	parse_bad("[1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa]:1");
}
END_TEST

START_TEST(format)
{
	struct sockaddr_storage a = v4("10.0.0.7", 3240);
	struct sockaddr_storage b = v6("2001:db8::1", 65535);
	struct sockaddr_storage u;
	char buf[80];

	netaddr_format(SA(a), buf, sizeof(buf));
	ck_assert_str_eq(buf, "10.0.0.7:3240");
	netaddr_format(SA(b), buf, sizeof(buf));
	ck_assert_str_eq(buf, "[2001:db8::1]:65535");
	netaddr_format_host(SA(b), buf, sizeof(buf));
	ck_assert_str_eq(buf, "2001:db8::1");
	memset(&u, 0, sizeof(u));
	u.ss_family = AF_UNIX;
	netaddr_format(SA(u), buf, sizeof(buf));
	ck_assert_str_eq(buf, "?");
	/* A too-small buffer is cut, never overrun. */
	memset(buf, 'z', sizeof(buf));
	netaddr_format(SA(a), buf, 6);
	ck_assert_uint_lt(strlen(buf), 6);
	ck_assert_int_eq(buf[6], 'z');
}
END_TEST

START_TEST(loopback)
{
	struct sockaddr_storage a = v4("127.0.0.1", 1), b = v4("127.9.8.7", 1);
	struct sockaddr_storage c = v4("128.0.0.1", 1), d = v6("::1", 1);
	struct sockaddr_storage e = v6("::2", 1);
	struct sockaddr_storage f = v6("::ffff:127.0.0.1", 1);

	ck_assert(netaddr_is_loopback(SA(a)));
	ck_assert(netaddr_is_loopback(SA(b)));
	ck_assert(!netaddr_is_loopback(SA(c)));
	ck_assert(netaddr_is_loopback(SA(d)));
	ck_assert(!netaddr_is_loopback(SA(e)));
	ck_assert(netaddr_is_loopback(SA(f)));
}
END_TEST

/* --- CIDR ---------------------------------------------------------------- */

START_TEST(cidr_parse_ok)
{
	struct netaddr_cidr c;
	char buf[64];

	c = cidr("10.0.0.0/8");
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_uint_eq(c.prefix, 8);
	netaddr_cidr_format(&c, buf, sizeof(buf));
	ck_assert_str_eq(buf, "10.0.0.0/8");
	c = cidr("192.168.1.7");		/* bare address: /32 */
	ck_assert_uint_eq(c.prefix, 32);
	netaddr_cidr_format(&c, buf, sizeof(buf));
	ck_assert_str_eq(buf, "192.168.1.7/32");
	c = cidr("fd00::/8");
	ck_assert_int_eq(c.family, AF_INET6);
	ck_assert_uint_eq(c.prefix, 8);
	c = cidr("2001:db8::1");		/* bare address: /128 */
	ck_assert_uint_eq(c.prefix, 128);
	c = cidr("0.0.0.0/0");
	ck_assert_uint_eq(c.prefix, 0);
	c = cidr("::/0");
	ck_assert_uint_eq(c.prefix, 0);
	c = cidr("10.1.2.3/32");
	c = cidr("10.1.2.2/31");
	c = cidr("2001:db8::/32");
	netaddr_cidr_format(&c, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2001:db8::/32");
	c = cidr("2001:db8::1/128");
	c = cidr("10.0.0.0/08");		/* leading zero is decimal */
	ck_assert_uint_eq(c.prefix, 8);
}
END_TEST

START_TEST(cidr_host_bits)
{
	ck_assert_str_eq(cidr_bad("10.1.2.3/8"),
	    "host bits set after the prefix");
	ck_assert_str_eq(cidr_bad("10.0.0.1/31"),
	    "host bits set after the prefix");
	cidr("192.168.1.128/25");
	ck_assert_str_eq(cidr_bad("192.168.1.64/25"),
	    "host bits set after the prefix");
	ck_assert_str_eq(cidr_bad("0.0.0.1/0"),
	    "host bits set after the prefix");
	ck_assert_str_eq(cidr_bad("fd00::1/64"),
	    "host bits set after the prefix");
	ck_assert_str_eq(cidr_bad("2001:db9::/31"),
	    "host bits set after the prefix");
	ck_assert_str_eq(cidr_bad("::1/127"),
	    "host bits set after the prefix");
}
END_TEST

START_TEST(cidr_prefix_bounds)
{
	static const char *bad[] = {
		"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1",
		"10.0.0.0/+8", "10.0.0.0/ 8", "10.0.0.0/8x", "10.0.0.0/0x8",
		"10.0.0.0/99999999999999999999999", "::/1000",
	};

	cidr("10.0.0.0/32");
	cidr("::/128");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_str_eq(cidr_bad(bad[i]), "bad prefix length");
}
END_TEST

START_TEST(cidr_bad_address)
{
	ck_assert_str_eq(cidr_bad(""), "bad address");
	ck_assert_str_eq(cidr_bad("/8"), "bad address");
	ck_assert_str_eq(cidr_bad("localhost/8"),
	    "not an IPv4 or IPv6 address");
	ck_assert_str_eq(cidr_bad("10.0.0/8"), "not an IPv4 or IPv6 address");
	ck_assert_str_eq(cidr_bad("[::1]/128"),
	    "not an IPv4 or IPv6 address");
	cidr_bad("1111:2222:3333:4444:5555:6666:7777:8888:9999/64");
}
END_TEST

START_TEST(cidr_match_v4)
{
	struct netaddr_cidr c = cidr("10.20.0.0/14");
	struct sockaddr_storage in1 = v4("10.20.0.1", 1);
	struct sockaddr_storage in2 = v4("10.23.255.255", 1);
	struct sockaddr_storage out1 = v4("10.24.0.0", 1);
	struct sockaddr_storage out2 = v4("10.19.255.255", 1);
	struct sockaddr_storage six = v6("::a14:1", 1);

	ck_assert(netaddr_cidr_match(&c, SA(in1)));
	ck_assert(netaddr_cidr_match(&c, SA(in2)));
	ck_assert(!netaddr_cidr_match(&c, SA(out1)));
	ck_assert(!netaddr_cidr_match(&c, SA(out2)));
	/* An IPv4-compatible (not mapped) IPv6 address is IPv6. */
	ck_assert(!netaddr_cidr_match(&c, SA(six)));
}
END_TEST

START_TEST(cidr_match_v4_mapped)
{
	struct netaddr_cidr c = cidr("192.168.0.0/16");
	struct netaddr_cidr host = cidr("192.168.4.5");
	struct sockaddr_storage m = v6("::ffff:192.168.4.5", 3240);
	struct sockaddr_storage o = v6("::ffff:192.169.4.5", 3240);

	/* A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d. */
	ck_assert(netaddr_cidr_match(&c, SA(m)));
	ck_assert(netaddr_cidr_match(&host, SA(m)));
	ck_assert(!netaddr_cidr_match(&c, SA(o)));
}
END_TEST

START_TEST(cidr_v4_mapped_rule)
{
	struct netaddr_cidr c = cidr("::ffff:192.168.0.0/112");
	struct netaddr_cidr host = cidr("::ffff:10.0.0.1");
	struct sockaddr_storage m = v6("::ffff:192.168.4.5", 3240);
	struct sockaddr_storage p = v4("192.168.4.5", 3240);
	struct sockaddr_storage o = v4("192.169.4.5", 3240);
	struct sockaddr_storage ten = v4("10.0.0.1", 1);
	char buf[64];

	/* A mapped rule is stored and matched as the IPv4 it names. */
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_uint_eq(c.prefix, 16);
	netaddr_cidr_format(&c, buf, sizeof(buf));
	ck_assert_str_eq(buf, "192.168.0.0/16");
	ck_assert(netaddr_cidr_match(&c, SA(m)));
	ck_assert(netaddr_cidr_match(&c, SA(p)));
	ck_assert(!netaddr_cidr_match(&c, SA(o)));
	netaddr_cidr_format(&host, buf, sizeof(buf));
	ck_assert_str_eq(buf, "10.0.0.1/32");
	ck_assert(netaddr_cidr_match(&host, SA(ten)));
	c = cidr("::ffff:0.0.0.0/96");
	ck_assert_uint_eq(c.prefix, 0);
	ck_assert_str_eq(cidr_bad("::ffff:0.0.0.0/80"),
	    "host bits set after the prefix");
	ck_assert_str_eq(cidr_bad("::ffff:10.0.0.1/104"),
	    "host bits set after the prefix");
}
END_TEST

START_TEST(cidr_match_v6)
{
	struct netaddr_cidr c = cidr("fd00:1234::/33");
	struct netaddr_cidr all4 = cidr("0.0.0.0/0");
	struct netaddr_cidr all6 = cidr("::/0");
	struct netaddr_cidr one = cidr("fd00:1234::7");
	struct sockaddr_storage in = v6("fd00:1234:7fff::1", 1);
	struct sockaddr_storage out = v6("fd00:1234:8000::1", 1);
	struct sockaddr_storage host = v6("fd00:1234::7", 1);
	struct sockaddr_storage four = v4("1.2.3.4", 1);

	ck_assert(netaddr_cidr_match(&c, SA(in)));
	ck_assert(!netaddr_cidr_match(&c, SA(out)));
	ck_assert(netaddr_cidr_match(&one, SA(host)));
	ck_assert(!netaddr_cidr_match(&one, SA(in)));
	/* Families never cross (except v4-mapped, above). */
	ck_assert(netaddr_cidr_match(&all4, SA(four)));
	ck_assert(!netaddr_cidr_match(&all4, SA(in)));
	ck_assert(netaddr_cidr_match(&all6, SA(in)));
	ck_assert(!netaddr_cidr_match(&all6, SA(four)));
}
END_TEST

/* Prefixes overlap when one holds the other; families never mix. */
START_TEST(cidr_overlap)
{
	static const struct {
		const char *a, *b;
		bool overlap;
	} cases[] = {
		{ "127.0.0.2", "127.0.0.0/24", true },
		{ "127.0.0.0/24", "127.0.0.2", true },
		{ "127.0.0.2", "127.0.0.2/32", true },
		{ "127.0.0.2", "127.0.0.3", false },
		{ "10.0.0.0/8", "11.0.0.0/8", false },
		{ "0.0.0.0/0", "192.168.1.1", true },
		{ "10.0.0.0/9", "10.128.0.0/9", false },
		{ "fd00::/8", "fd12::1", true },
		{ "fd00::/8", "fe00::/8", false },
		{ "::/0", "127.0.0.1", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct netaddr_cidr a, b;
		const char *why;

		ck_assert_int_eq(netaddr_cidr_parse(cases[i].a, &a, &why), 0);
		ck_assert_int_eq(netaddr_cidr_parse(cases[i].b, &b, &why), 0);
		ck_assert_msg(netaddr_cidr_overlap(&a, &b) == cases[i].overlap,
		    "%s / %s", cases[i].a, cases[i].b);
	}
}
END_TEST

static Suite *
netaddr_suite(void)
{
	Suite *s = suite_create("netaddr");
	TCase *hp = tcase_create("hostport");
	TCase *cd = tcase_create("cidr");

	tcase_add_test(hp, hostport_v4);
	tcase_add_test(hp, hostport_v6);
	tcase_add_test(hp, hostport_bad_ports);
	tcase_add_test(hp, hostport_bad_hosts);
	tcase_add_test(hp, format);
	tcase_add_test(hp, loopback);
	suite_add_tcase(s, hp);

	tcase_add_test(cd, cidr_parse_ok);
	tcase_add_test(cd, cidr_host_bits);
	tcase_add_test(cd, cidr_prefix_bounds);
	tcase_add_test(cd, cidr_bad_address);
	tcase_add_test(cd, cidr_match_v4);
	tcase_add_test(cd, cidr_match_v4_mapped);
	tcase_add_test(cd, cidr_v4_mapped_rule);
	tcase_add_test(cd, cidr_match_v6);
	tcase_add_test(cd, cidr_overlap);
	suite_add_tcase(s, cd);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(netaddr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
