#!/bin/sh
# test_ctl_mock: vtokenctl against ctl_mock_server.py, a canned vtokend
# REST API on loopback.  For every command it checks the request sent
# (method, path, JSON body, bearer key), what is printed (tables, key:
# value lines, JSON, errors) and the exit status (0 ok, 1 server or
# connection error, 2 usage).  The key must never be printed.
#
# Needs VT_BIN (directory holding vtokenctl), python3 and timeout(1);
# openssl(1) 3.0 or later for the https part and for "agent release
# sign", whose signature must verify with openssl pkeyutl -rawin; base64(1)
# and sha256sum(1).  Every wait is bounded: each vtokenctl run by
# timeout(1), the mock's start by a counted loop, the mock itself by its
# --lifetime.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
CTL=${VT_BIN:-$HERE/../../build/bin}/vtokenctl
MOCK=$HERE/ctl_mock_server.py
KEY=vt-test-key-5f0c2e8a9b7d41e6
T=$(mktemp -d "${TMPDIR:-/tmp}/vt-ctl-mock.XXXXXX") || exit 1
LOG=$T/requests.jsonl
mock_pids=""
follow_pid=""
failures=0
checks=0
name=""

cleanup() {
	for p in $mock_pids $follow_pid; do
		kill "$p" 2>/dev/null
	done
	wait
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Proxies from the environment would route loopback requests elsewhere.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
unset VTOKEN_URL VTOKEN_API_KEY_FILE

[ -x "$CTL" ] || { echo "no vtokenctl at $CTL" >&2; exit 1; }

# start_mock PORTFILE LOG [ARGS...]: starts a mock, waits (<= 10 s) until
# it listens, and sets mock_port.  Not for $(...): the pid must reach
# cleanup().
start_mock() {
	pf=$1
	lg=$2
	shift 2
	python3 "$MOCK" serve --log "$lg" --port-file "$pf" --key "$KEY" \
	    --lifetime 150 "$@" </dev/null >/dev/null 2>"$pf.err" &
	mock_pids="$mock_pids $!"
	i=0
	while [ ! -s "$pf" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo "mock did not start: $(cat "$pf.err")" >&2
			exit 1
		fi
		sleep 0.1
	done
	mock_port=$(cat "$pf")
}

fail() {
	failures=$((failures + 1))
	echo "FAIL: $name: $*" >&2
}

# ctl ARGS...: runs vtokenctl against the mock with the test key; sets
# rc, leaves stdout in $T/out and stderr in $T/err.
ctl() {
	timeout -k 5 30 "$CTL" --url "$URL" --api-key-file "$T/admin.key" \
	    "$@" >"$T/out" 2>"$T/err"
	rc=$?
	cat "$T/out" "$T/err" >>"$T/all-output"
}

# raw ARGS...: runs vtokenctl with no added options.
raw() {
	timeout -k 5 30 "$CTL" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	cat "$T/out" "$T/err" >>"$T/all-output"
}

check_rc() {
	checks=$((checks + 1))
	[ "$rc" -eq "$1" ] ||
	    fail "exit $rc, want $1; stderr: $(head -c 400 "$T/err")"
}

# check_out TEXT / check_err TEXT: a fixed string in stdout / stderr.
check_out() {
	checks=$((checks + 1))
	grep -qF -- "$1" "$T/out" ||
	    fail "stdout lacks '$1': $(head -c 600 "$T/out")"
}

check_err() {
	checks=$((checks + 1))
	grep -qF -- "$1" "$T/err" ||
	    fail "stderr lacks '$1': $(head -c 600 "$T/err")"
}

# check_line TEXT: stdout has this line, runs of spaces squeezed.
check_line() {
	checks=$((checks + 1))
	tr -s ' ' <"$T/out" | grep -qxF -- "$1" ||
	    fail "no line '$1' in: $(head -c 600 "$T/out")"
}

check_out_empty() {
	checks=$((checks + 1))
	[ ! -s "$T/out" ] || fail "stdout not empty: $(head -c 200 "$T/out")"
}

# check_req METHOD PATH [BODY]: the last request the mock saw.
check_req() {
	checks=$((checks + 1))
	python3 "$MOCK" expect "$LOG" "$@" 2>"$T/why" || fail "$(cat "$T/why")"
}

count() {
	python3 "$MOCK" count "$LOG"
}

# usage_case ARGS...: exit 2, usage on stderr, nothing on stdout, and no
# request made.
usage_case() {
	name="usage: $*"
	before=$(count)
	ctl "$@"
	check_rc 2
	check_err "usage: vtokenctl"
	check_out_empty
	checks=$((checks + 1))
	[ "$(count)" = "$before" ] || fail "a usage error sent a request"
}

# The key file: the key, trailing blanks, and a second line to ignore.
printf '%s \t\r\nsecond-line-not-the-key\n' "$KEY" >"$T/admin.key"
chmod 600 "$T/admin.key"
start_mock "$T/port" "$LOG"
URL=http://127.0.0.1:$mock_port

# --- local commands and usage errors -------------------------------------
name="--version"
raw --version
check_rc 0
check_out "vtokenctl "

name="--help"
raw --help
check_rc 0
check_out "token create NAME [--size SIZE] [--writable]"
check_out "token create --count N --prefix PREFIX [--size SIZE] [--writable]"
check_out "vm set-addresses ID|NAME --addr ADDR [--addr ADDR ...]"
check_line " nodes"
check_out "audit [--after SEQ] [--limit N]"
check_out "audit --follow [--after SEQ] [--type ACTION,...] [--token ID|NAME] [--vm ID|NAME]"

name="help token"
raw help token
check_rc 0
check_out "token image ID|NAME"
checks=$((checks + 1))
grep -q "vm add" "$T/out" && fail "help token lists vm commands"

name="no command"
raw
check_rc 2
check_err "usage: vtokenctl"

usage_case frobnicate
usage_case token
usage_case --bogus token list
usage_case -o xml token list
usage_case --url
usage_case token create
usage_case token create a b
usage_case token create a --size
usage_case token create a --follow
usage_case token list extra
usage_case token show
usage_case token rm a b
usage_case vm add ci-1
usage_case vm add --addr 10.0.0.1
usage_case assign only-token
usage_case revoke
usage_case sessions now
usage_case audit --limit abc
usage_case audit --limit 0
usage_case audit --limit 1001
usage_case audit --after -1
usage_case audit verify extra
usage_case audit --type assign
usage_case audit --token build-license --after 3
usage_case audit --vm ci-1
usage_case audit --follow --type ""
usage_case audit --follow --vm
usage_case audit verify --follow
usage_case token show ""
usage_case token create build-license --count 3
usage_case token create build-license --prefix lab
usage_case token create --count 3
usage_case token create --prefix lab
usage_case token create --count 0 --prefix lab
usage_case token create --count abc --prefix lab
usage_case token create --count -3 --prefix lab
usage_case token create --prefix lab --count
usage_case token list --count 3
usage_case vm set-addresses ci-1
usage_case vm set-addresses --addr 10.0.0.1
usage_case vm set-addresses ci-1 ci-2 --addr 10.0.0.1
usage_case nodes extra
usage_case nodes --limit 5
name="usage: token create, both forms"
ctl token create a --count 3
checks=$((checks + 1))
[ "$(grep -c '^usage: vtokenctl token create ' "$T/err")" -eq 2 ] ||
    fail "want both forms of token create: $(cat "$T/err")"
check_err "not both"
ctl token create --count 3
check_err "--count needs --prefix"
name="usage: --url ftp://"
raw --url ftp://127.0.0.1/ --api-key-file "$T/admin.key" token list
check_rc 2

# --- tokens ---------------------------------------------------------------
name="token create"
ctl token create build-license --size 4M --writable
check_rc 0
check_req POST /v1/tokens \
    '{"name": "build-license", "size": "4M", "writable": true}'
check_line "token build-license created: id 9F2C4A1B3D5E6F70 busid 1-3"

name="token create (options first, byte size, defaults)"
ctl token create --size 2097152 small
check_rc 0
check_req POST /v1/tokens '{"name": "small", "size": 2097152}'
ctl token create plain
check_rc 0
check_req POST /v1/tokens '{"name": "plain"}'

name="token create -o json"
ctl -o json token create build-license
check_rc 0
python3 "$MOCK" jsonfile "$T/out" \
    'd["id"] == "9F2C4A1B3D5E6F70" and d["busid"] == "1-3"' ||
    fail "json output"

name="token create: conflict"
ctl token create dup
check_rc 1
check_err "vtokenctl: a token named 'dup' exists (conflict)"
check_out_empty

name="token list"
ctl token list
check_rc 0
check_req GET /v1/tokens
check_line "ID NAME BUSID SIZE MODE VM SESSION"
check_line "9F2C4A1B3D5E6F70 build-license 1-3 4.0M ro - -"
check_line "0123456789ABCDEF ci-license 1-4 16.0M rw ci-1 127.0.0.2:41000"
python3 "$MOCK" aligned "$T/out" 2>"$T/why" || fail "$(cat "$T/why")"

name="token list -o json"
ctl -o json token list
check_rc 0
python3 "$MOCK" jsonfile "$T/out" \
    '[t["name"] for t in d["tokens"]] == ["build-license", "ci-license"] and
    set(d) == {"tokens"}' || fail "json output"

name="token list: an answer without next is one page"
python3 "$MOCK" set "$URL" tokens=nonext
ctl token list
check_rc 0
check_req GET /v1/tokens
check_line "9F2C4A1B3D5E6F70 build-license 1-3 4.0M ro - -"
python3 "$MOCK" set "$URL" tokens=two

# --- paged lists ----------------------------------------------------------
# 2,500 tokens in pages of 1000: the cursor is the last busid of a page.
python3 "$MOCK" set "$URL" tokens=many
name="token list: follows next"
before=$(count)
ctl token list
check_rc 0
checks=$((checks + 1))
[ "$(wc -l <"$T/out")" -eq 2501 ] ||
    fail "$(wc -l <"$T/out") lines, want a header and 2500 rows"
check_line "000000000000A001 bulk-0001 1-1 4.0M ro - -"
check_line "000000000000A3E9 bulk-1001 1-1001 4.0M ro - -"
check_line "000000000000A9C4 bulk-2500 1-2500 4.0M ro - -"
checks=$((checks + 1))
[ "$(awk 'NR > 1 { print $2 }' "$T/out" | sort -u | wc -l)" -eq 2500 ] ||
    fail "a token twice or missing"
python3 "$MOCK" aligned "$T/out" 2>"$T/why" || fail "$(cat "$T/why")"
checks=$((checks + 1))
[ "$(count)" -eq $((before + 3)) ] ||
    fail "$(($(count) - before)) requests, want 3"
checks=$((checks + 1))
[ "$(python3 "$MOCK" after "$LOG" /v1/tokens | tail -n 3 | tr '\n' ' ')" = \
    "- 1-1000 1-2000 " ] ||
    fail "after= $(python3 "$MOCK" after "$LOG" /v1/tokens | tail -n 3)"

name="token list -o json: one document with every page"
ctl -o json token list
check_rc 0
python3 "$MOCK" jsonfile "$T/out" 'set(d) == {"tokens"} and
    [t["name"] for t in d["tokens"]] ==
    ["bulk-%04d" % i for i in range(1, 2501)]' || fail "json output"
check_req GET '/v1/tokens?after=1-2000'

name="token list: a page that repeats its cursor"
python3 "$MOCK" set "$URL" tokens=repeat
before=$(count)
ctl token list
check_rc 1
check_err "repeated the cursor 1-1000"
check_out_empty
checks=$((checks + 1))
[ "$(count)" -eq $((before + 2)) ] ||
    fail "$(($(count) - before)) requests, want 2"
ctl -o json token list
check_rc 1
check_out_empty

name="token list: an empty page with a cursor"
python3 "$MOCK" set "$URL" tokens=empty
ctl token list
check_rc 1
check_err "without tokens but with a cursor"
check_out_empty

name="token list: a page that fails"
python3 "$MOCK" set "$URL" tokens=fail
ctl -o json token list
check_rc 1
check_err "vtokenctl: the store cannot be reached (store_unavailable)"
check_out_empty
python3 "$MOCK" set "$URL" tokens=two

# 1,001 VMs: page 1's cursor is a name that must be percent-encoded.
name="vm list: follows next, the cursor encoded"
python3 "$MOCK" set "$URL" vms=many
ctl vm list
check_rc 0
checks=$((checks + 1))
[ "$(wc -l <"$T/out")" -eq 1002 ] || fail "$(wc -l <"$T/out") lines"
check_line "000000000000B3E9 vm-1001 127.0.0.2/32,10.0.0.0/8 -"
check_req GET '/v1/vms?after=vm-1000%20%26x%3D1%2B%25'
ctl -o json vm list
check_rc 0
python3 "$MOCK" jsonfile "$T/out" 'set(d) == {"vms"} and
    len(d["vms"]) == 1001 and d["vms"][999]["name"] == "vm-1000 &x=1+%"' ||
    fail "json output"
python3 "$MOCK" set "$URL" vms=one

# --- bulk create ------------------------------------------------------------
name="token create --count: a table of the tokens made"
ctl token create --count 3 --prefix lab --size 4M --writable
check_rc 0
check_req POST /v1/tokens \
    '{"prefix": "lab", "count": 3, "size": "4M", "writable": true}'
check_line "ID NAME BUSID SIZE MODE VM SESSION"
check_line "000000000000C001 lab-0001 3-1 4.0M rw - -"
check_line "000000000000C003 lab-0003 3-3 4.0M rw - -"
checks=$((checks + 1))
[ "$(wc -l <"$T/out")" -eq 4 ] || fail "want a header and 3 rows"
python3 "$MOCK" aligned "$T/out" 2>"$T/why" || fail "$(cat "$T/why")"
ctl token create --count 20 --prefix lab
check_rc 0
checks=$((checks + 1))
[ "$(wc -l <"$T/out")" -eq 21 ] || fail "20 tokens are still a table"

name="token create --count: many make one line"
ctl token create --prefix lab --count 1050 --size 1048576
check_rc 0
check_req POST /v1/tokens '{"prefix": "lab", "count": 1050, "size": 1048576}'
check_line "created 1050 tokens lab-0001..lab-1050"
checks=$((checks + 1))
[ "$(wc -l <"$T/out")" -eq 1 ] || fail "want one line"

name="token create --count -o json"
ctl -o json token create --count 25 --prefix big
check_rc 0
python3 "$MOCK" jsonfile "$T/out" 'd["count"] == 25 and
    [t["name"] for t in d["tokens"]] == ["big-%04d" % i for i in
    range(1, 26)]' || fail "json output"

name="token create --count: errors from the server"
ctl token create --count 2 --prefix dup
check_rc 1
check_err "vtokenctl: a token named dup-0001 exists (conflict)"
check_out_empty
ctl token create --count 10001 --prefix lab
check_rc 1
check_err "count: an integer from 1 to 10000 is required (bad_request)"

name="token show"
ctl token show ci-license
check_rc 0
check_req GET /v1/tokens/ci-license
check_line "id: 0123456789ABCDEF"
check_line "size: 16.0M"
check_line "mode: writable"
check_line "revoked: no"
check_line "vm: ci-1 (1A2B3C4D5E6F7081)"
check_line \
    "session: 127.0.0.2:41000 since 2026-11-26T21:10:00Z, in 0B, out 1.0M"

name="token show -o json"
ctl -o json token show 9F2C4A1B3D5E6F70
check_rc 0
check_req GET /v1/tokens/9F2C4A1B3D5E6F70
python3 "$MOCK" jsonfile "$T/out" 'd["name"] == "build-license"' ||
    fail "json output"

name="token show: not found"
ctl token show missing
check_rc 1
check_err "vtokenctl: no token named 'missing' (not_found)"
check_out_empty

name="token show: path segment is encoded"
ctl token show 'a b/c?d'
check_rc 1
check_req GET /v1/tokens/a%20b%2Fc%3Fd
ctl token show ..
check_rc 1
check_req GET /v1/tokens/..

name="token show: control characters from the server are not printed"
ctl token show evil
check_rc 0
check_line "name: evil?]0;pwned?x?"
checks=$((checks + 1))
grep -q "$(printf '\033')" "$T/out" && fail "an escape reached the terminal"

name="token rm"
ctl token rm build-license
check_rc 0
check_req DELETE /v1/tokens/build-license
check_line "token build-license deleted"
ctl -o json token rm build-license
check_rc 0
python3 "$MOCK" jsonfile "$T/out" \
    'd == {"token": "build-license", "deleted": True}' || fail "json output"

name="token image"
python3 "$MOCK" image "$T/want.img"
timeout -k 5 30 "$CTL" --url "$URL" --api-key-file "$T/admin.key" \
    token image build-license >"$T/got.img" 2>"$T/err"
rc=$?
check_rc 0
check_req GET /v1/tokens/build-license/image
checks=$((checks + 1))
cmp -s "$T/want.img" "$T/got.img" || fail "image bytes differ"
checks=$((checks + 1))
[ "$(stat -c %a "$T/got.img")" = 600 ] ||
    fail "image file mode $(stat -c %a "$T/got.img"), want 600 (key inside)"

name="token image: a closed pipe is an error, not a signal"
{ timeout -k 5 30 "$CTL" --url "$URL" --api-key-file "$T/admin.key" \
    token image build-license 2>"$T/err"; echo $? >"$T/pipe.rc"; } |
    head -c 1 >/dev/null
rc=$(cat "$T/pipe.rc")
check_rc 1
check_err "vtokenctl: "

name="token image: not found writes nothing"
timeout -k 5 30 "$CTL" --url "$URL" --api-key-file "$T/admin.key" \
    token image missing >"$T/got.img" 2>"$T/err"
rc=$?
check_rc 1
check_err "vtokenctl: no token named 'missing' (not_found)"
checks=$((checks + 1))
[ ! -s "$T/got.img" ] || fail "an error body went into the image file"

name="token image: over 128 MiB"
timeout -k 5 60 "$CTL" --url "$URL" --api-key-file "$T/admin.key" \
    token image huge >"$T/got.img" 2>"$T/err"
rc=$?
check_rc 1
check_err "larger than 128 MiB"
checks=$((checks + 1))
[ "$(wc -c <"$T/got.img")" -le $((128 << 20)) ] || fail "wrote past the cap"

name="token image: refuses a terminal"
before=$(count)
python3 "$MOCK" tty "$CTL" --url "$URL" --api-key-file "$T/admin.key" \
    token image build-license 2>"$T/err"
rc=$?
check_rc 2
check_err "terminal"
checks=$((checks + 1))
[ "$(count)" = "$before" ] || fail "requested an image for a terminal"

# --- VMs ------------------------------------------------------------------
name="vm add"
ctl vm add ci-1 --addr 127.0.0.2/32 --addr 10.0.0.0/8
check_rc 0
check_req POST /v1/vms \
    '{"name": "ci-1", "addresses": ["127.0.0.2/32", "10.0.0.0/8"]}'
check_line "vm ci-1 added: id 1A2B3C4D5E6F7081"

name="vm add: bad address"
ctl vm add ci-2 --addr bad
check_rc 1
check_err "vtokenctl: invalid CIDR 'bad' (bad_request)"

name="vm list"
ctl vm list
check_rc 0
check_req GET /v1/vms
check_line "ID NAME ADDRESSES TOKENS"
check_line "1A2B3C4D5E6F7081 ci-1 127.0.0.2/32,10.0.0.0/8 0123456789ABCDEF"
python3 "$MOCK" aligned "$T/out" 2>"$T/why" || fail "$(cat "$T/why")"

name="vm list -o json"
ctl -o json vm list
check_rc 0
python3 "$MOCK" jsonfile "$T/out" 'd["vms"][0]["name"] == "ci-1"' ||
    fail "json output"

name="vm show"
ctl vm show ci-1
check_rc 0
check_req GET /v1/vms/ci-1
check_line "addresses: 127.0.0.2/32, 10.0.0.0/8"
check_line "tokens: 0123456789ABCDEF"

name="vm rm"
ctl vm rm ci-1
check_rc 0
check_req DELETE /v1/vms/ci-1
check_line "vm ci-1 deleted"
ctl -o json vm rm ci-1
check_rc 0
python3 "$MOCK" jsonfile "$T/out" 'd == {"vm": "ci-1", "deleted": True}' ||
    fail "json output"
ctl vm rm ci-9
check_rc 1
check_err "vtokenctl: no vm named 'ci-9' (not_found)"

name="vm set-addresses"
ctl vm set-addresses ci-1 --addr 10.1.0.0/16 --addr 127.0.0.9/32
check_rc 0
check_req PATCH /v1/vms/ci-1 '{"addresses": ["10.1.0.0/16", "127.0.0.9/32"]}'
check_line "name: ci-1"
check_line "addresses: 10.1.0.0/16, 127.0.0.9/32"
check_line "tokens: 0123456789ABCDEF"

name="vm set-addresses -o json"
ctl -o json vm set-addresses 1A2B3C4D5E6F7081 --addr 10.2.0.0/16
check_rc 0
check_req PATCH /v1/vms/1A2B3C4D5E6F7081 '{"addresses": ["10.2.0.0/16"]}'
python3 "$MOCK" jsonfile "$T/out" \
    'd["name"] == "ci-1" and d["addresses"] == ["10.2.0.0/16"]' ||
    fail "json output"

name="vm set-addresses: errors from the server"
ctl vm set-addresses ci-1 --addr bad
check_rc 1
check_err "vtokenctl: invalid CIDR 'bad' (bad_request)"
check_out_empty
ctl vm set-addresses 'ci 9' --addr 10.0.0.1
check_rc 1
check_req PATCH /v1/vms/ci%209 '{"addresses": ["10.0.0.1"]}'
check_err "vtokenctl: no vm named 'ci 9' (not_found)"

# --- assignments and sessions ---------------------------------------------
name="assign"
ctl assign build-license ci-1
check_rc 0
check_req POST /v1/assignments '{"token": "build-license", "vm": "ci-1"}'
check_line "token build-license assigned to vm ci-1"

name="assign: already assigned"
ctl assign ci-license ci-1
check_rc 1
check_err "vtokenctl: token 'ci-license' is already assigned (conflict)"

name="assign -o json"
ctl -o json assign 9F2C4A1B3D5E6F70 1A2B3C4D5E6F7081
check_rc 0
python3 "$MOCK" jsonfile "$T/out" \
    'd["token_name"] == "build-license" and d["vm_name"] == "ci-1"' ||
    fail "json output"

name="revoke"
ctl revoke ci-license
check_rc 0
check_req DELETE /v1/assignments/ci-license
check_line "token ci-license revoked"
ctl -o json revoke ci-license
check_rc 0
python3 "$MOCK" jsonfile "$T/out" \
    'd == {"token": "ci-license", "revoked": True}' || fail "json output"
ctl revoke build-license
check_rc 1
check_err "is not assigned (not_found)"

name="sessions"
ctl sessions
check_rc 0
check_req GET /v1/sessions
check_line "TOKEN BUSID VM NODE PEER SINCE IN OUT"
check_line \
    "ci-license 1-4 ci-1 node-a 127.0.0.2:41000 2026-11-26T21:10:00Z 2.0K 1.0M"
check_line \
    "lab-license 2-1 ci-1 node-b 127.0.0.3:41001 2026-11-26T21:11:00Z 512B 0B"
python3 "$MOCK" aligned "$T/out" 2>"$T/why" || fail "$(cat "$T/why")"

name="sessions -o json"
ctl -o json sessions
check_rc 0
python3 "$MOCK" jsonfile "$T/out" 'd["sessions"][0]["urbs"] == 42 and
    d["sessions"][1]["node"] == "node-b" and set(d) == {"sessions"}' ||
    fail "json output"

# --- nodes ----------------------------------------------------------------
name="nodes"
ctl nodes
check_rc 0
check_req GET /v1/nodes
check_line "NAME USBIP API VERSION STATE SESSIONS HEARTBEAT AGE"
check_line "node-a 127.0.0.1:3240 127.0.0.1:3241 0.1.0 up 1 2s"
check_line "node-b 10.0.0.2:3240 10.0.0.2:3241 0.1.0 lost 1 92s"
python3 "$MOCK" aligned "$T/out" 2>"$T/why" || fail "$(cat "$T/why")"

name="nodes -o json"
ctl -o json nodes
check_rc 0
python3 "$MOCK" jsonfile "$T/out" '[(n["name"], n["state"], n["self"])
    for n in d["nodes"]] == [("node-a", "up", True),
    ("node-b", "lost", False)] and set(d) == {"nodes"}' || fail "json output"

# --- audit ----------------------------------------------------------------
name="audit"
ctl audit
check_rc 0
check_req GET '/v1/audit?after=0&limit=100'
check_line "SEQ TIME ACTOR ACTION SUBJECT DETAIL"
check_out '{"vm":"1A2B3C4D5E6F7081"}'
checks=$((checks + 1))
[ "$(awk 'NR > 1' "$T/out" | wc -l)" -eq 5 ] || fail "want 5 records"
python3 "$MOCK" aligned "$T/out" 2>"$T/why" || fail "$(cat "$T/why")"

name="audit --after --limit"
ctl audit --after 2 --limit 2
check_rc 0
check_req GET '/v1/audit?after=2&limit=2'
checks=$((checks + 1))
[ "$(awk 'NR > 1 { printf "%s ", $1 }' "$T/out")" = "3 4 " ] ||
    fail "want records 3 and 4: $(cat "$T/out")"

name="audit -o json"
ctl -o json audit --limit 3
check_rc 0
python3 "$MOCK" jsonfile "$T/out" \
    '[r["seq"] for r in d["records"]] == [1, 2, 3] and d["last_seq"] == 5' ||
    fail "json output"

name="audit verify"
ctl audit verify
check_rc 0
check_req GET /v1/audit/verify
checks=$((checks + 1))
grep -qx "audit chain OK: 5 records, head 5:[0-9a-f]\{64\}" "$T/out" ||
    fail "no 'audit chain OK: 5 records, head 5:HASH' in: $(cat "$T/out")"
head=$(sed -n 's/^audit chain OK: 5 records, head //p' "$T/out")

name="audit verify --head"
ctl audit verify --head "$head"
check_rc 0
check_req GET "/v1/audit/verify?seq=5&hash=${head#5:}"
usage_case audit verify --head 5
usage_case audit verify --head "0:${head#5:}"
usage_case audit verify --head "5:ABC"
ctl -o json audit verify
check_rc 0
python3 "$MOCK" jsonfile "$T/out" 'd["ok"] is True and d["records"] == 5' ||
    fail "json output"

name="audit verify: broken"
python3 "$MOCK" set "$URL" verify=broken
ctl audit verify
check_rc 1
check_line "audit chain BROKEN at record 3: hash mismatch at record 3"
ctl -o json audit verify
check_rc 1
python3 "$MOCK" jsonfile "$T/out" 'd["error"]["seq"] == 3' ||
    fail "json output"
python3 "$MOCK" set "$URL" verify=ok

# Follow: GET /v1/events, the log as Server-Sent Events from
# Last-Event-ID on.  The mock adds a record every 0.2 s (up to 12) to an
# open stream and sends each event in two writes, some with CRLF, some
# with their data over several lines, some with comments and unknown
# fields; every record must come once, in order, on one connection, and
# SIGINT must end it with 0 (--limit, a page size, is accepted and does
# not apply).  --foreground: without it timeout(1) also sends SIGCONT,
# and a SIGCONT that lands while LeakSanitizer's exit-time stop-the-world
# attaches cancels its SIGSTOP and hangs the ASan build (seen under
# load).
name="audit --follow"
python3 "$MOCK" set "$URL" grow=1
before=$(count)
timeout --foreground -k 20 -s INT --preserve-status 4 "$CTL" --url "$URL" \
    --api-key-file "$T/admin.key" audit --follow --limit 2 \
    >"$T/out" 2>"$T/err"
rc=$?
check_rc 0
check_line "SEQ TIME ACTOR ACTION SUBJECT DETAIL"
seqs=$(awk 'NR > 1 { printf "%s ", $1 }' "$T/out")
n=$(echo "$seqs" | wc -w)
checks=$((checks + 1))
if [ "$n" -lt 7 ] || [ "$seqs" != "$(seq 1 "$n" | tr '\n' ' ')" ]; then
	fail "records printed: '$seqs'"
fi
check_out '{"vm":"1A2B3C4D5E6F7081"}'
python3 "$MOCK" paths "$LOG" | tail -n +$((before + 1)) >"$T/paths"
checks=$((checks + 1))
[ "$(cat "$T/paths")" = "GET /v1/events" ] ||
    fail "want one GET /v1/events, not: $(head -n 5 "$T/paths")"
checks=$((checks + 1))
[ "$(python3 "$MOCK" lastids "$LOG" | tail -n 1)" = 0 ] ||
    fail "without --after, want Last-Event-ID: 0 (the whole log)"
checks=$((checks + 1))
python3 -c 'import json, sys
r = [json.loads(line) for line in open(sys.argv[1])][-1]
sys.exit(0 if r["headers"].get("accept") == "text/event-stream" else
         "Accept: %r" % r["headers"].get("accept"))' "$LOG" ||
    fail "not an event stream request"
checks=$((checks + 1))
[ ! -s "$T/err" ] || fail "stderr: $(head -c 300 "$T/err")"

name="audit --follow -o json"
timeout --foreground -k 20 -s INT --preserve-status 3 "$CTL" --url "$URL" \
    --api-key-file "$T/admin.key" -o json audit --follow --after 9 \
    >"$T/out" 2>"$T/err"
rc=$?
check_rc 0
checks=$((checks + 1))
python3 -c '
import json, sys
s = [json.loads(line)["seq"] for line in open(sys.argv[1])]
sys.exit(0 if s == [10, 11, 12] else "seqs %s" % s)' "$T/out" ||
    fail "json lines"
checks=$((checks + 1))
[ "$(python3 "$MOCK" lastids "$LOG" | tail -n 1)" = 9 ] ||
    fail "--after 9: want Last-Event-ID: 9"
python3 "$MOCK" set "$URL" grow=0

# Streams that end: a reset halfway through an event, a 503, a clean
# end, a server that repeats two records (ctl_mock_server.py, "cut").
# Each reconnect must come after a pause and resume after the last
# record printed; nothing twice, nothing lost, nothing half; SIGTERM
# ends it with 0.
name="audit --follow: resumes after lost streams"
python3 "$MOCK" set "$URL" events=cut
"$CTL" --url "$URL" --api-key-file "$T/admin.key" -o json audit --follow \
    >"$T/out" 2>"$T/err" &
follow_pid=$!
i=0
while [ "$(wc -l <"$T/out")" -lt 12 ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -TERM "$follow_pid"
i=0
while kill -0 "$follow_pid" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -KILL "$follow_pid" 2>/dev/null && fail "SIGTERM did not end it"
wait "$follow_pid"
rc=$?
follow_pid=""
cat "$T/out" "$T/err" >>"$T/all-output"
check_rc 0
checks=$((checks + 1))
python3 -c '
import json, sys
s = [json.loads(line)["seq"] for line in open(sys.argv[1])]
sys.exit(0 if s == list(range(1, 13)) else "seqs %s" % s)' "$T/out" ||
    fail "json lines"
checks=$((checks + 1))
[ "$(python3 "$MOCK" lastids "$LOG" | tail -n 5 | tr '\n' ' ')" = \
    "0 3 3 6 8 " ] ||
    fail "Last-Event-IDs: $(python3 "$MOCK" lastids "$LOG" | tail -n 5)"
checks=$((checks + 1))
[ "$(grep -c '^vtokenctl: audit --follow: .*; reconnecting$' "$T/err")" \
    -eq 3 ] || fail "want a line per lost stream: $(cat "$T/err")"
check_err "the server ended the event stream; reconnecting"

# Final: a refusal, and before any stream opened anything at all; one
# request each, no retry, the reason on stderr, exit 1.
for c in "forbidden|role orchestrator may not GET /v1/events (forbidden)" \
    "unavailable|the store cannot be reached (store_unavailable)" \
    "json|an event stream (Content-Type: application/json)" \
    "huge|an event of more than 1048576 bytes refused" \
    "badjson|event 1 (assign) is not an audit record"; do
	mode=${c%%|*}
	name="audit --follow: $mode"
	python3 "$MOCK" set "$URL" events="$mode"
	before=$(count)
	ctl -o json audit --follow
	check_rc 1
	check_err "vtokenctl: "
	check_err "${c#*|}"
	check_out_empty
	checks=$((checks + 1))
	[ "$(count)" -eq $((before + 1)) ] ||
	    fail "$(($(count) - before)) requests, want 1"
done
python3 "$MOCK" set "$URL" events=ok

name="audit --follow: an unknown --token"
ctl audit --follow --token missing
check_rc 1
check_err 'vtokenctl: no token "missing" (not_found)'
check_out_empty

name="audit --follow: the filters"
timeout --foreground -k 20 -s INT --preserve-status 2 "$CTL" --url "$URL" \
    --api-key-file "$T/admin.key" audit --follow --type session \
    --token build-license --vm 'ci 1' --after 12 >"$T/out" 2>"$T/err"
rc=$?
check_rc 0
check_req GET '/v1/events?type=session&token=build-license&vm=ci%201'

# --- errors from the server and the connection -----------------------------
name="wrong key"
printf 'not-the-key\n' >"$T/wrong.key"
timeout -k 5 30 "$CTL" --url "$URL" --api-key-file "$T/wrong.key" \
    token show wrong-key-probe >"$T/out" 2>"$T/err"
rc=$?
cat "$T/out" "$T/err" >>"$T/all-output"
check_rc 1
check_err "vtokenctl: missing or wrong API key (unauthorized)"
checks=$((checks + 1))
grep -q "not-the-key" "$T/out" "$T/err" && fail "the wrong key was printed"
timeout -k 5 30 "$CTL" --url "$URL" --api-key-file "$T/wrong.key" \
    audit --follow --token wrong-key-probe >"$T/out" 2>"$T/err"
rc=$?
cat "$T/out" "$T/err" >>"$T/all-output"
check_rc 1
check_err "vtokenctl: missing or wrong API key (unauthorized)"
check_out_empty

name="missing key file"
before=$(count)
raw --url "$URL" --api-key-file "$T/nonexistent.key" token list
check_rc 1
check_err "vtokenctl: API key file $T/nonexistent.key: No such file"
checks=$((checks + 1))
[ "$(count)" = "$before" ] || fail "a request without a key"

name="empty key file"
: >"$T/empty.key"
raw --url "$URL" --api-key-file "$T/empty.key" token list
check_rc 1
check_err "no key"

name="key with a control character"
printf 'abc\033def\n' >"$T/ctl.key"
raw --url "$URL" --api-key-file "$T/ctl.key" token list
check_rc 1
check_err "not a valid API key"
checks=$((checks + 1))
grep -q "abc" "$T/err" && fail "key content in the message"

name="error without a JSON body"
ctl token show bad-gateway
check_rc 1
check_err "vtokenctl: server answered HTTP 502"

name="invalid JSON on success"
ctl token show garbage
check_rc 1
check_err "vtokenctl: invalid JSON from the server"

name="response over 16 MiB, with a length"
ctl token show huge
check_rc 1
check_err "larger than 16 MiB"

name="response over 16 MiB, without a length"
ctl token show huge-stream
check_rc 1
check_err "larger than 16 MiB"

name="connection refused"
# A port nobody listens on: bound, read back, and closed again.
DEAD=$(python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
raw --url "http://127.0.0.1:$DEAD" --api-key-file "$T/admin.key" token list
check_rc 1
check_err "vtokenctl: "
check_out_empty

# --- defaults from the environment and the working directory --------------
name="VTOKEN_URL and VTOKEN_API_KEY_FILE"
VTOKEN_URL=$URL VTOKEN_API_KEY_FILE=$T/admin.key raw vm list
check_rc 0
check_req GET /v1/vms

name="--url beats VTOKEN_URL"
VTOKEN_URL=http://127.0.0.1:$DEAD raw --url "$URL/" \
    --api-key-file "$T/admin.key" sessions
check_rc 0
check_req GET /v1/sessions

name="./var/admin.key"
mkdir -p "$T/cwd/var"
cp "$T/admin.key" "$T/cwd/var/admin.key"
rc=$(cd "$T/cwd" && VTOKEN_URL=$URL timeout -k 5 30 "$CTL" token list \
    >"$T/out" 2>"$T/err"; echo $?)
check_rc 0
check_req GET /v1/tokens

# --- agent management (docs/AGENT.md) --------------------------------------
name="help: agent commands"
raw help agent
check_rc 0
check_out "agent release add FILE --version VERSION --signature BASE64|@FILE"
check_out "agent release sign FILE --version VERSION --key KEYFILE"
check_out "agent rollout set VERSION [--vm ID|NAME ...] [--percent N]"
check_line " agent rollout stop"
raw help vm
check_out "vm policy ID|NAME --clear"

usage_case policy
usage_case policy set
usage_case policy show extra
usage_case policy set --interval 4
usage_case policy set --interval 3601
usage_case policy set --grace 9
usage_case policy set --grace 1x
usage_case policy set --action reboot
usage_case policy set --vm ci-1 --grace 30
usage_case vm policy
usage_case vm policy ci-1 --clear --action log
usage_case vm policy ci-1 ci-2
usage_case agents extra
usage_case agent rollout
usage_case agent rollout set
usage_case agent rollout set 1.0 --percent 0
usage_case agent rollout set 1.0 --percent 101
usage_case agent rollout show --vm ci-1
usage_case agent rollout stop extra
usage_case agent release add "$T/agent.deb" --version 1.0
usage_case agent release add "$T/agent.deb" --signature @x
usage_case agent release add "$T/agent.deb" --version "1 0" --signature @x
usage_case agent release add "$T/agent.deb" --version 1.0 --signature abc
usage_case agent release sign "$T/agent.deb" --version 1.0
usage_case agent release sign "$T/agent.deb" --key k --version /etc
usage_case agent release rm
usage_case audit --follow --vm ci-1 --vm ci-2

name="policy show"
ctl policy show
check_rc 0
check_req GET /v1/policy
check_line "interval: 30"
check_line "grace: 90"
check_line "action: log"

name="policy set: GET, then PUT the whole policy"
ctl policy set --grace 120
check_rc 0
check_req PUT /v1/policy '{"interval": 30, "grace": 120, "action": "log"}'
check_line "grace: 120"
checks=$((checks + 1))
[ "$(python3 "$MOCK" paths "$LOG" | tail -n 2 | head -n 1)" = \
    "GET /v1/policy" ] || fail "no GET before the PUT"

name="policy set: --action command --command"
ctl policy set --action command --command "systemctl isolate rescue.target"
check_rc 0
check_req PUT /v1/policy '{"interval": 30, "grace": 120,
    "action": "command", "command": "systemctl isolate rescue.target"}'
check_line "command: systemctl isolate rescue.target"

name="policy set: another action drops the stale command"
ctl policy set --action poweroff
check_rc 0
check_req PUT /v1/policy '{"interval": 30, "grace": 120,
    "action": "poweroff"}'

name="policy set: the server's refusal"
ctl policy set --interval 200
check_rc 1
check_err "grace: 10..86400, more than interval (bad_request)"
check_out_empty

name="policy show -o json"
ctl -o json policy show
check_rc 0
python3 "$MOCK" jsonfile "$T/out" \
    'd == {"interval": 30, "grace": 120, "action": "poweroff"}' ||
    fail "json output"

name="vm policy: the default, with its source"
ctl vm policy ci-1
check_rc 0
check_req GET /v1/vms/ci-1/policy
check_line "action: poweroff"
check_line "source: default"

name="vm policy: set from the effective policy, without source"
ctl vm policy ci-1 --interval 10 --grace 20
check_rc 0
check_req PUT /v1/vms/ci-1/policy \
    '{"interval": 10, "grace": 20, "action": "poweroff"}'
check_line "source: vm"

name="vm show: facts and policy"
ctl vm show ci-1
check_rc 0
check_req GET /v1/vms/ci-1
check_line "name: ci-1"
check_line "host name: ci-1.example"
check_line "os: Debian GNU/Linux 12 (bookworm)"
check_line "kernel: 6.1.0-27-amd64"
check_line "machine-id: 0123456789abcdef0123456789abcdef"
check_line "dmi vendor: QEMU"
check_line "dmi product: Standard PC (i440FX + PIIX, 1996)"
check_line "dmi uuid: -"
check_line "agent version: 0.9.0"
check_line "uptime: 1d 02:03:04"
check_line "reported: 2026-12-03T10:00:00Z"
check_line "reported from: 127.0.0.2:52000"
check_line "policy: poweroff, interval 10s, grace 20s (vm)"

name="vm show -o json: facts"
ctl -o json vm show ci-1
check_rc 0
python3 "$MOCK" jsonfile "$T/out" \
    'd["facts"]["uptime"] == 93784 and d["policy"]["source"] == "vm"' ||
    fail "json output"

name="vm policy --clear"
ctl vm policy ci-1 --clear
check_rc 0
check_req DELETE /v1/vms/ci-1/policy
check_line "vm ci-1 policy cleared: the default applies"
ctl -o json vm policy ci-1 --clear
check_rc 0
python3 "$MOCK" jsonfile "$T/out" \
    'd == {"vm": "ci-1", "policy_cleared": True}' || fail "json output"
ctl vm policy ci-1
check_line "source: default"

name="vm policy: no such VM"
ctl vm policy nope --grace 30
check_rc 1
check_req GET /v1/vms/nope/policy
check_err "no vm named 'nope' (not_found)"

name="agents"
ctl agents
check_rc 0
check_req GET /v1/agents
check_line "VM VERSION TARGET LAST UPDATE REASON UPDATE TIME REPORTED"
check_line "ci-1 0.9.0 0.9.1 refused 0.9.1 bad signature 2026-12-03T09:59:00Z 2026-12-03T10:00:00Z"
check_line "00000000000000B2 0.9.1 - - - - 2026-12-03T09:00:00Z"
checks=$((checks + 1))
python3 "$MOCK" aligned "$T/out" 2>"$T/why" || fail "$(cat "$T/why")"
ctl -o json agents
check_rc 0
python3 "$MOCK" jsonfile "$T/out" \
    'len(d["agents"]) == 2 and "next" not in d' || fail "json output"

# release sign: verified by openssl over the same line.
name="agent release sign"
head -c 1000 /dev/urandom >"$T/agent.deb"
openssl genpkey -algorithm ed25519 -out "$T/rel.pem" 2>"$T/openssl.err" ||
    fail "openssl genpkey: $(cat "$T/openssl.err")"
openssl pkey -in "$T/rel.pem" -pubout -out "$T/rel.pub" 2>>"$T/openssl.err"
chmod 600 "$T/rel.pem"
SHA=$(sha256sum "$T/agent.deb" | cut -d ' ' -f 1)
printf 'vtoken-release-v1 1.0~rc1+b %s 1000\n' "$SHA" >"$T/rel.line"
before=$(count)
raw agent release sign "$T/agent.deb" --version 1.0~rc1+b --key "$T/rel.pem"
check_rc 0
checks=$((checks + 1))
[ "$(count)" = "$before" ] || fail "release sign made a request"
cp "$T/out" "$T/rel.sig"
base64 -d "$T/rel.sig" >"$T/rel.sig.bin" 2>/dev/null
checks=$((checks + 1))
openssl pkeyutl -verify -pubin -inkey "$T/rel.pub" -rawin \
    -in "$T/rel.line" -sigfile "$T/rel.sig.bin" >"$T/why" 2>&1 ||
    fail "openssl pkeyutl -verify: $(cat "$T/why")"
raw -o json agent release sign "$T/agent.deb" --version 1.0~rc1+b \
    --key "$T/rel.pem"
check_rc 0
python3 "$MOCK" jsonfile "$T/out" \
    "d['size'] == 1000 and d['sha256'] == '$SHA' and
     d['signature'] == '$(cat "$T/rel.sig")'" || fail "json output"

name="agent release sign: the key's mode, type, missing files"
chmod 640 "$T/rel.pem"
raw agent release sign "$T/agent.deb" --version 1.0 --key "$T/rel.pem"
check_rc 1
check_err "accessible by group or others (mode 0640); chmod 600 it"
check_out_empty
chmod 600 "$T/rel.pem"
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 \
    -out "$T/ec.pem" 2>>"$T/openssl.err"
chmod 600 "$T/ec.pem"
raw agent release sign "$T/agent.deb" --version 1.0 --key "$T/ec.pem"
check_rc 1
check_err "not an Ed25519 key"
raw agent release sign "$T/missing.deb" --version 1.0 --key "$T/rel.pem"
check_rc 1
check_err "missing.deb: No such file or directory"
check_out_empty
# The private key's base64 lines never reach the output.
sed -n '2p' "$T/rel.pem" >"$T/rel.pem.body"

name="agent release add --signature @FILE"
SIG=$(cat "$T/rel.sig")
B64=$(base64 -w 0 "$T/agent.deb")
ctl agent release add "$T/agent.deb" --version 1.0 --signature "@$T/rel.sig"
check_rc 0
check_req POST /v1/agent/releases "{\"version\": \"1.0\",
    \"sha256\": \"$SHA\", \"signature\": \"$SIG\", \"artifact\": \"$B64\"}"
check_line "release 1.0 added: 1000 bytes, sha256 $SHA"

name="agent release add: inline signature, -o json"
ctl -o json agent release add "$T/agent.deb" --version 1.1 \
    --signature "$SIG"
check_rc 0
python3 "$MOCK" jsonfile "$T/out" \
    "d['version'] == '1.1' and d['size'] == 1000" || fail "json output"

name="agent release add: exists"
ctl agent release add "$T/agent.deb" --version 1.0 --signature "$SIG"
check_rc 1
check_err "release '1.0' exists (conflict)"

name="agent release add: unreadable files"
ctl agent release add "$T/agent.deb" --version 2.0 --signature "@$T/nope"
check_rc 1
check_err "nope: No such file or directory"
printf 'not base64!\n' >"$T/bad.sig"
ctl agent release add "$T/agent.deb" --version 2.0 --signature "@$T/bad.sig"
check_rc 1
check_err "is not the base64 of a 64-byte Ed25519 signature"
ctl agent release add "$T/missing.deb" --version 2.0 --signature "$SIG"
check_rc 1
check_out_empty

name="agent release list"
ctl agent release list
check_rc 0
check_req GET /v1/agent/releases
check_line "VERSION SIZE SHA256 CREATED"
check_line "1.0 1000B $SHA 2026-12-03T11:00:00Z"
check_line "1.1 1000B $SHA 2026-12-03T11:00:00Z"

name="agent rollout show: none (vtokend answers 404)"
ctl agent rollout show
check_rc 1
check_req GET /v1/agent/rollout
check_err "vtokenctl: no rollout (not_found)"
check_out_empty

name="agent rollout set"
ctl agent rollout set 1.0 --vm ci-1 --percent 50 --vm 1A2B3C4D5E6F7081
check_rc 0
check_req PUT /v1/agent/rollout '{"version": "1.0",
    "vms": ["ci-1", "1A2B3C4D5E6F7081"], "percent": 50}'
