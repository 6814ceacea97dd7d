/*
 * check_control_auth: the controller's challenge-response pieces
 * (control_auth.c) with an injected clock: signatures, nonce binding,
 * expiry, single use, replay, stateless nonces that another node with
 * the same key accepts, challenges never refused (a flood is reported),
 * failed verifies bucketed without ever refusing a good answer, and the
 * per-address limit.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "common/strmap.h"
#include "server/control/control_auth.h"
#include "token/token_cred.h"

#define TOK "0123456789ABCDEF"

static struct control_auth a;
static struct token_cred *cred;
static uint8_t pub[32];

static void
setup(void)
{
	struct control_auth_limits lim = { 30, 30, 120, 64 };
	char *cause = NULL;

	control_auth_init(&a, &lim);
	cred = token_cred_generate(&cause);
	ck_assert_ptr_nonnull(cred);
	ck_assert_int_eq(token_cred_public(cred, pub, &cause), 0);
}

static void
teardown(void)
{
	token_cred_free(cred);
	control_auth_clear(&a);
}

static void
sign(const char *tok, const uint8_t *nonce, uint8_t sig[64])
{
	uint8_t msg[VTAUTH_MSG_LEN];
	size_t n = vtauth_message(tok, nonce, VTAUTH_NONCE_LEN, msg);
	char *cause = NULL;

	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(token_cred_sign(cred, msg, n, sig, &cause), 0);
}

START_TEST(good_signature_once)
{
	bool flood;
	uint8_t nonce[VTAUTH_NONCE_LEN], sig[64];
	double exp;

	ck_assert_int_eq(control_auth_challenge(&a, 100, TOK, "127.0.0.2", nonce,
	    &exp, &flood), AUTH_OK);
	ck_assert(exp == 130);
	sign(TOK, nonce, sig);
	ck_assert_int_eq(control_auth_verify(&a, 101, TOK, "127.0.0.2", pub, nonce,
	    32, sig, 64), AUTH_OK);
	/* The same answer again is a replay. */
	ck_assert_int_eq(control_auth_verify(&a, 102, TOK, "127.0.0.2", pub, nonce,
	    32, sig, 64), AUTH_REPLAYED_NONCE);
}
END_TEST

START_TEST(bad_signatures)
{
	bool flood;
	uint8_t nonce[VTAUTH_NONCE_LEN], sig[64];
	double exp;

	ck_assert_int_eq(control_auth_challenge(&a, 0, TOK, "h", nonce, &exp, &flood),
	    AUTH_OK);
	sign(TOK, nonce, sig);
	sig[5] ^= 1;
	ck_assert_int_eq(control_auth_verify(&a, 1, TOK, "h", pub, nonce, 32, sig,
	    64), AUTH_BAD_SIGNATURE);
	/* A failed answer used the nonce up: the good one is now a replay. */
	sig[5] ^= 1;
	ck_assert_int_eq(control_auth_verify(&a, 1, TOK, "h", pub, nonce, 32, sig,
	    64), AUTH_REPLAYED_NONCE);
	/* A signature of another token's message does not check. */
	ck_assert_int_eq(control_auth_challenge(&a, 2, TOK, "h", nonce, &exp, &flood),
	    AUTH_OK);
	sign("FEDCBA9876543210", nonce, sig);
	ck_assert_int_eq(control_auth_verify(&a, 3, TOK, "h", pub, nonce, 32, sig,
	    64), AUTH_BAD_SIGNATURE);
	/* Truncated signature. */
	ck_assert_int_eq(control_auth_challenge(&a, 4, TOK, "h", nonce, &exp, &flood),
	    AUTH_OK);
	sign(TOK, nonce, sig);
	ck_assert_int_eq(control_auth_verify(&a, 5, TOK, "h", pub, nonce, 32, sig,
	    63), AUTH_BAD_SIGNATURE);
}
END_TEST

