#!/bin/sh
# integration.agent: vtoken-agent against a real vtokend over loopback.
#  1. --once with the token's image file: exit 0, audit auth.ok; 1b. a
#     flood from the VM's address does not starve it; 1c. unchanged
#     successes leave no record, a failure and the recovery after it do,
#     and a success that must be recorded but cannot is refused;
#  2. a token assigned to a VM at 127.0.0.2: exit 1 "wrong address";
#  3. usage and configuration errors exit 2 (FILE:LINE:COL), an
#     unreachable controller exits 1;
#  4. daemon mode under the controller's policy for its VM (interval 5,
#     grace 10, a command; the file's fallback differs): authenticates,
#     the revoke makes it FAILING (revoked), the command runs once
#     within interval+grace and is recorded in state_dir/state.json
#     (0600) until a verify reports it, a new assignment brings it back
#     to AUTHENTICATED, SIGTERM stops it, a restart uses the stored
#     policy;
#  5. --once after the revoke: exit 1 "revoked";
#  6. HTTPS: a pinned certificate (ca_sha256, from the config or from
#     TOKEN.JSON, only with its own URL) works, a wrong pin and an untrusted certificate fail, ca_file works, a pin with http:// is
#     refused;
#  7. no private key, signature or nonce in any log, output or the audit.
# Every wait is bounded.  Needs python3, curl(1) and openssl(1).
set -eu

