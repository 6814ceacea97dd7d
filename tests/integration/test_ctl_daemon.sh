#!/bin/sh
# integration.ctl_daemon: vtokenctl against a real vtokend on free
# loopback ports (never 3240/3241), where test_ctl_mock.sh has a canned
# server.  It checks what only the real server can say:
#  1. token create --count 1050 --prefix bulk --size 1M: one request, a
#     summary line; again with the same prefix: exit 1, a conflict;
#  2. token list follows the server's cursor: -o json has all 1,050
#     tokens (bulk-0001 .. bulk-1050, each once, no "next"), the table
#     1,050 rows;
#  3. nodes: one node, "up", and -o json says it is the one answering;
#  4. vm set-addresses replaces a VM's addresses (PATCH);
#  5. key create/list/rm and roles;
#  6. audit --follow (GET /v1/events): the whole log from the start, then
#     changes as they are made, in order, each once, across a restart of
#     the daemon (it reconnects with Last-Event-ID); --type and --token
#     filter; a key without audit access gets 403 at once; SIGTERM ends a
#     follower with exit 0;
#  7. alarms;
#  8. agent policies (a VM's and the default), releases signed with
#     `agent release sign`, a rollout, `agents`;
#  9. SIGTERM stops the daemon with exit 0.
# VT_STORE=postgresql (integration.ctl_daemon.pg) gives the daemon a
# fresh database on the suite's PostgreSQL server.  Every wait is
# bounded.  Needs python3 and timeout(1).
set -u

VT_BIN=${VT_BIN:-$(cd "$(dirname "$0")/../../build/bin" && pwd)}
CTL=$VT_BIN/vtokenctl
W=$(mktemp -d "${TMPDIR:-/tmp}/vt-ctl-daemon.XXXXXX") || exit 1
VTD_PID=""
FOLLOW_PIDS=""

