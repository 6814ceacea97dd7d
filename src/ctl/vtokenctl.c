/*
 * vtokenctl: the operator CLI for vtokend's REST API.  This file parses
 * the global options, finds the command in the command table, parses the
 * command's own options and argument count, and runs its handler with one
 * struct ctl_ctx.  It makes no requests itself.
 *
 * Exit status: 0 done, 1 error from the server, the connection or local
 * I/O (reported on stderr), 2 usage error (usage on stderr).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "ctl/ctl.h"
#include "ctl/ctl_http.h"
#include "ctl/ctl_output.h"

#define CMD_DEFAULT_URL		"http://127.0.0.1:3241"
#define CMD_DEFAULT_KEY_FILE	"./var/admin.key"
#define CMD_DEFAULT_LIMIT	100	/* audit page, the API's default */
#define CMD_MAX_LIMIT		1000	/* the API's largest page */
#define CMD_MAX_COUNT		1000000	/* --count; the server has its own */
/* Policy ranges and actions (docs/AGENT.md); the server checks them too. */
#define CMD_MIN_INTERVAL	5
#define CMD_MAX_INTERVAL	3600
#define CMD_MIN_GRACE		10
#define CMD_MAX_GRACE		86400
#define CMD_ACTIONS		"log, lock-sessions, isolate-network, " \
				"poweroff or command"

/*
 * Command options by number.  The numbers start above the command flags
 * below and stay under ':' and '?', which getopt_long() returns itself.
 */
enum cmd_opt {
	OPT_SIZE = 8,		/* --size SIZE */
	OPT_WRITABLE,		/* --writable */
	OPT_ADDR,		/* --addr ADDR, repeatable */
	OPT_AFTER,		/* --after SEQ */
	OPT_LIMIT,		/* --limit N */
	OPT_FOLLOW,		/* --follow */
	OPT_COUNT,		/* --count N */
	OPT_PREFIX,		/* --prefix PREFIX */
	OPT_ROLE,		/* --role ROLE */
	OPT_EXPIRES,		/* --expires WHEN */
	OPT_TYPE,		/* --type ACTION[,ACTION...] */
	OPT_TOKEN,		/* --token ID|NAME */
	OPT_VM,			/* --vm ID|NAME (CMD_VM_LIST: repeatable) */
	OPT_STATE,		/* --state active|cleared|all */
	OPT_HEAD,		/* --head SEQ:HASH */
	OPT_INTERVAL,		/* --interval SECONDS */
	OPT_GRACE,		/* --grace SECONDS */
	OPT_ACTION,		/* --action ACTION */
	OPT_COMMAND,		/* --command CMD */
	OPT_CLEAR,		/* --clear */
	OPT_VERSION,		/* --version VERSION (not the global one) */
	OPT_SIGNATURE,		/* --signature BASE64|@FILE */
	OPT_KEY,		/* --key KEYFILE */
	OPT_PERCENT,		/* --percent N */
	OPT_END
};
_Static_assert(OPT_END <= ':', "command option numbers reach ':'");

/*
 * Command flags (a 64-bit set): bits 0-7 say what a command needs,
 * CMD_OPT(o) that it takes option o.
 */
#define CMD_OPT(o)		((uint64_t)1 << (o))
#define CMD_LOCAL		CMD_OPT(0)	/* no API connection, no key */
#define CMD_VM_LIST		CMD_OPT(1)	/* --vm may be repeated */
#define CMD_OPT_SIZE		CMD_OPT(OPT_SIZE)
#define CMD_OPT_WRITABLE	CMD_OPT(OPT_WRITABLE)
#define CMD_OPT_ADDR		CMD_OPT(OPT_ADDR)
#define CMD_OPT_AFTER		CMD_OPT(OPT_AFTER)
#define CMD_OPT_LIMIT		CMD_OPT(OPT_LIMIT)
#define CMD_OPT_FOLLOW		CMD_OPT(OPT_FOLLOW)
#define CMD_OPT_COUNT		CMD_OPT(OPT_COUNT)
#define CMD_OPT_PREFIX		CMD_OPT(OPT_PREFIX)
#define CMD_OPT_ROLE		CMD_OPT(OPT_ROLE)
#define CMD_OPT_EXPIRES		CMD_OPT(OPT_EXPIRES)
#define CMD_OPT_TYPE		CMD_OPT(OPT_TYPE)
#define CMD_OPT_TOKEN		CMD_OPT(OPT_TOKEN)
#define CMD_OPT_VM		CMD_OPT(OPT_VM)
#define CMD_OPT_STATE		CMD_OPT(OPT_STATE)
#define CMD_OPT_HEAD		CMD_OPT(OPT_HEAD)
#define CMD_OPT_POLICY		(CMD_OPT(OPT_INTERVAL) | CMD_OPT(OPT_GRACE) | \
				 CMD_OPT(OPT_ACTION) | CMD_OPT(OPT_COMMAND))
