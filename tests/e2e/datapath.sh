#!/bin/sh
# e2e.datapath: the Linux kernel client attaches two FAT images served
# with --serve-image (1-1 writable, 1-2 read-only), reads each whole
# device and compares SHA-256 with the host file, mounts, reads a file,
# writes and fsyncs a file on the writable one, finds the read-only one
# write-protected, detaches; afterwards the host sees the new file in the
# image and the daemon still answers.
set -eu
. "$E2E_DIR/lib.sh"

work=$(mktemp -d /tmp/vt-e2e-datapath.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && e2e_stop_daemon "$pid"; rm -rf "$work"; }
trap cleanup EXIT INT TERM

echo "vtoken-e2e-token-$$" > "$work/TOKEN.TXT"
head -c 300000 /dev/urandom > "$work/BLOB.BIN"
e2e_make_fat "$work/rw.img" 8192 "$work/TOKEN.TXT" "$work/BLOB.BIN"
e2e_make_fat "$work/ro.img" 4096 "$work/TOKEN.TXT"
sha_rw=$(e2e_sha256 "$work/rw.img")
sha_ro=$(e2e_sha256 "$work/ro.img")

# Every port our own: the REST API too, which would otherwise take the
# default 127.0.0.1:3241 (and fail beside a vtokend already running).
port=$(e2e_free_port)
api=$(e2e_free_port)
"$VT_BIN/vtokend" --data-dir "$work/var" --listen "127.0.0.1:$port" \
    --api-listen "127.0.0.1:$api" \
    --serve-image "$work/rw.img:rw" --serve-image "$work/ro.img" \
    2> "$work/vtokend.log" &
pid=$!
e2e_wait_port "$port" || { cat "$work/vtokend.log"; e2e_fail "no listener"; }

rc=0
"$GUEST_RUN" -q -t 300 --port "$port" --append usb_storage.delay_use=0 \
    -e "EXPECT_TOKEN=$(cat "$work/TOKEN.TXT")" \
    -e "SHA_RW=$sha_rw" -e "SHA_RO=$sha_ro" \
    -e "NEW_TEXT=written-by-guest-$$" \
    "$E2E_DIR/guest_datapath.sh" || rc=$?
if [ $rc -ne 0 ]; then
	echo "---- vtokend log ----"; cat "$work/vtokend.log"
	e2e_fail "guest script exit $rc"
fi

# The daemon still serves after the guest detached.
usbip --tcp-port "$port" list -r 127.0.0.1 > "$work/list.out" 2>&1 ||
    { cat "$work/list.out"; e2e_fail "usbip list after the guest run"; }
grep -q '1-1:' "$work/list.out" || e2e_fail "1-1 missing after the run"
kill -0 "$pid" || e2e_fail "vtokend died"

# The guest's fsync'ed file reached the image file on the host.
got=$(mtype -i "$work/rw.img" ::NEWFILE.TXT) || e2e_fail "NEWFILE.TXT missing"
[ "$got" = "written-by-guest-$$" ] || e2e_fail "NEWFILE.TXT is '$got'"
fsck.fat -n "$work/rw.img" > "$work/fsck.out" 2>&1 ||
    { cat "$work/fsck.out"; e2e_fail "fsck.fat after guest writes"; }
[ "$(e2e_sha256 "$work/ro.img")" = "$sha_ro" ] || e2e_fail "ro.img changed"
# The kernel client never trips a bad-input close.
if grep 'warn: usbip.*closing' "$work/vtokend.log"; then
	e2e_fail "the daemon closed the kernel's connection as bad input"
fi
echo "E2E-HOST PASS"
