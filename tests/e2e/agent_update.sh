#!/bin/sh
# e2e.agent_update: an agent release rolled out to a guest's vtoken-agent.
# The host runs vtokend with token T1 assigned to VM "guest" (127.0.0.1)
# and a VM policy of a 5 s interval; the guest (guest_agent_update.sh)
# attaches T1 and runs the daemon with a release key, an install command
# for busybox (cp + mv over /usr/local/bin/vtoken-agent) and update_exec
# that binary, and prints E2E-UPDATE-READY once authenticated.  The host,
# with vtokenctl (sign, add, rollout, agents), then rolls out:
#   1. 9.0.1-badsig: signed with another key -> "refused: bad signature";
#   2. 9.0.2-badhash: signed right, then its stored bytes changed in the
#      database (a tampered store) -> "refused: SHA-256 mismatch";
#   3. vtoken-agent-next under its own version, signed right -> installed,
#      the agent re-executes itself and reports the new version.
# The guest checks that it runs the new version under the same pid, with
# both refusals logged before the install; the host checks GET
# /v1/agents after each phase and the audit (two agent.update_failed,
# one agent.updated).
set -eu
. "$E2E_DIR/lib.sh"

work=$(mktemp -d /tmp/vt-e2e-agent-update.XXXXXX)
pid=""
guest=""
cleanup() {
	st=$?
	[ -n "$guest" ] && kill "$guest" 2>/dev/null || true
	if [ "$st" -ne 0 ] && [ -f "$work/console.log" ]; then
		echo "---- guest console (tail) ----"
		tail -n 60 "$work/console.log"
		echo "---- vtokend log (tail) ----"
		tail -n 30 "$work/vtokend.log"
	fi
	[ -n "$pid" ] && e2e_stop_daemon "$pid"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

next_bin=$VT_BIN/vtoken-agent-next
[ -x "$next_bin" ] || e2e_fail "$next_bin is not built"
next=$("$next_bin" -V | sed -n 's/^vtoken-agent \([^ ]*\)$/\1/p')
old=$("$VT_BIN/vtoken-agent" -V | sed -n 's/^vtoken-agent \([^ ]*\)$/\1/p')
[ -n "$next" ] && [ -n "$old" ] && [ "$next" != "$old" ] ||
    e2e_fail "versions: old '$old', next '$next'"
echo "E2E-HOST versions: running $old, release $next"

e2e_agent_vtokend "$work"
key=$(cat "$work/var/admin.key") || e2e_fail "no admin.key"
api=http://127.0.0.1:$api_port
export VTOKEN_URL="$api" VTOKEN_API_KEY_FILE="$work/var/admin.key"
ctl() { "$VT_BIN/vtokenctl" "$@"; }

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
call POST /v1/vms '{"name":"guest","addresses":["127.0.0.1"]}' >/dev/null
call POST /v1/assignments '{"token":"t1","vm":"guest"}' | grep -q "$t1" ||
    e2e_fail "assign t1"
call PUT /v1/vms/guest/policy '{"interval": 5, "grace": 60,
    "action": "log"}' | grep -q '"source": "vm"' || e2e_fail "VM policy"

# The release key (its public half goes to the guest) and another one.
umask 077
openssl genpkey -algorithm ed25519 -out "$work/release.pem" 2>/dev/null ||
    e2e_fail "genpkey"
openssl genpkey -algorithm ed25519 -out "$work/wrong.pem" 2>/dev/null ||
    e2e_fail "genpkey wrong"
umask 022
openssl pkey -in "$work/release.pem" -pubout -out "$work/release.pub" ||
    e2e_fail "pubout"

# release VERSION KEY: signs the next binary with KEY and adds it.
release() {
	ctl agent release sign "$next_bin" --version "$1" --key "$2" \
	    > "$work/sig-$1.txt" || e2e_fail "sign $1"
	ctl agent release add "$next_bin" --version "$1" \
	    --signature "@$work/sig-$1.txt" || e2e_fail "add $1"
}
# rollout VERSION
rollout() {
	ctl agent rollout set "$1" --vm guest > /dev/null ||
	    e2e_fail "rollout $1"
	echo "E2E-HOST rollout $1"
}
# agent_state: "VERSION TARGET UPDATE_VERSION UPDATE_RESULT REASON" of the
# VM "guest" from vtokenctl -o json agents.
agent_state() {
	ctl -o json agents | python3 -c '
import json, sys
for a in json.load(sys.stdin)["agents"]:
    if a["vm_name"] == "guest":
        u = a.get("update") or {}
        print("%s|%s|%s|%s|%s" % (a.get("version"), a.get("target"),
              u.get("version"), u.get("result"), u.get("reason")))'
}
# wait_agent SECS PATTERN: until agent_state matches the grep -E PATTERN.
wait_agent() {
	n=$(($1 * 2))
	while [ "$n" -gt 0 ]; do
		s=$(agent_state) || true
		if echo "$s" | grep -Eq "$2"; then
			echo "E2E-HOST agents: $s"
			return 0
		fi
		kill -0 "$guest" 2>/dev/null ||
		    e2e_fail "the guest ended early; last: $s"
		sleep 0.5
		n=$((n - 1))
	done
	echo "E2E-HOST agents: $s"
	ctl agents || true
	return 1
}

: > "$work/console.log"
"$GUEST_RUN" -q -t 330 --port "$port" --log "$work/console.log" \
    --append usb_storage.delay_use=0 \
    -F "$VT_BIN/vtoken-agent" -f "$work/release.pub" \
    -e "T1=$t1" -e "T1_BUSID=$t1_busid" -e "API_PORT=$api_port" \
    -e "OLD_VERSION=$old" -e "NEXT_VERSION=$next" \
    "$E2E_DIR/guest_agent_update.sh" > "$work/guest.out" 2>&1 &
