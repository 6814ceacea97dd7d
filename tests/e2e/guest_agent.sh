#!/bin/sh
# Runs inside the e2e guest (busybox sh, devtmpfs and sysfs, no udevd).
# See agent.sh.  Needs T1, T1_BUSID, T2, API_PORT from the host.
HOST=${E2E_HOST:-10.0.2.2}
PORT=${E2E_PORT:-3240}
API=http://$HOST:$API_PORT
AGENT=/usr/local/bin/vtoken-agent	# guest-run -F puts it there
FAILS=0
pass() { echo "E2E-STEP $1 PASS${2:+ $2}"; }
fail() { echo "E2E-STEP $1 FAIL${2:+ $2}"; FAILS=$((FAILS + 1)); }
done_() {
	[ -n "${DPID:-}" ] && kill "$DPID" 2>/dev/null
	if [ "$FAILS" -eq 0 ]; then echo "E2E-RESULT PASS"; exit 0; fi
	echo "E2E-RESULT FAIL ($FAILS)"; dmesg | tail -n 40; exit 1
}
# wait_for TENTHS COMMAND...: retries every 0.1 s.
wait_for() {
	n=$1; shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
show() { sed 's/^/  | /' "$1"; }

[ ! -e /run/udev/control ] && pass no_udevd || fail no_udevd

# --- T1 appears through the kernel client; --once finds it ---
usbip --tcp-port "$PORT" attach -r "$HOST" -b "$T1_BUSID" &&
    pass attach "$T1_BUSID" || { fail attach; done_; }
# No wait for /dev/sdX here: --once waits for the disk itself (<= 30 s).
rc=0
"$AGENT" --once --controller "$API" > /tmp/once.out 2>&1 || rc=$?
show /tmp/once.out
if [ $rc -eq 0 ] && grep -q "token $T1 authenticated for VM guest" \
    /tmp/once.out; then
	pass once_discover
else
	fail once_discover "exit $rc"
fi
DEV=$(sed -n 's/.*token disk \(\/dev\/[a-z]*\) .*/\1/p' /tmp/once.out |
    head -n 1)
[ -n "$DEV" ] && [ -b "$DEV" ] && pass devnode "$DEV" ||
    fail devnode "'$DEV'"

# --- the daemon: authenticated, then revoked by the host ---
# The controller's policy for this VM (set by the host: interval 5,
# grace 10, this command) replaces the file's fallback at the first
# answer.
cat > /tmp/agent.yaml <<EOF
interval: 2
grace: 4
timeout: 5
policy: touch /tmp/fallback-policy-ran
state_dir: /tmp/vtoken-agent
EOF
"$AGENT" -c /tmp/agent.yaml --controller "$API" > /tmp/daemon.log 2>&1 &
DPID=$!
if wait_for 300 grep -q -- "-> AUTHENTICATED" /tmp/daemon.log; then
	pass daemon_authenticated
else
	show /tmp/daemon.log; fail daemon_authenticated; done_
fi
sleep 3
[ ! -e /tmp/policy-ran ] && pass no_policy_while_ok ||
    fail no_policy_while_ok
grep -q -- "-> FAILING\|-> NO_TOKEN" /tmp/daemon.log &&
    fail steady "left AUTHENTICATED" || pass steady
# The host watches the console for this line and revokes T1.
echo "E2E-AGENT-REVOKE-NOW"
name=${DEV#/dev/}
if wait_for 600 sh -c "! test -e /sys/block/$name"; then
	pass disk_gone "$DEV"
else
	fail disk_gone; done_
fi
# Removal is seen from the uevent, not at the next interval (2 s).
if wait_for 15 grep -q "AUTHENTICATED -> NO_TOKEN" /tmp/daemon.log; then
	pass removal_immediate
else
	fail removal_immediate
fi
# grace 10 + interval 5 + 10 s slack for a slow TCG guest.
if wait_for 250 test -e /tmp/policy-ran; then
	pass policy_ran
else
	fail policy_ran
fi
wait_for 30 grep -q "policy (pid [0-9]*) finished: exit status 0" \
    /tmp/daemon.log && pass policy_status || fail policy_status
grep -q "NO_TOKEN -> POLICY_RUN (token missing)" /tmp/daemon.log &&
    pass policy_state || fail policy_state
[ ! -e /tmp/fallback-policy-ran ] && pass central_policy ||
    fail central_policy "the local fallback ran"
kill "$DPID"
wait_for 50 sh -c "! kill -0 $DPID" && pass sigterm || fail sigterm
wait "$DPID"
rc=$?
DPID=""
[ $rc -eq 0 ] && pass daemon_exit || fail daemon_exit "exit $rc"
show /tmp/daemon.log

# --- T2: a token of another VM, read from an image file ---
rc=0
"$AGENT" --once --device /e2e/files/T2.img --controller "$API" \
    > /tmp/t2.out 2>&1 || rc=$?
show /tmp/t2.out
if [ $rc -eq 1 ] && grep -q "token $T2: authentication failed: wrong address" \
    /tmp/t2.out; then
	pass wrong_address
else
	fail wrong_address "exit $rc"
fi
done_
