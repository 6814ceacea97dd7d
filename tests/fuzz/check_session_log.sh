#!/bin/sh
# fuzz.usbip_session_log: replays the import whose busid holds a newline
# and "FORGED" with the log at info.  Passes only when the replay exits 0,
# the refused import is logged with the newline made '?', and no line
# starts with FORGED (a forged log line).
# Usage: check_session_log.sh FUZZ_BINARY SEED
set -u
out=$(FUZZ_LOG=info "$1" "$2" 2>&1)
rc=$?
printf '%s\n' "$out"
[ $rc -eq 0 ] || { echo "FAIL: replay exited $rc"; exit 1; }
printf '%s\n' "$out" | grep -q 'import of 1-1?FORGED' ||
    { echo "FAIL: the refused import was not logged"; exit 1; }
if printf '%s\n' "$out" | grep -q '^FORGED'; then
	echo "FAIL: a forged log line"
	exit 1
fi
echo "PASS"