cleanup() {
	for p in $FOLLOW_PIDS; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ -n "$VTD_PID" ]; then
		kill -TERM "$VTD_PID" 2>/dev/null
		wait "$VTD_PID" 2>/dev/null
	fi
	[ -n "${VT_KEEP:-}" ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Proxies from the environment would route loopback requests elsewhere.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
unset VTOKEN_URL VTOKEN_API_KEY_FILE

fail() {
	echo "FAIL: $*" >&2
	for f in "$W"/vtokend.log "$W"/err "$W"/follow*.err; do
		[ -f "$f" ] && { echo "---- $f"; tail -n 20 "$f"; } >&2
	done
	exit 1
}
ok() { echo "ok - $*"; }

# free_port: a loopback port nobody listens on (bound, read, closed).
free_port() {
	python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
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

# ctl ARGS...: vtokenctl against the daemon; stdout in $W/out, stderr in
# $W/err, the exit status in rc.
ctl() {
	timeout -k 5 120 "$CTL" --url "$API" \
	    --api-key-file "$W/data/admin.key" "$@" >"$W/out" 2>"$W/err"
	rc=$?
}

# jsonout EXPR: EXPR (Python, d = the document in $W/out) holds.
jsonout() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$W/out" "$1"
}

# jsonlines FILE EXPR: EXPR (Python, d = the documents of FILE, one a
# line) holds.
jsonlines() {
	python3 -c 'import json, sys
d = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$1" "$2"
}

# start_vtokend: starts the daemon with the arguments in "$@" of the
# script and waits (bounded) until its API answers.
start_vtokend() {
	"$VT_BIN/vtokend" "$@" 2>>"$W/vtokend.log" &
	VTD_PID=$!
	wait_for 20 test -s "$W/data/admin.key" || fail "vtokend: no admin.key"
	wait_for 20 "$CTL" --url "$API" --api-key-file "$W/data/admin.key" \
	    token list || fail "vtokend: the API is not up"
}

# stop_vtokend: SIGTERM, and the daemon must exit 0 within 20 s.
stop_vtokend() {
	kill -TERM "$VTD_PID"
	wait_for 20 sh -c "! kill -0 $VTD_PID" ||
	    fail "SIGTERM did not stop vtokend"
	rc=0
	wait "$VTD_PID" || rc=$?
	VTD_PID=""
	[ "$rc" -eq 0 ] || fail "vtokend exit $rc after SIGTERM"
}

# stop_follower PID: SIGTERM; it must exit 0 within 10 s.
stop_follower() {
	kill -TERM "$1"
	wait_for 10 sh -c "! kill -0 $1" || fail "SIGTERM did not end $1"
	rc=0
	wait "$1" || rc=$?
	[ "$rc" -eq 0 ] || fail "audit --follow: exit $rc after SIGTERM"
}

[ -x "$CTL" ] && [ -x "$VT_BIN/vtokend" ] || fail "no binaries in $VT_BIN"
P_USBIP=$(free_port)
P_API=$(free_port)
API=http://127.0.0.1:$P_API
mkdir -p "$W/data"
cat >"$W/vtokend.yaml" <<EOF
data_dir: $W/data
usbip:
  listen: 127.0.0.1:$P_USBIP
api:
  listen: 127.0.0.1:$P_API
EOF
set -- -c "$W/vtokend.yaml"
if [ "${VT_STORE:-}" = postgresql ]; then
	DSN=$(sh "$VT_SRC/tests/lib/pg_fixture.sh" createdb "$VT_PG_DIR") ||
	    fail "no database"
	set -- "$@" --store "postgresql:$DSN"
fi
start_vtokend "$@"

# ---- 1. bulk create ----
ctl token create --count 1050 --prefix bulk --size 1M
[ "$rc" -eq 0 ] || fail "bulk create: exit $rc"
grep -qx "created 1050 tokens bulk-0001..bulk-1050" "$W/out" ||
    fail "bulk create printed: $(head -c 300 "$W/out")"
ctl token create --count 2 --prefix bulk
[ "$rc" -eq 1 ] || fail "bulk create again: exit $rc, want 1"
grep -q "(conflict)" "$W/err" || fail "bulk create again: $(cat "$W/err")"
ok "token create --count 1050: a summary line; the prefix again: conflict"

# ---- 2. the list follows the cursor ----
ctl -o json token list
[ "$rc" -eq 0 ] || fail "token list -o json: exit $rc"
jsonout 'set(d) == {"tokens"} and len(d["tokens"]) == 1050 and
    sorted(t["name"] for t in d["tokens"]) ==
    ["bulk-%04d" % i for i in range(1, 1051)] and
    all(t["size"] == 1048576 and t["revoked"] is False
        for t in d["tokens"])' ||
    fail "token list -o json: not the 1050 tokens"
ctl token list
[ "$rc" -eq 0 ] || fail "token list: exit $rc"
[ "$(grep -c ' bulk-[0-9]\{4\} ' "$W/out")" -eq 1050 ] ||
    fail "token list: $(grep -c ' bulk-' "$W/out") rows, want 1050"
ok "token list: all 1050 tokens, across pages"

# ---- 3. nodes ----
ctl nodes
[ "$rc" -eq 0 ] || fail "nodes: exit $rc"
head -n 1 "$W/out" | tr -s ' ' |
    grep -qx "NAME USBIP API VERSION STATE SESSIONS HEARTBEAT AGE" ||
    fail "nodes: header $(head -n 1 "$W/out")"
[ "$(wc -l <"$W/out")" -eq 2 ] || fail "nodes: $(cat "$W/out")"
tail -n 1 "$W/out" | tr -s ' ' | grep -q " 127.0.0.1:$P_USBIP .* up 0 " ||
    fail "nodes: $(tail -n 1 "$W/out")"
ctl -o json nodes
[ "$rc" -eq 0 ] || fail "nodes -o json: exit $rc"
jsonout 'len(d["nodes"]) == 1 and d["nodes"][0]["state"] == "up" and
    d["nodes"][0]["self"] is True' || fail "nodes -o json: $(cat "$W/out")"
ok "nodes: one node, up"

# ---- 4. vm set-addresses ----
ctl vm add ci-1 --addr 127.0.0.2
[ "$rc" -eq 0 ] || fail "vm add: exit $rc"
ctl vm set-addresses ci-1 --addr 10.0.0.0/8 --addr 127.0.0.3/32
[ "$rc" -eq 0 ] || fail "vm set-addresses: exit $rc"
grep -q "^addresses: *10.0.0.0/8, 127.0.0.3/32$" "$W/out" ||
    fail "vm set-addresses printed: $(cat "$W/out")"
ctl -o json vm show ci-1
jsonout 'd["addresses"] == ["10.0.0.0/8", "127.0.0.3/32"]' ||
    fail "vm show after set-addresses: $(cat "$W/out")"
ctl vm set-addresses ci-1 --addr not-an-address
[ "$rc" -eq 1 ] || fail "vm set-addresses with a bad address: exit $rc"
ok "vm set-addresses replaces the addresses; a bad one: exit 1"

# ---- 5. keys and roles ----
ctl key create help-desk --role operator --expires 90d
[ "$rc" -eq 0 ] || fail "key create: exit $rc"
sed -n 2p "$W/out" | grep -q '^vtk_' || fail "key create: $(cat "$W/out")"
sed -n 2p "$W/out" > "$W/operator.key"
chmod 600 "$W/operator.key"
ctl key list
grep -q " help-desk  *operator  *[0-9TZ:-]*  *20[0-9-]*T" "$W/out" ||
    fail "key list: $(cat "$W/out")"
grep -q "vtk_" "$W/out" && fail "key list shows a secret"
"$CTL" --url "$API" --api-key-file "$W/operator.key" vm add ops-1 \
    --addr 127.0.0.4 >"$W/out" 2>"$W/err" || fail "operator: vm add"
rc=0
"$CTL" --url "$API" --api-key-file "$W/operator.key" key list \
    >"$W/out" 2>"$W/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "(forbidden)" "$W/err" ||
    fail "operator key list: exit $rc, $(cat "$W/err")"
ctl key rm help-desk
[ "$rc" -eq 0 ] || fail "key rm: exit $rc"
rc=0
"$CTL" --url "$API" --api-key-file "$W/operator.key" token list \
    >"$W/out" 2>"$W/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "(unauthorized)" "$W/err" ||
    fail "deleted key: exit $rc, $(cat "$W/err")"
ok "key create/list/rm: an operator key works, is forbidden keys, and dies with rm"

# ---- 6. audit --follow ----
# F follows everything from the start (no --after: Last-Event-ID 0, the
# 1,050 bulk records and all since); G, started once follow-1 exists
# (else 404), only the revokes of follow-1.
"$CTL" --url "$API" --api-key-file "$W/data/admin.key" -o json \
    audit --follow >"$W/follow.out" 2>"$W/follow.err" &
F_PID=$!
FOLLOW_PIDS=$F_PID
ctl token create follow-1
[ "$rc" -eq 0 ] || fail "token create follow-1: exit $rc"
TOK=$(sed -n 's/.* id \([0-9A-F]*\) .*/\1/p' "$W/out")
"$CTL" --url "$API" --api-key-file "$W/data/admin.key" -o json \
    audit --follow --type revoke --token follow-1 \
    >"$W/follow-g.out" 2>"$W/follow-g.err" &
G_PID=$!
FOLLOW_PIDS="$F_PID $G_PID"
ctl vm add follow-vm --addr 127.0.0.5
[ "$rc" -eq 0 ] || fail "vm add follow-vm: exit $rc"
VMID=$(sed -n 's/.* id \([0-9A-F]*\)$/\1/p' "$W/out")
[ -n "$TOK" ] && [ -n "$VMID" ] || fail "no ids: token $TOK, vm $VMID"
ctl assign follow-1 follow-vm
[ "$rc" -eq 0 ] || fail "assign: exit $rc"
ctl revoke follow-1
[ "$rc" -eq 0 ] || fail "revoke: exit $rc"
# Every record once, in order, no gap; the changes to follow-1 and
# follow-vm, in the order they were made.
FOLLOW_OK='[r["seq"] for r in d] == list(range(1, len(d) + 1))'
CHANGES='[r["action"] for r in d if r["subject"] in ("token:'$TOK'",
    "vm:'$VMID'")]'
