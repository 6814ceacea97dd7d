/*
 * vtoken-agent: main.  Parses the options, loads the configuration
 * (options override the file, the file overrides the built-in defaults)
 * and runs the daemon or --once.  Exit status: 0 ok, 1 not
 * authenticated or a run-time failure, 2 usage or configuration error.
 */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/agent_config.h"
#include "agent/agent_http.h"
#include "agent/agent_version.h"
#include "common/log.h"

#define AGENT_EXIT_USAGE	2

struct agent_args {
	const char *config;
	const char *controller;
	const char *device;
	const char *device_wait;
	bool once;
	bool debug;
	bool check;
};

static void usage(FILE *f);
static int parse_args(int argc, char **argv, struct agent_args *args);
static struct agent_config *build_config(const struct agent_args *args);
static void reexec(const char *path, char **argv);

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: vtoken-agent [-c FILE] [--controller URL] [--device PATH]"
	    "\n                    [--device-wait SECS] [--once] [-n] [-d]\n"
	    "  -c, --config FILE      configuration (YAML); default: "
	    "built-in defaults\n"
	    "      --controller URL   controller base URL (overrides "
	    "controller)\n"
	    "      --device PATH      token device or image file; no "
	    "discovery (overrides device)\n"
	    "      --device-wait SECS --once: wait this long for the token "
	    "(overrides device_wait)\n"
	    "      --once             authenticate once; exit 0 only when "
	    "authenticated\n"
	    "  -n, --check            check the configuration and exit\n"
	    "  -d, --debug            log at debug level\n"
	    "  -V, --version          print the version\n");
}

static int
parse_args(int argc, char **argv, struct agent_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "controller", required_argument, NULL, 'C' },
		{ "device", required_argument, NULL, 'D' },
		{ "device-wait", required_argument, NULL, 'W' },
		{ "once", no_argument, NULL, 'o' },
		{ "check", no_argument, NULL, 'n' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:ndhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			a->config = optarg;
			break;
		case 'C':
			a->controller = optarg;
			break;
		case 'D':
			a->device = optarg;
			break;
		case 'W':
			a->device_wait = optarg;
			break;
		case 'o':
			a->once = true;
			break;
		case 'n':
			a->check = true;
			break;
		case 'd':
			a->debug = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("vtoken-agent %s\n", agent_version());
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/* The file (or defaults) plus the options; NULL after printing why. */
static struct agent_config *
build_config(const struct agent_args *a)
{
	const char *keys[] = { "controller", "device", "device_wait" };
	const char *vals[] = { a->controller, a->device, a->device_wait };
	struct agent_config *cfg;
	char *errors = NULL;

	if (a->config == NULL)
		cfg = agent_config_default();
	else if ((cfg = agent_config_load(a->config, &errors)) == NULL) {
		fprintf(stderr, "%s\n", errors);
		free(errors);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (vals[i] == NULL ||
		    agent_config_set(cfg, keys[i], vals[i], &errors) == 0)
			continue;
		fprintf(stderr, "vtoken-agent: option %s\n", errors);
		free(errors);
		agent_config_free(cfg);
		return NULL;
	}
	return cfg;
}

/*
 * After an installed update: the new binary with the same arguments and
 * process id (so systemd and a plain shell both keep it).  The daemon
 * has closed its descriptors and restored the signal mask.  Returns
 * only on failure, logged.
 */
static void
reexec(const char *path, char **argv)
{
	log_info("executing %s", path);
	execv(path, argv);
	log_warn("execv %s", path);
}

int
main(int argc, char **argv)
{
	struct agent_args args = { 0 };
	struct agent_config *cfg;
	struct agent a = { 0 };
	int rc;

	if (parse_args(argc, argv, &args) < 0)
		return AGENT_EXIT_USAGE;
	log_init("vtoken-agent", args.debug ? LOG_LEVEL_DEBUG :
	    LOG_LEVEL_INFO);
	if ((cfg = build_config(&args)) == NULL)
		return AGENT_EXIT_USAGE;
	if (args.check) {
		printf("configuration OK\n");
		agent_config_free(cfg);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	if (agent_http_global_init() < 0) {
		log_error("libcurl initialisation failed");
		agent_config_free(cfg);
		return 1;
	}
	a.cfg = cfg;
	a.fixed = cfg->device[0] != '\0';
	rc = args.once ? agent_once_run(&a) : agent_daemon_run(&a);
	agent_http_global_cleanup();
	if (a.reexec)
		reexec(cfg->update_exec, argv);	/* returns on failure */
	agent_config_free(cfg);
	return a.reexec ? 1 : rc;
}