#define CMD_OPT_CLEAR		CMD_OPT(OPT_CLEAR)
#define CMD_OPT_VERSION		CMD_OPT(OPT_VERSION)
#define CMD_OPT_SIGNATURE	CMD_OPT(OPT_SIGNATURE)
#define CMD_OPT_KEY		CMD_OPT(OPT_KEY)
#define CMD_OPT_PERCENT		CMD_OPT(OPT_PERCENT)

/*
 * One command: its words, argument counts, checks, handler and usage.
 * check, when set, rules on what counts and flags cannot say (NAME or
 * --count), before the key is read or anything is sent.
 */
struct cmd_entry {
	const char *words;	/* "token create" */
	int min_args;		/* positional arguments after the words */
	int max_args;
	uint64_t flags;		/* CMD_OPT_*: options allowed; CMD_LOCAL */
	uint64_t required;	/* CMD_OPT_*: options that must be given */
	int (*check)(const struct ctl_args *);	/* 0, or -1 after why */
	enum ctl_status (*exec)(struct ctl_ctx *, const struct ctl_args *);
	const char *usage;	/* what follows the words; '\n' between forms */
};

/* The global options. */
struct cmd_globals {
	const char *url;
	const char *key_file;
	const char *cacert;
	bool insecure;
	enum ctl_output_format format;
};

static enum ctl_status cmd_help(struct ctl_ctx *, const struct ctl_args *);

#define CMD_POLICY_USAGE	"[--interval SECONDS] [--grace SECONDS] " \
	"[--action log|lock-sessions|isolate-network|poweroff|command] " \
	"[--command CMD]"