START_TEST(nonce_binding_and_expiry)
{
	bool flood;
	uint8_t nonce[VTAUTH_NONCE_LEN], other[VTAUTH_NONCE_LEN], sig[64];
	double exp;

	ck_assert_int_eq(control_auth_challenge(&a, 0, TOK, "h", nonce, &exp, &flood),
	    AUTH_OK);
	sign(TOK, nonce, sig);
	/* Too late: 30 s ttl. */
	ck_assert_int_eq(control_auth_verify(&a, 30.5, TOK, "h", pub, nonce, 32,
	    sig, 64), AUTH_EXPIRED_NONCE);
	/* A nonce the server never issued, or of the wrong length. */
	memset(other, 7, sizeof(other));
	ck_assert_int_eq(control_auth_verify(&a, 31, TOK, "h", pub, other, 32, sig,
	    64), AUTH_UNKNOWN_NONCE);
	ck_assert_int_eq(control_auth_verify(&a, 32, TOK, "h", pub, other, 16, sig,
	    64), AUTH_UNKNOWN_NONCE);
	/* A nonce issued for another token. */
	ck_assert_int_eq(control_auth_challenge(&a, 40, "FEDCBA9876543210", "h",
	    nonce, &exp, &flood), AUTH_OK);
	sign(TOK, nonce, sig);
	ck_assert_int_eq(control_auth_verify(&a, 41, TOK, "h", pub, nonce, 32, sig,
	    64), AUTH_UNKNOWN_NONCE);
}
END_TEST

START_TEST(challenges_never_refused)
{
	uint8_t nonce[VTAUTH_NONCE_LEN], sig[64];
	double exp;
	bool flood;
	int floods = 0;

	/* A neighbour at the VM's address asks as fast as it can ... */
	for (int i = 0; i < 200; i++) {
		ck_assert_int_eq(control_auth_challenge(&a, 50, TOK, "127.0.0.2",
		    nonce, &exp, &flood), AUTH_OK);
		floods += flood;
	}
	/* ... which is reported beyond the burst (10 of 30/min) ... */
	ck_assert_int_eq(floods, 190);
	/* ... and the agent's own challenge and answer still succeed. */
	ck_assert_int_eq(control_auth_challenge(&a, 50, TOK, "127.0.0.2", nonce,
	    &exp, &flood), AUTH_OK);
	sign(TOK, nonce, sig);
	ck_assert_int_eq(control_auth_verify(&a, 51, TOK, "127.0.0.2", pub, nonce,
	    32, sig, 64), AUTH_OK);
}
END_TEST

START_TEST(failures_bucketed)
{
	uint8_t nonce[VTAUTH_NONCE_LEN], junk[VTAUTH_NONCE_LEN], sig[64];
	double exp;
	bool flood;
	int limited = 0;

	memset(junk, 3, sizeof(junk));
	memset(sig, 0, sizeof(sig));
	for (int i = 0; i < 40; i++)
		limited += control_auth_verify(&a, 10, TOK, "127.0.0.2", pub, junk,
		    32, sig, 64) == AUTH_RATE_LIMITED;
	ck_assert_int_eq(limited, 30);	/* a burst of 10 failures */
	/* Another address has its own bucket. */
	ck_assert_int_eq(control_auth_verify(&a, 10, TOK, "127.0.0.3", pub, junk,
	    32, sig, 64), AUTH_UNKNOWN_NONCE);
	/* A good answer needs no token from the empty bucket. */
	ck_assert_int_eq(control_auth_challenge(&a, 10, TOK, "127.0.0.2", nonce,
	    &exp, &flood), AUTH_OK);
	sign(TOK, nonce, sig);
	ck_assert_int_eq(control_auth_verify(&a, 11, TOK, "127.0.0.2", pub, nonce,
	    32, sig, 64), AUTH_OK);
}
END_TEST

START_TEST(stateless_across_nodes)
{
	static const uint8_t k1[32] = { 1 }, k2[32] = { 2 };
	struct control_auth_limits lim = { 30, 30, 120, 64 };
	uint8_t nonce[VTAUTH_NONCE_LEN], sig[64];
	struct control_auth b;
	double exp;
	bool flood;

	control_auth_init(&b, &lim);
	control_auth_set_key(&a, k1);
	control_auth_set_key(&b, k1);
	/* Issued by one node, answered to another: no state was shared. */
	ck_assert_int_eq(control_auth_challenge(&a, 1000, TOK, "h", nonce, &exp,
	    &flood), AUTH_OK);
	sign(TOK, nonce, sig);
	ck_assert_int_eq(control_auth_verify(&b, 1001, TOK, "h", pub, nonce, 32,
	    sig, 64), AUTH_OK);
	/* A changed byte of the nonce (its time, say) breaks its tag. */
	ck_assert_int_eq(control_auth_challenge(&a, 1000, TOK, "h", nonce, &exp,
	    &flood), AUTH_OK);
	nonce[3] ^= 1;
	sign(TOK, nonce, sig);
	ck_assert_int_eq(control_auth_verify(&a, 1001, TOK, "h", pub, nonce, 32,
	    sig, 64), AUTH_UNKNOWN_NONCE);
	/* A node with another key knows none of them. */
	control_auth_set_key(&b, k2);
	ck_assert_int_eq(control_auth_challenge(&a, 1000, TOK, "h", nonce, &exp,
	    &flood), AUTH_OK);
	sign(TOK, nonce, sig);
	ck_assert_int_eq(control_auth_verify(&b, 1001, TOK, "h", pub, nonce, 32,
	    sig, 64), AUTH_UNKNOWN_NONCE);
	control_auth_clear(&b);
}
END_TEST