wait_for 30 jsonlines "$W/follow.out" "$CHANGES"' == ["token.create",
    "vm.add", "assign", "revoke"]' ||
    fail "audit --follow: the changes did not come: $(tail -c 600 \
    "$W/follow.out")"
jsonlines "$W/follow.out" "$FOLLOW_OK"' and len(d) > 1050' ||
    fail "audit --follow: not the whole log in order"
wait_for 20 jsonlines "$W/follow-g.out" 'len(d) == 1' ||
    fail "audit --follow --type revoke --token: $(cat "$W/follow-g.out")"
ok "audit --follow: the whole log, then each change once, in order"

# A restart: both streams end; they come back (Last-Event-ID) and get
# what happened meanwhile and after, and nothing twice.
stop_vtokend
start_vtokend "$@"
ctl assign follow-1 follow-vm
[ "$rc" -eq 0 ] || fail "assign after the restart: exit $rc"
ctl revoke follow-1
[ "$rc" -eq 0 ] || fail "revoke after the restart: exit $rc"
wait_for 40 jsonlines "$W/follow.out" "$CHANGES"' == ["token.create",
    "vm.add", "assign", "revoke", "assign", "revoke"]' ||
    fail "audit --follow after a restart: $(tail -c 600 "$W/follow.out")"
