/*
 * check_control_auth: the controller's challenge-response pieces
 * (control_auth.c) with an
 * injected clock: signatures, nonce binding, expiry, single use, replay,
 * and the per-(token, address) and per-address rate limits.
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
	uint8_t nonce[VTAUTH_NONCE_LEN], sig[64];
	double exp;

	ck_assert_int_eq(control_auth_challenge(&a, 100, TOK, "127.0.0.2", nonce,
	    &exp), AUTH_OK);
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
	uint8_t nonce[VTAUTH_NONCE_LEN], sig[64];
	double exp;

	ck_assert_int_eq(control_auth_challenge(&a, 0, TOK, "h", nonce, &exp),
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
	ck_assert_int_eq(control_auth_challenge(&a, 2, TOK, "h", nonce, &exp),
	    AUTH_OK);
	sign("FEDCBA9876543210", nonce, sig);
	ck_assert_int_eq(control_auth_verify(&a, 3, TOK, "h", pub, nonce, 32, sig,
	    64), AUTH_BAD_SIGNATURE);
	/* Truncated signature. */
	ck_assert_int_eq(control_auth_challenge(&a, 4, TOK, "h", nonce, &exp),
	    AUTH_OK);
	sign(TOK, nonce, sig);
	ck_assert_int_eq(control_auth_verify(&a, 5, TOK, "h", pub, nonce, 32, sig,
	    63), AUTH_BAD_SIGNATURE);
}
END_TEST

START_TEST(nonce_binding_and_expiry)
{
	uint8_t nonce[VTAUTH_NONCE_LEN], other[VTAUTH_NONCE_LEN], sig[64];
	double exp;

	ck_assert_int_eq(control_auth_challenge(&a, 0, TOK, "h", nonce, &exp),
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
	    nonce, &exp), AUTH_OK);
	sign(TOK, nonce, sig);
	ck_assert_int_eq(control_auth_verify(&a, 41, TOK, "h", pub, nonce, 32, sig,
	    64), AUTH_UNKNOWN_NONCE);
}
END_TEST

START_TEST(rate_limits)
{
	uint8_t nonce[VTAUTH_NONCE_LEN];
	double exp;
	int ok = 0;

	/* 30/min per (token, address): a burst of 10, then ~1 per 2 s. */
	for (int i = 0; i < 40; i++)
		ok += control_auth_challenge(&a, 0, TOK, "127.0.0.2", nonce, &exp) ==
		    AUTH_OK;
	ck_assert_int_eq(ok, 10);
	/* Another address is not starved by the flood. */
	ck_assert_int_eq(control_auth_challenge(&a, 0, TOK, "127.0.0.3", nonce,
	    &exp), AUTH_OK);
	/* Refill: after 2 s one more. */
	ck_assert_int_eq(control_auth_challenge(&a, 2.1, TOK, "127.0.0.2", nonce,
	    &exp), AUTH_OK);
	ck_assert_int_eq(control_auth_challenge(&a, 2.1, TOK, "127.0.0.2", nonce,
	    &exp), AUTH_RATE_LIMITED);
	/* The per-address bucket (120/min, burst 25) covers all tokens. */
	ok = 0;
	for (int i = 0; i < 60; i++) {
		char tok[17];

		snprintf(tok, sizeof(tok), "%016X", i);
		ok += control_auth_challenge(&a, 100, tok, "127.0.0.9", nonce, &exp) ==
		    AUTH_OK;
	}
	ck_assert_int_eq(ok, 25);
	ck_assert(!control_auth_rate_address(&a, 100, "127.0.0.9"));
	ck_assert(control_auth_rate_address(&a, 100, "127.0.0.10"));
}
END_TEST

START_TEST(nonce_table_bounded)
{
	uint8_t nonce[VTAUTH_NONCE_LEN];
	double exp;
	int ok = 0;

	/* max_nonces 64: once full of live nonces, challenges are refused. */
	for (int i = 0; i < 200; i++) {
		char addr[32], tok[17];

		snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 250, i % 250);
		snprintf(tok, sizeof(tok), "%016X", i);
		ok += control_auth_challenge(&a, 0, tok, addr, nonce, &exp) == AUTH_OK;
	}
	ck_assert_int_eq(ok, 64);
	/* Expired ones are pruned to make room. */
	ck_assert_int_eq(control_auth_challenge(&a, 31, TOK, "10.9.9.9", nonce, &exp),
	    AUTH_OK);
}
END_TEST

START_TEST(nonces_per_token_capped)
{
	uint8_t first[VTAUTH_NONCE_LEN], nonce[VTAUTH_NONCE_LEN], sig[64];
	double exp;

	/*
	 * One token id, many addresses: the token's oldest nonce is retired
	 * instead of the shared table filling up (it holds 64 here).
	 */
	for (int i = 0; i < 200; i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "10.1.%d.%d", i / 250, i % 250);
		ck_assert_int_eq(control_auth_challenge(&a, 0, TOK, addr,
		    i == 0 ? first : nonce, &exp), AUTH_OK);
	}
	ck_assert_uint_eq(strmap_count(a.nonces), AUTH_NONCES_PER_TOKEN);
	ck_assert_int_eq(control_auth_challenge(&a, 0, "FEDCBA9876543210", "10.2.0.1",
	    nonce, &exp), AUTH_OK);
	/* The retired nonce is unknown; the newest still works. */
	sign(TOK, first, sig);
	ck_assert_int_eq(control_auth_verify(&a, 1, TOK, "10.1.0.0", pub, first,
	    VTAUTH_NONCE_LEN, sig, 64), AUTH_UNKNOWN_NONCE);
	ck_assert_int_eq(control_auth_challenge(&a, 1, TOK, "10.3.0.1", nonce, &exp),
	    AUTH_OK);
	sign(TOK, nonce, sig);
	ck_assert_int_eq(control_auth_verify(&a, 1, TOK, "10.3.0.1", pub, nonce,
	    VTAUTH_NONCE_LEN, sig, 64), AUTH_OK);
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
	tcase_add_test(tc, rate_limits);
	tcase_add_test(tc, nonce_table_bounded);
	tcase_add_test(tc, nonces_per_token_capped);
	tcase_add_test(tc, addresses_limited_alone);
	tcase_add_test(tc, idle_buckets_forgotten);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
