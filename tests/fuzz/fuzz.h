/*
 * fuzz: what the libFuzzer targets in tests/fuzz share.  Each fuzz_NAME.c
 * defines LLVMFuzzerTestOneInput; it is linked either with libFuzzer
 * (VTOKEN_FUZZ=ON, clang) or with replay_main.c, which runs it over a
 * committed corpus as a plain ctest.  A broken invariant calls
 * FUZZ_CHECK, which prints where and aborts: libFuzzer saves the input,
 * the replay test fails.
 */
#ifndef VTOKEN_FUZZ_H
#define VTOKEN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void __attribute__((noreturn))
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", file, line,
	    what);
	abort();
}

#define FUZZ_CHECK(cond) do {						\
	if (!(cond))							\
		fuzz_fail(__FILE__, __LINE__, #cond);			\
} while (0)

#endif