static const struct cmd_entry cmd_table[] = {
	{ "token create", 0, 1, CMD_OPT_SIZE | CMD_OPT_WRITABLE |
	    CMD_OPT_COUNT | CMD_OPT_PREFIX, 0, ctl_token_create_check,
	    ctl_token_create, "NAME [--size SIZE] [--writable]\n"
	    "--count N --prefix PREFIX [--size SIZE] [--writable]" },
	{ "token list", 0, 0, 0, 0, NULL, ctl_token_list, "" },
	{ "token show", 1, 1, 0, 0, NULL, ctl_token_show, "ID|NAME" },
	{ "token rm", 1, 1, 0, 0, NULL, ctl_token_rm, "ID|NAME" },
	{ "token image", 1, 1, 0, 0, NULL, ctl_token_image,
	    "ID|NAME > FILE" },
	{ "vm add", 1, 1, CMD_OPT_ADDR, CMD_OPT_ADDR, NULL, ctl_vm_add,
	    "NAME --addr ADDR [--addr ADDR ...]" },
	{ "vm list", 0, 0, 0, 0, NULL, ctl_vm_list, "" },
	{ "vm show", 1, 1, 0, 0, NULL, ctl_vm_show, "ID|NAME" },
	{ "vm set-addresses", 1, 1, CMD_OPT_ADDR, CMD_OPT_ADDR, NULL,
	    ctl_vm_set_addresses, "ID|NAME --addr ADDR [--addr ADDR ...]" },
	{ "vm rm", 1, 1, 0, 0, NULL, ctl_vm_rm, "ID|NAME" },
	{ "vm policy", 1, 1, CMD_OPT_POLICY | CMD_OPT_CLEAR, 0,
	    ctl_vm_policy_check, ctl_vm_policy, "ID|NAME\n"
	    "ID|NAME " CMD_POLICY_USAGE "\nID|NAME --clear" },
	{ "assign", 2, 2, 0, 0, NULL, ctl_assign_token, "TOKEN VM" },
	{ "revoke", 1, 1, 0, 0, NULL, ctl_assign_revoke, "TOKEN" },
	{ "sessions", 0, 0, 0, 0, NULL, ctl_assign_sessions, "" },
	{ "nodes", 0, 0, 0, 0, NULL, ctl_node_list, "" },
	{ "audit", 0, 0, CMD_OPT_AFTER | CMD_OPT_LIMIT | CMD_OPT_FOLLOW |
	    CMD_OPT_TYPE | CMD_OPT_TOKEN | CMD_OPT_VM, 0, ctl_audit_check,
	    ctl_audit_list, "[--after SEQ] [--limit N]\n"
	    "--follow [--after SEQ] [--type ACTION,...] "
	    "[--token ID|NAME] [--vm ID|NAME]" },
	{ "audit verify", 0, 0, CMD_OPT_HEAD, 0, NULL, ctl_audit_verify,
	    "[--head SEQ:HASH]" },
	{ "key create", 1, 1, CMD_OPT_ROLE | CMD_OPT_EXPIRES, CMD_OPT_ROLE,
	    NULL, ctl_key_create, "NAME --role admin|operator|auditor|"
	    "orchestrator [--expires 90d|12h|30m|YYYY-MM-DDTHH:MM:SSZ]" },
	{ "key list", 0, 0, 0, 0, NULL, ctl_key_list, "" },
	{ "key rm", 1, 1, 0, 0, NULL, ctl_key_rm, "ID|NAME" },
	{ "alarms", 0, 0, CMD_OPT_STATE, 0, NULL, ctl_alarm_list,
	    "[--state active|cleared|all]" },
	{ "alarm ack", 1, 1, 0, 0, NULL, ctl_alarm_ack, "ID" },
	{ "policy show", 0, 0, 0, 0, NULL, ctl_policy_show, "" },
	{ "policy set", 0, 0, CMD_OPT_POLICY, 0, ctl_policy_set_check,
	    ctl_policy_set, CMD_POLICY_USAGE },
	{ "agents", 0, 0, 0, 0, NULL, ctl_agent_list, "" },
	{ "agent release add", 1, 1, CMD_OPT_VERSION | CMD_OPT_SIGNATURE,
	    CMD_OPT_VERSION | CMD_OPT_SIGNATURE, ctl_release_check,
	    ctl_release_add, "FILE --version VERSION "
	    "--signature BASE64|@FILE" },
	{ "agent release sign", 1, 1, CMD_LOCAL | CMD_OPT_VERSION |
	    CMD_OPT_KEY, CMD_OPT_VERSION | CMD_OPT_KEY, ctl_release_check,
	    ctl_release_sign, "FILE --version VERSION --key KEYFILE" },
	{ "agent release list", 0, 0, 0, 0, NULL, ctl_release_list, "" },
	{ "agent release rm", 1, 1, 0, 0, NULL, ctl_release_rm, "VERSION" },
	{ "agent rollout set", 1, 1, CMD_OPT_VM | CMD_VM_LIST |
	    CMD_OPT_PERCENT, 0, NULL, ctl_agent_rollout_set,
	    "VERSION [--vm ID|NAME ...] [--percent N]" },
	{ "agent rollout show", 0, 0, 0, 0, NULL, ctl_agent_rollout_show, "" },
	{ "agent rollout stop", 0, 0, 0, 0, NULL, ctl_agent_rollout_stop, "" },
	{ "help", 0, 1, CMD_LOCAL, 0, NULL, cmd_help, "[COMMAND]" },
};
#define CMD_COUNT	(sizeof(cmd_table) / sizeof(cmd_table[0]))

