/*
 * agent_store: the state file (see agent_store.h).
 */
#include "agent/agent_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cause.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define STORE_MAX_FILE	(64 * 1024)

static void store_str(const json_t *o, const char *key, char *out,
    size_t cap);
static json_t *store_fired_json(const struct agent_fired *f);
static json_t *store_update_json(const struct agent_saved *s);
static void store_update_parse(const json_t *u, struct agent_saved *s);
static int store_read(const char *path, char **text, char **cause);
static int store_write(const char *dir, const char *path, const char *text,
    char **cause);

/* o[key] copied into out when it is a string that fits, else "". */
static void
store_str(const json_t *o, const char *key, char *out, size_t cap)
{
	json_t *v = json_object_get(o, key);

	out[0] = '\0';
	if (json_is_string(v) && json_string_length(v) < cap &&
	    strlen(json_string_value(v)) == json_string_length(v))
		memcpy(out, json_string_value(v), json_string_length(v) + 1);
}

static json_t *
store_fired_json(const struct agent_fired *f)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "action", f->action,
	    "reason", f->reason, "time", f->time, "result", f->result);
}

static json_t *
store_update_json(const struct agent_saved *s)
{
	json_t *u = json_object();

	if (s->report.version[0] != '\0')
		json_object_set_new(u, "report", json_pack("{s:s, s:s, s:s}",
		    "version", s->report.version, "result", s->report.result,
		    "reason", s->report.reason));
	if (s->pending_version[0] != '\0')
		json_object_set_new(u, "pending", json_pack("{s:s, s:s, s:I}",
		    "version", s->pending_version, "previous",
		    s->pending_previous, "starts",
		    (json_int_t)s->pending_starts));
	if (s->tried_version[0] != '\0')
		json_object_set_new(u, "tried", json_pack("{s:s, s:I}",
		    "version", s->tried_version, "time",
		    (json_int_t)s->tried_time));
	return u;
}

char *
agent_store_text(const struct agent_saved *s)
{
	json_t *j = json_object();
	char *text;

	if (s->has_policy)
		json_object_set_new(j, "policy",
		    agent_cpolicy_to_json(&s->policy));
	if (s->fired.action[0] != '\0')
		json_object_set_new(j, "policy_fired",
		    store_fired_json(&s->fired));
	json_object_set_new(j, "isolated", json_boolean(s->isolated));
	json_object_set_new(j, "update", store_update_json(s));
	text = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(j);
	if (text == NULL)
		fatalx("agent_store: out of memory");
	return text;
}

static void
store_update_parse(const json_t *u, struct agent_saved *s)
{
	json_t *r = json_object_get(u, "report");
	json_t *p = json_object_get(u, "pending");
	json_t *t = json_object_get(u, "tried");
	json_t *v;

	store_str(r, "version", s->report.version, sizeof(s->report.version));
	store_str(r, "result", s->report.result, sizeof(s->report.result));
	store_str(r, "reason", s->report.reason, sizeof(s->report.reason));
	store_str(p, "version", s->pending_version,
	    sizeof(s->pending_version));
	store_str(p, "previous", s->pending_previous,
	    sizeof(s->pending_previous));
	v = json_object_get(p, "starts");
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) < 1000)
		s->pending_starts = (unsigned)json_integer_value(v);
	store_str(t, "version", s->tried_version, sizeof(s->tried_version));
	v = json_object_get(t, "time");
	if (json_is_integer(v))
		s->tried_time = (long long)json_integer_value(v);
}

int
agent_store_parse(const char *text, struct agent_saved *s)
{
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL), *f;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(j)) {
		json_decref(j);
		return -1;
	}
	s->has_policy = agent_cpolicy_from_json(json_object_get(j, "policy"),
	    &s->policy, NULL) == 0;
	f = json_object_get(j, "policy_fired");
	store_str(f, "action", s->fired.action, sizeof(s->fired.action));
	store_str(f, "reason", s->fired.reason, sizeof(s->fired.reason));
	store_str(f, "time", s->fired.time, sizeof(s->fired.time));
	store_str(f, "result", s->fired.result, sizeof(s->fired.result));
	s->isolated = json_is_true(json_object_get(j, "isolated"));
	store_update_parse(json_object_get(j, "update"), s);
	json_decref(j);
	return 0;
}

/* The file's text (allocated), NULL when there is none: 0, or -1. */
static int
store_read(const char *path, char **text, char **cause)
{
	char *buf;
	size_t n;
	FILE *fp;

	*text = NULL;
	if ((fp = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		return cause_set(cause, "%s: %s", path, strerror(errno));
	}
	buf = xmalloc(STORE_MAX_FILE + 1);
	n = fread(buf, 1, STORE_MAX_FILE + 1, fp);
	fclose(fp);
	if (n > STORE_MAX_FILE) {
		free(buf);
		return cause_set(cause, "%s: larger than %d bytes", path,
		    STORE_MAX_FILE);
	}
	buf[n] = '\0';
	*text = buf;
	return 0;
}

/* path = text, through path.tmp (0600), fsync and rename. */
static int
store_write(const char *dir, const char *path, const char *text,
    char **cause)
{
	char *tmp = xasprintf("%s.tmp", path);
	size_t len = strlen(text), off = 0;
	ssize_t n = 0;
	int fd, dfd, e, rv = -1;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		cause_set(cause, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	while (off < len && (n = write(fd, text + off, len - off)) > 0)
		off += (size_t)n;
	if (off < len) {
		cause_set(cause, "%s: %s", tmp, n < 0 ? strerror(errno) :
		    "short write");
		close(fd);
		unlink(tmp);
		goto out;
	}
	e = fsync(fd) < 0 ? errno : 0;
	if (close(fd) < 0 && e == 0)
		e = errno;
	if (e != 0) {
		cause_set(cause, "%s: %s", tmp, strerror(e));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		cause_set(cause, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rv = 0;
out:
	free(tmp);
	return rv;
}

int
agent_store_open(struct agent_store *st, const char *dir,
    struct agent_saved *s, char **cause)
{
	struct stat sb;

	memset(st, 0, sizeof(*st));
	memset(s, 0, sizeof(*s));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return cause_set(cause, "%s: %s", dir, strerror(errno));
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return cause_set(cause, "%s: not a directory", dir);
	st->dir = xstrdup(dir);
	st->path = xasprintf("%s/%s", dir, AGENT_STORE_FILE);
	if (store_read(st->path, &st->written, cause) < 0)
		goto fail;
	if (st->written != NULL && agent_store_parse(st->written, s) < 0) {
		cause_set(cause, "%s: not a state file", st->path);
		goto fail;
	}
	return 0;
fail:
	agent_store_close(st);
	memset(s, 0, sizeof(*s));
	return -1;
}

int
agent_store_save(struct agent_store *st, const struct agent_saved *s,
    char **cause)
{
	char *text = agent_store_text(s);

	if (st->written != NULL && strcmp(st->written, text) == 0) {
		free(text);
		return 0;
	}
	if (store_write(st->dir, st->path, text, cause) < 0) {
		free(text);
		return -1;
	}
	free(st->written);
	st->written = text;
	return 0;
}

void
agent_store_close(struct agent_store *st)
{
	free(st->dir);
	free(st->path);
	free(st->written);
	memset(st, 0, sizeof(*st));
}
