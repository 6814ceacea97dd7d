/*
 * agent_version: the version this agent binary reports (facts
 * "agent_version") and compares with an offered update.  Compiled in
 * agent_version.c alone, so that a test build can make a second agent
 * binary with another VTOKEN_AGENT_VERSION (src/agent/CMakeLists.txt).
 */
#ifndef VTOKEN_AGENT_VERSION_H
#define VTOKEN_AGENT_VERSION_H

/* The version string (static). */
const char *agent_version(void);

#endif
