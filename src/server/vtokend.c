/*
 * vtokend: entry point.  Parses the command line, loads the configuration
 * (or the embedded defaults), sets up the event loop, the USB/IP server
 * and signal handling, and runs until SIGTERM/SIGINT.  SIGHUP reloads the
 * configuration file: a broken file keeps the old configuration and says
 * why.
 */
#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "common/log.h"
#include "common/netaddr.h"
#include "common/xmalloc.h"
#include "server/api/api.h"
#include "server/control/control.h"
#include "server/export/export.h"
#include "server/serve_image.h"
#include "server/usbip/usbip_server.h"
#include "server/vtokend.h"

struct vtd_args {
	const char *config;
	const char *listen;
	const char *api_listen;
	const char *data_dir;
	const char *store;		/* BACKEND[:DSN] */
	const char *node;
	bool check_only;
	bool debug;
	bool demo;
	bool allow_insecure;		/* --allow-insecure-data-dir */
	char **images;
	size_t nimages;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: vtokend [-c FILE] [-n] [-d] [--listen ADDR:PORT]\n"
	    "               [--api-listen ADDR:PORT] [--data-dir DIR]\n"
	    "               [--store sqlite|postgresql:DSN] [--node NAME]\n"
	    "               [--serve-image PATH[:rw]]...\n"
	    "  -c, --config FILE        configuration file (YAML); default: "
	    "built-in defaults\n"
	    "  -n, --check              check the configuration and exit\n"
	    "  -d, --debug              log at debug level\n"
	    "      --listen ADDR:PORT   USB/IP listen address "
	    "(overrides usbip.listen)\n"
	    "      --api-listen ADDR:PORT  REST API listen address "
	    "(overrides api.listen)\n"
	    "      --data-dir DIR       state directory (overrides data_dir)\n"
	    "      --store sqlite|postgresql:DSN  the store (overrides "
	    "store.backend\n"
	    "                           and store.dsn)\n"
	    "      --node NAME          this node's name (overrides "
	    "node.name)\n"
	    "      --demo               create a demo token for a VM at "
	    "127.0.0.1 if missing\n"
	    "      --allow-insecure-data-dir  only warn when data_dir is "
	    "writable by\n"
	    "                           others or not vtokend's user's "
	    "(development)\n"
	    "      --serve-image PATH[:rw]  serve a raw disk image to every "
	    "peer,\n"
	    "                           without access control "
	    "(development); repeatable\n"
	    "  -V, --version            print the version\n");
}

static int
parse_args(int argc, char **argv, struct vtd_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "debug", no_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'L' },
		{ "api-listen", required_argument, NULL, 'A' },
		{ "data-dir", required_argument, NULL, 'D' },
		{ "store", required_argument, NULL, 'B' },
		{ "node", required_argument, NULL, 'N' },
		{ "demo", no_argument, NULL, 'M' },
		{ "allow-insecure-data-dir", no_argument, NULL, 'I' },
		{ "serve-image", required_argument, NULL, 'S' },
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
		case 'n':
			a->check_only = true;
			break;
		case 'd':
			a->debug = true;
			break;
		case 'L':
			a->listen = optarg;
			break;
		case 'A':
			a->api_listen = optarg;
			break;
		case 'B':
			a->store = optarg;
			break;
		case 'N':
			a->node = optarg;
			break;
		case 'D':
			a->data_dir = optarg;
			break;
		case 'M':
			a->demo = true;
			break;
		case 'I':
			a->allow_insecure = true;
			break;
		case 'S':
			a->images = xreallocarray(a->images, a->nimages + 1,
			    sizeof(*a->images));
			a->images[a->nimages++] = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("vtokend %s\n", VTOKEN_VERSION);
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

/*
 * Applies the command-line options over cfg: they win over the file, at
 * start and on every reload (else a reload would see --listen or
 * --data-dir "changed" back to the file's value and be refused).  0, or
 * -1 with the reason on stderr.
 */