/* Command options: val is their enum cmd_opt. */
static const struct option cmd_options[] = {
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "writable", no_argument, NULL, OPT_WRITABLE },
	{ "addr", required_argument, NULL, OPT_ADDR },
	{ "after", required_argument, NULL, OPT_AFTER },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "follow", no_argument, NULL, OPT_FOLLOW },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "prefix", required_argument, NULL, OPT_PREFIX },
	{ "role", required_argument, NULL, OPT_ROLE },
	{ "expires", required_argument, NULL, OPT_EXPIRES },
	{ "type", required_argument, NULL, OPT_TYPE },
	{ "token", required_argument, NULL, OPT_TOKEN },
	{ "vm", required_argument, NULL, OPT_VM },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "head", required_argument, NULL, OPT_HEAD },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "grace", required_argument, NULL, OPT_GRACE },
	{ "action", required_argument, NULL, OPT_ACTION },
	{ "command", required_argument, NULL, OPT_COMMAND },
	{ "clear", no_argument, NULL, OPT_CLEAR },
	{ "version", required_argument, NULL, OPT_VERSION },
	{ "signature", required_argument, NULL, OPT_SIGNATURE },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "percent", required_argument, NULL, OPT_PERCENT },
	{ NULL, 0, NULL, 0 },
};

static void cmd_usage(FILE *f, const char *word);
static void cmd_usage_one(FILE *f, const char *lead,
	    const struct cmd_entry *e);
static int cmd_parse_globals(int argc, char **argv, struct cmd_globals *g);
static bool cmd_is_group(const char *word);
static size_t cmd_match(const struct cmd_entry *e, int argc, char **argv);
static const struct cmd_entry *cmd_find(int argc, char **argv,
	    size_t *nwords);
static int cmd_parse_u64(const char *s, uint64_t min, uint64_t max,
	    uint64_t *out);
static int cmd_seconds(const struct cmd_entry *e, const char *opt,
	    const char *arg, unsigned min, unsigned max, unsigned *out);
static bool cmd_is_action(const char *s);
static int cmd_option(const struct cmd_entry *e, int ch, const char *arg,
	    struct ctl_args *a);
static int cmd_parse_args(const struct cmd_entry *e, int argc, char **argv,
	    struct ctl_args *a);
static enum ctl_status cmd_run(const struct cmd_entry *e,
	    const struct cmd_globals *g, const struct ctl_args *a);

/*
 * One command's lines, one a form, after lead ("  " in the list,
 * "usage: vtokenctl ").
 */
static void
cmd_usage_one(FILE *f, const char *lead, const struct cmd_entry *e)
{
	const char *u = e->usage;
	int len;

	do {
		len = (int)strcspn(u, "\n");
		fprintf(f, "%s%s%s%.*s\n", lead, e->words, len > 0 ? " " : "",
		    len, u);
		u += len;
	} while (*u++ != '\0');
}

/* The whole usage, or only the commands whose first word is word. */
static void
cmd_usage(FILE *f, const char *word)
{
	size_t n = word != NULL ? strlen(word) : 0;
	const char *w;

	fprintf(f,
	    "usage: vtokenctl [--url URL] [--api-key-file FILE] "
	    "[-o table|json]\n"
	    "                 [--cacert FILE] [--insecure] COMMAND ...\n"
	    "commands:\n");
	for (size_t i = 0; i < CMD_COUNT; i++) {
		w = cmd_table[i].words;
		if (word == NULL || (strncmp(w, word, n) == 0 &&
		    (w[n] == ' ' || w[n] == '\0')))
			cmd_usage_one(f, "  ", &cmd_table[i]);
	}
	if (word != NULL)
		return;
	fprintf(f,
	    "options:\n"
	    "  --url URL            API base URL; default $VTOKEN_URL, else\n"
	    "                       %s\n"
	    "  --api-key-file FILE  file whose first line is the API key;\n"
	    "                       default $VTOKEN_API_KEY_FILE, else\n"
	    "                       %s\n"
	    "  -o table|json        output format (default table)\n"
	    "  --cacert FILE        CA certificate(s) to trust for https\n"
	    "  --insecure           do not verify the server's certificate\n"
	    "  -h, --help           this text\n"
	    "  -V, --version        the version\n",
	    CMD_DEFAULT_URL, CMD_DEFAULT_KEY_FILE);
}

/*
 * Parses the options before COMMAND.  Returns the index of COMMAND, or -1
 * for a usage error, or 0 after --help/--version printed (exit 0).
 */
