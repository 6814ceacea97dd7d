/*
 * agent_action: the built-in actions (see agent_action.h).
 */
#include "agent/agent_action.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent_config.h"
#include "agent/agent_policy.h"
#include "common/cause.h"
#include "common/xmalloc.h"

#define ACTION_DEFAULT_PATH \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *const action_names[] = {
	[AGENT_ACT_LOG] = "log",
	[AGENT_ACT_LOCK_SESSIONS] = "lock-sessions",
	[AGENT_ACT_ISOLATE] = "isolate-network",
	[AGENT_ACT_POWEROFF] = "poweroff",
	[AGENT_ACT_COMMAND] = "command",
};

#define ACTION_N	(sizeof(action_names) / sizeof(action_names[0]))

/*
 * Declaring the table first makes the delete succeed when it is absent,
 * and the whole script is one nft transaction.
 */
#define NFT_UNISOLATE \
	"table inet " AGENT_ACTION_NFT_TABLE " {}\n" \
	"delete table inet " AGENT_ACTION_NFT_TABLE "\n"

static pid_t action_exec(const char *path, char *const *argv,
    const struct agent_action_run *r, const char *input, char **cause);
static pid_t action_tool(const char *configured, const char *name,
    const char *arg, const char *input, const struct agent_action_run *r,
    char **cause);
static pid_t action_poweroff(const struct agent_action_run *r,
    char **cause);
static pid_t action_isolate(const struct agent_action_run *r,
    char **cause);

const char *
agent_action_name(enum agent_act act)
{
	if ((size_t)act >= ACTION_N)
		return "?";
	return action_names[act];
}

int
agent_action_parse(const char *name, enum agent_act *act)
{
	for (size_t i = 0; i < ACTION_N; i++)
		if (strcmp(action_names[i], name) == 0) {
			*act = (enum agent_act)i;
			return 0;
		}
	return -1;
}

char *
agent_action_which(const char *configured, const char *name)
{
	const char *path = getenv("PATH"), *p, *end;
	char *full;

	if (configured != NULL && configured[0] != '\0')
		return xstrdup(configured);
	if (path == NULL || path[0] == '\0')
		path = ACTION_DEFAULT_PATH;
	for (p = path; *p != '\0'; p = *end != '\0' ? end + 1 : end) {
		if ((end = strchr(p, ':')) == NULL)
			end = p + strlen(p);
		if (end == p)
			continue;
		full = xasprintf("%.*s/%s", (int)(end - p), p, name);
		if (access(full, X_OK) == 0)
			return full;
		free(full);
	}
	return NULL;
}

char *
agent_action_nft_isolate(const char *ip, unsigned port, unsigned usbip_port,
    char **cause)
{
	unsigned char a[16];
	const char *fam;
	char ports[32];

	if (inet_pton(AF_INET, ip, a) == 1)
		fam = "ip";
	else if (inet_pton(AF_INET6, ip, a) == 1)
		fam = "ip6";
	else {
		cause_set(cause, "no controller address to let through");
		return NULL;
	}
	if (port == 0 || port > 65535 || usbip_port > 65535) {
		cause_set(cause, "no controller port to let through");
		return NULL;
	}
	if (usbip_port != 0 && usbip_port != port)
		snprintf(ports, sizeof(ports), "{ %u, %u }", port, usbip_port);
	else
		snprintf(ports, sizeof(ports), "%u", port);
	return xasprintf(NFT_UNISOLATE
	    "table inet " AGENT_ACTION_NFT_TABLE " {\n"
	    "\tchain input {\n"
	    "\t\ttype filter hook input priority -10; policy drop;\n"
	    "\t\tiif \"lo\" accept\n"
	    "\t\t%s saddr %s ct state established,related accept\n"
	    "\t\tudp sport 67 udp dport 68 accept\n"
	    "\t}\n"
	    "\tchain output {\n"
	    "\t\ttype filter hook output priority -10; policy drop;\n"
	    "\t\toif \"lo\" accept\n"
	    "\t\t%s daddr %s tcp dport %s accept\n"
	    "\t\t%s daddr %s ct state established,related accept\n"
	    "\t\tudp sport 68 udp dport 67 accept\n"
	    "\t}\n"
	    "}\n", fam, ip, fam, ip, ports, fam, ip);
}

const char *
agent_action_nft_unisolate(void)
{
	return NFT_UNISOLATE;
}

static pid_t
action_exec(const char *path, char *const *argv,
    const struct agent_action_run *r, const char *input, char **cause)
{
	struct agent_policy_exec x = {
		.path = path, .argv = argv, .input = input,
		.reason = r != NULL ? r->reason : NULL,
		.token_id = r != NULL ? r->token_id : NULL,
	};

	return agent_policy_exec(&x, cause);
}

/* Runs `TOOL ARG...' (arg: one word, or "-f -" for nft's stdin). */
static pid_t
action_tool(const char *configured, const char *name, const char *arg,
    const char *input, const struct agent_action_run *r, char **cause)
{
	char *path = agent_action_which(configured, name);
	char *argv[4] = { (char *)(uintptr_t)name, NULL, NULL, NULL };
	pid_t pid;

	if (path == NULL) {
		cause_set(cause, "%s not found in PATH", name);
		return -1;
	}
	if (input != NULL) {
		argv[1] = (char *)(uintptr_t)"-f";
		argv[2] = (char *)(uintptr_t)"-";
	} else
		argv[1] = (char *)(uintptr_t)arg;
	pid = action_exec(path, argv, r, input, cause);
	free(path);
	return pid;
}

/* systemctl poweroff, or busybox-style poweroff without systemctl. */
static pid_t
action_poweroff(const struct agent_action_run *r, char **cause)
{
	char *sc = agent_action_which(r->cfg->systemctl, "systemctl");

	if (sc != NULL) {
		free(sc);
		return action_tool(r->cfg->systemctl, "systemctl",
		    "poweroff", NULL, r, cause);
	}
	return action_tool(NULL, "poweroff", NULL, NULL, r, cause);
}

static pid_t
action_isolate(const struct agent_action_run *r, char **cause)
{
	char *script = agent_action_nft_isolate(r->peer_ip != NULL ?
	    r->peer_ip : "", r->peer_port, r->usbip_port, cause);
	pid_t pid;

	if (script == NULL)
		return -1;
	pid = action_tool(r->cfg->nft, "nft", NULL, script, r, cause);
	free(script);
	return pid;
}

pid_t
agent_action_start(const struct agent_action_run *r, char **cause)
{
	switch (r->act) {
	case AGENT_ACT_LOG:
		return 0;
	case AGENT_ACT_LOCK_SESSIONS:
		return action_tool(r->cfg->loginctl, "loginctl",
		    "lock-sessions", NULL, r, cause);
	case AGENT_ACT_ISOLATE:
		return action_isolate(r, cause);
	case AGENT_ACT_POWEROFF:
		return action_poweroff(r, cause);
	case AGENT_ACT_COMMAND:
		if (r->command == NULL || r->command[0] == '\0')
			return 0;
		return agent_policy_spawn(r->command, r->reason,
		    r->token_id, cause);
	}
	cause_set(cause, "unknown action");
	return -1;
}

pid_t
agent_action_unisolate(const struct agent_config *cfg, char **cause)
{
	return action_tool(cfg->nft, "nft", NULL, NFT_UNISOLATE, NULL,
	    cause);
}
