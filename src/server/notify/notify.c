/*
 * notify: the delivery core: a queue, a thread and retries per
 * destination (see notify.h).
 */
#include "server/notify/notify_impl.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cause.h"
#include "common/log.h"
#include "common/xmalloc.h"

struct notify {
	struct notify_sink sink;
	struct notify_limits lim;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct notify_msg *head, **tail;	/* guarded by mu */
	unsigned n;				/* guarded by mu */
	bool stopping;				/* guarded by mu */
	struct notify_stats stats;		/* guarded by mu */
};

static void
notify_msg_free(struct notify_msg *m)
{
	if (m == NULL)
		return;
	free(m->msgid);
	free(m->sd);
	free(m->body);
	free(m);
}

/* Waits until deadline (CLOCK_REALTIME) or a stop; true when stopping. */
static bool
notify_sleep(struct notify *n, double seconds)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)seconds;
	ts.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&n->mu);
	while (!n->stopping && pthread_cond_timedwait(&n->cond, &n->mu,
	    &ts) != ETIMEDOUT)
		;
	stop = n->stopping;
	pthread_mutex_unlock(&n->mu);
	return stop;
}

/* Delivers m, retrying; returns false when told to stop meanwhile. */
static bool
notify_deliver(struct notify *n, struct notify_msg *m)
{
	double backoff = n->lim.backoff_min;
	char why[256];

	for (;;) {
		enum notify_result r;

		why[0] = '\0';
		m->attempts++;
		r = n->sink.send(n->sink.arg, m, n->lim.timeout_s, why,
		    sizeof(why));
		pthread_mutex_lock(&n->mu);
		if (r == NOTIFY_SENT)
			n->stats.delivered++;
		else if (r == NOTIFY_REJECTED || m->attempts >= n->lim.attempts)
			n->stats.failed++;
		else
			n->stats.retried++;
		pthread_mutex_unlock(&n->mu);
		if (r == NOTIFY_SENT)
			return true;
		if (r == NOTIFY_REJECTED || m->attempts >= n->lim.attempts) {
			log_warnx("notify %s: giving up after %u attempt(s): %s",
			    n->sink.what, m->attempts, why);
			return true;
		}
		log_debug("notify %s: attempt %u failed (%s); again in %.1f s",
		    n->sink.what, m->attempts, why, backoff);
		if (notify_sleep(n, backoff))
			return false;
		backoff = backoff * 2 > n->lim.backoff_max ? n->lim.backoff_max :
		    backoff * 2;
	}
}

static void *
notify_main(void *arg)
{
	struct notify *n = arg;
	struct notify_msg *m;

	for (;;) {
		pthread_mutex_lock(&n->mu);
		while (n->head == NULL && !n->stopping)
			pthread_cond_wait(&n->cond, &n->mu);
		if ((m = n->head) == NULL || n->stopping) {
			pthread_mutex_unlock(&n->mu);
			break;
		}
		pthread_mutex_unlock(&n->mu);
		/* m stays queued (counted) until it is done with. */
		if (!notify_deliver(n, m))
			break;
		pthread_mutex_lock(&n->mu);
		n->head = m->next;
		if (n->head == NULL)
			n->tail = &n->head;
		n->n--;
		pthread_mutex_unlock(&n->mu);
		notify_msg_free(m);
	}
	return NULL;
}

struct notify *
notify_start(const struct notify_sink *sink, const struct notify_limits *lim,
    char **cause)
{
	struct notify *n = xcalloc(1, sizeof(*n));

	n->sink = *sink;
	n->lim = *lim;
	if (n->lim.attempts == 0)
		n->lim.attempts = 1;
	n->tail = &n->head;
	pthread_mutex_init(&n->mu, NULL);
	pthread_cond_init(&n->cond, NULL);
	if (pthread_create(&n->thread, NULL, notify_main, n) != 0) {
		cause_set(cause, "notify %s: cannot start a thread",
		    sink->what);
		pthread_mutex_destroy(&n->mu);
		pthread_cond_destroy(&n->cond);
		sink->free(sink->arg);
		free(n);
		return NULL;
	}
	return n;
}

bool
notify_post(struct notify *n, int severity, const char *msgid,
    const char *sd, const char *body)
{
	struct notify_msg *m;

	if (n == NULL)
		return false;
	pthread_mutex_lock(&n->mu);
	if (n->n >= n->lim.queue) {
		n->stats.dropped++;
		pthread_mutex_unlock(&n->mu);
		return false;
	}
	pthread_mutex_unlock(&n->mu);
	m = xcalloc(1, sizeof(*m));
	m->severity = severity;
	m->msgid = xstrdup(msgid != NULL ? msgid : "-");
	m->sd = sd != NULL ? xstrdup(sd) : NULL;
	m->body = xstrdup(body != NULL ? body : "");
	m->when = time(NULL);
	pthread_mutex_lock(&n->mu);
	*n->tail = m;
	n->tail = &m->next;
	n->n++;
	pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&n->mu);
	return true;
}

struct notify_stats
notify_stats(struct notify *n)
{
	struct notify_stats s;

	memset(&s, 0, sizeof(s));
	if (n == NULL)
		return s;
	pthread_mutex_lock(&n->mu);
	s = n->stats;
	s.queued = n->n;
	pthread_mutex_unlock(&n->mu);
	return s;
}

void
notify_free(struct notify *n)
{
	struct notify_msg *m;
	struct timespec ts;
	bool empty = false;

	if (n == NULL)
		return;
	/* Give the queue a moment to empty; then stop whatever is left. */
	for (int i = 0; i < NOTIFY_DRAIN_S * 20 && !empty; i++) {
		pthread_mutex_lock(&n->mu);
		empty = n->head == NULL;
		pthread_mutex_unlock(&n->mu);
		if (!empty) {
			ts.tv_sec = 0;
			ts.tv_nsec = 50000000L;
			nanosleep(&ts, NULL);
		}
	}
	pthread_mutex_lock(&n->mu);
	n->stopping = true;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->mu);
	pthread_join(n->thread, NULL);
	while ((m = n->head) != NULL) {
		n->head = m->next;
		n->stats.dropped++;
		notify_msg_free(m);
	}
	if (n->stats.dropped > 0)
		log_warnx("notify %s: %llu message(s) dropped in all",
		    n->sink.what, n->stats.dropped);
	n->sink.free(n->sink.arg);
	pthread_mutex_destroy(&n->mu);
	pthread_cond_destroy(&n->cond);
	free(n);
}

void
notify_sd_escape(const char *in, char *out, size_t len)
{
	size_t j = 0;

	for (; *in != '\0' && j + 2 < len; in++) {
		if (*in == '"' || *in == '\\' || *in == ']')
			out[j++] = '\\';
		out[j++] = *in;
	}
	out[j] = '\0';
}