static int
cmd_parse_globals(int argc, char **argv, struct cmd_globals *g)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "api-key-file", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "cacert", required_argument, NULL, 'c' },
		{ "insecure", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:o:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			g->url = optarg;
			break;
		case 'k':
			g->key_file = optarg;
			break;
		case 'o':
			if (strcmp(optarg, "table") == 0)
				g->format = CTL_OUTPUT_TABLE;
			else if (strcmp(optarg, "json") == 0)
				g->format = CTL_OUTPUT_JSON;
			else {
				ctl_output_error("-o: table or json, not '%s'",
				    optarg);
				return -1;
			}
			break;
		case 'c':
			g->cacert = optarg;
			break;
		case 'i':
			g->insecure = true;
			break;
		case 'h':
			cmd_usage(stdout, NULL);
			return 0;
		case 'V':
			printf("vtokenctl %s\n", VTOKEN_VERSION);
			return 0;
		case ':':
			ctl_output_error("option %s needs a value",
			    argv[optind - 1]);
			return -1;
		default:
			ctl_output_error("unknown option %s", argv[optind - 1]);
			return -1;
		}
	}
	if (strncmp(g->url, "http://", 7) != 0 &&
	    strncmp(g->url, "https://", 8) != 0) {
		ctl_output_error("--url: http:// or https:// URL needed");
		return -1;
	}
	if (optind >= argc) {
		ctl_output_error("no command given");
		return -1;
	}
	return optind;
}

/* How many words of argv e's words are (all of them), or 0. */
static size_t
cmd_match(const struct cmd_entry *e, int argc, char **argv)
{
	const char *w = e->words;
	size_t n = 0, len;

	while (*w != '\0') {
		len = strcspn(w, " ");
		if ((int)n >= argc || strlen(argv[n]) != len ||
		    strncmp(argv[n], w, len) != 0)
			return 0;
		n++;
		w += len;
		w += strspn(w, " ");
	}
	return n;
}

/* True when word is the first of several words ("token", "vm"). */
static bool
cmd_is_group(const char *word)
{
	size_t n = strlen(word);

	for (size_t i = 0; i < CMD_COUNT; i++)
		if (strncmp(cmd_table[i].words, word, n) == 0 &&
		    cmd_table[i].words[n] == ' ')
			return true;
	return false;
}

/* The entry matching the most leading words of argv, or NULL. */
static const struct cmd_entry *
cmd_find(int argc, char **argv, size_t *nwords)
{
	const struct cmd_entry *best = NULL;
	size_t n;

	*nwords = 0;
	for (size_t i = 0; i < CMD_COUNT; i++) {
		n = cmd_match(&cmd_table[i], argc, argv);
		if (n > *nwords) {
			best = &cmd_table[i];
			*nwords = n;
		}
	}
	return best;
}

/* A decimal number in min..max; no sign, no suffix.  0 or -1. */
static int
cmd_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/*
 * A number of seconds in min..max (docs/AGENT.md's ranges, so that a
 * typo gets a usage error; the server rules on the rest).  0, or -1
 * after saying why.
 */