wait_for 20 jsonlines "$W/follow-g.out" 'len(d) == 2' ||
    fail "audit --follow --type revoke after a restart:" \
    "$(cat "$W/follow-g.out")"
stop_follower "$F_PID"
stop_follower "$G_PID"
FOLLOW_PIDS=""
jsonlines "$W/follow.out" "$FOLLOW_OK" ||
    fail "audit --follow: a record twice or missing after the restart"
jsonlines "$W/follow-g.out" 'all(r["action"] == "revoke" and
    r["subject"] == "token:'$TOK'" for r in d) and
    d[0]["seq"] < d[1]["seq"]' ||
    fail "audit --follow --type --token: $(cat "$W/follow-g.out")"
grep -q "reconnecting" "$W/follow.err" ||
    fail "audit --follow did not say it lost the stream"
ok "audit --follow: resumed after a restart, nothing twice; SIGTERM: exit 0"

# No audit access: 403 on the first request, exit 1, no retry.
ctl key create orchestra --role orchestrator
[ "$rc" -eq 0 ] || fail "key create orchestrator: exit $rc"
sed -n 2p "$W/out" >"$W/orchestrator.key"
rc=0
timeout -k 5 30 "$CTL" --url "$API" --api-key-file "$W/orchestrator.key" \
    audit --follow >"$W/out" 2>"$W/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "(forbidden)" "$W/err" ||
    fail "orchestrator audit --follow: exit $rc, $(cat "$W/err")"
ok "audit --follow without audit access: 403, exit 1"

# ---- 7. alarms ----
ctl alarms
[ "$rc" -eq 0 ] || fail "alarms: exit $rc"
head -n 1 "$W/out" | tr -s ' ' | grep -q "^ID RULE SEVERITY STATE KEY" ||
    fail "alarms: header $(head -n 1 "$W/out")"
ctl -o json alarms --state all
[ "$rc" -eq 0 ] || fail "alarms --state all: exit $rc"
jsonout 'isinstance(d["alarms"], list)' || fail "alarms -o json: $(cat "$W/out")"
ctl alarm ack 0000000000000000
[ "$rc" -eq 1 ] && grep -q "(not_found)" "$W/err" ||
    fail "alarm ack of nothing: exit $rc, $(cat "$W/err")"