START_TEST(used_nonces_bounded)
{
	uint8_t nonce[VTAUTH_NONCE_LEN], sig[64];
	double exp;
	bool flood;

	/* max_nonces 64: 64 live used nonces fill the table ... */
	for (int i = 0; i < 64; i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "10.0.0.%d", i);
		ck_assert_int_eq(control_auth_challenge(&a, 0, TOK, addr, nonce,
		    &exp, &flood), AUTH_OK);
		sign(TOK, nonce, sig);
		ck_assert_int_eq(control_auth_verify(&a, 1, TOK, addr, pub, nonce,
		    32, sig, 64), AUTH_OK);
	}
	/* ... then a replay could not be told: refused, not accepted ... */
	ck_assert_int_eq(control_auth_challenge(&a, 2, TOK, "10.1.0.1", nonce,
	    &exp, &flood), AUTH_OK);
	sign(TOK, nonce, sig);
	ck_assert_int_eq(control_auth_verify(&a, 3, TOK, "10.1.0.1", pub, nonce,
	    32, sig, 64), AUTH_RATE_LIMITED);
	/* ... until the old ones expire and are forgotten. */
	ck_assert_int_eq(control_auth_challenge(&a, 40, TOK, "10.1.0.1", nonce,
	    &exp, &flood), AUTH_OK);
	sign(TOK, nonce, sig);
	ck_assert_int_eq(control_auth_verify(&a, 41, TOK, "10.1.0.1", pub, nonce,
	    32, sig, 64), AUTH_OK);
	ck_assert_uint_eq(strmap_count(a.used), 1);
}
END_TEST

START_TEST(addresses_limited_alone)
{
	/*
	 * 120/min per address, burst 25.  VMs on one host often share an
	 * IPv6 /64: one of them flooding must not starve its neighbours.
	 */
	for (int i = 0; i < 60; i++)
		(void)control_auth_rate_address(&a, 0, "2001:db8:0:7::1");
	ck_assert(!control_auth_rate_address(&a, 0, "2001:db8:0:7::1"));
	ck_assert(control_auth_rate_address(&a, 0, "2001:db8:0:7::2"));
	for (int i = 0; i < 30; i++)
		(void)control_auth_rate_address(&a, 0, "::ffff:10.0.0.1");
	ck_assert(!control_auth_rate_address(&a, 0, "::ffff:10.0.0.1"));
	ck_assert(control_auth_rate_address(&a, 0, "::ffff:10.0.0.2"));
}
END_TEST

START_TEST(idle_buckets_forgotten)
{
	char addr[32];

	/* Fill the bucket table with one request from each of many peers. */
	for (int i = 0; i < AUTH_BUCKETS_MAX; i++) {
		snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16,
		    (i >> 8) & 255, i & 255);
		ck_assert(control_auth_rate_address(&a, 0, addr));
	}
	ck_assert(!control_auth_rate_address(&a, 0, "192.0.2.1"));
	/* Still all active a moment later: still refused, table bounded. */
	ck_assert(!control_auth_rate_address(&a, 0.2, "192.0.2.1"));
	/* Once they have refilled they are forgotten, and newcomers fit. */
	ck_assert(control_auth_rate_address(&a, 60, "192.0.2.1"));
	ck_assert_uint_le(ratelimit_count(&a.rate), 2);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("auth");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, good_signature_once);
	tcase_add_test(tc, bad_signatures);
	tcase_add_test(tc, nonce_binding_and_expiry);
	tcase_add_test(tc, challenges_never_refused);
	tcase_add_test(tc, failures_bucketed);
	tcase_add_test(tc, stateless_across_nodes);
	tcase_add_test(tc, used_nonces_bounded);
	tcase_add_test(tc, addresses_limited_alone);
	tcase_add_test(tc, idle_buckets_forgotten);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