static int
cmd_seconds(const struct cmd_entry *e, const char *opt, const char *arg,
    unsigned min, unsigned max, unsigned *out)
{
	uint64_t v;

	if (cmd_parse_u64(arg, min, max, &v) == -1) {
		ctl_output_error("%s: %s: seconds, %u..%u, not '%s'", e->words,
		    opt, min, max, arg);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* True when s is one of the policy actions (CMD_ACTIONS). */
static bool
cmd_is_action(const char *s)
{
	static const char *const actions[] = { "log", "lock-sessions",
	    "isolate-network", "poweroff", "command" };

	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(s, actions[i]) == 0)
			return true;
	return false;
}

/* Applies one command option.  0, or -1 after saying why. */
static int
cmd_option(const struct cmd_entry *e, int ch, const char *arg,
    struct ctl_args *a)
{
	uint64_t v;

	switch (ch) {
	case OPT_SIZE:
		a->size = arg;
		break;
	case OPT_WRITABLE:
		a->writable = true;
		break;
	case OPT_ADDR:
		a->addrs = xreallocarray(a->addrs, a->naddrs + 1,
		    sizeof(*a->addrs));
		a->addrs[a->naddrs++] = arg;
		break;
	case OPT_AFTER:
		if (cmd_parse_u64(arg, 0, INT64_MAX, &a->after) == -1) {
			ctl_output_error("%s: --after: a record number, "
			    "not '%s'", e->words, arg);
			return -1;
		}
		break;
	case OPT_LIMIT:
		if (cmd_parse_u64(arg, 1, CMD_MAX_LIMIT, &v) == -1) {
			ctl_output_error("%s: --limit: 1..%d, not '%s'",
			    e->words, CMD_MAX_LIMIT, arg);
			return -1;
		}
		a->limit = (unsigned)v;
		break;
	case OPT_FOLLOW:
		a->follow = true;
		break;
	case OPT_COUNT:
		if (cmd_parse_u64(arg, 1, CMD_MAX_COUNT, &v) == -1) {
			ctl_output_error("%s: --count: a number of tokens "
			    "(1..%d), not '%s'", e->words, CMD_MAX_COUNT, arg);
			return -1;
		}
		a->count = (unsigned)v;
		break;
	case OPT_PREFIX:
		a->prefix = arg;
		break;
	case OPT_ROLE:
		a->role = arg;
		break;
	case OPT_EXPIRES:
		a->expires = arg;
		break;
	case OPT_TYPE:
		a->type = arg;
		break;
	case OPT_TOKEN:
		a->token = arg;
		break;
	case OPT_VM:
		if (a->nvms > 0 && !(e->flags & CMD_VM_LIST)) {
			ctl_output_error("%s: --vm given twice", e->words);
			return -1;
		}
		a->vms = xreallocarray(a->vms, a->nvms + 1,
		    sizeof(*a->vms));
		a->vms[a->nvms++] = arg;
		a->vm = arg;
		break;
	case OPT_STATE:
		a->state = arg;
		break;
	case OPT_HEAD:
		a->head = arg;
		break;
	case OPT_INTERVAL:
		return cmd_seconds(e, "--interval", arg, CMD_MIN_INTERVAL,
		    CMD_MAX_INTERVAL, &a->interval);
	case OPT_GRACE:
		return cmd_seconds(e, "--grace", arg, CMD_MIN_GRACE,
		    CMD_MAX_GRACE, &a->grace);
	case OPT_ACTION:
		if (!cmd_is_action(arg)) {
			ctl_output_error("%s: --action: %s, not '%s'",
			    e->words, CMD_ACTIONS, arg);
			return -1;
		}
		a->action = arg;
		break;
	case OPT_COMMAND:
		a->command = arg;
		break;
	case OPT_CLEAR:
		a->clear = true;
		break;
	case OPT_VERSION:
		a->version = arg;
		break;
	case OPT_SIGNATURE:
		a->signature = arg;
		break;
	case OPT_KEY:
		a->key = arg;
		break;
	case OPT_PERCENT:
		if (cmd_parse_u64(arg, 1, 100, &v) == -1) {
			ctl_output_error("%s: --percent: 1..100, not '%s'",
			    e->words, arg);
			return -1;
		}
		a->percent = (unsigned)v;
		break;
	}
	return 0;
}

/*
 * Parses what follows the command words (argv[0] is the last word):
 * options anywhere, positional arguments in order.  With "-" leading the
 * option string getopt_long() hands back each positional argument as
 * option 1, whatever POSIXLY_CORRECT says.  Then the entry's check, if
 * any.  0, or -1 after saying why.
 */
static int
cmd_parse_args(const struct cmd_entry *e, int argc, char **argv,
    struct ctl_args *a)
{
	uint64_t seen = 0;
	int ch;

	a->argv = xcalloc((size_t)argc, sizeof(*a->argv));
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "-:", cmd_options, NULL)) != -1) {
		if (ch == 1)
			a->argv[a->argc++] = optarg;
		else if (ch == ':') {
			ctl_output_error("%s: option %s needs a value",
			    e->words, argv[optind - 1]);
			return -1;
		} else if (ch == '?' || ch < OPT_SIZE || ch >= OPT_END ||
		    (CMD_OPT(ch) & e->flags) == 0) {
			ctl_output_error("%s: unknown option %s", e->words,
			    argv[optind - 1]);
			return -1;
		} else if (cmd_option(e, ch, optarg, a) == -1)
			return -1;
		else
			seen |= CMD_OPT(ch);
	}
	while (optind < argc)
		a->argv[a->argc++] = argv[optind++];
	if (a->argc < e->min_args || a->argc > e->max_args) {
		ctl_output_error("%s: %s arguments", e->words,
		    a->argc < e->min_args ? "missing" : "too many");
		return -1;
	}
	for (const struct option *o = cmd_options; o->name != NULL; o++) {
		if ((e->required & CMD_OPT(o->val)) &&
		    !(seen & CMD_OPT(o->val))) {
			ctl_output_error("%s: --%s is required", e->words,
			    o->name);
			return -1;
		}
	}
	for (int i = 0; i < a->argc; i++) {
		if (a->argv[i][0] == '\0') {
			ctl_output_error("%s: empty argument", e->words);
			return -1;
		}
	}
	return e->check != NULL ? e->check(a) : 0;
}

