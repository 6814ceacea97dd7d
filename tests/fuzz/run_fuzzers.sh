#!/bin/sh
# run_fuzzers.sh: the timed libFuzzer run of every fuzz target (ctest
# fuzz.run, label fuzzlong).  Builds the targets with clang and
# VTOKEN_FUZZ=ON (libFuzzer, ASan, UBSan) in FUZZ_BUILD_DIR, then runs
# them one after the other, each for FUZZ_SECONDS on a copy of its
# committed corpus (the committed corpus never grows here), one process
# at a time.  Fails on any crash, sanitizer report, leak, timeout (10 s
# per input) or out-of-memory (2 GiB); the failing input is copied to
# FUZZ_BUILD_DIR/artifacts/ and its log tail printed.  Reproduce with
#   build-fuzz/bin/fuzz_NAME ARTIFACT       (or build/bin/fuzz_NAME ARTIFACT)
#
# Environment: CC (default clang), FUZZ_SECONDS (default 60),
# FUZZ_BUILD_DIR (default build-fuzz/ in the source tree), FUZZ_TARGETS
# (default: all), FUZZ_JOBS (build parallelism, default 2).
set -u

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$src/build-fuzz}
secs=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"usbip_proto usbip_session scsi_bot config api_json fat"}
fuzzdir=$src/tests/fuzz

work=$(mktemp -d "${TMPDIR:-/tmp}/vtoken-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM

bins=
for t in $targets; do
	bins="$bins fuzz_$t"
done
echo "run_fuzzers: building$bins in $build"
if ! CC=${CC:-clang} cmake -S "$src" -B "$build" -DVTOKEN_FUZZ=ON \
    >"$work/cmake.log" 2>&1 ||
    ! cmake --build "$build" -j "${FUZZ_JOBS:-2}" --target $bins \
    >>"$work/cmake.log" 2>&1; then
	tail -40 "$work/cmake.log"
	echo "run_fuzzers: build failed (clang and libclang-rt-14-dev needed)"
	exit 1
fi

failed=
for t in $targets; do
	corpus=$work/corpus-$t
	cp -R "$fuzzdir/corpus/$t" "$corpus"
	dict=
	[ -f "$fuzzdir/$t.dict" ] && dict=-dict=$fuzzdir/$t.dict
	start=$(date +%s)
	ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    "$build/bin/fuzz_$t" -max_total_time="$secs" -timeout=10 \
	    -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 \
	    -artifact_prefix="$work/$t-" $dict "$corpus" \
	    >"$work/$t.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$t.log")
	echo "run_fuzzers: $t: exit $rc after $(($(date +%s) - start)) s," \
	    "${runs:-?} runs, ${rate:-?} exec/s," \
	    "corpus $(ls "$fuzzdir/corpus/$t" | wc -l) -> $(ls "$corpus" | wc -l)"
	if [ "$rc" -ne 0 ]; then
		failed="$failed $t"
		tail -60 "$work/$t.log"
		mkdir -p "$build/artifacts"
		for a in "$work/$t"-*; do
			[ -f "$a" ] || continue
			cp "$a" "$build/artifacts/"
			echo "run_fuzzers: input saved as" \
			    "$build/artifacts/$(basename "$a")"
		done
	fi
done
if [ -n "$failed" ]; then
	echo "run_fuzzers: FAILED:$failed"
	exit 1
fi
echo "run_fuzzers: all targets clean for $secs s each"