VT_BIN=${VT_BIN:-$(cd "$(dirname "$0")/../../build/bin" && pwd)}
AGENT=$VT_BIN/vtoken-agent
W=$(mktemp -d /tmp/vt-agent-test.XXXXXX)
PIDS=""
VTD_PIDS=""
cleanup() {
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null || true
	done
	[ -n "${VT_KEEP:-}" ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT INT TERM

fail() {
	echo "FAIL: $*" >&2
	for f in "$W"/*.log "$W"/*.err; do
		[ -f "$f" ] && { echo "---- $f"; tail -n 30 "$f"; } >&2
	done
	exit 1
}
ok() { echo "ok - $*"; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for SECS COMMAND...: retries every 0.1 s until COMMAND succeeds.
wait_for() {
	n=$(($1 * 10)); shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# VT_STORE=postgresql (integration.agent.pg): each daemon gets a fresh
# database on the suite's PostgreSQL server.
store_args() {
	if [ "${VT_STORE:-}" = postgresql ]; then
		DSN=$(sh "$VT_SRC/tests/lib/pg_fixture.sh" createdb "$VT_PG_DIR") ||
		    fail "no database"
		echo "$DSN" > "$W/$1.dsn"
	fi
}

# lock_store NAME SECONDS: another process holds the daemon's store.
lock_store() {
	if [ "${VT_STORE:-}" = postgresql ]; then
		{ echo 'BEGIN; LOCK TABLE audit_head IN ACCESS EXCLUSIVE MODE;'
		  sleep "$2"; echo 'COMMIT;'; } | psql -q -X "$(cat "$W/$1.dsn")"
	else
		{ echo 'BEGIN EXCLUSIVE;'; sleep "$2"; echo 'COMMIT;'; } |
		    sqlite3 "$W/$1/vtokend.db"
	fi
}

# start_vtokend NAME CONFIG: starts a daemon, sets API (base URL) and KEY.
start_vtokend() {
	store_args "$1"
	if [ -f "$W/$1.dsn" ]; then
		set -- "$1" "$2" --store "postgresql:$(cat "$W/$1.dsn")"
	fi
	"$VT_BIN/vtokend" -c "$2" ${3+"$3"} ${4+"$4"} 2> "$W/$1.log" &
	PIDS="$PIDS $!"
	VTD_PIDS="$VTD_PIDS $!"
	wait_for 10 test -s "$W/$1/admin.key" || fail "$1: no admin.key"
	KEY=$(cat "$W/$1/admin.key")
}

# api METHOD PATH [JSON]: one REST call against $API with $KEY.
api() {
	if [ $# -ge 3 ]; then
		curl -sS $CURL_TLS -X "$1" -H "Authorization: Bearer $KEY" \
		    -H 'Content-Type: application/json' -d "$3" "$API$2"
	else
		curl -sS $CURL_TLS -X "$1" -H "Authorization: Bearer $KEY" \
		    "$API$2"
	fi
}

json_get() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# setup_token NAME VMNAME ADDR: token assigned to a new VM; sets TID and
# writes the image to $W/NAME.img.
setup_token() {
	TID=$(api POST /v1/tokens "{\"name\":\"$1\"}" | json_get '["id"]')
	api POST /v1/vms "{\"name\":\"$2\",\"addresses\":[\"$3\"]}" \
	    >/dev/null
	api POST /v1/assignments "{\"token\":\"$1\",\"vm\":\"$2\"}" \
	    | grep -q "\"token\": *\"$TID\"" || fail "assign $1"
	api GET "/v1/tokens/$TID/image" > "$W/$1.img"
	[ "$(wc -c < "$W/$1.img")" -gt 1000000 ] || fail "image of $1"
}

# audit_has ACTION TOKEN [REASON]: the audit has such a record.
audit_has() {
	api GET '/v1/audit?after=0&limit=1000' > "$W/audit.json"
	python3 - "$W/audit.json" "$1" "$2" "${3:-}" <<'EOF'
import json, sys
recs = json.load(open(sys.argv[1]))["records"]
act, tok, reason = sys.argv[2], "token:" + sys.argv[3], sys.argv[4]
sys.exit(0 if any(r["action"] == act and r["subject"] == tok and
    (not reason or (r.get("detail") or {}).get("reason") == reason)
    for r in recs) else 1)
EOF
}

P_USBIP=$(free_port)
P_API=$(free_port)
mkdir -p "$W/plain"
cat > "$W/plain.yaml" <<EOF
data_dir: $W/plain
usbip:
  listen: 127.0.0.1:$P_USBIP
api:
  listen: 127.0.0.1:$P_API
agent:
  rate_per_token: 600
  rate_per_address: 6000
EOF
CURL_TLS=""
API=http://127.0.0.1:$P_API
start_vtokend plain "$W/plain.yaml"
wait_for 10 curl -sf "$API/healthz" || fail "vtokend API not up"

# ---- 1. --once succeeds ----
setup_token t1 vm1 127.0.0.1
T1=$TID
"$AGENT" --once --device "$W/t1.img" --controller "$API" \
    > "$W/once1.out" 2> "$W/once1.err" || fail "--once t1: exit $?"
grep -q "token $T1 authenticated for VM vm1" "$W/once1.out" ||
    fail "--once t1: no success line"
audit_has auth.ok "$T1" || fail "no auth.ok for $T1 in the audit"
ok "--once authenticates; audit has auth.ok"
# The controller URL defaults to TOKEN.JSON's.
"$AGENT" --once --device "$W/t1.img" > "$W/once1b.out" 2> "$W/once1b.err" ||
    fail "--once t1 with TOKEN.JSON's controller: exit $?"
ok "--once uses TOKEN.JSON's controller by default"

# ---- 1b. nobody sharing the VM's address can starve its agent ----
# A process at the VM's own address asks for challenges and sends
# garbage answers as fast as it can; the real agent authenticates every
# time, and the flood is on the record in rate-limited form only.
python3 - "$API" "$T1" 6 > "$W/flood.out" 2>&1 <<'PYEOF' &
import http.client, json, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
tok, end = sys.argv[2], time.time() + float(sys.argv[3])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
n = 0
while time.time() < end:
    try:
        c.request("POST", "/v1/agent/challenge", json.dumps({"token": tok}),
                  {"Content-Type": "application/json"})
        nonce = json.loads(c.getresponse().read()).get("nonce", "AAAA")
        c.request("POST", "/v1/agent/verify", json.dumps(
            {"token": tok, "nonce": nonce, "signature": "A" * 86 + "=="}),
            {"Content-Type": "application/json"})
        c.getresponse().read()
        n += 1
    except Exception:
        c.close()
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
print("flood pairs", n)
PYEOF
FLOOD=$!
sleep 1
for i in 1 2 3 4; do
	"$AGENT" --once --device "$W/t1.img" --controller "$API" 	    > "$W/starve$i.out" 2> "$W/starve$i.err" ||
	    fail "--once during a challenge flood (try $i): $(cat "$W/starve$i.err")"
done
wait $FLOOD
n=$(sed -n 's/^flood pairs //p' "$W/flood.out")
[ "${n:-0}" -gt 100 ] || fail "the flood did not run: $(cat "$W/flood.out")"
audit_has auth.flood "$T1" || fail "no auth.flood record for the flood"
fails=$(python3 -c 'import json,sys; print(sum(1 for r in json.load(open(sys.argv[1]))["records"] if r["action"] in ("auth.fail", "auth.flood")))' "$W/audit.json")
[ "$fails" -lt 300 ] || fail "$fails auth.fail/auth.flood records for $n flood pairs"
ok "a challenge flood from the VM's address ($n pairs): the agent authenticated 4 of 4 times, $fails records"
# ---- 1c. what is recorded is what changes ----
# count_t1 ACTION: records of ACTION for T1.
count_t1() {
	api GET '/v1/audit?after=0&limit=1000' | python3 -c 'import json,sys
print(sum(1 for r in json.load(sys.stdin)["records"]
    if r["action"] == sys.argv[1] and r["subject"] == "token:" + sys.argv[2]))' "$1" "$T1"
}
# bad_verify: a genuine nonce, a wrong signature (recorded as auth.fail).
bad_verify() {
	python3 - "$API" "$T1" <<'PYEOF'
import json, sys, urllib.request
def post(path, body):
    req = urllib.request.Request(sys.argv[1] + path, json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    try:
        return urllib.request.urlopen(req, timeout=5).status
    except urllib.error.HTTPError as e:
        return e.code
req = urllib.request.Request(sys.argv[1] + "/v1/agent/challenge",
    json.dumps({"token": sys.argv[2]}).encode(),
    {"Content-Type": "application/json"})
nonce = json.load(urllib.request.urlopen(req, timeout=5))["nonce"]
sys.exit(0 if post("/v1/agent/verify", {"token": sys.argv[2], "nonce": nonce,
    "signature": "A" * 86 + "=="}) == 403 else 1)
PYEOF
}
sleep 2	# the flood's last failures are recorded by now
"$AGENT" --once --device "$W/t1.img" --controller "$API" >/dev/null 2>&1 ||
    fail "--once after the flood"
N_OK=$(count_t1 auth.ok)
for i in 1 2 3; do
	"$AGENT" --once --device "$W/t1.img" --controller "$API" 	    > "$W/quiet$i.out" 2>&1 || fail "--once (quiet $i): $(cat "$W/quiet$i.out")"
done
[ "$(count_t1 auth.ok)" -eq "$N_OK" ] ||
    fail "unchanged successes were recorded: $(count_t1 auth.ok) auth.ok, was $N_OK"
api GET "/v1/tokens/$T1" | python3 -c 'import json,sys
a = json.load(sys.stdin)["agent"]
sys.exit(0 if a and a["peer"] == "127.0.0.1" and not a["failing"] else 1)' ||
    fail "GET /v1/tokens/T1 does not show its agent's last success"
ok "three unchanged successes: no record; the token shows the last one"
N_FAIL=$(count_t1 auth.fail)
bad_verify || fail "a bad verify was not refused"
[ "$(count_t1 auth.fail)" -eq $((N_FAIL + 1)) ] || fail "the failure was not recorded"

# A success the controller cannot record is not granted (after a
# failure, the next success must be recorded): another process holds the
# database past vtokend's 1 s busy timeout.
lock_store plain 4 &
LOCK=$!
sleep 0.5
rc=0
"$AGENT" --once --device "$W/t1.img" --controller "$API" \
    > "$W/locked.out" 2> "$W/locked.err" || rc=$?
wait $LOCK || fail "sqlite3 lock holder failed"
[ $rc -eq 1 ] || fail "--once with the store locked: exit $rc, want 1"
grep -q "authenticated" "$W/locked.out" && fail "locked: authenticated"
[ "$(count_t1 auth.ok)" -eq "$N_OK" ] || fail "locked: an auth.ok was recorded"
ok "an authentication that cannot be audited is refused"
"$AGENT" --once --device "$W/t1.img" --controller "$API" >/dev/null 2>&1 ||
    fail "--once after the lock"
[ "$(count_t1 auth.ok)" -eq $((N_OK + 1)) ] ||
    fail "the recovery after a failure was not recorded"
ok "a failure and the recovery after it are recorded"

# ---- 2. wrong address ----
setup_token t2 vm2 127.0.0.2
T2=$TID
rc=0
"$AGENT" --once --device "$W/t2.img" --controller "$API" \
    > "$W/once2.out" 2> "$W/once2.err" || rc=$?
[ $rc -eq 1 ] || fail "--once t2: exit $rc, want 1"
grep -q "authentication failed: wrong address" "$W/once2.err" ||
    fail "--once t2: no 'wrong address'"
audit_has auth.fail "$T2" "wrong address" ||
    fail "no auth.fail (wrong address) for $T2"
ok "--once for a VM at another address fails: wrong address"

# ---- 3. usage, configuration, unreachable ----
rc=0; "$AGENT" --bogus 2> "$W/usage.err" || rc=$?
[ $rc -eq 2 ] || fail "bad option: exit $rc, want 2"
printf 'interval: 5\nnonsense: 1\ngrace: x\n' > "$W/bad.yaml"
rc=0; "$AGENT" -c "$W/bad.yaml" --once 2> "$W/badcfg.err" || rc=$?
[ $rc -eq 2 ] || fail "bad config: exit $rc, want 2"
grep -q "^$W/bad.yaml:2:1: unknown key \"nonsense\"" "$W/badcfg.err" ||
    fail "bad config: no FILE:LINE:COL for the unknown key"
grep -q "^$W/bad.yaml:3:8: grace: " "$W/badcfg.err" ||
    fail "bad config: no FILE:LINE:COL for the bad value"
rc=0; "$AGENT" --once --device "$W/t1.img" --controller ftp://x \
    2> "$W/badurl.err" || rc=$?
[ $rc -eq 2 ] || fail "bad --controller: exit $rc, want 2"
rc=0; "$AGENT" -n -c "$W/plain.yaml" > /dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "-n with vtokend's configuration: exit $rc, want 2"
rc=0
"$AGENT" --once --device "$W/t1.img" --controller \
    "http://127.0.0.1:$(free_port)" 2> "$W/unreach.err" || rc=$?
[ $rc -eq 1 ] || fail "unreachable: exit $rc, want 1"
grep -q "authentication failed: controller unreachable" "$W/unreach.err" ||
    fail "unreachable: no reason"
rc=0
"$AGENT" --once --device "$W/nonexistent.img" --device-wait 1 \
    2> "$W/nodev.err" || rc=$?
[ $rc -eq 1 ] && grep -q "no token found within 1 s" "$W/nodev.err" ||
    fail "missing device: exit $rc"
ok "usage/config errors exit 2; unreachable controller and no token exit 1"

# ---- 4. daemon mode ----
# The controller's policy for vm1 (the shortest it allows: interval 5,
# grace 10, the command) wins over the file's fallback (interval 1,
# grace 2, log only), so a policy that runs proves which one applied.
POLICY_CMD="echo \"ran \$VTOKEN_REASON \$VTOKEN_TOKEN_ID\" >> $W/policy-ran"
api PUT /v1/vms/vm1/policy "$(python3 -c 'import json, sys
print(json.dumps({"interval": 5, "grace": 10, "action": "command",
    "command": sys.argv[1]}))' "$POLICY_CMD")" > "$W/vmpolicy.json"
grep -q '"grace": *10' "$W/vmpolicy.json" ||
    fail "PUT /v1/vms/vm1/policy: $(cat "$W/vmpolicy.json")"
cat > "$W/agent.yaml" <<EOF
# daemon test: the local fallback, until the controller answers
interval: 1
grace: 2
timeout: 2
state_dir: $W/state-daemon
EOF
"$AGENT" -c "$W/agent.yaml" --device "$W/t1.img" --controller "$API" \
    > "$W/daemon.out" 2> "$W/daemon.log" &
AGENT_PID=$!
PIDS="$PIDS $AGENT_PID"
wait_for 10 grep -q -- "-> AUTHENTICATED" "$W/daemon.log" ||
    fail "daemon never authenticated"
wait_for 5 grep -q "policy from the controller: interval 5 s, grace 10 s, action command" "$W/daemon.log" ||
    fail "the controller's policy was not taken"
sleep 1.5
[ ! -e "$W/policy-ran" ] || fail "policy ran while authenticated"
t0=$(date +%s.%N)
api DELETE "/v1/assignments/$T1" > /dev/null
# interval + grace = 15 s, plus 5 s slack for slow (sanitizer) builds.
wait_for 20 test -s "$W/policy-ran" || fail "policy did not run within 20 s"
t1=$(date +%s.%N)
ok "policy ran $(python3 -c "print(round($t1 - $t0, 2))") s after the revoke"
grep -q "AUTHENTICATED -> FAILING (revoked)" "$W/daemon.log" ||
    fail "no FAILING (revoked) transition"
grep -q "FAILING -> POLICY_RUN (revoked)" "$W/daemon.log" ||
    fail "no POLICY_RUN transition"
grep -q "^ran revoked $T1\$" "$W/policy-ran" || fail "policy environment"
wait_for 5 grep -q "policy (pid [0-9]*) finished: exit status 0" \
    "$W/daemon.log" || fail "policy exit status not logged"
n=$(grep -c "FAILING (revoked)" "$W/daemon.log")
[ "$n" -eq 1 ] || fail "FAILING (revoked) logged $n times"
sleep 2.5
[ "$(wc -l < "$W/policy-ran")" -eq 1 ] || fail "policy ran more than once"
ok "revoke: FAILING (revoked) logged once, POLICY_RUN, policy ran once"
# fired_is WHAT: state.json's policy_fired is "command revoked" or absent.
fired_is() {
	python3 - "$W/state-daemon/state.json" "$1" <<'PYEOF'
import json, sys
f = json.load(open(sys.argv[1])).get("policy_fired")
got = "absent" if f is None else f["action"] + " " + f["reason"] + " " + f["result"]
sys.exit(0 if got == sys.argv[2] else 1)
PYEOF
}
wait_for 5 fired_is "command revoked ok" ||
    fail "state.json does not record the action: $(cat "$W/state-daemon/state.json")"
[ "$(stat -c %a "$W/state-daemon/state.json")" = 600 ] ||
    fail "state.json is not 0600"
ok "the action is recorded in state_dir/state.json (0600)"

# --- 5. --once after the revoke ----
rc=0
"$AGENT" --once --device "$W/t1.img" --controller "$API" \
    2> "$W/once3.err" || rc=$?
[ $rc -eq 1 ] && grep -q "authentication failed: revoked" "$W/once3.err" ||
    fail "--once after revoke: exit $rc"
audit_has auth.fail "$T1" revoked || fail "no auth.fail (revoked) for $T1"
ok "--once after the revoke fails: revoked"

# Reassigned: the daemon recovers; the policy is re-armed.
api POST /v1/assignments "{\"token\":\"t1\",\"vm\":\"vm1\"}" > /dev/null
wait_for 12 grep -q "POLICY_RUN -> AUTHENTICATED" "$W/daemon.log" ||
    fail "no recovery after reassignment"
wait_for 5 fired_is absent ||
    fail "policy_fired kept after a successful verify reported it"
kill -TERM "$AGENT_PID"
wait_for 5 sh -c "! kill -0 $AGENT_PID" || fail "SIGTERM did not stop it"
rc=0; wait "$AGENT_PID" || rc=$?
[ $rc -eq 0 ] || fail "daemon exit $rc after SIGTERM"
ok "reassignment: AUTHENTICATED again; SIGTERM: clean exit"
# A restart starts with the stored policy, before reaching the controller.
"$AGENT" -c "$W/agent.yaml" --device "$W/t1.img" --controller \
    "http://127.0.0.1:$(free_port)" 2> "$W/daemon2.log" &
P2=$!
PIDS="$PIDS $P2"
wait_for 5 grep -q "interval 5 s, grace 10 s, action command (from the controller)" \
    "$W/daemon2.log" || fail "the stored policy was not used at start-up"
kill -TERM "$P2"; wait "$P2" || fail "restarted daemon exit"
ok "the controller's policy is kept in state_dir and used at the next start"

# ---- 6. HTTPS with a pinned certificate ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$W/tls.key" -out "$W/tls.crt" 2> "$W/openssl.err" ||
    fail "openssl req"
PIN=$(openssl x509 -in "$W/tls.crt" -outform DER | sha256sum | cut -d' ' -f1)
P_USBIP2=$(free_port)
P_TLS=$(free_port)
mkdir -p "$W/tls"
cat > "$W/tls.yaml" <<EOF
data_dir: $W/tls
usbip:
  listen: 127.0.0.1:$P_USBIP2
api:
  listen: 127.0.0.1:$P_TLS
  tls:
    cert: $W/tls.crt
    key: $W/tls.key
  timeout: 2
log_level: debug
EOF
# debug: the handshake lines 6b counts; timeout 2: idle connections close
# after 2 s, which 6b uses to see sessions resumed.
start_vtokend tls "$W/tls.yaml"
TLS_PID=$!
API=https://127.0.0.1:$P_TLS
CURL_TLS="--cacert $W/tls.crt"
wait_for 10 curl -sf $CURL_TLS "$API/healthz" || fail "TLS API not up"
setup_token t3 vm3 127.0.0.1
T3=$TID
printf 'ca_sha256: %s\n' "$PIN" > "$W/pin.yaml"
"$AGENT" -c "$W/pin.yaml" --once --device "$W/t3.img" \
    > "$W/pin.out" 2> "$W/pin.err" || fail "pinned https: exit $?"
grep -q "token $T3 authenticated" "$W/pin.out" || fail "pinned https"
printf 'ca_sha256: %s\n' "$(echo "$PIN" | tr '0-9a-f' '1-9a-f0')" \
    > "$W/badpin.yaml"
rc=0
"$AGENT" -c "$W/badpin.yaml" --once --device "$W/t3.img" \
    2> "$W/badpin.err" || rc=$?
[ $rc -eq 1 ] && grep -q "does not match the pinned ca_sha256" \
    "$W/badpin.err" || fail "wrong pin: exit $rc"
# The server writes its certificate's pin into TOKEN.JSON: no config.
"$AGENT" --once --device "$W/t3.img" > "$W/ownpin.out" \
    2> "$W/ownpin.err" || fail "the token's own pin: exit $?"
grep -q "token $T3 authenticated" "$W/ownpin.out" || fail "own pin"
# ... but only with the token's own URL: a configured controller never
# takes its trust anchor from the disk (a forged disk could pin anything).
rc=0
"$AGENT" --once --device "$W/t3.img" --controller "$API" \
    2> "$W/diskpin.err" || rc=$?
[ $rc -eq 1 ] && grep -q "controller unreachable" "$W/diskpin.err" ||
    fail "disk pin used with a configured controller (exit $rc)"
# A token without a pin (from the plain-HTTP daemon) trusts nothing.
rc=0
"$AGENT" --once --device "$W/t1.img" --controller "$API" \
    2> "$W/untrusted.err" || rc=$?
[ $rc -eq 1 ] && grep -q "controller unreachable" "$W/untrusted.err" ||
    fail "untrusted certificate accepted (exit $rc)"
printf 'ca_file: %s\n' "$W/tls.crt" > "$W/cafile.yaml"
"$AGENT" -c "$W/cafile.yaml" --once --device "$W/t3.img" \
    > "$W/cafile.out" 2> "$W/cafile.err" || fail "ca_file https: exit $?"
printf 'ca_file: %s\nca_sha256: %s\n' "$W/tls.crt" "$PIN" > "$W/both.yaml"
"$AGENT" -c "$W/both.yaml" --once --device "$W/t3.img" \
    > "$W/both.out" 2> "$W/both.err" || fail "ca_file + pin: exit $?"
rc=0
"$AGENT" -c "$W/pin.yaml" --once --device "$W/t3.img" \
    --controller "http://127.0.0.1:$P_API" 2> "$W/pinhttp.err" || rc=$?
[ $rc -eq 1 ] && grep -q "ca_sha256 is set but the controller URL is not" \
    "$W/pinhttp.err" || fail "pin over http: exit $rc"
ok "https: pin ok, token's own pin ok (not with another URL), wrong pin refused, untrusted refused, ca_file ok"

# ---- 6b. kept-alive connection, resumed TLS sessions, pin on each ----
# handshakes KIND: vtokend's "TLS handshake KIND" debug lines so far.
handshakes() { grep -c "api: TLS handshake $1" "$W/tls.log" || true; }
# stats_at_least REQ CONN RESUMED FILE: the agent's last "controller:"
# line in FILE has at least REQ requests, exactly CONN connections and at
# least RESUMED resumed sessions.
stats_at_least() {
	grep "controller: " "$W/$4" | tail -n 1 | python3 -c '
import re, sys
m = re.search(r"controller: (\d+) requests, (\d+) connections \((\d+) resumed", sys.stdin.read())
req, conn, res = map(int, sys.argv[1:4])
sys.exit(0 if m and int(m.group(1)) >= req and int(m.group(2)) == conn and
    int(m.group(3)) >= res else 1)' "$1" "$2" "$3"
}
# hup_wait SECS PID COMMAND...: a round now (SIGHUP) every second until
# COMMAND succeeds.  The controller's policy (default interval 30 s)
# replaces the files' intervals after the first round, so the rounds
# below are asked for with SIGHUP.
hup_wait() {
	n=$1; p=$2; shift 2
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		kill -HUP "$p" 2>/dev/null || true
		sleep 1
		n=$((n - 1))
	done
	return 1
}
# Rounds 0.3 s apart, under the controller's 2 s idle timeout: every round
# uses the first connection (challenge and verify included): one
# handshake.
full0=$(handshakes full)
printf 'ca_sha256: %s\ninterval: 1\ntimeout: 2\nstate_dir: %s\n' "$PIN" \
    "$W/state-keep" > "$W/keep.yaml"
"$AGENT" -c "$W/keep.yaml" -d --device "$W/t3.img" 2> "$W/keep.err" &
KEEP_PID=$!
PIDS="$PIDS $KEEP_PID"
wait_for 10 grep -q -- "-> AUTHENTICATED" "$W/keep.err" ||
    fail "keep-alive: never authenticated"
for i in 1 2 3; do sleep 0.3; kill -HUP "$KEEP_PID"; done
wait_for 15 stats_at_least 8 1 0 keep.err ||
    fail "keep-alive: not 4 rounds over one connection"
kill -TERM "$KEEP_PID"; wait "$KEEP_PID" || fail "keep-alive agent exit"
[ "$(handshakes full)" -eq $((full0 + 1)) ] ||
    fail "keep-alive: $(($(handshakes full) - full0)) full handshakes, want 1"
ok "4 rounds (8 requests) over one kept-alive connection, one handshake"
# Rounds 3 s apart, over the idle timeout: the controller closes the idle
# connection (no round fails for it), the next round connects again and
# resumes the TLS session: still one full handshake.
full0=$(handshakes full)
res0=$(handshakes resumed)
printf 'ca_sha256: %s\ninterval: 3\ntimeout: 2\nstate_dir: %s\n' "$PIN" \
    "$W/state-resume" > "$W/resume.yaml"
"$AGENT" -c "$W/resume.yaml" -d --device "$W/t3.img" 2> "$W/resume.err" &
RES_PID=$!
PIDS="$PIDS $RES_PID"
wait_for 10 grep -q -- "-> AUTHENTICATED" "$W/resume.err" ||
    fail "resumption: never authenticated"
for i in 1 2; do sleep 3; kill -HUP "$RES_PID"; done
wait_for 20 stats_at_least 6 3 2 resume.err ||
    fail "resumption: not 3 rounds on 3 connections, 2 resumed"
[ "$(handshakes full)" -eq $((full0 + 1)) ] ||
    fail "resumption: $(($(handshakes full) - full0)) full handshakes"
[ "$(handshakes resumed)" -ge $((res0 + 2)) ] ||
    fail "resumption: vtokend saw no resumed handshakes"
grep -q "FAILING" "$W/resume.err" && fail "resumption: a round failed"
ok "over the idle timeout: a new connection per round, TLS session resumed"
# The same agent, holding a session for this address: another server
# there with another certificate is refused, resumption or not.
kill -TERM "$TLS_PID"; wait "$TLS_PID" || fail "vtokend (tls) exit"
VTD_PIDS=$(echo " $VTD_PIDS " | sed "s/ $TLS_PID / /")
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$W/other.key" -out "$W/other.crt" 2>> "$W/openssl.err" ||
    fail "openssl req (other)"
openssl s_server -quiet -accept "127.0.0.1:$P_TLS" -cert "$W/other.crt" \
    -key "$W/other.key" -www > /dev/null 2> "$W/s_server.err" &
IMP_PID=$!
PIDS="$PIDS $IMP_PID"
hup_wait 20 "$RES_PID" grep -q "FAILING (controller unreachable: server certificate does not match the pinned ca_sha256)" "$W/resume.err" ||
    fail "an impostor with another certificate was not refused"
kill -TERM "$IMP_PID"; wait "$IMP_PID" 2>/dev/null || true
# The real controller again, on the same store (start_vtokend would make
# a new PostgreSQL database).
set --
[ -f "$W/tls.dsn" ] && set -- --store "postgresql:$(cat "$W/tls.dsn")"
"$VT_BIN/vtokend" -c "$W/tls.yaml" "$@" 2>> "$W/tls.log" &
PIDS="$PIDS $!"
VTD_PIDS="$VTD_PIDS $!"
hup_wait 20 "$RES_PID" grep -q "FAILING -> AUTHENTICATED" "$W/resume.err" ||
    fail "no recovery once the real controller is back"
kill -TERM "$RES_PID"; wait "$RES_PID" || fail "resumption agent exit"
ok "another certificate at the controller's address is refused; the real one is accepted again"

# ---- 7. no secrets anywhere ----
api GET '/v1/audit?after=0&limit=1000' > "$W/audit-tls.json"
API=http://127.0.0.1:$P_API
CURL_TLS=""
api GET '/v1/audit?after=0&limit=1000' > "$W/audit.json"
for img in t1 t2 t3; do
	python3 - "$W/$img.img" > "$W/$img.keylines" <<'EOF'
import re, sys
data = open(sys.argv[1], "rb").read()
m = re.search(rb"-----BEGIN PRIVATE KEY-----\r?\n(.*?)-----END", data, re.S)
assert m, "no PEM in the image"
for line in m.group(1).split():
    if len(line) >= 16:
        print(line.decode())
EOF
	[ -s "$W/$img.keylines" ] || fail "no key lines from $img.img"
done
cat "$W"/*.keylines > "$W/keylines"
for f in "$W"/*.out "$W"/*.err "$W"/*.log "$W"/audit*.json; do
	if grep -q -F -f "$W/keylines" "$f"; then
		fail "private key material in $f"
	fi
	if grep -q "PRIVATE KEY" "$f"; then
		fail "a PEM private key in $f"
	fi
	case $f in *audit*) continue ;; esac
	# Signatures (88 base64 characters) and nonces (44).
	if grep -Eq '[A-Za-z0-9+/]{86}==|[A-Za-z0-9+/]{43}=' "$f"; then
		fail "a signature or nonce in $f"
	fi
done
if grep -Eq '[A-Za-z0-9+/]{86}==' "$W"/audit*.json; then
	fail "a signature in the audit"
fi
ok "no private key, signature or nonce in outputs, logs or the audit"

# ---- 8. the daemons exit cleanly (LeakSanitizer reports at exit) ----
for p in $VTD_PIDS; do
	kill -TERM "$p"
	rc=0; wait "$p" || rc=$?
	[ $rc -eq 0 ] || fail "vtokend (pid $p) exited with status $rc"
done
PIDS=""
if grep -Eq 'Sanitizer|runtime error' "$W"/*.log; then
	fail "sanitizer report in a vtokend log"
fi
ok "vtokend exits cleanly"
echo "PASS"
