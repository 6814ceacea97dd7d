/*
 * config: vtokend's configuration, loaded from YAML (libyaml) into a fresh
 * struct, validated as a whole, then swapped in by the caller.  Every key
 * is described once in the key table in config.c with its type, bounds,
 * default and whether SIGHUP may change it; conf/vtokend.yaml documents
 * them.  Unknown keys are errors.  Error messages read FILE:LINE:COL: msg
 * and all of them are collected in one pass.
 */
#ifndef VTOKEN_CONFIG_H
#define VTOKEN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/log.h"

#define CONFIG_MAX_FILE_SIZE	(1024 * 1024)

struct config_image {
	char *path;
	bool writable;
};

/* One alarm rule of alarms.rules (conf/vtokend.yaml describes them). */
struct config_alarm_rule {
	char *name;
	char *actions;		/* ",a,b,": the audit actions it counts */
	char *per;		/* "token", "vm", "address" or "none" */
	char *token, *vm, *address;	/* only records about these; "" any */
	unsigned count;		/* records within window raise it */
	unsigned window;	/* seconds */
	char *severity;		/* "critical", "warning" or "info" */
	bool webhook, syslog;	/* where it goes */
};

struct vtd_config {
	char *data_dir;
	enum log_level log_level;
	struct {
		char *listen;			/* "ADDR:PORT" as written */
		struct sockaddr_storage addr;
		socklen_t addrlen;
		unsigned max_sessions;
		unsigned max_per_peer;
		unsigned vm_reserve;		/* slots for VM addresses */
		unsigned handshake_timeout;	/* seconds */
		unsigned pdu_timeout;		/* seconds */
		unsigned tx_timeout;		/* seconds */
		unsigned max_urbs;		/* outstanding per session */
		unsigned max_bulk;		/* bytes per bulk URB */
		unsigned max_control;		/* bytes per control URB */
	} usbip;
	struct {
		char *listen;			/* "ADDR:PORT" as written */
		struct sockaddr_storage addr;
		socklen_t addrlen;
		char *tls_cert;			/* PEM file; "" = no TLS */
		char *tls_key;
		bool insecure;			/* non-loopback without TLS */
		char *public_url;		/* URL written into tokens */
		unsigned max_body;		/* bytes */
		unsigned timeout;		/* seconds per request */
		unsigned max_connections;	/* in all */
		unsigned max_per_address;	/* per source address */
		unsigned vm_reserve;		/* slots for VM addresses */
		unsigned max_body_anon;		/* bytes, routes with no key */
	} api;
	char *ui_dir;				/* web console files; "" default */
	struct {
		unsigned nonce_ttl;		/* seconds */
		unsigned rate_per_token;	/* per minute */
		unsigned rate_per_address;	/* per minute */
		unsigned max_nonces;
		unsigned record_every;		/* seconds; 0: every success */
	} agent;
	struct {
		unsigned vendor_id, product_id;
		char *manufacturer;
		char *product;
	} usb;
	struct {
		char *backend;			/* "sqlite" or "postgresql" */
		char *dsn;			/* libpq connection string */
		char *password_file;		/* "" = libpq's own means */
	} store;
	struct {
		char *name;			/* "" = the host name */
		unsigned lease;			/* seconds */
		unsigned heartbeat;		/* seconds */
	} node;
	struct {
		bool builtin;			/* the built-in rules */
		unsigned copied_count, copied_window;
		unsigned denied_count, denied_window;
		unsigned agent_grace;		/* 0: off */
		unsigned verify_interval;	/* 0: off */
		unsigned disk_min_free_mib;	/* 0: off */
		char *webhook_url;		/* "" none */
		char *webhook_secret_file;
		unsigned webhook_attempts;
		unsigned webhook_backoff;	/* first retry, seconds */
		char *syslog;			/* "" none, or a target */
		unsigned queue;			/* per destination */
		struct config_alarm_rule *rules;
		size_t nrules;
	} alarms;
	struct {
		char *forward;			/* syslog target or "" */
		char *key_file;			/* "": DATA_DIR/audit.key */
	} audit;
	struct config_image *images;
	size_t nimages;
};

/* A config holding every default (no file). */
struct vtd_config *config_default(void);
/*
 * Loads path over the defaults.  On failure returns NULL and sets *errors
 * to one allocated string of newline-separated FILE:LINE:COL messages.
 */
struct vtd_config *config_load(const char *path, char **errors);
/*
 * The same for YAML text already in memory (len bytes, borrowed; need not
 * be NUL-terminated); name stands for the file in error messages.
 */
struct vtd_config *config_load_buffer(const char *name, const char *buf,
    size_t len, char **errors);
void config_free(struct vtd_config *cfg);

/* Parses "PATH[:rw]" (also "PATH:ro"); 0, or -1 with a static reason. */
int config_image_parse(const char *spec, struct config_image *out,
    const char **why);
/*
 * config_alarms.c: parses the alarms.rules list (a YAML sequence of
 * mappings) into cfg, reporting errors in e; frees the rules.
 */
struct yamlconf_errs;
void config_alarm_rules(struct vtd_config *cfg, void *doc, void *seq,
    struct yamlconf_errs *e);
void config_alarm_rules_free(struct vtd_config *cfg);
/* Appends an image; takes a copy of the path. */
void config_add_image(struct vtd_config *cfg, const char *path,
    bool writable);
/* Replaces usbip.listen; 0, or -1 with a static reason. */
int config_set_listen(struct vtd_config *cfg, const char *hostport,
    const char **why);
/* Replaces api.listen; 0, or -1 with a static reason. */
int config_set_api_listen(struct vtd_config *cfg, const char *hostport,
    const char **why);
/* Replaces data_dir. */
void config_set_data_dir(struct vtd_config *cfg, const char *dir);
/*
 * Sets store.backend (and store.dsn) from "sqlite" or "postgresql:DSN";
 * 0, or -1 with a static reason.
 */
int config_set_store(struct vtd_config *cfg, const char *spec,
    const char **why);
/* Replaces the string *field with a copy of v. */
void config_set_string(char **field, const char *v);
/*
 * Names the first key whose value differs between a and b but cannot
 * change without a restart, or NULL when b can be applied by reload.
 */
const char *config_restart_key(const struct vtd_config *a,
    const struct vtd_config *b);

#endif
