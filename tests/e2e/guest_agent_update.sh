#!/bin/sh
# Runs inside the e2e guest (busybox sh).  See agent_update.sh.  Needs
# T1, T1_BUSID, API_PORT, OLD_VERSION, NEXT_VERSION from the host.  The
# guest does not know the host's phases: it runs the daemon, says when it
# is authenticated, and waits until the agent runs NEXT_VERSION.
HOST=${E2E_HOST:-10.0.2.2}
PORT=${E2E_PORT:-3240}
API=http://$HOST:$API_PORT
AGENT=/usr/local/bin/vtoken-agent	# guest-run -F puts it there
LOG=/tmp/daemon.log
FAILS=0
pass() { echo "E2E-STEP $1 PASS${2:+ $2}"; }
fail() { echo "E2E-STEP $1 FAIL${2:+ $2}"; FAILS=$((FAILS + 1)); }
show() { sed 's/^/  | /' "$1"; }
done_() {
	[ -n "${DPID:-}" ] && kill "$DPID" 2>/dev/null
	if [ "$FAILS" -eq 0 ]; then echo "E2E-RESULT PASS"; exit 0; fi
	[ -f "$LOG" ] && show "$LOG"
	echo "E2E-RESULT FAIL ($FAILS)"; dmesg | tail -n 20; exit 1
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
# line PATTERN: the number of the first log line with the fixed string.
line() { grep -n -F -- "$1" "$LOG" | head -n 1 | cut -d: -f1; }

v=$("$AGENT" -V)
[ "$v" = "vtoken-agent $OLD_VERSION" ] && pass old_binary "$v" ||
    fail old_binary "'$v'"

usbip --tcp-port "$PORT" attach -r "$HOST" -b "$T1_BUSID" &&
    pass attach "$T1_BUSID" || { fail attach; done_; }

# A busybox guest: no dpkg, no systemd.  The install command replaces the
# binary atomically (mv on one file system); update_exec runs it.
mkdir -p /tmp/vtoken-agent
cat > /tmp/agent.yaml <<EOF
interval: 5
grace: 60
timeout: 10
policy: "true"
state_dir: /tmp/vtoken-agent
release_key: /e2e/files/release.pub
update_command: cp "\$VTOKEN_UPDATE_FILE" /usr/local/bin/vtoken-agent.new && chmod 755 /usr/local/bin/vtoken-agent.new && mv /usr/local/bin/vtoken-agent.new /usr/local/bin/vtoken-agent
update_exec: /usr/local/bin/vtoken-agent
EOF
"$AGENT" -c /tmp/agent.yaml -n > /tmp/check.out 2>&1 && pass config ||
    { show /tmp/check.out; fail config; done_; }
"$AGENT" -c /tmp/agent.yaml --controller "$API" > "$LOG" 2>&1 &
DPID=$!
if wait_for 300 grep -q -- "-> AUTHENTICATED" "$LOG"; then
	pass daemon_authenticated "pid $DPID"
else
	show "$LOG"; fail daemon_authenticated; done_
fi
# The host watches the console for this line and starts rolling out.
echo "E2E-UPDATE-READY"

# The host's three phases: two refusals, then the good release.  The
# new version confirms itself at its first successful verify.
if wait_for 2400 grep -q -F "update to $NEXT_VERSION confirmed" "$LOG"; then
	pass new_version_confirmed
else
	fail new_version_confirmed; done_
fi

# One process all along: execv keeps the pid.
if kill -0 "$DPID" 2>/dev/null; then
	pass same_pid "$DPID"
else
	fail same_pid "$DPID is gone"
fi
exe=$(readlink "/proc/$DPID/exe")
[ "$exe" = "$AGENT" ] && pass exe "$exe" || fail exe "'$exe'"
v=$("$AGENT" -V)
[ "$v" = "vtoken-agent $NEXT_VERSION" ] && pass new_binary "$v" ||
    fail new_binary "'$v'"
[ ! -e /usr/local/bin/vtoken-agent.new ] && pass no_leftover ||
    fail no_leftover

# The log, in order: started old; bad signature refused; wrong hash
# refused; installed, executed; started new; authenticated; confirmed.
l_old=$(line "started (version $OLD_VERSION)")
l_sig=$(line "update to 9.0.1-badsig refused: bad signature")
l_hash=$(line "update to 9.0.2-badhash refused: SHA-256 mismatch")
l_inst=$(line "update to $NEXT_VERSION installed; executing $AGENT")
l_exec=$(line "executing $AGENT")
l_new=$(line "started (version $NEXT_VERSION)")
l_conf=$(line "update to $NEXT_VERSION confirmed")
echo "E2E-STEP order: old $l_old sig $l_sig hash $l_hash install $l_inst" \
    "exec $l_exec new $l_new confirmed $l_conf"
if [ -n "$l_old" ] && [ -n "$l_sig" ] && [ -n "$l_hash" ] &&
    [ -n "$l_inst" ] && [ -n "$l_new" ] && [ -n "$l_conf" ] &&
    [ "$l_old" -lt "$l_sig" ] && [ "$l_sig" -lt "$l_hash" ] &&
    [ "$l_hash" -lt "$l_inst" ] && [ "$l_inst" -lt "$l_new" ] &&
    [ "$l_new" -lt "$l_conf" ]; then
	pass log_order
else
	fail log_order
fi
# The refusals left the old version running: one start before the
# install, none between; nothing of the bad releases was installed.
n_started=$(grep -c "started (version" "$LOG")
[ "$n_started" -eq 2 ] && pass two_starts || fail two_starts "$n_started"
n_cmd=$(grep -c "running update_command for" "$LOG")
[ "$n_cmd" -eq 1 ] && pass one_install || fail one_install "$n_cmd"
grep -q "running update_command for $NEXT_VERSION" "$LOG" &&
    pass installed_next || fail installed_next
[ -s /tmp/vtoken-agent/update/current ] &&
    cmp -s /tmp/vtoken-agent/update/current "$AGENT" &&
    pass update_current || fail update_current
[ ! -e /tmp/vtoken-agent/update/download ] &&
    [ ! -e /tmp/vtoken-agent/update/new ] && pass no_partial ||
    fail no_partial
# Still authenticated after the re-exec.
sleep 6
tail -n 3 "$LOG" | grep -q -- "-> FAILING\|-> NO_TOKEN" &&
    fail steady "left AUTHENTICATED" || pass steady
kill -0 "$DPID" 2>/dev/null && pass still_running || fail still_running
show "$LOG"
kill "$DPID"
wait_for 50 sh -c "! kill -0 $DPID" && pass sigterm || fail sigterm
DPID=""
done_
