/*
 * ratelimit: bounded token-bucket table (see ratelimit.h).
 */
#include "common/ratelimit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strmap.h"
#include "common/xmalloc.h"

struct ratelimit_bucket {
	double level;		/* requests available */
	double last;		/* refill time */
	double per_sec;
	double burst;
	unsigned missed;	/* refusals since the last success */
};

void
ratelimit_init(struct ratelimit *rl, size_t cap)
{
	rl->buckets = strmap_new(cap, free);
	rl->pruned = -1e300;
}

void
ratelimit_clear(struct ratelimit *rl)
{
	strmap_free(rl->buckets);
	rl->buckets = NULL;
}

size_t
ratelimit_count(const struct ratelimit *rl)
{
	return strmap_count(rl->buckets);
}

/* A bucket that has refilled completely is the same as no bucket. */
static bool
ratelimit_idle(void *value, void *arg)
{
	const struct ratelimit_bucket *b = value;
	double now = *(const double *)arg;

	return now >= b->last && b->level + (now - b->last) * b->per_sec >=
	    b->burst;
}

static int
ratelimit_add(struct ratelimit *rl, const char *key,
    struct ratelimit_bucket *b, double now)
{
	if (strmap_put(rl->buckets, key, b) == 0)
		return 0;
	if (now >= rl->pruned && now - rl->pruned < 1.0)
		return -1;
	rl->pruned = now;
	strmap_prune(rl->buckets, ratelimit_idle, &now);
	return strmap_put(rl->buckets, key, b);
}

bool
ratelimit_take(struct ratelimit *rl, double now, const char *key,
    unsigned per_min, unsigned *missed)
{
	struct ratelimit_bucket *b = strmap_get(rl->buckets, key);

	if (b == NULL) {
		b = xcalloc(1, sizeof(*b));
		b->per_sec = per_min / 60.0;
		b->burst = per_min < 6 ? per_min : per_min / 6.0 + 5;
		b->level = b->burst;
		b->last = now;
		if (ratelimit_add(rl, key, b, now) < 0) {
			free(b);
			return false;
		}
	}
	if (now > b->last) {	/* never drain on a clock step back */
		b->level += (now - b->last) * b->per_sec;
		if (b->level > b->burst)
			b->level = b->burst;
		b->last = now;
	}
	if (b->level < 1.0) {
		if (b->missed < ~0u)
			b->missed++;
		return false;
	}
	b->level -= 1.0;
	if (missed != NULL) {
		*missed = b->missed;
		b->missed = 0;
	}
	return true;
}

void
ratelimit_addr_key(const char *addr, char *out, size_t outlen)
{
	struct in6_addr a6;
	char host[INET6_ADDRSTRLEN];

	if (strchr(addr, ':') != NULL && inet_pton(AF_INET6, addr, &a6) == 1 &&
	    !IN6_IS_ADDR_V4MAPPED(&a6)) {
		memset(a6.s6_addr + 8, 0, 8);
		if (inet_ntop(AF_INET6, &a6, host, sizeof(host)) != NULL) {
			snprintf(out, outlen, "%s/64", host);
			return;
		}
	}
	snprintf(out, outlen, "%s", addr);
}