check_line "version: 1.0"
check_line "vms: 1A2B3C4D5E6F7081, 1A2B3C4D5E6F7081"
check_line "percent: 50"
ctl agent rollout set 1.1
check_rc 0
check_req PUT /v1/agent/rollout '{"version": "1.1"}'
check_line "vms: all"
check_line "percent: 100"
ctl agent rollout set 9.9
check_rc 1
check_err "no release '9.9' (not_found)"

name="agent rollout show -o json"
ctl -o json agent rollout show
check_rc 0
python3 "$MOCK" jsonfile "$T/out" \
    'd == {"version": "1.1", "vms": None, "percent": 100}' ||
    fail "json output"

name="agent release rm: targeted"
ctl agent release rm 1.1
check_rc 1
check_req DELETE /v1/agent/releases/1.1
check_err "a rollout targets release '1.1' (conflict)"

name="agent rollout stop"
ctl agent rollout stop
check_rc 0
check_req DELETE /v1/agent/rollout
check_line "rollout stopped"
ctl -o json agent rollout stop
python3 "$MOCK" jsonfile "$T/out" 'd == {"rollout_stopped": True}' ||
    fail "json output"

name="agent release rm"
ctl agent release rm 1.1
check_rc 0
check_req DELETE /v1/agent/releases/1.1
check_line "release 1.1 deleted"
ctl agent release rm 1.1
check_rc 1
check_err "no release '1.1' (not_found)"

