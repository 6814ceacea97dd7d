/*
 * store_worker: the store's thread (see store_worker.h).
 *
 * Two queues under one mutex: jobs to run (the worker takes them) and
 * jobs run (the event loop takes them, woken through an eventfd).  A
 * synchronous call waits on the condition variable instead of going
 * through the second queue.
 */
#include "server/store/store_worker.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "common/monotime.h"
#include <sys/queue.h>
#include <unistd.h>

#include "common/cause.h"
#include "common/xmalloc.h"

/* The most transactions one commit carries. */
#define STORE_GROUP_MAX	128

struct store_job {
	store_run_fn *run;
	store_run_fn *body;		/* a transaction (post_tx), else NULL */
	store_done_fn *done;
	void *arg;
	int result;
	char err[sizeof(((struct store *)0)->err)];
	bool sync;			/* store_worker_call: no done queue */
	bool finished;
	TAILQ_ENTRY(store_job) entry;
};
TAILQ_HEAD(store_job_list, store_job);

struct store_worker {
	struct store *st;		/* the worker thread's only */
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cond;		/* a job finished, or one was queued */
	struct store_job_list todo;	/* guarded by mu */
	struct store_job_list done;	/* guarded by mu */
	bool stopping;			/* guarded by mu */
	size_t pending;			/* posted, done not yet run; loop only */
	struct store_stats stats;	/* guarded by mu */
	int efd;
	struct event *ev;
	double running_since;		/* monotime; 0 idle; guarded by mu */
	void (*audit_fn)(void *);	/* loop only */
	void *audit_arg;
	unsigned long long audit_seen;	/* loop only */
};

/* One transaction job on its own: begin, body, commit. */
static int
store_tx_one(struct store *st, struct store_job *j)
{
	int r = store_begin(st);

	if (r == 0)
		r = j->body(st, j->arg);
	if (r == 0)
		r = store_commit(st);
	if (r != 0)
		store_rollback(st);
	return r;
}

/*
 * The n transaction jobs of g in one transaction; when that fails, each
 * on its own.  Fills every job's result and err.
 */
static void
store_tx_group(struct store *st, struct store_job **g, size_t n)
{
	int r = n > 1 ? store_begin(st) : -1;

	for (size_t i = 0; r == 0 && i < n; i++)
		r = g[i]->body(st, g[i]->arg);
	if (r == 0)
		r = store_commit(st);
	if (n > 1 && r == 0) {
		st->stats.tx_groups++;
		st->stats.tx_grouped += n;
		for (size_t i = 0; i < n; i++)
			g[i]->result = 0;
		return;
	}
	store_rollback(st);
	for (size_t i = 0; i < n; i++) {
		st->err[0] = '\0';
		g[i]->result = store_tx_one(st, g[i]);
		if (g[i]->result < 0)
			snprintf(g[i]->err, sizeof(g[i]->err), "%s", st->err);
	}
}

/* Runs j, and (a transaction) those queued right behind it; mu held. */
static size_t
store_worker_take(struct store_worker *w, struct store_job *j,
    struct store_job **g)
{
	size_t n = 0;

	g[n++] = j;
	while (j->body != NULL && n < STORE_GROUP_MAX &&
	    (j = TAILQ_FIRST(&w->todo)) != NULL && j->body != NULL) {
		TAILQ_REMOVE(&w->todo, j, entry);
		g[n++] = j;
	}
	return n;
}

static void *
store_worker_main(void *arg)
{
	struct store_worker *w = arg;
	struct store_job *j, *g[STORE_GROUP_MAX];
	size_t n;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (TAILQ_EMPTY(&w->todo) && !w->stopping)
			pthread_cond_wait(&w->cond, &w->mu);
		if ((j = TAILQ_FIRST(&w->todo)) == NULL)
			break;		/* stopping, and nothing left */
		TAILQ_REMOVE(&w->todo, j, entry);
		n = store_worker_take(w, j, g);
		w->running_since = monotime_sec();
		pthread_mutex_unlock(&w->mu);

		w->st->err[0] = '\0';
		if (j->body != NULL)
			store_tx_group(w->st, g, n);
		else {
			j->result = j->run(w->st, j->arg);
			if (j->result < 0)
				snprintf(j->err, sizeof(j->err), "%s",
				    w->st->err);
		}
		/* A job must not leave a transaction open behind it. */
		store_rollback(w->st);

		pthread_mutex_lock(&w->mu);
		w->running_since = 0;
		w->stats = w->st->stats;
		for (size_t i = 0; i < n; i++) {
			g[i]->finished = true;
			if (!g[i]->sync) {
				uint64_t one = 1;

				TAILQ_INSERT_TAIL(&w->done, g[i], entry);
				(void)write(w->efd, &one, sizeof(one));
			}
		}
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Runs the done callbacks of finished jobs (event loop only). */
static void
store_worker_reap(struct store_worker *w)
{
	struct store_job_list list;
	struct store_job *j;
	unsigned long long audits;

	TAILQ_INIT(&list);
	pthread_mutex_lock(&w->mu);
	TAILQ_CONCAT(&list, &w->done, entry);
	audits = w->stats.audit_commits;
	pthread_mutex_unlock(&w->mu);
	while ((j = TAILQ_FIRST(&list)) != NULL) {
		TAILQ_REMOVE(&list, j, entry);
		w->pending--;
		if (j->done != NULL)
			j->done(j->arg, j->result, j->result < 0 ? j->err :
			    NULL);
		free(j);
	}
	if (audits != w->audit_seen) {
		w->audit_seen = audits;
		if (w->audit_fn != NULL)
			w->audit_fn(w->audit_arg);
	}
}

double
store_worker_busy(struct store_worker *w)
{
	double since;

	pthread_mutex_lock(&w->mu);
	since = w->running_since;
	pthread_mutex_unlock(&w->mu);
	return since > 0 ? monotime_sec() - since : 0;
}

void
store_worker_on_audit(struct store_worker *w, void (*fn)(void *), void *arg)
{
	w->audit_fn = fn;
	w->audit_arg = arg;
}

static void
store_worker_wakecb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;

	(void)what;
	(void)read(fd, &n, sizeof(n));
	store_worker_reap(arg);
}

