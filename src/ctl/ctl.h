/*
 * ctl: what every vtokenctl command handler gets (the context and its
 * parsed arguments) and the handlers themselves, one file per resource.
 * vtokenctl.c owns the command table that maps words to handlers; the
 * handlers own nothing beyond one call.
 */
#ifndef VTOKEN_CTL_H
#define VTOKEN_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "ctl/ctl_output.h"

struct ctl_http;

/* What a handler returns; the values are vtokenctl's exit statuses. */
enum ctl_status {
	CTL_OK = 0,		/* done */
	CTL_FAIL = 1,		/* server/connection/I-O error, reported */
	CTL_USAGE = 2,		/* misused; the caller prints the usage */
};

/* The one context, built by main() and passed to every handler. */
struct ctl_ctx {
	struct ctl_http *http;		/* main() owns; NULL if local */
	enum ctl_output_format format;	/* -o table|json */
	FILE *out;			/* where results go (stdout) */
};

/* A command's arguments after its words, options already parsed. */
struct ctl_args {
	char **argv;		/* positional; borrowed from main() */
	int argc;
	const char *size;	/* --size, or NULL */
	bool writable;		/* --writable */
	unsigned count;		/* --count, or 0 */
	const char *prefix;	/* --prefix, or NULL */
	const char **addrs;	/* --addr values; array owned by main() */
	size_t naddrs;
	uint64_t after;		/* --after, default 0 */
	unsigned limit;		/* --limit, default 100 */
	bool follow;		/* --follow */
	const char *type;	/* --type ACTION[,ACTION...], or NULL */
	const char *token;	/* --token ID|NAME, or NULL */
	const char *vm;		/* --vm ID|NAME, or NULL */
	const char *role;	/* --role, or NULL */
	const char *expires;	/* --expires, or NULL */
	const char *state;	/* --state, or NULL */
	const char *head;	/* --head SEQ:HASH, or NULL */
	const char **vms;	/* every --vm value (a->vm: the last);
				   array owned by main() */
	size_t nvms;
	unsigned interval;	/* --interval seconds, or 0 */
	unsigned grace;		/* --grace seconds, or 0 */
	const char *action;	/* --action, checked against the list */
	const char *command;	/* --command CMD, or NULL */
	bool clear;		/* --clear */
	const char *version;	/* --version VERSION, or NULL */
	const char *signature;	/* --signature BASE64|@FILE, or NULL */
	const char *key;	/* --key KEYFILE, or NULL */
	unsigned percent;	/* --percent 1..100, or 0 */
};

/*
 * ctl_delete.c: DELETE collection/arg (arg encoded; collection is a
 * VTAPI_* path), then "KIND ARG DONE" or, with -o json,
 * {"KIND": ARG, "DONE": true}.
 */
enum ctl_status ctl_delete(struct ctl_ctx *ctx, const char *collection,
    const char *arg, const char *kind, const char *done);

/*
 * ctl_show.c: METHOD collection/arg (arg encoded) with body (borrowed;
 * NULL for none), then the answer's document with -o json, else
 * print(ctx->out, document).
 */
enum ctl_status ctl_show(struct ctl_ctx *ctx, const char *method,
    const char *collection, const char *arg, const json_t *body,
    void (*print)(FILE *, const json_t *));

/*
 * ctl_list.c: a list command.  GETs path and, while an answer names a
 * "next" cursor, path?after=CURSOR; then prints all the pages' doc[key]
 * as one table, or with -o json as one document (page 1's, holding every
 * item, without "next").
 */
struct ctl_list_spec {
	const char *path;		/* VTAPI_TOKENS, ... */
	const char *key;		/* the array in the answer */
	const char *const *cols;	/* table headers */
	size_t ncols;
	void (*row)(struct ctl_output_table *, const json_t *);
	bool one_page;			/* path picks the page: no "next" */
};
enum ctl_status ctl_list(struct ctl_ctx *, const struct ctl_list_spec *);

/*
 * ctl_token.c.  ctl_token_create_check() tells a usage error (NAME and
 * --count together, --count without --prefix, ...) before anything is
 * sent: 0, or -1 after saying why.
 */
int ctl_token_create_check(const struct ctl_args *);
enum ctl_status ctl_token_create(struct ctl_ctx *, const struct ctl_args *);
enum ctl_status ctl_token_list(struct ctl_ctx *, const struct ctl_args *);
enum ctl_status ctl_token_show(struct ctl_ctx *, const struct ctl_args *);
enum ctl_status ctl_token_rm(struct ctl_ctx *, const struct ctl_args *);
enum ctl_status ctl_token_image(struct ctl_ctx *, const struct ctl_args *);