static enum ctl_status
cmd_help(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	cmd_usage(ctx->out, a->argc > 0 ? a->argv[0] : NULL);
	return CTL_OK;
}

/* Connects the context (unless the command is local) and runs e. */
static enum ctl_status
cmd_run(const struct cmd_entry *e, const struct cmd_globals *g,
    const struct ctl_args *a)
{
	struct ctl_ctx ctx = { .http = NULL, .format = g->format,
	    .out = stdout };
	struct ctl_http_opts ho = { .url = g->url, .key_file = g->key_file,
	    .cacert = g->cacert, .insecure = g->insecure };
	enum ctl_status st;
	char *cause = NULL;

	if (e->flags & CMD_LOCAL)
		return e->exec(&ctx, a);
	if (ctl_http_global_init() == -1) {
		ctl_output_error("cannot initialise libcurl");
		return CTL_FAIL;
	}
	if ((ctx.http = ctl_http_new(&ho, &cause)) == NULL) {
		ctl_output_error("%s", cause);
		free(cause);
		st = CTL_FAIL;
	} else {
		st = e->exec(&ctx, a);
		ctl_http_free(ctx.http);
	}
	ctl_http_global_cleanup();
	return st;
}

int
main(int argc, char **argv)
{
	struct cmd_globals g = { .url = getenv("VTOKEN_URL"),
	    .key_file = getenv("VTOKEN_API_KEY_FILE"),
	    .format = CTL_OUTPUT_TABLE };
	struct ctl_args a = { .limit = CMD_DEFAULT_LIMIT };
	const struct cmd_entry *e;
	enum ctl_status st;
	size_t nwords;
	int first;

	log_init("vtokenctl", LOG_LEVEL_WARN);
	/*
	 * A closed pipe (token image | head) or a peer reset under TLS is an
	 * EPIPE error with exit 1, not death by signal: libcurl does not
	 * ignore SIGPIPE for us (CURLOPT_NOSIGNAL).
	 */
	signal(SIGPIPE, SIG_IGN);
	if (g.url == NULL || g.url[0] == '\0')
		g.url = CMD_DEFAULT_URL;
	if (g.key_file == NULL || g.key_file[0] == '\0')
		g.key_file = CMD_DEFAULT_KEY_FILE;
	if ((first = cmd_parse_globals(argc, argv, &g)) <= 0) {
		if (first == 0)
			return fflush(stdout) == EOF ? CTL_FAIL : CTL_OK;
		cmd_usage(stderr, NULL);
		return CTL_USAGE;
	}
	if ((e = cmd_find(argc - first, argv + first, &nwords)) == NULL) {
		ctl_output_error("unknown command '%s%s%s'", argv[first],
		    first + 1 < argc ? " " : "",
		    first + 1 < argc ? argv[first + 1] : "");
		cmd_usage(stderr, cmd_is_group(argv[first]) ?
		    argv[first] : NULL);
		return CTL_USAGE;
	}
	first += (int)nwords - 1;
	if (cmd_parse_args(e, argc - first, argv + first, &a) == -1)
		st = CTL_USAGE;
	else
		st = cmd_run(e, &g, &a);
	if (st == CTL_USAGE)
		cmd_usage_one(stderr, "usage: vtokenctl ", e);
	if (fflush(stdout) == EOF && st == CTL_OK) {
		ctl_output_error("stdout: %s", strerror(errno));
		st = CTL_FAIL;
	}
	free(a.argv);
	free(a.addrs);
	free(a.vms);
	return st;
}
