/*
 * check_agent_managed: what the controller manages in the agent
 * (src/agent, docs/AGENT.md): facts read from fixture trees, the
 * controller's policy (ranges, JSON round trip) and the state file
 * (0600, atomic, written only on change), the nft ruleset of
 * isolate-network, release checks (size, SHA-256, Ed25519 signature
 * made here with OpenSSL), the verify extras (under 4 KiB) and answers,
 * and the new configuration keys.  No network.
 */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent/agent_action.h"
#include "agent/agent_config.h"
#include "agent/agent_cpolicy.h"
#include "agent/agent_facts.h"
#include "agent/agent_msg.h"
#include "agent/agent_release.h"
#include "agent/agent_store.h"
#include "agent/agent_version.h"
#include "common/encode.h"

#define T_ID	"9F2C4A1B3D5E6F70"

/* ---- helpers ---- */

/* A new temporary directory; the caller removes it (t_rmrf). */
static char *
t_dir(void)
{
	char *d = strdup("/tmp/check_agent_managed.XXXXXX");

	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

static void
t_rmrf(const char *d)
{
	char *cmd;

	ck_assert_int_gt(asprintf(&cmd, "rm -rf '%s'", d), 0);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/* root/rel = text, making the parent directories. */
static void
t_put(const char *root, const char *rel, const char *text)
{
	char *path, *cmd;
	FILE *fp;

	ck_assert_int_gt(asprintf(&path, "%s%s", root, rel), 0);
	ck_assert_int_gt(asprintf(&cmd, "mkdir -p \"$(dirname '%s')\"",
	    path), 0);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	free(cmd);
	free(path);
}

static json_t *
t_json(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	ck_assert_ptr_nonnull(j);
	return j;
}

/* ---- facts ---- */

START_TEST(test_facts_fixture)
{
	char *root = t_dir(), longname[400];
	struct agent_facts f;
	struct utsname u;

	t_put(root, "/etc/os-release", "NAME=\"Debian\"\n"
	    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n");
	t_put(root, "/etc/machine-id", "0123456789ABCDEF0123456789abcdef\n");
	t_put(root, "/sys/class/dmi/id/sys_vendor", "  QEMU \n");
	t_put(root, "/sys/class/dmi/id/product_name",
	    "Standard PC (i440FX + PIIX, 1996)\n");
	t_put(root, "/proc/uptime", "1234.56 789.00\n");
	agent_facts_read(root, &f);
	ck_assert_str_eq(f.os, "Debian GNU/Linux 12 (bookworm)");
	ck_assert_str_eq(f.machine_id, "0123456789abcdef0123456789abcdef");
	ck_assert_str_eq(f.dmi_vendor, "QEMU");
	ck_assert_str_eq(f.dmi_product, "Standard PC (i440FX + PIIX, 1996)");
	ck_assert_str_eq(f.dmi_uuid, "");	/* absent: empty */
	ck_assert_str_eq(f.agent_version, agent_version());
	ck_assert_int_eq(f.uptime, 1234);
	ck_assert_int_eq(uname(&u), 0);
	ck_assert_str_eq(f.kernel, u.release);
	ck_assert_str_ne(f.hostname, "");

	/* Fallback os-release, bad machine id, long and hostile values. */
	snprintf(longname, sizeof(longname), "%s/etc/os-release", root);
	unlink(longname);
	t_put(root, "/usr/lib/os-release", "PRETTY_NAME='Alpine \"x\"'\n");
	t_put(root, "/etc/machine-id", "not-a-machine-id\n");
	memset(longname, 'A', sizeof(longname) - 2);
	longname[sizeof(longname) - 2] = '\n';
	longname[sizeof(longname) - 1] = '\0';
	t_put(root, "/sys/class/dmi/id/product_uuid", longname);
	t_put(root, "/sys/class/dmi/id/sys_vendor", "ev\x1b[31mil\n");
	agent_facts_read(root, &f);
	ck_assert_str_eq(f.os, "Alpine \"x\"");
	ck_assert_str_eq(f.machine_id, "");
	ck_assert_uint_eq(strlen(f.dmi_uuid), AGENT_FACTS_STR_MAX);
	ck_assert_str_eq(f.dmi_vendor, "ev?[31mil");
	t_rmrf(root);
	free(root);
}
END_TEST

START_TEST(test_facts_empty_root)
{
	char *root = t_dir();
	struct agent_facts f;

	agent_facts_read(root, &f);
	ck_assert_str_eq(f.os, "");
	ck_assert_str_eq(f.machine_id, "");
	ck_assert_str_eq(f.dmi_vendor, "");
	ck_assert_int_eq(f.uptime, 0);
	t_rmrf(root);
	free(root);
}
END_TEST

/* ---- the controller's policy ---- */

START_TEST(test_cpolicy_parse)
{
	static const char *const bad[] = {
		"{\"interval\":4,\"grace\":90,\"action\":\"log\"}",
		"{\"interval\":3601,\"grace\":9000,\"action\":\"log\"}",
		"{\"interval\":30,\"grace\":9,\"action\":\"log\"}",
		"{\"interval\":30,\"grace\":86401,\"action\":\"log\"}",
		"{\"interval\":30,\"grace\":30,\"action\":\"log\"}",
		"{\"interval\":30,\"grace\":90,\"action\":\"reboot\"}",
		"{\"interval\":30,\"grace\":90,\"action\":\"command\"}",
		"{\"interval\":30,\"grace\":90,\"action\":\"command\","
		    "\"command\":\"\"}",
		"{\"interval\":30,\"grace\":90,\"action\":\"log\","
		    "\"command\":\"x\"}",
		"{\"interval\":\"30\",\"grace\":90,\"action\":\"log\"}",
		"[]",
	};
	struct agent_cpolicy p, q;
	char *why = NULL;
	json_t *j;

	j = t_json("{\"interval\":30,\"grace\":90,"
	    "\"action\":\"isolate-network\"}");
	ck_assert_int_eq(agent_cpolicy_from_json(j, &p, &why), 0);
	json_decref(j);
	ck_assert_uint_eq(p.interval, 30);
	ck_assert_uint_eq(p.grace, 90);
	ck_assert_int_eq(p.action, AGENT_ACT_ISOLATE);
	ck_assert_str_eq(p.command, "");
	j = t_json("{\"interval\":5,\"grace\":10,\"action\":\"command\","
	    "\"command\":\"echo hi\"}");
	ck_assert_int_eq(agent_cpolicy_from_json(j, &p, &why), 0);
	json_decref(j);
	ck_assert_str_eq(p.command, "echo hi");
	j = agent_cpolicy_to_json(&p);
	ck_assert_int_eq(agent_cpolicy_from_json(j, &q, &why), 0);
	json_decref(j);
	ck_assert(agent_cpolicy_equal(&p, &q));

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		q = p;
		j = t_json(bad[i]);
		ck_assert_msg(agent_cpolicy_from_json(j, &q, &why) == -1,
		    "accepted %s", bad[i]);
		ck_assert_ptr_nonnull(why);
		free(why);
		why = NULL;
		ck_assert(agent_cpolicy_equal(&p, &q));	/* untouched */
		json_decref(j);
	}
}
END_TEST

START_TEST(test_cpolicy_local)
{
	struct agent_config *cfg = agent_config_default();
	struct agent_cpolicy p;
	char *why = NULL;

	agent_cpolicy_local(cfg, &p);
	ck_assert_int_eq(p.action, AGENT_ACT_LOG);
	ck_assert_uint_eq(p.interval, 30);
	ck_assert_int_eq(agent_config_set(cfg, "policy", "touch /x", &why), 0);
	ck_assert_int_eq(agent_config_set(cfg, "interval", "1", &why), 0);
	agent_cpolicy_local(cfg, &p);
	ck_assert_int_eq(p.action, AGENT_ACT_COMMAND);
	ck_assert_str_eq(p.command, "touch /x");
	ck_assert_uint_eq(p.interval, 1);	/* local ranges kept */
	ck_assert_int_eq(agent_config_set(cfg, "action", "poweroff", &why),
	    0);
	agent_cpolicy_local(cfg, &p);
	ck_assert_int_eq(p.action, AGENT_ACT_POWEROFF);
	ck_assert_int_eq(agent_config_set(cfg, "action", "reboot", &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "action: expected"));
	free(why);
	agent_config_free(cfg);
}
END_TEST

/* ---- the state file ---- */

START_TEST(test_store_roundtrip)
{
	char *dir = t_dir(), *sd, *path, *why = NULL;
	struct agent_saved s, back;
	struct agent_store st;
	struct stat sb, sb2;

	ck_assert_int_gt(asprintf(&sd, "%s/state", dir), 0);
	ck_assert_int_eq(agent_store_open(&st, sd, &s, &why), 0);
	ck_assert(!s.has_policy);
	ck_assert_int_eq(stat(sd, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0700);
	s.has_policy = true;
	s.policy.interval = 60;
	s.policy.grace = 600;
	s.policy.action = AGENT_ACT_COMMAND;
	snprintf(s.policy.command, sizeof(s.policy.command), "%s", "logger \"vtoken\" && true");
	s.isolated = true;
	snprintf(s.fired.action, sizeof(s.fired.action), "%s", "command");
	snprintf(s.fired.reason, sizeof(s.fired.reason), "%s", "revoked");
	snprintf(s.fired.time, sizeof(s.fired.time), "%s", "2026-12-03T10:00:00Z");
	snprintf(s.fired.result, sizeof(s.fired.result), "%s", "ok");
	snprintf(s.report.version, sizeof(s.report.version), "%s", "0.9.1");
	snprintf(s.report.result, sizeof(s.report.result), "%s", "refused");
	snprintf(s.report.reason, sizeof(s.report.reason), "%s", "bad signature");
	snprintf(s.pending_version, sizeof(s.pending_version), "%s", "0.9.2");
	snprintf(s.pending_previous, sizeof(s.pending_previous), "%s", "0.9.0");
	s.pending_starts = 2;
	snprintf(s.tried_version, sizeof(s.tried_version), "%s", "0.9.1");
	s.tried_time = 1700000000;
	ck_assert_int_eq(agent_store_save(&st, &s, &why), 0);
	agent_store_close(&st);

	ck_assert_int_gt(asprintf(&path, "%s/" AGENT_STORE_FILE, sd), 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	ck_assert_int_eq(agent_store_open(&st, sd, &back, &why), 0);
	ck_assert(back.has_policy);
	ck_assert(agent_cpolicy_equal(&s.policy, &back.policy));
	ck_assert(back.isolated);
	ck_assert_str_eq(back.fired.reason, "revoked");
	ck_assert_str_eq(back.report.reason, "bad signature");
	ck_assert_str_eq(back.pending_previous, "0.9.0");
	ck_assert_uint_eq(back.pending_starts, 2);
	ck_assert_int_eq(back.tried_time, 1700000000);

	/* Unchanged: not written again (same inode, no temporary). */
	ck_assert_int_eq(agent_store_save(&st, &back, &why), 0);
	ck_assert_int_eq(stat(path, &sb2), 0);
	ck_assert_uint_eq(sb.st_ino, sb2.st_ino);
	/* Changed: replaced by rename (a new inode), still 0600. */
	back.isolated = false;
	ck_assert_int_eq(agent_store_save(&st, &back, &why), 0);
	ck_assert_int_eq(stat(path, &sb2), 0);
	ck_assert_uint_ne(sb.st_ino, sb2.st_ino);
	ck_assert_int_eq(sb2.st_mode & 0777, 0600);
	agent_store_close(&st);

	/* A broken file is an error; an invalid policy is dropped. */
	t_put(path, "", "{nope");
	ck_assert_int_eq(agent_store_open(&st, sd, &back, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "not a state file"));
	free(why);
	why = NULL;
	t_put(path, "", "{\"policy\":{\"interval\":1,\"grace\":2,"
	    "\"action\":\"log\"},\"isolated\":true}");
	ck_assert_int_eq(agent_store_open(&st, sd, &back, &why), 0);
	ck_assert(!back.has_policy);
	ck_assert(back.isolated);
	agent_store_close(&st);
	free(path);
	free(sd);
	t_rmrf(dir);
	free(dir);
}
END_TEST

/* ---- actions ---- */

START_TEST(test_action_names)
{
	enum agent_act a;

	for (int i = AGENT_ACT_LOG; i <= AGENT_ACT_COMMAND; i++) {
		ck_assert_int_eq(agent_action_parse(agent_action_name(i), &a),
		    0);
		ck_assert_int_eq(a, i);
	}
	ck_assert_int_eq(agent_action_parse("isolate", &a), -1);
	ck_assert_str_eq(agent_action_name(AGENT_ACT_ISOLATE),
	    "isolate-network");
}
END_TEST

START_TEST(test_action_nft)
{
	char *why = NULL, *s;

	s = agent_action_nft_isolate("10.0.2.2", 3241, 0, &why);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s,
	    "table inet vtoken_isolate {}\n"
	    "delete table inet vtoken_isolate\n"
	    "table inet vtoken_isolate {\n"
	    "\tchain input {\n"
	    "\t\ttype filter hook input priority -10; policy drop;\n"
	    "\t\tiif \"lo\" accept\n"
	    "\t\tip saddr 10.0.2.2 ct state established,related accept\n"
	    "\t\tudp sport 67 udp dport 68 accept\n"
	    "\t}\n"
	    "\tchain output {\n"
	    "\t\ttype filter hook output priority -10; policy drop;\n"
	    "\t\toif \"lo\" accept\n"
	    "\t\tip daddr 10.0.2.2 tcp dport 3241 accept\n"
	    "\t\tip daddr 10.0.2.2 ct state established,related accept\n"
	    "\t\tudp sport 68 udp dport 67 accept\n"
	    "\t}\n"
	    "}\n");
	free(s);
	s = agent_action_nft_isolate("fd00::1", 443, 0, &why);
	ck_assert_ptr_nonnull(strstr(s, "ip6 daddr fd00::1 tcp dport 443 "
	    "accept\n"));
	ck_assert_ptr_nonnull(strstr(s, "ip6 saddr fd00::1 ct state"));
	free(s);
	/* The controller's USB/IP port as well: a token can come back. */
	s = agent_action_nft_isolate("10.0.2.2", 3241, 3240, &why);
	ck_assert_ptr_nonnull(strstr(s, "ip daddr 10.0.2.2 tcp dport "
	    "{ 3241, 3240 } accept\n"));
	free(s);
	/* Nothing but an address goes into the ruleset. */
	ck_assert_ptr_null(agent_action_nft_isolate("10.0.2.2; flush "
	    "ruleset", 80, 0, &why));
	ck_assert_ptr_nonnull(why);
	free(why);
	why = NULL;
	ck_assert_ptr_null(agent_action_nft_isolate("", 80, 0, &why));
	free(why);
	why = NULL;
	ck_assert_ptr_null(agent_action_nft_isolate("10.0.2.2", 0, 0, &why));
	free(why);
	ck_assert_str_eq(agent_action_nft_unisolate(),
	    "table inet vtoken_isolate {}\n"
	    "delete table inet vtoken_isolate\n");
}
END_TEST

START_TEST(test_action_which)
{
	char *p;

	p = agent_action_which("/opt/x/nft", "nft");
	ck_assert_str_eq(p, "/opt/x/nft");
	free(p);
	setenv("PATH", "/nonexistent::/bin", 1);
	p = agent_action_which("", "sh");
	ck_assert_str_eq(p, "/bin/sh");
	free(p);
	ck_assert_ptr_null(agent_action_which(NULL, "no-such-tool-xyz"));
}
END_TEST

/* ---- releases ---- */

struct t_release {
	char *dir, *key, *file;
	char sha[65];
	uint8_t sig[64];
	uint64_t size;
};

/* A key pair, its public key in PEM, an artifact and its signature. */
static void
t_release_make(struct t_release *t, const char *version)
{
	unsigned char md[32], body[3000];
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	size_t siglen = 64;
	char *msg;
	FILE *fp;

	memset(t, 0, sizeof(*t));
	t->dir = t_dir();
	ck_assert_int_gt(asprintf(&t->key, "%s/release.pub", t->dir), 0);
	ck_assert_int_gt(asprintf(&t->file, "%s/artifact", t->dir), 0);
	ck_assert_int_eq(EVP_PKEY_keygen_init(kc), 1);
	ck_assert_int_eq(EVP_PKEY_keygen(kc, &pk), 1);
	ck_assert_ptr_nonnull(fp = fopen(t->key, "w"));
	ck_assert_int_eq(PEM_write_PUBKEY(fp, pk), 1);
	fclose(fp);
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (unsigned char)(i * 7);
	ck_assert_ptr_nonnull(fp = fopen(t->file, "w"));
	ck_assert_uint_eq(fwrite(body, 1, sizeof(body), fp), sizeof(body));
	fclose(fp);
	t->size = sizeof(body);
	ck_assert_int_eq(EVP_Digest(body, sizeof(body), md, NULL,
	    EVP_sha256(), NULL), 1);
	encode_hex(md, 32, t->sha, false);
	msg = agent_release_message(version, t->sha, t->size);
	ck_assert_int_eq(EVP_DigestSignInit(mc, NULL, NULL, NULL, pk), 1);
	ck_assert_int_eq(EVP_DigestSign(mc, t->sig, &siglen,
	    (unsigned char *)msg, strlen(msg)), 1);
	ck_assert_uint_eq(siglen, 64);
	free(msg);
	EVP_MD_CTX_free(mc);
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(kc);
}

static void
t_release_free(struct t_release *t)
{
	t_rmrf(t->dir);
	free(t->dir);
	free(t->key);
	free(t->file);
}

START_TEST(test_release_message)
{
	char *m = agent_release_message("0.9.1", "ab", 123456);

	ck_assert_str_eq(m, "vtoken-release-v1 0.9.1 ab 123456\n");
	free(m);
	ck_assert(agent_release_version_ok("0.9.1+deb12~rc-1"));
	ck_assert(!agent_release_version_ok(""));
	ck_assert(!agent_release_version_ok(".."));
	ck_assert(!agent_release_version_ok("1/2"));
	ck_assert(!agent_release_version_ok("1 2"));
}
END_TEST

START_TEST(test_release_check)
{
	struct t_release t;
	struct agent_release r;
	char *why = NULL, zeros[65];
	uint8_t badsig[64];

	t_release_make(&t, "0.9.1");
	r = (struct agent_release){ "0.9.1", t.sha, t.size, t.sig };
	ck_assert_msg(agent_release_check(t.key, t.file, &r, &why) == 0,
	    "%s", why);
	/* Wrong announced size. */
	r.size = t.size + 1;
	ck_assert_int_eq(agent_release_check(t.key, t.file, &r, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "is not the announced"));
	free(why);
	why = NULL;
	/* Wrong announced hash. */
	memset(zeros, '0', 64);
	zeros[64] = '\0';
	r = (struct agent_release){ "0.9.1", zeros, t.size, t.sig };
	ck_assert_int_eq(agent_release_check(t.key, t.file, &r, &why), -1);
	ck_assert_str_eq(why, "SHA-256 mismatch");
	free(why);
	why = NULL;
	/* A good signature for another version, a broken signature. */
	r = (struct agent_release){ "0.9.2", t.sha, t.size, t.sig };
	ck_assert_int_eq(agent_release_check(t.key, t.file, &r, &why), -1);
	ck_assert_str_eq(why, "bad signature");
	free(why);
	why = NULL;
	memcpy(badsig, t.sig, 64);
	badsig[10] ^= 1;
	r = (struct agent_release){ "0.9.1", t.sha, t.size, badsig };
	ck_assert_int_eq(agent_release_check(t.key, t.file, &r, &why), -1);
	ck_assert_str_eq(why, "bad signature");
	free(why);
	why = NULL;
	/* A changed artifact (same size) with the announced hash. */
	t_put(t.file, "", "x");
	r = (struct agent_release){ "0.9.1", t.sha, 1, t.sig };
	ck_assert_int_eq(agent_release_check(t.key, t.file, &r, &why), -1);
	ck_assert_str_eq(why, "SHA-256 mismatch");
	free(why);
	why = NULL;
	t_release_free(&t);
}
END_TEST

START_TEST(test_release_wrong_key)
{
	struct t_release t, other;
	struct agent_release r;
	char *why = NULL;

	t_release_make(&t, "1.0");
	t_release_make(&other, "1.0");
	r = (struct agent_release){ "1.0", t.sha, t.size, t.sig };
	ck_assert_int_eq(agent_release_check(other.key, t.file, &r, &why),
	    -1);
	ck_assert_str_eq(why, "bad signature");
	free(why);
	why = NULL;
	t_put(other.key, "", "not a key\n");
	ck_assert_int_eq(agent_release_check(other.key, t.file, &r, &why),
	    -1);
	ck_assert_ptr_nonnull(strstr(why, "not a PEM Ed25519 public key"));
	free(why);
	t_release_free(&t);
	t_release_free(&other);
}
END_TEST

/* ---- the verify body and answer ---- */

START_TEST(test_msg_extra)
{
	uint8_t nonce[VTAUTH_NONCE_LEN] = { 1 }, sig[VTAUTH_SIG_LEN] = { 2 };
	struct agent_update_report up = { "0.9.1", "refused",
	    "bad signature" };
	struct agent_fired fired = { "isolate-network", "revoked",
	    "2026-12-03T10:00:00Z", "ok" };
	struct agent_msg_extra x = { 0 };
	struct agent_facts f;
	json_t *j, *fj;
	char *body;

	memset(&f, 0, sizeof(f));
	snprintf(f.hostname, sizeof(f.hostname), "%s", "vm-17");
	snprintf(f.agent_version, sizeof(f.agent_version), "%s", "0.9.0");
	f.uptime = 77;
	x.facts = &f;
	x.update = &up;
	x.fired = &fired;
	body = agent_msg_verify_body(T_ID, nonce, sig, &x);
	ck_assert_ptr_nonnull(j = json_loads(body, 0, NULL));
	ck_assert_str_eq(json_string_value(json_object_get(j, "token")),
	    T_ID);
	fj = json_object_get(j, "facts");
	ck_assert_str_eq(json_string_value(json_object_get(fj, "hostname")),
	    "vm-17");
	ck_assert_str_eq(json_string_value(json_object_get(fj, "dmi_uuid")),
	    "");
	ck_assert_int_eq(json_integer_value(json_object_get(fj, "uptime")),
	    77);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j,
	    "update"), "reason")), "bad signature");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j,
	    "policy_fired"), "action")), "isolate-network");
	json_decref(j);
	agent_msg_wipe_free(body);

	/* Nothing to report: no update or policy_fired member. */
	up.version[0] = fired.action[0] = '\0';
	body = agent_msg_verify_body(T_ID, nonce, sig, &x);
	ck_assert_ptr_null(strstr(body, "\"update\""));
	ck_assert_ptr_null(strstr(body, "policy_fired"));
	agent_msg_wipe_free(body);

	/* Worst case: every fact full of quotes; still under 4 KiB. */
	memset(&f, '"', sizeof(f));
	f.hostname[AGENT_FACTS_STR_MAX] = f.os[AGENT_FACTS_STR_MAX] =
	    f.kernel[AGENT_FACTS_STR_MAX] = f.machine_id[AGENT_FACTS_STR_MAX] =
	    f.dmi_vendor[AGENT_FACTS_STR_MAX] =
	    f.dmi_product[AGENT_FACTS_STR_MAX] =
	    f.dmi_uuid[AGENT_FACTS_STR_MAX] =
	    f.agent_version[AGENT_FACTS_STR_MAX] = '\0';
	f.uptime = 1;
	memset(up.reason, '\\', AGENT_STORE_REASON_MAX);
	up.reason[AGENT_STORE_REASON_MAX] = '\0';
	snprintf(up.version, sizeof(up.version), "%s", "0.9.1");
	body = agent_msg_verify_body(T_ID, nonce, sig, &x);
	ck_assert_uint_le(strlen(body), AGENT_MSG_VERIFY_MAX);
	ck_assert_ptr_nonnull(j = json_loads(body, 0, NULL));
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(
	    json_object_get(j, "facts"), "os"))), AGENT_MSG_FACT_CUT);
	json_decref(j);
	agent_msg_wipe_free(body);
}
END_TEST