static int
apply_args(struct vtd_config *cfg, const struct vtd_args *a)
{
	const char *why;

	if (a->listen != NULL && config_set_listen(cfg, a->listen, &why) < 0) {
		fprintf(stderr, "--listen %s: %s\n", a->listen, why);
		return -1;
	}
	if (a->api_listen != NULL &&
	    config_set_api_listen(cfg, a->api_listen, &why) < 0) {
		fprintf(stderr, "--api-listen %s: %s\n", a->api_listen, why);
		return -1;
	}
	if (a->data_dir != NULL)
		config_set_data_dir(cfg, a->data_dir);
	if (a->store != NULL && config_set_store(cfg, a->store, &why) < 0) {
		fprintf(stderr, "--store: %s\n", why);
		return -1;
	}
	if (a->node != NULL)
		config_set_string(&cfg->node.name, a->node);
	for (size_t i = 0; i < a->nimages; i++) {
		struct config_image ci;

		if (config_image_parse(a->images[i], &ci, &why) < 0) {
			fprintf(stderr, "--serve-image %s: %s\n", a->images[i],
			    why);
			return -1;
		}
		config_add_image(cfg, ci.path, ci.writable);
		free(ci.path);
	}
	if (a->debug)
		cfg->log_level = LOG_LEVEL_DEBUG;
	return 0;
}

