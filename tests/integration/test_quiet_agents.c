/*
 * test_quiet_agents: what is audited of an agent is what changes (docs/
 * API.md, "Agent authentication"), against the real vtokend; functional,
 * not timed.  agent.record_every 4 s and alarms.agent_silent.grace 8 s
 * compress the defaults (150 s, 300 s).
 *
 *  - quiet: an attached token's agent verifying every second for 10 s
 *    leaves one auth.ok (the first), and no agent_silent alarm; a failure
 *    is recorded and so is the recovery after it; a silence longer than
 *    the grace raises agent_silent, and the next success is recorded (a
 *    recovery after a silence) and clears it.
 *  - cluster (PostgreSQL only): a token attached through node A whose
 *    agent verifies through node B only: A sees one auth.ok record and
 *    nothing after it, yet never calls the agent silent, because every
 *    node keeps its agents' successes in the store (control_alive.c).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/control_fixture.h"
#include "../lib/store_fixture.h"
#include "../lib/vt_agent.h"
#include "../lib/vt_wait.h"

#define VM_ADDR		"127.0.0.1"
#define GRACE_S		8
#define QUIET_YAML	"agent:\n  record_every: 4\n  rate_per_token: 600\n" \
	"alarms:\n  agent_silent: {grace: 8}\n"

static void
start_quiet(struct vtd *d, const struct vtd *first, const char *node)
{
	char path[512];
	const char *args[] = { "-c", path, "--node", node, NULL };

	ck_assert_msg(vtd_init(d) == 0, "%s", d->err);
	if (first != NULL) {
		snprintf(d->store, sizeof(d->store), "%s", first->store);
		ck_assert_msg(vtd_audit_key_copy(d, first) == 0, "%s",
		    d->err);
	}
	ck_assert_int_eq(vtd_write_file(d, "vtokend.yaml", QUIET_YAML), 0);
	vtd_path(d, "vtokend.yaml", path, sizeof(path));
	ck_assert_msg(vtd_start(d, args) == 0, "%s", d->err);
	if (first != NULL) {	/* the cluster's admin key: the first's */
		char src[512], dst[512], cmd[1200];

		vtd_path(first, "var/admin.key", src, sizeof(src));
		vtd_path(d, "var/admin.key", dst, sizeof(dst));
		snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, dst);
		ck_assert_int_eq(system(cmd), 0);
	}
}

/* Whether d lists an active agent_silent alarm. */
static bool
silent_alarm(struct vtd *d)
{
	struct vt_http_resp r;
	bool found;

	ck_assert_int_eq(vt_api(d, "GET", "/v1/alarms?state=active", NULL,
	    &r), 0);
	found = strstr(r.body, "\"rule\": \"agent_silent\"") != NULL;
	vt_http_resp_free(&r);
	return found;
}

/* Polls (every 0.2 s, at most ms) until silent_alarm(d) == want. */
static bool
wait_silent(struct vtd *d, bool want, int ms)
{
	for (int t = 0; t <= ms; t += 200) {
		if (silent_alarm(d) == want)
			return true;
		vt_sleep_ms(200);
	}
	return false;
}

static void
verify_ok(struct vt_agent *a, struct vtd *d)
{
	struct vt_http_resp r;

	ck_assert_int_eq(vt_agent_verify(a, d, NULL, "", &r), 200);
	vt_http_resp_free(&r);
}

START_TEST(quiet)
{
	struct fx_token t, other;
	struct usbip_client c;
	struct vt_agent a, wrong;
	struct vt_http_resp r;
	struct vtd d;

	start_quiet(&d, NULL, "solo");
	fx_token(&d, "t1", false, &t);
	fx_token(&d, "t2", false, &other);
	fx_vm(&d, "vm1", VM_ADDR);
	fx_assign(&d, "t1", "vm1");
	ck_assert_uint_eq(fx_import(&d, VM_ADDR, t.busid, &c), 0);
	vt_agent_load(&a, &d, t.id);
	for (int i = 0; i < 10; i++) {
		verify_ok(&a, &d);
		vt_sleep_ms(1000);
	}
	ck_assert_int_eq(vt_audit_count(&d, "auth.ok", NULL), 1);
	ck_assert(!silent_alarm(&d));

	/* Another token's key: a failure, recorded; then the recovery. */
	vt_agent_load(&wrong, &d, other.id);
	memcpy(wrong.token, t.id, sizeof(wrong.token));
	ck_assert_int_eq(vt_agent_verify(&wrong, &d, NULL, "", &r), 403);
	vt_http_resp_free(&r);
	ck_assert_int_eq(vt_audit_count(&d, "auth.fail", "bad signature"), 1);
	verify_ok(&a, &d);
	ck_assert_int_eq(vt_audit_count(&d, "auth.ok", NULL), 2);

	/* A silence beyond the grace, then the agent is back. */
	ck_assert_msg(wait_silent(&d, true, (GRACE_S + 10) * 1000),
	    "no agent_silent after %d s of silence", GRACE_S);
	verify_ok(&a, &d);
	ck_assert_int_eq(vt_audit_count(&d, "auth.ok", NULL), 3);
	ck_assert_msg(wait_silent(&d, false, 5000), "agent_silent stayed");
	usbip_client_close(&c);
	vt_agent_free(&a);
	vt_agent_free(&wrong);
	fx_stop(&d);
}
END_TEST

START_TEST(cluster)
{
	struct vtd n[2];
	struct fx_token t;
	struct usbip_client c;
	struct vt_agent a;

	if (!store_fx_is_pg())
		return;		/* several nodes need the shared database */
	start_quiet(&n[0], NULL, "a");
	start_quiet(&n[1], &n[0], "b");
	fx_token(&n[0], "t1", false, &t);
	fx_vm(&n[0], "vm1", VM_ADDR);
	fx_assign(&n[0], "t1", "vm1");
	fx_wait_assigned(&n[1], t.id, true);
	ck_assert_uint_eq(fx_import(&n[0], VM_ADDR, t.busid, &c), 0);
	vt_agent_load(&a, &n[0], t.id);
	/* Through B only, for twice the grace. */
	for (int i = 0; i < 2 * GRACE_S; i++) {
		verify_ok(&a, &n[1]);
		vt_sleep_ms(1000);
	}
	ck_assert_int_eq(vt_audit_count(&n[0], "auth.ok", NULL), 1);
	ck_assert_msg(!silent_alarm(&n[0]) && !silent_alarm(&n[1]),
	    "agent_silent for an agent alive through another node");
	usbip_client_close(&c);
	vt_agent_free(&a);
	fx_stop(&n[1]);
	fx_stop(&n[0]);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("quiet_agents");
	TCase *tc = tcase_create("quiet_agents");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, quiet);
	tcase_add_test(tc, cluster);
	suite_add_tcase(s, tc);
	return fx_run_suite(s);
}
