/*
 * agent_action: the built-in policy actions (docs/AGENT.md, "What each
 * action does to the guest"):
 *
 *   log              nothing but the agent's log line
 *   lock-sessions    loginctl lock-sessions
 *   isolate-network  an nftables table (AGENT_ACTION_NFT_TABLE) that
 *                    lets through loopback, the controller (the address
 *                    and port the agent last reached it at) and DHCP,
 *                    and drops everything else; removed again by
 *                    agent_action_unisolate
 *   poweroff         systemctl poweroff, else poweroff (busybox)
 *   command          the operator's command via /bin/sh -c
 *
 * Each runs as a child process (agent_policy.h) that the caller reaps;
 * the nft ruleset goes to `nft -f -' on stdin.  The tools are the
 * configured paths (nft, loginctl, systemctl) or found in PATH.  Nothing
 * here logs.
 */
#ifndef VTOKEN_AGENT_ACTION_H
#define VTOKEN_AGENT_ACTION_H

#include <sys/types.h>

#define AGENT_ACTION_NFT_TABLE	"vtoken_isolate"	/* family inet */

enum agent_act {
	AGENT_ACT_LOG = 0,
	AGENT_ACT_LOCK_SESSIONS,
	AGENT_ACT_ISOLATE,
	AGENT_ACT_POWEROFF,
	AGENT_ACT_COMMAND,
};

struct agent_config;

/* One action to start; everything borrowed for the call. */
struct agent_action_run {
	enum agent_act act;
	const char *command;		/* AGENT_ACT_COMMAND */
	const char *reason;		/* VTOKEN_REASON */
	const char *token_id;		/* VTOKEN_TOKEN_ID, or NULL */
	const char *peer_ip;		/* AGENT_ACT_ISOLATE: the controller */
	unsigned peer_port;
	unsigned usbip_port;		/* its USB/IP port too, or 0 */
	const struct agent_config *cfg;	/* tool paths */
};

/* "log", "lock-sessions", "isolate-network", "poweroff", "command". */
const char *agent_action_name(enum agent_act act);
/* 0 with *act, or -1 for an unknown name. */
int agent_action_parse(const char *name, enum agent_act *act);

/*
 * Starts r->act: the child's pid, 0 when there is nothing to run (log),
 * or -1 with *cause.
 */
pid_t agent_action_start(const struct agent_action_run *r, char **cause);
/*
 * Removes the isolation table (no error when it is not there): the
 * child's pid, or -1 with *cause.
 */
pid_t agent_action_unisolate(const struct agent_config *cfg, char **cause);

/*
 * The nft script that (re)installs the isolation table for the
 * controller at ip (IPv4 or IPv6 text) and TCP port; allocated, or NULL
 * with *cause when ip is not an address or port is 0.
 */
char *agent_action_nft_isolate(const char *ip, unsigned port,
    unsigned usbip_port, char **cause);
/* The nft script that removes it (static). */
const char *agent_action_nft_unisolate(void);
/*
 * The program to run: configured when not "", else name found in PATH
 * (a default PATH when unset).  Allocated, or NULL when not found.
 */
char *agent_action_which(const char *configured, const char *name);

#endif