/* Builds the effective configuration: file (or defaults) + options. */
static struct vtd_config *
build_config(const struct vtd_args *a)
{
	struct vtd_config *cfg;
	char *errors = NULL;

	if (a->config != NULL) {
		cfg = config_load(a->config, &errors);
		if (cfg == NULL) {
			fprintf(stderr, "%s\n", errors);
			free(errors);
			return NULL;
		}
	} else
		cfg = config_default();
	if (apply_args(cfg, a) < 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

/*
 * The USB/IP layer's share of the configuration; fd_cap (0: none) is its
 * share of the descriptors (vtokend_fds.c).
 */
static void
vtokend_usbip_limits(const struct vtd_config *cfg, unsigned fd_cap,
    struct usbip_limits *lim)
{
	lim->max_sessions = cfg->usbip.max_sessions;
	if (fd_cap > 0 && fd_cap < lim->max_sessions)
		lim->max_sessions = fd_cap;
	lim->max_per_peer = cfg->usbip.max_per_peer;
	lim->vm_reserve = cfg->usbip.vm_reserve;
	lim->handshake_timeout = cfg->usbip.handshake_timeout;
	lim->pdu_timeout = cfg->usbip.pdu_timeout;
	lim->tx_timeout = cfg->usbip.tx_timeout;
	lim->max_urbs = cfg->usbip.max_urbs;
	lim->max_bulk = cfg->usbip.max_bulk;
	lim->max_control = cfg->usbip.max_control;
}

/*
 * The web console's directory: ui.dir, or by default the source tree's
 * for a vtokend run from its build tree and the installed one otherwise.
 */
static void
vtokend_ui_dir(const struct vtd_config *cfg, char *buf, size_t len)
{
	char exe[4096];
	ssize_t n;

	if (cfg->ui_dir != NULL && cfg->ui_dir[0] != '\0') {
		snprintf(buf, len, "%s", cfg->ui_dir);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	if (strncmp(exe, VT_BUILD_DIR "/", strlen(VT_BUILD_DIR "/")) == 0)
		snprintf(buf, len, "%s", VT_UI_SOURCE_DIR);
	else
		snprintf(buf, len, "%s", VT_UI_INSTALL_DIR);
}

/* The REST API's share; fd_cap as for USB/IP. */
static void
vtokend_api_params(const struct vtd_config *cfg, unsigned fd_cap,
    struct api_params *p)
{
	memset(p, 0, sizeof(*p));
	memcpy(&p->addr, &cfg->api.addr, sizeof(p->addr));
	p->addrlen = cfg->api.addrlen;
	snprintf(p->listen, sizeof(p->listen), "%s", cfg->api.listen);
	snprintf(p->tls_cert, sizeof(p->tls_cert), "%s", cfg->api.tls_cert);
	snprintf(p->tls_key, sizeof(p->tls_key), "%s", cfg->api.tls_key);
	p->insecure = cfg->api.insecure;
	p->max_body = cfg->api.max_body;
	p->timeout = cfg->api.timeout;
	p->max_conns = cfg->api.max_connections;
	if (fd_cap > 0 && fd_cap < p->max_conns)
		p->max_conns = fd_cap;
	p->max_per_address = cfg->api.max_per_address;
	p->vm_reserve = cfg->api.vm_reserve;
	p->max_body_anon = cfg->api.max_body_anon;
	vtokend_ui_dir(cfg, p->ui_dir, sizeof(p->ui_dir));
}

/* The controller URL written into TOKEN.JSON for the agent. */
static char *
vtokend_controller_url(const struct vtd_config *cfg)
{
	bool tls = cfg->api.tls_cert[0] != '\0';

	if (cfg->api.public_url[0] != '\0')
		return xstrdup(cfg->api.public_url);
	return xasprintf("%s://%s", tls ? "https" : "http", cfg->api.listen);
}

/*
 * The database password from store.password_file: its first line, at
 * most 1 KiB.  NULL (nothing to read) or an allocated string the caller
 * wipes; -1 through *bad after logging.
 */
static char *
vtokend_password(const struct vtd_config *cfg, bool *bad)
{
	char buf[1025];
	size_t n;
	FILE *f;

	*bad = false;
	if (cfg->store.password_file[0] == '\0')
		return NULL;
	if ((f = fopen(cfg->store.password_file, "re")) == NULL) {
		log_warn("store.password_file %s", cfg->store.password_file);
		*bad = true;
		return NULL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return xstrdup(buf);
}

static struct control *
vtokend_control_open(struct vtokend *vtd)
{
	const struct vtd_config *cfg = vtd->cfg;
	struct control_params p;
	struct control *ctl;
	char host[65] = "";
	char *password;
	bool bad;

	password = vtokend_password(cfg, &bad);
	if (bad)
		return NULL;
	memset(&p, 0, sizeof(p));
	p.data_dir = cfg->data_dir;
	p.backend = cfg->store.backend;
	p.dsn = cfg->store.dsn;
	p.password = password;
	if (cfg->node.name[0] != '\0')
		snprintf(host, sizeof(host), "%s", cfg->node.name);
	else if (gethostname(host, sizeof(host) - 1) < 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	p.node = host;
	p.usbip_addr = cfg->usbip.listen;
	p.api_addr = cfg->api.listen;
	p.lease_s = cfg->node.lease;
	p.heartbeat_s = cfg->node.heartbeat;
	p.controller_url = vtokend_controller_url(cfg);
	p.tls_cert = cfg->api.tls_cert;
	p.audit_key_file = cfg->audit.key_file;
	p.allow_insecure_data_dir = vtd->args != NULL &&
	    vtd->args->allow_insecure;
	p.agent.nonce_ttl = cfg->agent.nonce_ttl;
	p.agent.per_token = cfg->agent.rate_per_token;
	p.agent.per_address = cfg->agent.rate_per_address;
	p.agent.max_nonces = cfg->agent.max_nonces;
	p.auth_record_every = cfg->agent.record_every;
	ctl = control_open(vtd->base, &p, vtd->exp);
	free((char *)(uintptr_t)p.controller_url);
	if (password != NULL) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	return ctl;
}

static void
vtokend_reload(struct vtokend *vtd)
{
	struct vtd_config *ncfg;
	struct usbip_limits lim;
	char *errors = NULL;
	const char *key;

	if (vtd->config_path == NULL) {
		log_info("reload: no configuration file; nothing to do");
		return;
	}
	ncfg = config_load(vtd->config_path, &errors);
	if (ncfg == NULL) {
		log_error("reload failed, keeping the running configuration:"
		    "\n%s", errors);
		free(errors);
		return;
	}
	if (apply_args(ncfg, vtd->args) < 0) {
		log_error("reload failed, keeping the running configuration: "
		    "the command-line options do not apply");
		config_free(ncfg);
		return;
	}
	key = config_restart_key(vtd->cfg, ncfg);
	if (key != NULL) {
		log_error("reload refused, keeping the running configuration: "
		    "%s changed and needs a restart", key);
		config_free(ncfg);
		return;
	}
	config_free(vtd->cfg);
	vtd->cfg = ncfg;
	vtokend_usbip_limits(ncfg, vtd->fd_usbip, &lim);
	usbip_server_set_limits(vtd->usbip, &lim);
	log_set_level(ncfg->log_level);
	log_info("reload: configuration %s applied", vtd->config_path);
}

static void
vtokend_signalcb(evutil_socket_t sig, short what, void *arg)
{
	struct vtokend *vtd = arg;

	(void)what;
	if (sig == SIGHUP) {
		vtokend_reload(vtd);
		return;
	}
	log_info("signal %d: shutting down", (int)sig);
	vtd->stopping = true;
	event_base_loopexit(vtd->base, NULL);
}

/* Prints how to attach the demo token (stdout: it is for the user). */
static void
vtokend_demo_ready(void *arg, const struct vt_error *err, const char *id)
{
	struct vtokend *vtd = arg;
	struct control_token *tok;
	const char *api = vtd->api != NULL ? vtd->api->bound :
	    vtd->cfg->api.listen;
	char host[64], busid[32];
	unsigned port;

	if (err != NULL || (tok = control_token_by_id(vtd->ctl, id)) == NULL)
		return;		/* logged */
	control_token_busid(tok, busid);
	netaddr_format_host((const struct sockaddr *)&vtd->usbip->bound,
	    host, sizeof(host));
	port = ntohs(((const struct sockaddr_in *)(const void *)
	    &vtd->usbip->bound)->sin_port);
	printf("\nDemo token \"%s\" (id %s) is assigned to VM \"local\" "
	    "(127.0.0.1).\nAttach it from this host (vhci-hcd module "
	    "needed):\n    sudo usbip --tcp-port %u attach -r %s -b %s\n"
	    "Operate the controller (admin key):\n"
	    "    export VTOKEN_URL=http://%s VTOKEN_API_KEY_FILE=%s/admin.key\n"
	    "    build/bin/vtokenctl token list\n"
	    "Give a help desk its own key (shown once; roles: admin, "
	    "operator, auditor, orchestrator):\n"
	    "    build/bin/vtokenctl key create help-desk --role operator "
	    "--expires 90d\n"
	    "Follow attaches, revokes and every other audited event live:\n"
	    "    build/bin/vtokenctl audit --follow\n"
	    "Open the web console and sign in with a key (the admin key is "
	    "the\ncontent of %s/admin.key):\n    %s://%s/ui/\n\n",
	    tok->name, tok->id, port, host, busid, api, vtd->cfg->data_dir,
	    vtd->cfg->data_dir, vtd->cfg->api.tls_cert[0] ? "https" : "http",
	    api);
	fflush(stdout);
}

/* Makes the demo token (when missing); prints how to use it when done. */
static void
vtokend_demo(struct vtokend *vtd)
{
	control_demo_setup(vtd->ctl, vtokend_demo_ready, vtd);
}

static int
vtokend_signals(struct vtokend *vtd)
{
	vtd->ev_sigterm = evsignal_new(vtd->base, SIGTERM, vtokend_signalcb,
	    vtd);
	vtd->ev_sigint = evsignal_new(vtd->base, SIGINT, vtokend_signalcb,
	    vtd);
	vtd->ev_sighup = evsignal_new(vtd->base, SIGHUP, vtokend_signalcb,
	    vtd);
	if (vtd->ev_sigterm == NULL || vtd->ev_sigint == NULL ||
	    vtd->ev_sighup == NULL || evsignal_add(vtd->ev_sigterm, NULL) ||
	    evsignal_add(vtd->ev_sigint, NULL) ||
	    evsignal_add(vtd->ev_sighup, NULL)) {
		log_error("cannot install signal handlers");
		return -1;
	}
	return 0;
}

/* Builds the layers bottom up: export, controller, USB/IP, REST API. */
static int
vtokend_setup(struct vtokend *vtd, bool demo)
{
	const struct vtd_config *cfg = vtd->cfg;
	struct usbip_limits lim;
	struct api_params ap;

	vtd->base = event_base_new();
	if (vtd->base == NULL) {
		log_error("cannot create the event loop");
		return -1;
	}
	vtd->exp = export_new((uint16_t)cfg->usb.vendor_id,
	    (uint16_t)cfg->usb.product_id, cfg->usb.manufacturer,
	    cfg->usb.product);
	vtd->ctl = vtokend_control_open(vtd);
	if (vtd->ctl == NULL || vtokend_alarms_start(vtd) < 0)
		return -1;
	if (serve_image_load_all(vtd) < 0)
		return -1;
	vtokend_fds_budget(vtd);
	vtokend_usbip_limits(cfg, vtd->fd_usbip, &lim);
	vtd->usbip = usbip_server_new(vtd->base, vtd->exp,
	    (const struct sockaddr *)&cfg->usbip.addr, cfg->usbip.addrlen,
	    cfg->usbip.listen, &lim);
	if (vtd->usbip == NULL)
		return -1;
	vtokend_api_params(cfg, vtd->fd_api, &ap);
	vtd->api = api_server_new(vtd->base, &ap, vtd->ctl, vtd->exp);
	if (vtd->api == NULL)
		return -1;
	if (demo)
		vtokend_demo(vtd);
	return vtokend_signals(vtd);
}

/* Top down: connections end (and are recorded) before the controller. */
static void
vtokend_teardown(struct vtokend *vtd)
{
	api_server_free(vtd->api);
	usbip_server_free(vtd->usbip);
	control_close(vtd->ctl);
	vtokend_alarms_free(vtd);	/* the controller posted its last */
	export_free(vtd->exp);
	if (vtd->ev_sigterm)
		event_free(vtd->ev_sigterm);
	if (vtd->ev_sigint)
		event_free(vtd->ev_sigint);
	if (vtd->ev_sighup)
		event_free(vtd->ev_sighup);
	if (vtd->base)
		event_base_free(vtd->base);
	config_free(vtd->cfg);
	free(vtd->config_path);
}

int
main(int argc, char **argv)
{
	struct vtd_args args;
	struct vtokend vtd;
	int rc = 1;

	memset(&args, 0, sizeof(args));
	memset(&vtd, 0, sizeof(vtd));
	log_init("vtokend", LOG_LEVEL_INFO);
	if (parse_args(argc, argv, &args) < 0)
		return 2;
	vtd.cfg = build_config(&args);
	if (vtd.cfg == NULL)
		return 1;
	if (args.check_only) {
		rc = serve_image_check_all(&vtd) == 0 ? 0 : 1;
		if (rc == 0)
			printf("configuration OK\n");
		config_free(vtd.cfg);
		free(args.images);
		return rc;
	}
	log_set_level(vtd.cfg->log_level);
	if (args.config != NULL)
		vtd.config_path = xstrdup(args.config);
	vtd.args = &args;
	signal(SIGPIPE, SIG_IGN);
	umask(077);
	/* Before any thread: the webhook threads use libcurl. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("cannot initialise libcurl");
		config_free(vtd.cfg);
		free(args.images);
		return 1;
	}
	if (vtokend_setup(&vtd, args.demo) == 0) {
		log_info("vtokend %s ready", VTOKEN_VERSION);
		rc = event_base_dispatch(vtd.base) < 0 ? 1 : 0;
	}
	vtokend_teardown(&vtd);
	curl_global_cleanup();
	free(args.images);
	log_info("stopped");
	return rc;
}
