/*
 * agent_config: the agent's settings (conf/vtoken-agent.yaml documents
 * every key with its default).
 *
 * The file is one flat YAML mapping checked against a key table.  Unknown
 * keys, duplicates and bad values are errors, all of them collected in
 * one pass as "FILE:LINE:COL: message" lines.  Command-line options go
 * through agent_config_set, so they are checked by the same code.  The
 * defaults are text in the table and take the same path.  Nothing here
 * logs.
 */
#ifndef VTOKEN_AGENT_CONFIG_H
#define VTOKEN_AGENT_CONFIG_H

#define AGENT_CONFIG_MAX_FILE	(64 * 1024)	/* bytes of YAML */
#define AGENT_CONFIG_SHA256_LEN	64		/* hex digits of a pin */

struct agent_config {
	char *controller;	/* base URL; "" = TOKEN.JSON's "controller" */
	char *ca_file;		/* PEM CA bundle; "" = the system store */
	char *ca_sha256;	/* certificate pin, lower-case hex; "" =
				   TOKEN.JSON's "ca_sha256" (or none) */
	unsigned interval;	/* seconds between authentications */
	unsigned grace;		/* seconds unauthenticated before policy */
	char *policy;		/* run by /bin/sh -c; "" = log only */
	char *device;		/* fixed device or image; "" = discover */
	unsigned vendor_id;	/* USB idVendor of tokens */
	unsigned product_id;	/* USB idProduct of tokens */
	unsigned timeout;	/* seconds for one HTTP request */
	unsigned device_wait;	/* --once: seconds to wait for the token */
	char *action;		/* fallback action; "" = command when policy
				   is set, else log */
	char *state_dir;	/* policy, reports, update state; "" = none */
	char *release_key;	/* PEM Ed25519 public key; "" = no updates */
	char *update_command;	/* installs $VTOKEN_UPDATE_FILE (sh -c) */
	char *update_exec;	/* re-executed after an update */
	char *nft;		/* paths of the tools the actions run; "" = */
	char *loginctl;		/* found in PATH */
	char *systemctl;
};

#define AGENT_CONFIG_UPDATE_COMMAND "systemd-run --quiet --wait --collect " \
	"--unit=vtoken-agent-update dpkg -i --force-confdef --force-confold " \
	"\"$VTOKEN_UPDATE_FILE\""

/* The built-in defaults; never NULL.  Free with agent_config_free. */
struct agent_config *agent_config_default(void);
/*
 * Loads path over the defaults.  NULL on any error, with *errors set to
 * the allocated newline-separated messages (the caller frees them).
 */
struct agent_config *agent_config_load(const char *path, char **errors);
/*
 * Sets one key from text as if it came from the file (used for options):
 * 0, or -1 with *cause allocated ("interval: value out of range").
 */
int agent_config_set(struct agent_config *cfg, const char *key,
    const char *value, char **cause);
/* Frees cfg and its strings; NULL is a no-op. */
void agent_config_free(struct agent_config *cfg);

#endif