# --- https ------------------------------------------------------------------
# openssl is a test dependency (scripts/deps.sh): no silent skip.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$T/tls.key" \
    -out "$T/tls.crt" >"$T/openssl.err" 2>&1 ||
    fail "openssl req: $(head -c 400 "$T/openssl.err")"
{
	TLS_LOG=$T/tls-requests.jsonl
	start_mock "$T/tls-port" "$TLS_LOG" \
	    --tls-cert "$T/tls.crt" --tls-key "$T/tls.key"
	TLS_URL=https://127.0.0.1:$mock_port

	name="https: unknown CA is refused"
	raw --url "$TLS_URL" --api-key-file "$T/admin.key" token list
	check_rc 1
	check_err "vtokenctl: "
	checks=$((checks + 1))
	[ -s "$TLS_LOG" ] && fail "a request got through an unverified TLS"

	name="https: --cacert"
	raw --url "$TLS_URL" --api-key-file "$T/admin.key" \
	    --cacert "$T/tls.crt" token list
	check_rc 0
	check_line "ID NAME BUSID SIZE MODE VM SESSION"

	name="https: --insecure"
	raw --url "$TLS_URL" --api-key-file "$T/admin.key" --insecure \
	    vm list
	check_rc 0
	check_line "ID NAME ADDRESSES TOKENS"
	python3 "$MOCK" auth "$TLS_LOG" "$KEY" 2>"$T/why" ||
	    fail "$(cat "$T/why")"
}

# --- the key --------------------------------------------------------------
name="bearer key on every request"
checks=$((checks + 1))
python3 "$MOCK" auth "$LOG" "$KEY" 2>"$T/why" || fail "$(cat "$T/why")"

name="key never printed"
checks=$((checks + 1))
grep -aqF "$KEY" "$T/all-output" && fail "the API key appeared in output"

name="release key never printed"
checks=$((checks + 1))
grep -aqF -f "$T/rel.pem.body" "$T/all-output" &&
    fail "the release private key appeared in output"

if [ "$failures" -ne 0 ]; then
	echo "test_ctl_mock: $failures of $checks checks failed" >&2
	exit 1
fi
echo "test_ctl_mock: all $checks checks passed"
