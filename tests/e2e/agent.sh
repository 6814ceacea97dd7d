#!/bin/sh
# e2e.agent: vtoken-agent in a guest with the kernel USB/IP client and no
# udev daemon.  The host runs vtokend with token T1 assigned to VM
# "guest" (127.0.0.1: the guest's connections arrive from loopback) and
# T2 assigned to VM "other" (127.0.0.2), whose image goes into the
# guest as a file.  In the guest (guest_agent.sh): attach T1, --once
# finds the disk through libudev and authenticates; the daemon
# (the controller's policy for the VM: interval 5, grace 10, "touch
# /tmp/policy-ran"; the file's fallback differs) authenticates,
# prints a marker; a host job watching the console log revokes T1; the
# disk vanishes, the agent goes NO_TOKEN at once and runs the policy;
# --once with T2's image fails with "wrong address".  The host then
# checks the audit (auth.ok, revoke, auth.fail "wrong address") and that
# no private key reached the console.
set -eu
. "$E2E_DIR/lib.sh"

work=$(mktemp -d /tmp/vt-e2e-agent.XXXXXX)
pid=""
watcher=""
cleanup() {
	[ -n "$watcher" ] && kill "$watcher" 2>/dev/null || true
	[ -n "$pid" ] && e2e_stop_daemon "$pid"
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

e2e_agent_vtokend "$work"
key=$(cat "$work/var/admin.key") || e2e_fail "no admin.key"
api=http://127.0.0.1:$api_port

# api METHOD PATH [JSON]
call() {
	if [ $# -ge 3 ]; then
		curl -sS -X "$1" -H "Authorization: Bearer $key" \
		    -H 'Content-Type: application/json' -d "$3" "$api$2"
	else
		curl -sS -X "$1" -H "Authorization: Bearer $key" "$api$2"
	fi
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

t1_json=$(call POST /v1/tokens '{"name":"t1"}')
t1=$(echo "$t1_json" | field id) || e2e_fail "create t1: $t1_json"
t1_busid=$(echo "$t1_json" | field busid)
t2=$(call POST /v1/tokens '{"name":"t2"}' | field id) || e2e_fail "t2"
call POST /v1/vms '{"name":"guest","addresses":["127.0.0.1"]}' >/dev/null
call POST /v1/vms '{"name":"other","addresses":["127.0.0.2"]}' >/dev/null
call POST /v1/assignments '{"token":"t1","vm":"guest"}' | grep -q "$t1" ||
    e2e_fail "assign t1"
call POST /v1/assignments '{"token":"t2","vm":"other"}' | grep -q "$t2" ||
    e2e_fail "assign t2"
# The policy comes from the controller (docs/AGENT.md).
call PUT /v1/vms/guest/policy '{"interval": 5, "grace": 10, "action":
    "command", "command": "touch /tmp/policy-ran"}' | grep -q '"source": "vm"' ||
    e2e_fail "VM policy"
call GET "/v1/tokens/$t1/image" > "$work/T1.img"
call GET "/v1/tokens/$t2/image" > "$work/T2.img"
[ "$(wc -c < "$work/T2.img")" -gt 1000000 ] || e2e_fail "T2 image"

# Revokes T1 once the guest's daemon says it is authenticated (<= 240 s,
# the guest run's own limit is lower).
: > "$work/console.log"
(
	i=0
	while [ $i -lt 2400 ]; do
		if grep -q '^E2E-AGENT-REVOKE-NOW' "$work/console.log"; then
			call DELETE "/v1/assignments/$t1" && echo revoked \
			    > "$work/revoked"
			exit 0
		fi
		sleep 0.1; i=$((i + 1))
	done
) &
watcher=$!

rc=0
"$GUEST_RUN" -q -t 300 --port "$port" --log "$work/console.log" \
    --append usb_storage.delay_use=0 \
    -F "$VT_BIN/vtoken-agent" -f "$work/T2.img" \
    -e "T1=$t1" -e "T1_BUSID=$t1_busid" -e "T2=$t2" \
    -e "API_PORT=$api_port" \
    "$E2E_DIR/guest_agent.sh" || rc=$?
if [ $rc -ne 0 ]; then
	echo "---- vtokend log ----"; tail -n 40 "$work/vtokend.log"
	e2e_fail "guest script exit $rc"
fi
[ -f "$work/revoked" ] || e2e_fail "the host never revoked T1"

# The audit saw it all.
call GET '/v1/audit?after=0&limit=1000' > "$work/audit.json"
python3 - "$work/audit.json" "$t1" "$t2" <<'EOF' || e2e_fail "audit"
import json, sys
recs = json.load(open(sys.argv[1]))["records"]
t1, t2 = "token:" + sys.argv[2], "token:" + sys.argv[3]
def n(action, subj, reason=None):
    return sum(1 for r in recs if r["action"] == action and
               r["subject"] == subj and
               (reason is None or (r.get("detail") or {}).get("reason") == reason))
checks = {
    # The daemon's unchanged successes after --once leave no record.
    "auth.ok T1 (--once and daemon)": n("auth.ok", t1) >= 1,
    "attach T1": n("attach", t1) >= 1,
    "revoke T1": n("revoke", t1) == 1,
    "auth.fail T2 wrong address": n("auth.fail", t2, "wrong address") == 1,
    "no auth.ok T2": n("auth.ok", t2) == 0,
}
bad = [k for k, ok in checks.items() if not ok]
for k, ok in checks.items():
    print("E2E-HOST audit %s: %s" % (k, "ok" if ok else "MISSING"))
sys.exit(1 if bad else 0)
EOF

# No private key on the console (the agent's logs and output are there).
for img in T1 T2; do
	python3 - "$work/$img.img" >> "$work/keylines" <<'EOF'
import re, sys
data = open(sys.argv[1], "rb").read()
m = re.search(rb"-----BEGIN PRIVATE KEY-----\r?\n(.*?)-----END", data, re.S)
assert m, "no PEM in the image"
for line in m.group(1).split():
    print(line.decode())
EOF
done
[ -s "$work/keylines" ] || e2e_fail "no key lines"
if grep -q -F -f "$work/keylines" "$work/console.log" ||
    grep -q "PRIVATE KEY" "$work/console.log"; then
	e2e_fail "private key material on the guest console"
fi
if grep -Eq '[A-Za-z0-9+/]{86}==' "$work/console.log" "$work/audit.json"; then
	e2e_fail "a signature on the console or in the audit"
fi
kill -0 "$pid" || e2e_fail "vtokend died"
echo "E2E-HOST PASS"
