#!/bin/sh
# e2e.controller: a token created with vtokenctl and assigned to a VM at
# 127.0.0.1 (the guest's connections reach the host from there) is
# attached by the Linux kernel in the guest; TOKEN.JSON read from the
# mounted disk matches `vtokenctl token show`; revoking it while attached
# makes the disk disappear in the guest.
set -eu
. "$E2E_DIR/lib.sh"

work=$(mktemp -d /tmp/vt-e2e-controller.XXXXXX)
pid=""
watch=""
cleanup() {
	[ -n "$watch" ] && kill "$watch" 2>/dev/null
	[ -n "$pid" ] && e2e_stop_daemon "$pid"
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

port=$(e2e_free_port)
api=$(e2e_free_port)
"$VT_BIN/vtokend" --data-dir "$work/var" --listen "127.0.0.1:$port" \
    --api-listen "127.0.0.1:$api" 2> "$work/vtokend.log" &
pid=$!
e2e_wait_port "$api" || { cat "$work/vtokend.log"; e2e_fail "no API"; }
ctl() {
	"$VT_BIN/vtokenctl" --url "http://127.0.0.1:$api" \
	    --api-key-file "$work/var/admin.key" "$@"
}

ctl token create lic-e2e --size 2M >/dev/null || e2e_fail "token create"
ctl vm add guest --addr 127.0.0.1 >/dev/null || e2e_fail "vm add"
ctl assign lic-e2e guest >/dev/null || e2e_fail "assign"
ctl -o json token show lic-e2e > "$work/show.json" || e2e_fail "token show"
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/show.json")
busid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["busid"])' "$work/show.json")
[ -n "$id" ] && [ -n "$busid" ] || e2e_fail "token show: no id/busid"

# Revoke from the host as soon as the guest says the disk is in use.
log="$work/guest.log"
: > "$log"
(
	i=0
	while [ $i -lt 1800 ]; do
		if grep -q 'E2E-READY-FOR-REVOKE' "$log"; then
			ctl revoke lic-e2e > "$work/revoke.out" 2>&1
			exit
		fi
		sleep 0.1
		i=$((i + 1))
	done
) &
watch=$!

rc=0
"$GUEST_RUN" -q -t 300 --log "$log" --port "$port" \
    --append usb_storage.delay_use=0 \
    -e "BUSID=$busid" -e "TOKEN_ID=$id" -e "TOKEN_NAME=lic-e2e" \
    "$E2E_DIR/guest_controller.sh" || rc=$?
if [ $rc -ne 0 ]; then
	echo "---- vtokend log ----"; cat "$work/vtokend.log"
	e2e_fail "guest script exit $rc"
fi
wait "$watch" || true
watch=""

ctl -o json audit --limit 1000 > "$work/audit.json" || e2e_fail "audit"
for action in token.create vm.add assign attach revoke detach; do
	grep -q "\"action\": *\"$action\"" "$work/audit.json" ||
	    e2e_fail "audit lacks $action"
done
ctl audit verify > "$work/verify.out" || { cat "$work/verify.out";
    e2e_fail "audit verify"; }
kill -0 "$pid" || e2e_fail "vtokend died"
echo "E2E-HOST PASS"
