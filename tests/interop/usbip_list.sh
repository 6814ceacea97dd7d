#!/bin/sh
# interop.usbip_list: Debian's usbip tool (the reference client, not ours)
# lists what vtokend exports: every --serve-image with class 08/06/50 and
# VID:PID 1209:0001 (and a configured VID:PID), and, for a controller
# token, only to the VM it is assigned to.  usbip's own exit status and
# output are the test.
set -eu
vtokend=$1
vtokenctl=$2
command -v usbip >/dev/null || { echo "usbip (Debian package usbip) is missing"; exit 1; }

work=$(mktemp -d /tmp/vt-interop-usbip.XXXXXX)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*"; [ -f "$work/log" ] && cat "$work/log"; exit 1; }

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() {
	i=0
	while ! grep -q ' ready' "$work/log" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 100 ] || fail "vtokend did not start"
		sleep 0.1
	done
}
start() {
	suffix=$1
	shift
	p=$(port); a=$(port)
	"$vtokend" --data-dir "$work/var$suffix" --listen "127.0.0.1:$p" \
	    --api-listen "127.0.0.1:$a" "$@" 2> "$work/log" &
	pid=$!
	wait_up
}
# Stops vtokend and requires a clean exit (LeakSanitizer reports at exit).
stop() {
	kill "$pid"
	rc=0; wait "$pid" || rc=$?
	pid=""
	[ $rc -eq 0 ] || fail "vtokend exited with status $rc"
	! grep -Eq 'Sanitizer|runtime error' "$work/log" ||
	    fail "sanitizer report in the vtokend log"
}

for n in 1 2 3; do
	head -c $((2048 * 512)) /dev/zero > "$work/img$n"
done

# 1. Three served images, default identity.
start "" --serve-image "$work/img1" --serve-image "$work/img2:rw" \
    --serve-image "$work/img3"
usbip --tcp-port "$p" list -r 127.0.0.1 > "$work/list" 2>&1 ||
    { cat "$work/list"; fail "usbip list exited non-zero"; }
cat "$work/list"
for b in 1-1 1-2 1-3; do
	grep -q "^ *$b: .*(1209:0001)" "$work/list" || fail "$b not listed as 1209:0001"
done
[ "$(grep -c 'Mass Storage / SCSI / Bulk-Only (08/06/50)' "$work/list")" -eq 3 ] ||
    fail "not three 08/06/50 interfaces"
stop

# 2. A configured VID:PID is what usbip shows.
printf 'usb:\n  vendor_id: 0x1d6b\n  product_id: 0x0104\n' > "$work/id.yaml"
start 2 -c "$work/id.yaml" --serve-image "$work/img1"
usbip --tcp-port "$p" list -r 127.0.0.1 > "$work/list" 2>&1 || fail "usbip list"
grep -q '1-1: .*(1d6b:0104)' "$work/list" || { cat "$work/list"; fail "VID:PID not configurable"; }
stop

# 3. Controller tokens: listed to their VM's address (127.0.0.1) only.
start 3
ctl() { "$vtokenctl" --url "http://127.0.0.1:$a" --api-key-file "$work/var3/admin.key" "$@" >/dev/null; }
ctl token create mine
ctl token create theirs
ctl vm add here --addr 127.0.0.1
ctl vm add there --addr 127.0.0.2
ctl assign mine here
ctl assign theirs there
usbip --tcp-port "$p" list -r 127.0.0.1 > "$work/list" 2>&1 || fail "usbip list"
cat "$work/list"
grep -q '/vtoken/mine' "$work/list" || fail "own token not listed"
grep -q '/vtoken/theirs' "$work/list" && fail "another VM's token listed"
[ "$(grep -c '(08/06/50)' "$work/list")" -eq 1 ] || fail "expected exactly one device"
stop
echo PASS
