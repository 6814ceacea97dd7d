/*
 * control_fixture: shared steps of the controller integration tests: start a
 * daemon, create tokens and VMs through the REST API, list and import as
 * a given 127.x source address.  Every helper asserts (Check) on failure.
 */
#ifndef VTOKEN_TEST_CTL_FIXTURE_H
#define VTOKEN_TEST_CTL_FIXTURE_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "usbip_client.h"
#include "vt_http.h"
#include "vtd_spawn.h"

struct fx_token {
	char id[32];
	char busid[32];
};

/* Runs suite s (CK_NORMAL) and frees it; the exit status for main(). */
int fx_run_suite(Suite *s);
void fx_start(struct vtd *d);
void fx_restart(struct vtd *d);
void fx_stop(struct vtd *d);
/*
 * A cluster node named name (--node): first NULL starts the first node
 * on a fresh store; otherwise the node shares first's store and admin key.
 */
void fx_node_start(struct vtd *d, const char *name, const struct vtd *first);
/*
 * Waits (5 s at most) until d knows path (GET answers 200): an object
 * made through another node reaches d through the change feed.
 */
void fx_wait_known(struct vtd *d, const char *path);
/* Waits (5 s at most) until d's replica shows token id assigned or not. */
void fx_wait_assigned(struct vtd *d, const char *id, bool assigned);
/* POST /v1/tokens; asserts 201. */
void fx_token(struct vtd *d, const char *name, bool writable,
    struct fx_token *out);
/* POST /v1/vms with one address; asserts 201; returns the id in buf. */
void fx_vm(struct vtd *d, const char *name, const char *addr);
void fx_assign(struct vtd *d, const char *token, const char *vm);
/* HTTP status of DELETE /v1/assignments/token. */
long fx_revoke(struct vtd *d, const char *token);
/* Busids listed to a client bound to src; returns how many. */
size_t fx_devlist(struct vtd *d, const char *src, char busids[][32],
    size_t max);
/* OP_REQ_IMPORT from src; returns the status; c stays open on ST_OK. */
uint32_t fx_import(struct vtd *d, const char *src, const char *busid,
    struct usbip_client *c);

#endif
