/*
 * agent_version: the compiled-in version (see agent_version.h); the
 * project version unless VTOKEN_AGENT_VERSION is defined.
 */
#include "agent/agent_version.h"

#ifndef VTOKEN_AGENT_VERSION
#define VTOKEN_AGENT_VERSION	VTOKEN_VERSION
#endif

const char *
agent_version(void)
{
	return VTOKEN_AGENT_VERSION;
}