ctl alarms --state sometimes
[ "$rc" -eq 1 ] || fail "alarms --state sometimes: exit $rc"
ok "alarms lists, alarm ack of an unknown id: not found"

# ---- 8. agents managed from the centre (docs/AGENT.md) ----
ctl vm add pvm --addr 127.0.9.9
[ "$rc" -eq 0 ] || fail "vm add pvm: exit $rc"
ctl vm policy pvm --interval 20 --grace 60 --action isolate-network
[ "$rc" -eq 0 ] || fail "vm policy set: exit $rc, $(cat "$W/err")"
ctl -o json vm policy pvm
jsonout 'd["action"] == "isolate-network" and d["interval"] == 20 and d["source"] == "vm"' ||
    fail "vm policy show: $(cat "$W/out")"
ctl vm policy pvm --grace 15
[ "$rc" -eq 1 ] && grep -q "grace" "$W/err" ||
    fail "vm policy --grace 15 (not above interval): exit $rc, $(cat "$W/err")"
ctl vm policy pvm --clear
[ "$rc" -eq 0 ] || fail "vm policy --clear: exit $rc"
ctl -o json vm show pvm
jsonout 'd["policy"]["source"] == "default" and d["facts"] is None' ||
    fail "vm show after clear: $(cat "$W/out")"
ctl policy set --action command --command 'logger vtoken' --interval 15 --grace 45
[ "$rc" -eq 0 ] || fail "policy set: exit $rc, $(cat "$W/err")"
ctl policy show
grep -q "logger vtoken" "$W/out" || fail "policy show: $(cat "$W/out")"
ok "policy: a VM's own set, shown, refused out of range, cleared; the default"

openssl genpkey -algorithm ed25519 -out "$W/rel.key" 2>/dev/null &&
    chmod 600 "$W/rel.key" || fail "genpkey"
printf 'an agent build\n' > "$W/art.bin"
ctl agent release sign "$W/art.bin" --version 1.2.3 --key "$W/rel.key"
[ "$rc" -eq 0 ] || fail "release sign: exit $rc, $(cat "$W/err")"
cp "$W/out" "$W/art.sig"
ctl agent release add "$W/art.bin" --version 1.2.3 --signature "@$W/art.sig"
[ "$rc" -eq 0 ] || fail "release add: exit $rc, $(cat "$W/err")"
ctl agent release add "$W/art.bin" --version 1.2.3 --signature "@$W/art.sig"
[ "$rc" -eq 1 ] && grep -q "(conflict)" "$W/err" ||
    fail "release add twice: exit $rc, $(cat "$W/err")"
ctl agent rollout set 1.2.3 --vm pvm --percent 100
[ "$rc" -eq 0 ] || fail "rollout set: exit $rc, $(cat "$W/err")"
ctl -o json agents
jsonout 'any(a["vm_name"] == "pvm" and a["target"] == "1.2.3" for a in d["agents"])' ||
    fail "agents: $(cat "$W/out")"
ctl agent release rm 1.2.3
[ "$rc" -eq 1 ] && grep -q "(conflict)" "$W/err" ||
    fail "release rm while targeted: exit $rc, $(cat "$W/err")"
ctl agent rollout stop
[ "$rc" -eq 0 ] || fail "rollout stop: exit $rc, $(cat "$W/err")"
ctl agent release rm 1.2.3
[ "$rc" -eq 0 ] || fail "release rm: exit $rc, $(cat "$W/err")"
ctl -o json agent release list
jsonout 'd["releases"] == []' || fail "release list: $(cat "$W/out")"
ok "releases: signed, added, rolled out to one VM, refused twice, removed"

# ---- 9. a clean stop ----
stop_vtokend
ok "SIGTERM: vtokend exits 0"
