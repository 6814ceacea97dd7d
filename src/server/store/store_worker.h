/*
 * store_worker: runs store work on a thread of its own, so that the event
 * loop, and with it every USB/IP session and API request, never waits on
 * the database: not on an fsync, not on a lock held by another process,
 * not on a PostgreSQL server that is slow or gone.
 *
 * A job is a pair of functions and an argument the caller owns: run(st,
 * arg) executes on the worker thread with the store to itself (it must
 * touch nothing but arg and st: no event loop, no controller state, no
 * logging of secrets), and done(arg, result, err) then executes on the
 * event loop with run's result and, when it failed, the store's error
 * text (valid during the call only).  Jobs run one at a time in the
 * order they were posted; a done callback may post new jobs.
 *
 * The worker owns the store.  Nothing here logs.
 */
#ifndef VTOKEN_STORE_WORKER_H
#define VTOKEN_STORE_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "server/store/store.h"

struct event_base;
struct store_worker;

typedef int store_run_fn(struct store *st, void *arg);
typedef void store_done_fn(void *arg, int result, const char *err);

/*
 * Starts the thread for st (ownership passes, also on failure).  NULL
 * with *cause on failure.
 */
struct store_worker *store_worker_new(struct event_base *base,
    struct store *st, char **cause);
/*
 * Runs every job still queued (and the jobs their done callbacks post)
 * to completion, stops the thread and closes the store.  NULL: no-op.
 */
void store_worker_free(struct store_worker *w);
/* Queues a job; done runs on the event loop (never within this call). */
void store_worker_post(struct store_worker *w, store_run_fn *run,
    store_done_fn *done, void *arg);
/*
 * Queues a transaction: the worker runs begin, body(st, arg), commit
 * (rollback on failure).  Transactions queued one after another run in
 * one database transaction, with one commit (one fsync) for all of them:
 * group commit.  Each done callback runs only after that commit, with 0;
 * when any body or the commit fails, the group is rolled back and each
 * runs again on its own, so every one gets its own result.  A body may
 * therefore run more than once, and must start afresh each time.
 */
void store_worker_post_tx(struct store_worker *w, store_run_fn *body,
    store_done_fn *done, void *arg);
/*
 * fn(arg) runs on the event loop after done callbacks whenever jobs
 * since the last call committed audit records (NULL: none).
 */
void store_worker_on_audit(struct store_worker *w, void (*fn)(void *),
    void *arg);
/* Seconds the job on the thread has been running; 0 when idle. */
double store_worker_busy(struct store_worker *w);
/* Jobs posted and not yet done (queued, running or awaiting done). */
size_t store_worker_pending(const struct store_worker *w);
/* The store's counters as of the last finished job. */
struct store_stats store_worker_stats(struct store_worker *w);
/*
 * Runs run(st, arg) on the worker and waits for it (no done callback):
 * for start-up and shutdown, when the event loop is not running.
 * Returns run's result; *err (may be NULL) gets the error text
 * (allocated) when it failed.
 */
int store_worker_call(struct store_worker *w, store_run_fn *run, void *arg,
    char **err);

#endif