struct store_worker *
store_worker_new(struct event_base *base, struct store *st, char **cause)
{
	struct store_worker *w = xcalloc(1, sizeof(*w));

	w->st = st;
	TAILQ_INIT(&w->todo);
	TAILQ_INIT(&w->done);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0) {
		cause_set(cause, "eventfd: %s", strerror(errno));
		goto fail;
	}
	w->ev = event_new(base, w->efd, EV_READ | EV_PERSIST,
	    store_worker_wakecb, w);
	if (w->ev == NULL || event_add(w->ev, NULL) < 0) {
		cause_set(cause, "cannot watch the store worker");
		goto fail;
	}
	if (pthread_create(&w->thread, NULL, store_worker_main, w) != 0) {
		cause_set(cause, "cannot start the store thread");
		goto fail;
	}
	w->started = true;
	return w;
fail:
	store_worker_free(w);
	return NULL;
}

void
store_worker_free(struct store_worker *w)
{
	if (w == NULL)
		return;
	/* Drain: done callbacks may post more work. */
	pthread_mutex_lock(&w->mu);
	while (w->started && w->pending > 0) {
		if (TAILQ_EMPTY(&w->done)) {
			pthread_cond_wait(&w->cond, &w->mu);
			continue;
		}
		pthread_mutex_unlock(&w->mu);
		store_worker_reap(w);
		pthread_mutex_lock(&w->mu);
	}
	w->stopping = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
	if (w->started)
		pthread_join(w->thread, NULL);
	if (w->ev != NULL)
		event_free(w->ev);
	if (w->efd >= 0)
		close(w->efd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cond);
	store_close(w->st);
	free(w);
}

/* Queues a job of either kind (run or body set). */
static void
store_worker_queue(struct store_worker *w, store_run_fn *run,
    store_run_fn *body, store_done_fn *done, void *arg)
{
	struct store_job *j = xcalloc(1, sizeof(*j));

	j->run = run;
	j->body = body;
	j->done = done;
	j->arg = arg;
	w->pending++;
	pthread_mutex_lock(&w->mu);
	TAILQ_INSERT_TAIL(&w->todo, j, entry);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
}

void
store_worker_post(struct store_worker *w, store_run_fn *run,
    store_done_fn *done, void *arg)
{
	store_worker_queue(w, run, NULL, done, arg);
}

void
store_worker_post_tx(struct store_worker *w, store_run_fn *body,
    store_done_fn *done, void *arg)
{
	store_worker_queue(w, NULL, body, done, arg);
}

size_t
store_worker_pending(const struct store_worker *w)
{
	return w->pending;
}

struct store_stats
store_worker_stats(struct store_worker *w)
{
	struct store_stats s;

	pthread_mutex_lock(&w->mu);
	s = w->stats;
	pthread_mutex_unlock(&w->mu);
	return s;
}

int
store_worker_call(struct store_worker *w, store_run_fn *run, void *arg,
    char **err)
{
	struct store_job j;

	memset(&j, 0, sizeof(j));
	j.run = run;
	j.arg = arg;
	j.sync = true;
	pthread_mutex_lock(&w->mu);
	TAILQ_INSERT_TAIL(&w->todo, &j, entry);
	pthread_cond_broadcast(&w->cond);
	while (!j.finished)
		pthread_cond_wait(&w->cond, &w->mu);
	pthread_mutex_unlock(&w->mu);
	if (j.result < 0 && err != NULL)
		*err = xstrdup(j.err);
	return j.result;
}
