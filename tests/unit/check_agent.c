/*
 * check_agent: the agent's pure pieces (src/agent): configuration
 * parsing and its errors, the state machine and grace timer on an
 * injected clock, the signed message (vtauth_message, the one
 * implementation both sides use, accepted by the server's
 * control_auth_verify), request and answer handling, reading a token image, and the policy child.  No
 * network and no udev.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent_config.h"
#include "agent/agent_msg.h"
#include "agent/agent_policy.h"
#include "agent/agent_state.h"
#include "agent/agent_token.h"
#include "common/encode.h"
#include "server/control/control_auth.h"
#include "token/token_cred.h"
#include "token/token_image.h"

#define T_ID	"9F2C4A1B3D5E6F70"

/* ---- helpers ---- */

/* Writes text to a new temporary file; the caller unlinks and frees. */
static char *
t_file(const char *text, size_t len)
{
	char *path = strdup("/tmp/check_agent.XXXXXX");
	int fd;

	ck_assert_ptr_nonnull(path);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

/* Loads YAML text; returns the config or NULL with *errors. */
static struct agent_config *
t_load(const char *yaml, char **errors, char **path)
{
	struct agent_config *cfg;

	*path = t_file(yaml, strlen(yaml));
	cfg = agent_config_load(*path, errors);
	return cfg;
}

/* Asserts that errors has a line "PATH:LINE:COL: want...". */
static void
t_has_error(const char *errors, const char *path, int line, int col,
    const char *want)
{
	char *needle;

	ck_assert_ptr_nonnull(errors);
	ck_assert_int_gt(asprintf(&needle, "%s:%d:%d: %s", path, line, col,
	    want), 0);
	ck_assert_msg(strstr(errors, needle) != NULL, "'%s' not in '%s'",
	    needle, errors);
	free(needle);
}

/* ---- configuration ---- */

START_TEST(test_config_defaults)
{
	struct agent_config *cfg = agent_config_default();

	ck_assert_str_eq(cfg->controller, "");
	ck_assert_str_eq(cfg->ca_file, "");
	ck_assert_str_eq(cfg->ca_sha256, "");
	ck_assert_uint_eq(cfg->interval, 30);
	ck_assert_uint_eq(cfg->grace, 90);
	ck_assert_str_eq(cfg->policy, "");
	ck_assert_str_eq(cfg->device, "");
	ck_assert_uint_eq(cfg->vendor_id, 0x1209);
	ck_assert_uint_eq(cfg->product_id, 0x0001);
	ck_assert_uint_eq(cfg->timeout, 10);
	ck_assert_uint_eq(cfg->device_wait, 30);
	agent_config_free(cfg);
	agent_config_free(NULL);
}
END_TEST

START_TEST(test_config_file)
{
	const char *yaml =
	    "# every key\n"
	    "controller: https://ctl.example:3241/\n"
	    "ca_file: /etc/vtoken/ca.pem\n"
	    "ca_sha256: AABBCCDDEEFF00112233445566778899"
	    "aabbccddeeff00112233445566778899\n"
	    "interval: 5\n"
	    "grace: 0\n"
	    "policy: \"systemctl poweroff\"\n"
	    "device: /dev/sdz\n"
	    "vendor_id: 0x1d6b\n"
	    "product_id: 260\n"
	    "timeout: 3\n"
	    "device_wait: 0\n";
	struct agent_config *cfg;
	char *errors = NULL, *path;

	cfg = t_load(yaml, &errors, &path);
	ck_assert_msg(cfg != NULL, "%s", errors ? errors : "?");
	ck_assert_str_eq(cfg->controller, "https://ctl.example:3241/");
	ck_assert_str_eq(cfg->ca_file, "/etc/vtoken/ca.pem");
	ck_assert_str_eq(cfg->ca_sha256, "aabbccddeeff00112233445566778899"
	    "aabbccddeeff00112233445566778899");
	ck_assert_uint_eq(cfg->interval, 5);
	ck_assert_uint_eq(cfg->grace, 0);
	ck_assert_str_eq(cfg->policy, "systemctl poweroff");
	ck_assert_str_eq(cfg->device, "/dev/sdz");
	ck_assert_uint_eq(cfg->vendor_id, 0x1d6b);
	ck_assert_uint_eq(cfg->product_id, 260);
	ck_assert_uint_eq(cfg->timeout, 3);
	ck_assert_uint_eq(cfg->device_wait, 0);
	agent_config_free(cfg);
	unlink(path);
	free(path);

	/* An empty file is all defaults. */
	cfg = t_load("", &errors, &path);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(cfg->interval, 30);
	agent_config_free(cfg);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(test_config_errors)
{
	const char *yaml =
	    "interval: 0\n"
	    "grace: -1\n"
	    "bogus: 1\n"
	    "controller: ftp://x\n"
	    "ca_sha256: abc\n"
	    "vendor_id: 0x10000\n"
	    "policy: [a, b]\n"
	    "interval: 7\n"
	    "timeout: 10s\n";
	struct agent_config *cfg;
	char *errors = NULL, *path;

	cfg = t_load(yaml, &errors, &path);
	ck_assert_ptr_null(cfg);
	t_has_error(errors, path, 1, 11, "interval: value out of range");
	t_has_error(errors, path, 2, 8, "grace: expected a non-negative");
	t_has_error(errors, path, 3, 1, "unknown key \"bogus\"");
	t_has_error(errors, path, 4, 13, "controller: expected an http://");
	t_has_error(errors, path, 5, 12, "ca_sha256: expected 64 hex");
	t_has_error(errors, path, 6, 12, "vendor_id: value out of range");
	t_has_error(errors, path, 7, 9, "policy: expected a single value");
	t_has_error(errors, path, 8, 1, "duplicate key \"interval\"");
	t_has_error(errors, path, 9, 10, "timeout: expected a non-negative");
	free(errors);
	unlink(path);
	free(path);

	cfg = t_load("interval: [\n", &errors, &path);
	ck_assert_ptr_null(cfg);
	ck_assert_ptr_nonnull(errors);
	ck_assert_msg(strncmp(errors, path, strlen(path)) == 0, "%s", errors);
	free(errors);
	unlink(path);
	free(path);

	cfg = t_load("- a\n- b\n", &errors, &path);
	ck_assert_ptr_null(cfg);
	t_has_error(errors, path, 1, 1, "expected a mapping of keys");
	free(errors);
	unlink(path);
	free(path);

	cfg = agent_config_load("/nonexistent/agent.yaml", &errors);
	ck_assert_ptr_null(cfg);
	ck_assert_ptr_nonnull(strstr(errors, "/nonexistent/agent.yaml:0:0: "));
	free(errors);
}
END_TEST

START_TEST(test_config_set)
{
	struct agent_config *cfg = agent_config_default();
	char *cause = NULL;

	ck_assert_int_eq(agent_config_set(cfg, "controller",
	    "http://10.0.2.2:3241", &cause), 0);
	ck_assert_str_eq(cfg->controller, "http://10.0.2.2:3241");
	ck_assert_int_eq(agent_config_set(cfg, "device_wait", "5", &cause), 0);
	ck_assert_uint_eq(cfg->device_wait, 5);
	ck_assert_int_eq(agent_config_set(cfg, "controller", "http://a b",
	    &cause), -1);
	ck_assert_str_eq(cause, "controller: the URL may hold printable "
	    "ASCII only");
	free(cause);
	ck_assert_int_eq(agent_config_set(cfg, "device_wait", "9999",
	    &cause), -1);
	ck_assert_str_eq(cause, "device_wait: value out of range");
	free(cause);
	ck_assert_int_eq(agent_config_set(cfg, "nope", "1", &cause), -1);
	free(cause);
	/* A failed set keeps the old value. */
	ck_assert_str_eq(cfg->controller, "http://10.0.2.2:3241");
	agent_config_free(cfg);
}
END_TEST

/* ---- state machine ---- */

START_TEST(test_state_start)
{
	struct agent_state s;

	agent_state_init(&s, 100.0, 90);
	ck_assert_int_eq(s.st, AGENT_ST_NO_TOKEN);
	ck_assert_str_eq(s.reason, "token missing");
	/* The period starts at start-up: a VM booted without its token. */
	ck_assert(agent_state_deadline(&s) == 190.0);
	ck_assert(!agent_state_policy_due(&s, 189.999));
	ck_assert(agent_state_policy_due(&s, 190.0));
	/* Already NO_TOKEN: nothing to log. */
	ck_assert(!agent_state_token_gone(&s, 150.0));
	ck_assert(agent_state_deadline(&s) == 190.0);
	ck_assert_str_eq(agent_state_name(s.st), "NO_TOKEN");
}
END_TEST

START_TEST(test_state_grace)
{
	struct agent_state s;

	agent_state_init(&s, 0.0, 90);
	ck_assert(agent_state_auth_ok(&s));
	ck_assert_int_eq(s.st, AGENT_ST_AUTHENTICATED);
	ck_assert_str_eq(s.reason, "");
	ck_assert(agent_state_deadline(&s) < 0);
	ck_assert(!agent_state_policy_due(&s, 1e9));
	ck_assert(!agent_state_auth_ok(&s));	/* logged once */

	/* The first failure after a success starts the period. */
	ck_assert(agent_state_auth_fail(&s, 30.0, "revoked"));
	ck_assert_int_eq(s.st, AGENT_ST_FAILING);
	ck_assert_str_eq(s.reason, "revoked");
	ck_assert(!agent_state_auth_fail(&s, 60.0, "revoked"));
	ck_assert(agent_state_deadline(&s) == 120.0);
	/* A new reason is a change, not a new period. */
	ck_assert(agent_state_auth_fail(&s, 90.0,
	    "controller unreachable: timeout"));
	ck_assert(agent_state_deadline(&s) == 120.0);
	/* The token going away keeps the period too. */
	ck_assert(agent_state_token_gone(&s, 100.0));
	ck_assert_int_eq(s.st, AGENT_ST_NO_TOKEN);
	ck_assert(!agent_state_policy_due(&s, 119.9));
	ck_assert(agent_state_policy_due(&s, 120.0));

	agent_state_policy_ran(&s);
	ck_assert_int_eq(s.st, AGENT_ST_POLICY_RUN);
	ck_assert_str_eq(agent_state_name(s.st), "POLICY_RUN");
	/* Once per period. */
	ck_assert(agent_state_deadline(&s) < 0);
	ck_assert(!agent_state_policy_due(&s, 1e9));
	/* Later events update the reason but stay in POLICY_RUN. */
	ck_assert(agent_state_auth_fail(&s, 130.0, "revoked"));
	ck_assert_int_eq(s.st, AGENT_ST_POLICY_RUN);
	ck_assert_str_eq(s.reason, "revoked");
	ck_assert(!agent_state_auth_fail(&s, 140.0, "revoked"));
	ck_assert(!agent_state_policy_due(&s, 1e9));

	/* Success re-arms: the next outage runs the policy again. */
	ck_assert(agent_state_auth_ok(&s));
	ck_assert_int_eq(s.st, AGENT_ST_AUTHENTICATED);
	ck_assert(agent_state_token_gone(&s, 500.0));
	ck_assert(agent_state_deadline(&s) == 590.0);
	ck_assert(agent_state_policy_due(&s, 590.0));
}
END_TEST

START_TEST(test_state_zero_grace)
{
	struct agent_state s;

	agent_state_init(&s, 10.0, 0);
	ck_assert(agent_state_auth_ok(&s));
	ck_assert(agent_state_auth_fail(&s, 20.0, "wrong address"));
	ck_assert(agent_state_policy_due(&s, 20.0));
	ck_assert_str_eq(agent_state_name(AGENT_ST_FAILING), "FAILING");
	ck_assert_str_eq(agent_state_name(AGENT_ST_AUTHENTICATED),
	    "AUTHENTICATED");
}
END_TEST

/* ---- protocol messages ---- */

START_TEST(test_msg_bytes)
{
	uint8_t nonce[VTAUTH_NONCE_LEN], ours[VTAUTH_MSG_LEN];
	size_t n;

	for (size_t i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(i * 37 + 1);
	n = vtauth_message(T_ID, nonce, sizeof(nonce), ours);
	ck_assert_uint_eq(n, VTAUTH_MSG_LEN);
	ck_assert_uint_eq(n, 14 + 16 + 32);
	ck_assert_mem_eq(ours, "vtoken-auth-v1" T_ID, 14 + 16);
	ck_assert_mem_eq(ours + 30, nonce, sizeof(nonce));
	/* Only real ids and whole nonces go into a message. */
	ck_assert_uint_eq(vtauth_message("9F2C4A1B3D5E6F7", nonce,
	    sizeof(nonce), ours), 0);
	ck_assert_uint_eq(vtauth_message("9F2C4A1B3D5E6F70X", nonce,
	    sizeof(nonce), ours), 0);
	ck_assert_uint_eq(vtauth_message("../../etc/passwd", nonce,
	    sizeof(nonce), ours), 0);
	ck_assert_uint_eq(vtauth_message(T_ID, nonce, sizeof(nonce) - 1,
	    ours), 0);
}
END_TEST

/* The server's verifier accepts what the agent signs. */
START_TEST(test_msg_server_accepts)
{
	struct control_auth_limits lim = { 30, 600, 600, 64 };
	uint8_t nonce[VTAUTH_NONCE_LEN], msg[VTAUTH_MSG_LEN], sig[64];
	uint8_t pub[TOKEN_CRED_PUBKEY_LEN];
	struct token_cred *cred = token_cred_generate(NULL);
	struct control_auth a;
	double exp;
	bool flood;

	ck_assert_ptr_nonnull(cred);
	ck_assert_int_eq(token_cred_public(cred, pub, NULL), 0);
	control_auth_init(&a, &lim);
	ck_assert_int_eq(control_auth_challenge(&a, 1.0, T_ID, "127.0.0.1", nonce,
	    &exp, &flood), AUTH_OK);
	ck_assert_uint_eq(vtauth_message(T_ID, nonce, sizeof(nonce), msg), VTAUTH_MSG_LEN);
	ck_assert_int_eq(token_cred_sign(cred, msg, sizeof(msg), sig, NULL),
	    0);
	ck_assert_int_eq(control_auth_verify(&a, 2.0, T_ID, "127.0.0.1", pub, nonce,
	    sizeof(nonce), sig, sizeof(sig)), AUTH_OK);
	/* Replayed. */
	ck_assert_int_eq(control_auth_verify(&a, 3.0, T_ID, "127.0.0.1", pub, nonce,
	    sizeof(nonce), sig, sizeof(sig)), AUTH_REPLAYED_NONCE);
	control_auth_clear(&a);
	token_cred_free(cred);
}
END_TEST

START_TEST(test_msg_bodies)
{
	uint8_t nonce[VTAUTH_NONCE_LEN], sig[VTAUTH_SIG_LEN];
	uint8_t back[VTAUTH_SIG_LEN + 4];
	struct agent_msg_answer ans;
	char *body;

	memset(nonce, 0xa5, sizeof(nonce));
	memset(sig, 0x5a, sizeof(sig));
	body = agent_msg_challenge_body(T_ID);
	ck_assert_str_eq(body, "{\"token\":\"" T_ID "\"}");
	free(body);

	body = agent_msg_verify_body(T_ID, nonce, sig, NULL);
	ck_assert_ptr_nonnull(strstr(body, "\"token\":\"" T_ID "\""));
	/* The nonce round-trips through the challenge parser. */
	{
		char *n64 = encode_base64(nonce, sizeof(nonce)), *chal;

		ck_assert_ptr_nonnull(strstr(body, n64));
		ck_assert_int_gt(asprintf(&chal, "{\"nonce\":\"%s\","
		    "\"expires\":\"2026-11-26T21:00:30Z\"}", n64), 0);
		memset(back, 0, sizeof(back));
		ck_assert_int_eq(agent_msg_parse_challenge(chal, strlen(chal),
		    back), 0);
		ck_assert_mem_eq(back, nonce, sizeof(nonce));
		free(chal);
		free(n64);
	}
	{
		char *s64 = encode_base64(sig, sizeof(sig));

		ck_assert_ptr_nonnull(strstr(body, "\"signature\":\""));
		ck_assert_ptr_nonnull(strstr(body, s64));
		ck_assert_int_eq(decode_base64(s64, back, sizeof(back)), 64);
		ck_assert_mem_eq(back, sig, sizeof(sig));
		free(s64);
	}
	agent_msg_wipe_free(body);
	agent_msg_wipe_free(NULL);

	/* Bad challenges. */
	ck_assert_int_eq(agent_msg_parse_challenge("", 0, back), -1);
	ck_assert_int_eq(agent_msg_parse_challenge("[]", 2, back), -1);
	ck_assert_int_eq(agent_msg_parse_challenge("{\"nonce\":\"AAAA\"}",
	    16, back), -1);
	ck_assert_int_eq(agent_msg_parse_challenge("{\"nonce\":5}", 11,
	    back), -1);

	/* Verify answers. */
	body = strdup("{\"ok\": true, \"token\": \"" T_ID "\", \"vm\": "
	    "\"ci-\\u0007x\"}");
	ck_assert_int_eq(agent_msg_parse_verify(body, strlen(body), &ans), 0);
	ck_assert_str_eq(ans.vm, "ci-?x");
	ck_assert_int_eq(ans.policy, 0);
	ck_assert_int_eq(ans.update, 0);
	agent_msg_answer_clear(&ans);
	free(body);
	ck_assert_int_eq(agent_msg_parse_verify("{\"ok\":false}", 12, &ans),
	    -1);
	ck_assert_ptr_null(ans.vm);
	ck_assert_int_eq(agent_msg_parse_verify("nope", 4, &ans), -1);
}
END_TEST

static void
t_failure(long status, const char *body, const char *want)
{
	char *r = agent_msg_failure(status, body, body ? strlen(body) : 0);

	ck_assert_str_eq(r, want);
	free(r);
}

START_TEST(test_msg_failure)
{
	char big[600];

	t_failure(403, "{\"error\":{\"code\":\"auth_failed\",\"message\":"
	    "\"revoked\"}}", "revoked");
	t_failure(403, "{\"error\":{\"code\":\"auth_failed\",\"message\":"
	    "\"wrong address\"}}", "wrong address");
	t_failure(404, "{\"error\":{\"code\":\"not_found\",\"message\":"
	    "\"no such token\"}}", "unknown token");
	t_failure(429, NULL, "rate limited");
	t_failure(400, "{\"error\":{\"code\":\"bad_request\",\"message\":"
	    "\"token: a string\\nis required\"}}",
	    "HTTP 400 bad_request: token: a string?is required");
	t_failure(502, "<html>bad gateway</html>", "HTTP 502");
	t_failure(403, "{\"error\":{\"code\":\"forbidden\"}}",
	    "HTTP 403 forbidden");
	/* A long reason from the wire is cut. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"error\":{\"code\":\"auth_failed\",\"message\":\"", 42);
	memcpy(big + sizeof(big) - 5, "\"}}", 4);
	{
		char *r = agent_msg_failure(403, big, strlen(big));

		ck_assert_uint_eq(strlen(r), AGENT_MSG_REASON_MAX);
		free(r);
	}
}
END_TEST

/* ---- token images ---- */

/* Writes a token image for id into a temporary file. */
static char *
t_image_file(const char *id, struct token_cred *cred)
{
	struct token_image_opts opts = { 1u << 20, 0x12345678, 1700000000 };
	struct token_image_info info;
	uint8_t *buf = malloc(1u << 20);
	char *path, *cause = NULL, url[] = "http://127.0.0.1:3241";
	char name[] = "t1", idc[64];

	ck_assert_ptr_nonnull(buf);
	snprintf(idc, sizeof(idc), "%s", id);
	memset(&info, 0, sizeof(info));
	info.token_id = idc;
	info.name = name;
	info.controller = url;
	if (token_image_build(buf, &opts, &info, cred, &cause) != 0)
		ck_abort_msg("token_image_build: %s", cause);
	path = t_file((const char *)buf, 1u << 20);
	free(buf);
	return path;
}

START_TEST(test_token_load)
{
	struct token_cred *cred = token_cred_generate(NULL);
	uint8_t pub[TOKEN_CRED_PUBKEY_LEN];
	struct agent_token *t;
	char *path, *cause = NULL;

	ck_assert_int_eq(token_cred_public(cred, pub, NULL), 0);
	path = t_image_file(T_ID, cred);

	t = agent_token_new(path, NULL, NULL);
	ck_assert(!agent_token_is_loaded(t));
	ck_assert_msg(agent_token_load(t, &cause) == 0, "%s", cause);
	ck_assert(agent_token_is_loaded(t));
	ck_assert_str_eq(t->info.token_id, T_ID);
	ck_assert_str_eq(t->info.controller, "http://127.0.0.1:3241");
	ck_assert(token_cred_matches(t->cred, pub));
	ck_assert(agent_token_is_present(t));
	ck_assert(agent_token_is_device(t, NULL, path));
	ck_assert(!agent_token_is_device(t, "/sys/x", "/dev/sdq"));
	agent_token_unload(t);
	ck_assert(!agent_token_is_loaded(t));
	ck_assert_ptr_null(t->info.token_id);
	agent_token_free(t);

	/* The USB serial must match the token id. */
	t = agent_token_new(path, "0000000000000000", "/sys/devices/x");
	ck_assert_int_eq(agent_token_load(t, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "does not match the USB serial"));
	ck_assert(!agent_token_is_loaded(t));
	ck_assert(agent_token_is_device(t, "/sys/devices/x", NULL));
	free(cause);
	agent_token_free(t);
	unlink(path);
	free(path);

	/* A token id the controller cannot have. */
	path = t_image_file("not-an-id", cred);
	t = agent_token_new(path, NULL, NULL);
	ck_assert_int_eq(agent_token_load(t, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "not 16 hex digits"));
	free(cause);
	agent_token_free(t);
	unlink(path);
	free(path);
	token_cred_free(cred);
}
END_TEST

START_TEST(test_token_hostile)
{
	struct agent_token *t;
	char junk[4096], *path, *cause = NULL;

	memset(junk, 0xff, sizeof(junk));
	path = t_file(junk, sizeof(junk));
	t = agent_token_new(path, NULL, NULL);
	ck_assert_int_eq(agent_token_load(t, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	free(cause);
	agent_token_free(t);
	unlink(path);
	free(path);

	t = agent_token_new("/nonexistent/token.img", NULL, NULL);
	ck_assert(!agent_token_is_present(t));
	ck_assert_int_eq(agent_token_load(t, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "No such file"));
	free(cause);
	agent_token_free(t);

	t = agent_token_new("/tmp", NULL, NULL);
	ck_assert_int_eq(agent_token_load(t, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "not a block device or file"));
	free(cause);
	agent_token_free(t);
}
END_TEST

/* ---- policy ---- */

static int
t_policy(const char *cmd, const char *reason, const char *id, char **what)
{
	char *cause = NULL;
	int status;
	pid_t pid;

	pid = agent_policy_spawn(cmd, reason, id, &cause);
	ck_assert_msg(pid > 0, "%s", cause ? cause : "?");
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	*what = agent_policy_status(status);
	return status;
}

START_TEST(test_policy)
{
	char *what;

	t_policy("exit 3", "revoked", NULL, &what);
	ck_assert_str_eq(what, "exit status 3");
	free(what);
	t_policy("test \"$VTOKEN_REASON\" = 'wrong address' && "
	    "test \"$VTOKEN_TOKEN_ID\" = " T_ID " && test ! -t 0 && "
	    "! read -r x", "wrong address", T_ID, &what);
	ck_assert_str_eq(what, "exit status 0");
	free(what);
	setenv("VTOKEN_TOKEN_ID", "stale", 1);
	t_policy("test -z \"${VTOKEN_TOKEN_ID+set}\"", "token missing", NULL,
	    &what);
	ck_assert_str_eq(what, "exit status 0");
	unsetenv("VTOKEN_TOKEN_ID");
	free(what);
	t_policy("kill -9 $$", "x", NULL, &what);
	ck_assert_str_eq(what, "killed by signal 9");
	free(what);
}
END_TEST

static Suite *
agent_suite(void)
{
	Suite *s = suite_create("agent");
	TCase *tc;

	tc = tcase_create("config");
	tcase_add_test(tc, test_config_defaults);
	tcase_add_test(tc, test_config_file);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_config_set);
	suite_add_tcase(s, tc);

	tc = tcase_create("state");
	tcase_add_test(tc, test_state_start);
	tcase_add_test(tc, test_state_grace);
	tcase_add_test(tc, test_state_zero_grace);
	suite_add_tcase(s, tc);

	tc = tcase_create("msg");
	tcase_add_test(tc, test_msg_bytes);
	tcase_add_test(tc, test_msg_server_accepts);
	tcase_add_test(tc, test_msg_bodies);
	tcase_add_test(tc, test_msg_failure);
	suite_add_tcase(s, tc);

	tc = tcase_create("token");
	tcase_add_test(tc, test_token_load);
	tcase_add_test(tc, test_token_hostile);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy");
	tcase_add_test(tc, test_policy);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(agent_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);	/* CK_VERBOSITY, default normal */
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