guest=$!
t0=$(date +%s)

# The guest's daemon authenticated (qemu boot + attach; <= 120 s).
i=0
while ! grep -q '^E2E-UPDATE-READY' "$work/console.log"; do
	if ! kill -0 "$guest" 2>/dev/null || [ $i -ge 1200 ]; then
		cat "$work/guest.out"
		e2e_fail "the guest's agent never got ready"
	fi
	sleep 0.1; i=$((i + 1))
done
echo "E2E-HOST guest ready after $(($(date +%s) - t0)) s"
wait_agent 30 "^$old\|" || e2e_fail "the agent never reported $old"

# 1. Wrong signature: signed with a key the agent does not trust.
t=$(date +%s)
release 9.0.1-badsig "$work/wrong.pem"
rollout 9.0.1-badsig
wait_agent 45 '^[^|]*\|9\.0\.1-badsig\|9\.0\.1-badsig\|refused\|.*signature' ||
    e2e_fail "phase 1: no refusal of 9.0.1-badsig"
echo "E2E-HOST phase 1 (bad signature) refused after $(($(date +%s) - t)) s"

# 2. Wrong hash: signed and uploaded right, then the stored bytes change
# (same size) behind the controller's back, as in a tampered database.
t=$(date +%s)
release 9.0.2-badhash "$work/release.pem"
python3 - "$work/var/vtokend.db" 9.0.2-badhash <<'EOF' || e2e_fail "tamper"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
sel = "SELECT body FROM docs WHERE kind = 'artifact' AND key = ?"
(body,) = db.execute(sel, (sys.argv[2],)).fetchone()
b = bytearray(body)
b[len(b) // 2] ^= 0xff
with db:
    n = db.execute("UPDATE docs SET body = ? WHERE kind = 'artifact' "
                   "AND key = ?", (bytes(b), sys.argv[2])).rowcount
assert n == 1, n
(now,) = db.execute(sel, (sys.argv[2],)).fetchone()
assert now != body and len(now) == len(body)
EOF
call GET /v1/agent/releases/9.0.2-badhash/artifact > "$work/badhash.bin"
[ "$(e2e_sha256 "$work/badhash.bin")" != "$(e2e_sha256 "$next_bin")" ] &&
    [ "$(wc -c < "$work/badhash.bin")" -eq "$(wc -c < "$next_bin")" ] ||
    e2e_fail "the controller does not serve the tampered bytes"
rollout 9.0.2-badhash
wait_agent 45 '^[^|]*\|9\.0\.2-badhash\|9\.0\.2-badhash\|refused\|.*(SHA-256|hash)' ||
    e2e_fail "phase 2: no refusal of 9.0.2-badhash"
echo "E2E-HOST phase 2 (wrong hash) refused after $(($(date +%s) - t)) s"

# 3. The good release: downloaded, checked, installed, re-executed.
t=$(date +%s)
release "$next" "$work/release.pem"
rollout "$next"
nx=$(echo "$next" | sed 's/[.+]/\\&/g')
wait_agent 60 "^$nx\|$nx\|$nx\|installed\|" ||
    e2e_fail "phase 3: the agent never reported $next"
echo "E2E-HOST phase 3 (good release) installed after $(($(date +%s) - t)) s"
ctl agents

# The guest checks its side and ends (<= 60 s more).
rc=0
i=0
while kill -0 "$guest" 2>/dev/null && [ $i -lt 600 ]; do
	sleep 0.1; i=$((i + 1))
done
wait "$guest" || rc=$?
guest=""
cat "$work/guest.out"
if [ $rc -ne 0 ]; then
	echo "---- vtokend log ----"; tail -n 40 "$work/vtokend.log"
	e2e_fail "guest script exit $rc"
fi
echo "E2E-HOST guest run took $(($(date +%s) - t0)) s"

# The audit: two refusals (signature, hash) and one update.
call GET '/v1/audit?after=0&limit=1000' > "$work/audit.json"
python3 - "$work/audit.json" "$next" <<'EOF' || e2e_fail "audit"
import json, sys
recs = json.load(open(sys.argv[1]))["records"]
nxt = sys.argv[2]
def of(action):
    return [r for r in recs if r["action"] == action]
def text(r):
    return json.dumps(r)
failed = of("agent.update_failed")
updated = of("agent.updated")
for r in failed + updated:
    print("E2E-HOST audit %s %s %s" % (r["action"], r["subject"], text(r)))
checks = {
    "two agent.update_failed": len(failed) == 2,
    "one for the signature": sum("9.0.1-badsig" in text(r) and
                                 "signature" in text(r) for r in failed) == 1,
    "one for the hash": sum("9.0.2-badhash" in text(r) and
                            ("SHA-256" in text(r) or "hash" in text(r))
                            for r in failed) == 1,
    "one agent.updated to the new version": len(updated) == 1 and
        nxt in text(updated[0]),
    "three releases added": len(of("agent.release_added")) == 3,
    "three rollouts": len(of("agent.rollout")) == 3,
}
bad = [k for k, ok in checks.items() if not ok]
for k, ok in checks.items():
    print("E2E-HOST audit %s: %s" % (k, "ok" if ok else "MISSING"))
sys.exit(1 if bad else 0)
EOF
ctl audit verify > /dev/null || e2e_fail "audit verify"
# The agent logs no signature.  Only the console: release signatures
# are public and are in the audit's agent.release_added records.
if grep -Eq '[A-Za-z0-9+/]{86}==' "$work/console.log"; then
	e2e_fail "a signature on the guest console"
fi
kill -0 "$pid" || e2e_fail "vtokend died"
echo "E2E-HOST PASS"
