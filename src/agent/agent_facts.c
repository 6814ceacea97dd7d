/*
 * agent_facts: reading the machine's facts (see agent_facts.h).
 */
#include "agent/agent_facts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent/agent_version.h"
#include "common/encode.h"
#include "common/text.h"

#define FACTS_FILE_MAX	(16 * 1024)	/* bytes read of one file */

static size_t facts_slurp(const char *root, const char *path, char *buf,
    size_t cap);
static void facts_set(char out[AGENT_FACTS_STR_MAX + 1], const char *s,
    size_t len);
static void facts_line(const char *root, const char *path,
    char out[AGENT_FACTS_STR_MAX + 1]);
static void facts_unquote(const char *v, size_t len, char *out, size_t cap);
static int facts_os_from(const char *root, const char *path,
    char out[AGENT_FACTS_STR_MAX + 1]);
static void facts_machine_id(const char *root, struct agent_facts *f);
static long long facts_uptime(const char *root);

/* Up to cap - 1 bytes of root+path into buf, NUL-terminated: the length. */
static size_t
facts_slurp(const char *root, const char *path, char *buf, size_t cap)
{
	char full[4096];
	size_t n;
	FILE *fp;

	buf[0] = '\0';
	snprintf(full, sizeof(full), "%s%s", root, path);
	if ((fp = fopen(full, "re")) == NULL)
		return 0;
	n = fread(buf, 1, cap - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return n;
}

/* out = s[0..len) trimmed, cut and printable. */
static void
facts_set(char out[AGENT_FACTS_STR_MAX + 1], const char *s, size_t len)
{
	char *p;

	while (len > 0 && (*s == ' ' || *s == '\t' || *s == '\n' ||
	    *s == '\r')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	    s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == '\0'))
		len--;
	p = text_printable_dup(s, len, AGENT_FACTS_STR_MAX);
	snprintf(out, AGENT_FACTS_STR_MAX + 1, "%s", p);
	free(p);
}

/* The first line of a small file (sysfs), trimmed. */
static void
facts_line(const char *root, const char *path,
    char out[AGENT_FACTS_STR_MAX + 1])
{
	char buf[1024];
	size_t n = facts_slurp(root, path, buf, sizeof(buf));
	char *nl = memchr(buf, '\n', n);

	facts_set(out, buf, nl != NULL ? (size_t)(nl - buf) : n);
}

/*
 * An os-release value: "..." (backslash escapes), '...' or bare
 * (os-release(5)).
 */
static void
facts_unquote(const char *v, size_t len, char *out, size_t cap)
{
	size_t o = 0;
	char q = 0;

	if (len > 0 && (v[0] == '"' || v[0] == '\'')) {
		q = v[0];
		v++;
		len--;
	}
	for (size_t i = 0; i < len && o + 1 < cap; i++) {
		if (q != 0 && v[i] == q)
			break;
		if (q == '"' && v[i] == '\\' && i + 1 < len)
			i++;
		out[o++] = v[i];
	}
	out[o] = '\0';
}

/* PRETTY_NAME from one os-release file: 0, or -1 when absent. */
static int
facts_os_from(const char *root, const char *path,
    char out[AGENT_FACTS_STR_MAX + 1])
{
	char *buf = malloc(FACTS_FILE_MAX), val[1024];
	const char *p, *eol;
	size_t n;
	int rv = -1;

	if (buf == NULL)
		return -1;
	n = facts_slurp(root, path, buf, FACTS_FILE_MAX);
	for (p = buf; p < buf + n; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(buf + n - p))) == NULL)
			eol = buf + n;
		if (strncmp(p, "PRETTY_NAME=", 12) != 0)
			continue;
		facts_unquote(p + 12, (size_t)(eol - p - 12), val,
		    sizeof(val));
		facts_set(out, val, strlen(val));
		rv = 0;
		break;
	}
	free(buf);
	return rv;
}

/* 32 hex digits (lower case) or "". */
static void
facts_machine_id(const char *root, struct agent_facts *f)
{
	facts_line(root, "/etc/machine-id", f->machine_id);
	if (!encode_is_hex(f->machine_id, 32) ||
	    strlen(f->machine_id) != 32) {
		f->machine_id[0] = '\0';
		return;
	}
	for (char *p = f->machine_id; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
}

/* Whole seconds from /proc/uptime, or 0. */
static long long
facts_uptime(const char *root)
{
	char buf[128];
	long long up = 0;

	if (facts_slurp(root, "/proc/uptime", buf, sizeof(buf)) == 0 ||
	    sscanf(buf, "%lld", &up) != 1 || up < 0)
		return 0;
	return up;
}

void
agent_facts_read(const char *root, struct agent_facts *f)
{
	struct utsname u;
	char host[AGENT_FACTS_STR_MAX + 1];

	if (root == NULL)
		root = "";
	memset(f, 0, sizeof(*f));
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		facts_set(f->hostname, host, strlen(host));
	}
	if (uname(&u) == 0) {
		if (f->hostname[0] == '\0')
			facts_set(f->hostname, u.nodename,
			    strlen(u.nodename));
		facts_set(f->kernel, u.release, strlen(u.release));
	}
	if (facts_os_from(root, "/etc/os-release", f->os) < 0)
		facts_os_from(root, "/usr/lib/os-release", f->os);
	facts_machine_id(root, f);
	facts_line(root, "/sys/class/dmi/id/sys_vendor", f->dmi_vendor);
	facts_line(root, "/sys/class/dmi/id/product_name", f->dmi_product);
	facts_line(root, "/sys/class/dmi/id/product_uuid", f->dmi_uuid);
	facts_set(f->agent_version, agent_version(),
	    strlen(agent_version()));
	f->uptime = facts_uptime(root);
}
