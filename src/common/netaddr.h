/*
 * netaddr: parsing and printing of socket addresses ("127.0.0.1:3240",
 * "[::1]:3240") and CIDR prefixes ("10.0.0.0/8", "fd00::/8", or a bare
 * address meaning a /32 or /128).  Pure functions, no logging.
 */
#ifndef VTOKEN_NETADDR_H
#define VTOKEN_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct netaddr_cidr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16];	/* network order; only 4 bytes for AF_INET */
	unsigned prefix;	/* prefix length in bits */
};

/*
 * Parses HOST:PORT with a numeric host (IPv4, or IPv6 in brackets) and a
 * port 0..65535.  Returns 0, or -1 and a static reason in *why.
 */
int netaddr_parse_hostport(const char *s, struct sockaddr_storage *out,
    socklen_t *outlen, const char **why);
/* Formats an address as "a.b.c.d:port" / "[v6]:port" into buf. */
void netaddr_format(const struct sockaddr *sa, char *buf, size_t len);
/* Formats only the address part (no port) into buf. */
void netaddr_format_host(const struct sockaddr *sa, char *buf, size_t len);
/* True when the address is in 127.0.0.0/8 or is ::1. */
bool netaddr_is_loopback(const struct sockaddr *sa);

/* Parses a CIDR or bare address; host bits must be zero.  0 or -1. */
int netaddr_cidr_parse(const char *s, struct netaddr_cidr *out,
    const char **why);
/* Canonical text form, e.g. "10.0.0.0/8"; buf of at least 64 bytes. */
void netaddr_cidr_format(const struct netaddr_cidr *c, char *buf, size_t len);
/* True when some address lies in both a and b (one holds the other). */
bool netaddr_cidr_overlap(const struct netaddr_cidr *a,
    const struct netaddr_cidr *b);
/* True when sa (IPv4, IPv6 or v4-mapped IPv6) lies inside c. */
bool netaddr_cidr_match(const struct netaddr_cidr *c,
    const struct sockaddr *sa);

#endif
