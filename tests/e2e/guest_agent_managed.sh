#!/bin/sh
# Runs inside the e2e guest (busybox sh, no udevd, no systemd).  See
# agent_managed.sh.  Needs T1, T1_BUSID, API_PORT, OTHER_PORT, MODS.
HOST=${E2E_HOST:-10.0.2.2}
PORT=${E2E_PORT:-3240}
API=http://$HOST:$API_PORT
AGENT=/usr/local/bin/vtoken-agent	# guest-run -F puts it there
NFT=/usr/local/bin/nft
LOG=/tmp/daemon.log
FAILS=0
pass() { echo "E2E-STEP $1 PASS${2:+ $2}"; }
fail() { echo "E2E-STEP $1 FAIL${2:+ $2}"; FAILS=$((FAILS + 1)); }
done_() {
	[ -n "${DPID:-}" ] && kill "$DPID" 2>/dev/null
	[ -f "$LOG" ] && sed 's/^/  | /' "$LOG"
	if [ "$FAILS" -eq 0 ]; then echo "E2E-RESULT PASS"; exit 0; fi
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
# The second host service: reachable or not (3 s).
# (busybox wget -T crashes: timeout bounds it instead.)
other_ok() { timeout -s KILL 3 wget -q -O - "http://$HOST:$OTHER_PORT/ok.txt" | grep -q ok; }
api_ok() { timeout -s KILL 5 wget -q -O - "$API/healthz" | grep -q status; }
isolated() { "$NFT" list table inet vtoken_isolate; }
authenticated_count() { grep -c -- "-> AUTHENTICATED" "$LOG"; }

for m in $MODS; do
	insmod "/e2e/files/mods/$m.ko" 2>/dev/null || true
done
"$NFT" list tables > /dev/null 2>&1 && pass nftables ||
    { fail nftables "no nf_tables in the guest"; done_; }

mkdir -p /etc
echo 0123456789abcdef0123456789abcdef > /etc/machine-id
echo "E2E-FACT kernel=$(uname -r)"
echo "E2E-FACT dmi_vendor=$(cat /sys/class/dmi/id/sys_vendor)"
echo "E2E-FACT dmi_product=$(cat /sys/class/dmi/id/product_name)"
echo "E2E-FACT dmi_uuid=$(cat /sys/class/dmi/id/product_uuid)"

usbip --tcp-port "$PORT" attach -r "$HOST" -b "$T1_BUSID" &&
    pass attach "$T1_BUSID" || { fail attach; done_; }
other_ok && pass other_reachable_before || fail other_reachable_before

cat > /tmp/agent.yaml <<EOF
timeout: 5
state_dir: /tmp/vtoken-agent
nft: $NFT
EOF
"$AGENT" -c /tmp/agent.yaml --controller "$API" > "$LOG" 2>&1 &
DPID=$!
wait_for 600 grep -q -- "-> AUTHENTICATED" "$LOG" &&
    pass authenticated || { fail authenticated; done_; }

# --- the operator changes the policy; the next round brings it ---
echo "E2E-MANAGED-POLICY-NOW"
if wait_for 300 grep -q "policy from the controller: interval 5 s, grace 10 s, action isolate-network" "$LOG"; then
	pass policy_applied
else
	fail policy_applied; done_
fi
grep -q '"isolate-network"' /tmp/vtoken-agent/state.json &&
    pass policy_stored || fail policy_stored
[ "$(stat -c %a /tmp/vtoken-agent/state.json)" = 600 ] &&
    pass state_mode || fail state_mode "$(stat -c %a /tmp/vtoken-agent/state.json)"
other_ok && pass other_reachable_while_ok || fail other_reachable_while_ok

# --- revoked: after grace the network is cut but for the controller ---
echo "E2E-MANAGED-REVOKE-NOW"
if wait_for 600 isolated; then
	pass isolated
else
	fail isolated; done_
fi
other_ok && fail other_cut "the second service still answers" ||
    pass other_cut
api_ok && pass controller_reachable || fail controller_reachable

# A clone, or the disk in another machine: a new machine-id.
echo fedcba9876543210fedcba9876543210 > /etc/machine-id
echo "E2E-FACT machine_id=fedcba9876543210fedcba9876543210"

# --- assigned again: the token comes back, authentication lifts it ---
before=$(authenticated_count)
echo "E2E-MANAGED-REASSIGN-NOW"
# The device went with the revoke; attach again once it is offered
# (through the controller's USB/IP port, which the isolation lets by).
if wait_for 300 sh -c "usbip --tcp-port $PORT list -r $HOST | grep -q $T1_BUSID"; then
	pass offered_again
else
	fail offered_again; done_
fi
usbip --tcp-port "$PORT" attach -r "$HOST" -b "$T1_BUSID" &&
    pass attach_again || { fail attach_again; done_; }
if wait_for 600 sh -c "[ \$(grep -c -- '-> AUTHENTICATED' $LOG) -gt $before ]"; then
	pass authenticated_again
else
	fail authenticated_again; done_
fi
wait_for 100 sh -c "! $NFT list table inet vtoken_isolate" &&
    pass isolation_lifted || fail isolation_lifted
other_ok && pass other_reachable_after || fail other_reachable_after
# That verify carried the new machine-id (facts are read each round)
# and the policy that fired; the host checks what the controller made
# of them.
done_
