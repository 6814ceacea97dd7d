/*
 * netaddr: numeric address parsing/printing and CIDR matching.  No DNS:
 * configuration and API inputs name addresses, never host names, so that a
 * resolver can never decide who gets a token.
 */
#include "common/netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
netaddr_parse_port(const char *s, unsigned *port)
{
	char *end;
	unsigned long v;

	if (*s == '\0' || *s == '+' || *s == '-' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

int
netaddr_parse_hostport(const char *s, struct sockaddr_storage *out,
    socklen_t *outlen, const char **why)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *hs;
	size_t hl;
	unsigned port;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		colon = strstr(s, "]:");
		if (colon == NULL) {
			*why = "expected [IPv6]:PORT";
			return -1;
		}
		hs = s + 1;
		hl = (size_t)(colon - hs);
		colon++;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL) {
			*why = "expected ADDRESS:PORT";
			return -1;
		}
		hs = s;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= sizeof(host)) {
		*why = "bad address";
		return -1;
	}
	memcpy(host, hs, hl);
	host[hl] = '\0';
	if (netaddr_parse_port(colon + 1, &port) < 0) {
		*why = "bad port (0..65535)";
		return -1;
	}
	if (s[0] != '[') {
		struct sockaddr_in *sin = (struct sockaddr_in *)out;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			*why = "bad IPv4 address (IPv6 needs [brackets])";
			return -1;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*outlen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			*why = "bad IPv6 address";
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*outlen = sizeof(*sin6);
	}
	return 0;
}

void
netaddr_format_host(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *a;

	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	else {
		snprintf(buf, len, "?");
		return;
	}
	if (inet_ntop(sa->sa_family, a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}

void
netaddr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	netaddr_format_host(sa, host, sizeof(host));
	if (sa->sa_family == AF_INET) {
		port = ntohs(((const struct sockaddr_in *)(const void *)sa)
		    ->sin_port);
		snprintf(buf, len, "%s:%u", host, port);
	} else if (sa->sa_family == AF_INET6) {
		port = ntohs(((const struct sockaddr_in6 *)(const void *)sa)
		    ->sin6_port);
		snprintf(buf, len, "[%s]:%u", host, port);
	} else
		snprintf(buf, len, "?");
}

/* Returns the raw address bytes and family, unwrapping v4-mapped IPv6. */
static int
netaddr_raw(const struct sockaddr *sa, unsigned char raw[16])
{
	if (sa->sa_family == AF_INET) {
		memcpy(raw, &((const struct sockaddr_in *)(const void *)sa)
		    ->sin_addr, 4);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(raw, a6->s6_addr + 12, 4);
			return AF_INET;
		}
		memcpy(raw, a6->s6_addr, 16);
		return AF_INET6;
	}
	return -1;
}

bool
netaddr_is_loopback(const struct sockaddr *sa)
{
	unsigned char raw[16];
	int fam = netaddr_raw(sa, raw);

	if (fam == AF_INET)
		return raw[0] == 127;
	if (fam == AF_INET6)
		return memcmp(raw, in6addr_loopback.s6_addr, 16) == 0;
	return false;
}

static bool
netaddr_prefix_equal(const unsigned char *a, const unsigned char *b,
    unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

/*
 * Peers are matched as IPv4 after v4-mapped IPv6 is unwrapped (netaddr_raw),
 * so a rule written as ::ffff:a.b.c.d/N must become a.b.c.d/(N-96) or it
 * would never match anyone.  Called after the host-bit check, which has
 * already refused a mapped address with a prefix under /96 (its ffff bits
 * would be host bits).
 */
static void
netaddr_cidr_unmap(struct netaddr_cidr *c)
{
	struct in6_addr a6;

	if (c->family != AF_INET6)
		return;
	memcpy(&a6, c->addr, sizeof(a6));
	if (!IN6_IS_ADDR_V4MAPPED(&a6) || c->prefix < 96)
		return;
	memmove(c->addr, c->addr + 12, 4);
	memset(c->addr + 4, 0, sizeof(c->addr) - 4);
	c->family = AF_INET;
	c->prefix -= 96;
}

int
netaddr_cidr_parse(const char *s, struct netaddr_cidr *out, const char **why)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	unsigned maxp, prefix;

	memset(out, 0, sizeof(*out));
	if (hl == 0 || hl >= sizeof(host)) {
		*why = "bad address";
		return -1;
	}
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		maxp = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		maxp = 128;
	} else {
		*why = "not an IPv4 or IPv6 address";
		return -1;
	}
	prefix = maxp;
	if (slash != NULL) {
		char *end;
		unsigned long v;

		if (slash[1] < '0' || slash[1] > '9') {
			*why = "bad prefix length";
			return -1;
		}
		errno = 0;
		v = strtoul(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || v > maxp) {
			*why = "bad prefix length";
			return -1;
		}
		prefix = (unsigned)v;
	}
	out->prefix = prefix;
	/* Host bits must be zero: "10.1.2.3/8" is almost always a typo. */
	{
		unsigned char masked[16];

		memcpy(masked, out->addr, 16);
		for (unsigned bit = prefix; bit < maxp; bit++)
			masked[bit / 8] &= (unsigned char)~(0x80 >> (bit % 8));
		if (memcmp(masked, out->addr, maxp / 8) != 0) {
			*why = "host bits set after the prefix";
			return -1;
		}
	}
	netaddr_cidr_unmap(out);
	return 0;
}

void
netaddr_cidr_format(const struct netaddr_cidr *c, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (inet_ntop(c->family, c->addr, host, sizeof(host)) == NULL)
		snprintf(host, sizeof(host), "?");
	snprintf(buf, len, "%s/%u", host, c->prefix);
}

bool
netaddr_cidr_match(const struct netaddr_cidr *c, const struct sockaddr *sa)
{
	unsigned char raw[16];
	int fam = netaddr_raw(sa, raw);

	if (fam != c->family)
		return false;
	return netaddr_prefix_equal(raw, c->addr, c->prefix);
}

bool
netaddr_cidr_overlap(const struct netaddr_cidr *a, const struct netaddr_cidr *b)
{
	/* Prefixes nest or are disjoint: compare the shorter one's bits. */
	return a->family == b->family && netaddr_prefix_equal(a->addr, b->addr,
	    a->prefix < b->prefix ? a->prefix : b->prefix);
}
