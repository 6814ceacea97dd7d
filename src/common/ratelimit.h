/*
 * ratelimit: token buckets keyed by string, in one bounded table.
 *
 * A bucket for R requests a minute holds a burst of R/6 + 5 (R itself
 * when R < 6) and refills at R/60 a second.  A bucket that has refilled
 * completely is the same as no bucket, so when the table is full the idle
 * ones are dropped (at most once a second, since that walks the table);
 * still full means that many clients are active right now, and a new one
 * is refused: the table stays bounded.  Times are monotonic seconds passed
 * in, so tests control the clock.  Not thread-safe; nothing here logs.
 */
#ifndef VTOKEN_RATELIMIT_H
#define VTOKEN_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>

struct strmap;

struct ratelimit {
	struct strmap *buckets;		/* key -> struct ratelimit_bucket */
	double pruned;			/* when idle buckets were last dropped */
};

void ratelimit_init(struct ratelimit *rl, size_t cap);
void ratelimit_clear(struct ratelimit *rl);
size_t ratelimit_count(const struct ratelimit *rl);

/*
 * Takes one request from key's bucket; false when it is empty.  When
 * missed is not NULL and the take succeeds, *missed is the number of
 * refusals since the bucket's last success (then reset).  A bucket
 * dropped as idle from a full table takes its missed count with it.
 */
bool ratelimit_take(struct ratelimit *rl, double now, const char *key,
    unsigned per_min, unsigned *missed);

/*
 * The rate-limit identity of a numeric address: itself, except IPv6,
 * which counts per /64 ("2001:db8:1:2::/64"): one host usually owns a
 * whole /64, and per-/128 buckets would let it mint addresses to skip a
 * limit and fill the table.  v4-mapped IPv6 stays per address.  For
 * limits where sharing a /64 costs nothing but records (the refusal
 * audit); VMs on one host may share a /64, so a limit on service (the
 * agent's) must stay per address.
 */
void ratelimit_addr_key(const char *addr, char *out, size_t outlen);

#endif