START_TEST(test_msg_answer)
{
	struct agent_msg_answer a;
	char *body, sig64[89], *s;
	uint8_t sig[64];

	memset(sig, 0x11, sizeof(sig));
	s = encode_base64(sig, sizeof(sig));
	snprintf(sig64, sizeof(sig64), "%s", s);
	free(s);
	ck_assert_int_gt(asprintf(&body, "{\"ok\":true,\"vm\":\"vm-17\","
	    "\"policy\":{\"interval\":30,\"grace\":90,"
	    "\"action\":\"isolate-network\"},\"update\":{\"version\":"
	    "\"0.9.1\",\"size\":123456,\"sha256\":\"%s\",\"signature\":"
	    "\"%s\",\"url\":\"/v1/agent/releases/0.9.1/artifact\"}}",
	    "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
	    sig64), 0);
	ck_assert_int_eq(agent_msg_parse_verify(body, strlen(body), &a), 0);
	free(body);
	ck_assert_str_eq(a.vm, "vm-17");
	ck_assert_int_eq(a.policy, 1);
	ck_assert_int_eq(a.pol.action, AGENT_ACT_ISOLATE);
	ck_assert_int_eq(a.update, 1);
	ck_assert_str_eq(a.offer.version, "0.9.1");
	ck_assert_uint_eq(a.offer.size, 123456);
	ck_assert_str_eq(a.offer.sha256,
	    "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
	ck_assert_mem_eq(a.offer.sig, sig, 64);
	ck_assert_str_eq(a.offer.url, "/v1/agent/releases/0.9.1/artifact");
	agent_msg_answer_clear(&a);

	/* An invalid policy or offer is reported, not a failure. */
	body = strdup("{\"ok\":true,\"policy\":{\"interval\":1,\"grace\":90,"
	    "\"action\":\"log\"},\"update\":{\"version\":\"../x\"}}");
	ck_assert_int_eq(agent_msg_parse_verify(body, strlen(body), &a), 0);
	ck_assert_int_eq(a.policy, -1);
	ck_assert_int_eq(a.update, -1);
	ck_assert_ptr_nonnull(strstr(a.why, "update: bad version"));
	agent_msg_answer_clear(&a);
	free(body);
	body = strdup("{\"ok\":true,\"update\":{\"version\":\"1\","
	    "\"size\":67108865}}");
	ck_assert_int_eq(agent_msg_parse_verify(body, strlen(body), &a), 0);
	ck_assert_int_eq(a.update, -1);
	ck_assert_str_eq(a.why, "update: bad size");
	agent_msg_answer_clear(&a);
	free(body);
}
END_TEST

START_TEST(test_config_new_keys)
{
	struct agent_config *cfg = agent_config_default();

	ck_assert_str_eq(cfg->state_dir, "/var/lib/vtoken-agent");
	ck_assert_str_eq(cfg->release_key, "");
	ck_assert_str_eq(cfg->update_command, "systemd-run --quiet --wait "
	    "--collect --unit=vtoken-agent-update dpkg -i --force-confdef "
	    "--force-confold "
	    "\"$VTOKEN_UPDATE_FILE\"");
	ck_assert_str_eq(cfg->update_exec, "/usr/sbin/vtoken-agent");
	ck_assert_str_eq(cfg->action, "");
	ck_assert_str_eq(cfg->nft, "");
	ck_assert_str_eq(cfg->loginctl, "");
	ck_assert_str_eq(cfg->systemctl, "");
	agent_config_free(cfg);
}
END_TEST

static Suite *
agent_managed_suite(void)
{
	Suite *s = suite_create("agent_managed");
	TCase *tc;

	tc = tcase_create("facts");
	tcase_add_test(tc, test_facts_fixture);
	tcase_add_test(tc, test_facts_empty_root);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy");
	tcase_add_test(tc, test_cpolicy_parse);
	tcase_add_test(tc, test_cpolicy_local);
	tcase_add_test(tc, test_store_roundtrip);
	tcase_add_test(tc, test_config_new_keys);
	suite_add_tcase(s, tc);

	tc = tcase_create("action");
	tcase_add_test(tc, test_action_names);
	tcase_add_test(tc, test_action_nft);
	tcase_add_test(tc, test_action_which);
	suite_add_tcase(s, tc);

	tc = tcase_create("release");
	tcase_add_test(tc, test_release_message);
	tcase_add_test(tc, test_release_check);
	tcase_add_test(tc, test_release_wrong_key);
	suite_add_tcase(s, tc);

	tc = tcase_create("msg");
	tcase_add_test(tc, test_msg_extra);
	tcase_add_test(tc, test_msg_answer);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(agent_managed_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
