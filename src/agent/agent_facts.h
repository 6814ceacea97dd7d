/*
 * agent_facts: what this machine is, read fresh for every verify
 * (docs/AGENT.md, "facts"): host name and kernel (uname), the OS's
 * PRETTY_NAME (/etc/os-release, else /usr/lib/os-release), the systemd
 * machine id (/etc/machine-id, 32 hex digits, else empty), the DMI
 * vendor, product and UUID (/sys/class/dmi/id; product_uuid is readable
 * by root only, empty otherwise), the agent's version and the uptime
 * (/proc/uptime, whole seconds).
 *
 * Every string is trimmed, cut to AGENT_FACTS_STR_MAX bytes and reduced
 * to printable ASCII; an unreadable source gives "" (or 0).  The files
 * are read under a root prefix so that tests use fixture trees.  Nothing
 * here logs or fails.
 */
#ifndef VTOKEN_AGENT_FACTS_H
#define VTOKEN_AGENT_FACTS_H

#define AGENT_FACTS_STR_MAX	255

struct agent_facts {
	char hostname[AGENT_FACTS_STR_MAX + 1];
	char os[AGENT_FACTS_STR_MAX + 1];
	char kernel[AGENT_FACTS_STR_MAX + 1];
	char machine_id[AGENT_FACTS_STR_MAX + 1];
	char dmi_vendor[AGENT_FACTS_STR_MAX + 1];
	char dmi_product[AGENT_FACTS_STR_MAX + 1];
	char dmi_uuid[AGENT_FACTS_STR_MAX + 1];
	char agent_version[AGENT_FACTS_STR_MAX + 1];
	long long uptime;	/* seconds */
};

/*
 * Fills *f.  root (borrowed) prefixes every file path: "" or NULL for
 * the real system, a fixture directory in tests.
 */
void agent_facts_read(const char *root, struct agent_facts *f);

#endif