/* ctl_vm.c */
enum ctl_status ctl_vm_add(struct ctl_ctx *, const struct ctl_args *);
enum ctl_status ctl_vm_list(struct ctl_ctx *, const struct ctl_args *);
enum ctl_status ctl_vm_show(struct ctl_ctx *, const struct ctl_args *);
enum ctl_status ctl_vm_rm(struct ctl_ctx *, const struct ctl_args *);
enum ctl_status ctl_vm_set_addresses(struct ctl_ctx *,
	    const struct ctl_args *);

/* ctl_node.c */
enum ctl_status ctl_node_list(struct ctl_ctx *, const struct ctl_args *);

/* ctl_assign.c */
enum ctl_status ctl_assign_token(struct ctl_ctx *, const struct ctl_args *);
enum ctl_status ctl_assign_revoke(struct ctl_ctx *, const struct ctl_args *);
enum ctl_status ctl_assign_sessions(struct ctl_ctx *,
	    const struct ctl_args *);

/* ctl_key.c: API keys (the secret is printed once, by key create). */
enum ctl_status ctl_key_create(struct ctl_ctx *, const struct ctl_args *);
enum ctl_status ctl_key_list(struct ctl_ctx *, const struct ctl_args *);
enum ctl_status ctl_key_rm(struct ctl_ctx *, const struct ctl_args *);

/* ctl_alarm.c */
enum ctl_status ctl_alarm_list(struct ctl_ctx *, const struct ctl_args *);
enum ctl_status ctl_alarm_ack(struct ctl_ctx *, const struct ctl_args *);

/*
 * ctl_audit.c.  ctl_audit_check() refuses the event filters (--type,
 * --token, --vm) without --follow: 0, or -1 after saying why.
 */
int ctl_audit_check(const struct ctl_args *);
enum ctl_status ctl_audit_list(struct ctl_ctx *, const struct ctl_args *);
enum ctl_status ctl_audit_verify(struct ctl_ctx *, const struct ctl_args *);

/*
 * ctl_policy.c: the agents' policy (docs/AGENT.md), the cluster default
 * and a VM's own.  A set GETs the current policy, changes the fields
 * given and PUTs the whole of it.  The checks refuse a set without a
 * field, and --clear with one: 0, or -1 after saying why.
 * ctl_policy_kv() adds a policy's key: value lines (vm show).
 */
int ctl_policy_set_check(const struct ctl_args *);
int ctl_vm_policy_check(const struct ctl_args *);
enum ctl_status ctl_policy_show(struct ctl_ctx *, const struct ctl_args *);
enum ctl_status ctl_policy_set(struct ctl_ctx *, const struct ctl_args *);
enum ctl_status ctl_vm_policy(struct ctl_ctx *, const struct ctl_args *);
void ctl_policy_kv(struct ctl_output_table *kv, const json_t *policy);

/*
 * ctl_agent.c: "agents" (each VM's agent version, rollout target and
 * last update), "agent rollout set|show|stop", and ctl_agent_facts_kv(),
 * the key: value lines of a VM's reported facts (vm show).
 */
enum ctl_status ctl_agent_list(struct ctl_ctx *, const struct ctl_args *);
enum ctl_status ctl_agent_rollout_set(struct ctl_ctx *,
	    const struct ctl_args *);
enum ctl_status ctl_agent_rollout_show(struct ctl_ctx *,
	    const struct ctl_args *);
enum ctl_status ctl_agent_rollout_stop(struct ctl_ctx *,
	    const struct ctl_args *);
void ctl_agent_facts_kv(struct ctl_output_table *kv, const json_t *vm);

/*
 * ctl_release.c: agent releases.  ctl_release_check() refuses a
 * --version the API would (1-64 of [0-9A-Za-z.+~-]): 0, or -1 after
 * saying why.  "sign" is local: it reads an Ed25519 private key (PEM,
 * mode 0600 or stricter) and prints the signature of the release line.
 */
int ctl_release_check(const struct ctl_args *);
enum ctl_status ctl_release_add(struct ctl_ctx *, const struct ctl_args *);
enum ctl_status ctl_release_sign(struct ctl_ctx *, const struct ctl_args *);
enum ctl_status ctl_release_list(struct ctl_ctx *, const struct ctl_args *);
enum ctl_status ctl_release_rm(struct ctl_ctx *, const struct ctl_args *);

#endif
