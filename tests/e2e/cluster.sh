#!/bin/sh
# e2e.cluster: two vtokend nodes, a and b, on one fresh PostgreSQL
# database (the suite's server, VT_PG_DIR), with the Linux kernel as the
# client, in one guest boot:
#  - the guest attaches a writable token through A, mounts it, writes a
#    file and fsyncs it (SYNCHRONIZE CACHE: durable in the database);
#    B meanwhile refuses the import as busy;
#  - the host kills A with SIGKILL; the guest forgets the dead session
#    and attaches the token through B once A's lease has run out (B
#    answers busy until then), mounts it and finds the file intact, then
#    writes and fsyncs one of its own;
#  - the host revokes through B's API: the disk vanishes in the guest;
#  - the token image read through B holds both files and passes
#    fsck.fat; `vtokenctl audit verify` through B passes; the audit has
#    records of both nodes.
# Timings (attach through A, takeover, revoke to disk gone) are printed
# as E2E-HOST TIME lines.
set -eu
. "$E2E_DIR/lib.sh"

[ -n "${VT_PG_DIR:-}" ] && [ -f "$VT_PG_DIR/dsn" ] ||
    e2e_fail "no PostgreSQL server (VT_PG_DIR; ctest fixture pg)"

work=$(mktemp -d /tmp/vt-e2e-cluster.XXXXXX)
pid_a=""
pid_b=""
watch=""
cleanup() {
	[ -n "$watch" ] && kill "$watch" 2>/dev/null
	[ -n "$pid_a" ] && e2e_stop_daemon "$pid_a"
	[ -n "$pid_b" ] && e2e_stop_daemon "$pid_b"
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

logs() {
	echo "---- node a log ----"; cat "$work/a.log" 2>/dev/null
	echo "---- node b log ----"; cat "$work/b.log" 2>/dev/null
}
die() { logs; e2e_fail "$@"; }

dsn=$(sh "$E2E_DIR/../lib/pg_fixture.sh" createdb "$VT_PG_DIR") ||
    e2e_fail "createdb"

port_a=$(e2e_free_port)
api_a=$(e2e_free_port)
port_b=$(e2e_free_port)
api_b=$(e2e_free_port)
for p in "$port_a" "$api_a" "$port_b" "$api_b"; do
	case $p in 3240|3241) e2e_fail "free port $p is a default port" ;; esac
done

# A first: it creates the schema and the cluster's admin key.
"$VT_BIN/vtokend" --data-dir "$work/a" --listen "127.0.0.1:$port_a" \
    --api-listen "127.0.0.1:$api_a" --store "postgresql:$dsn" --node a \
    2> "$work/a.log" &
pid_a=$!
e2e_wait_port "$api_a" || die "node a: no API"
# Every node appends to the one audit chain with the same key.
mkdir -m 0700 "$work/b"
cp -p "$work/a/audit.key" "$work/b/audit.key" || die "node a wrote no audit.key"
"$VT_BIN/vtokend" --data-dir "$work/b" --listen "127.0.0.1:$port_b" \
    --api-listen "127.0.0.1:$api_b" --store "postgresql:$dsn" --node b \
    2> "$work/b.log" &
pid_b=$!
e2e_wait_port "$api_b" || die "node b: no API"
e2e_wait_port "$port_a" || die "node a: no USB/IP listener"
e2e_wait_port "$port_b" || die "node b: no USB/IP listener"
key="$work/a/admin.key"
[ -s "$key" ] || die "node a wrote no admin.key"

ctl() {	# ctl API_PORT ARGS...
	_p=$1; shift
	"$VT_BIN/vtokenctl" --url "http://127.0.0.1:$_p" --api-key-file "$key" "$@"
}
api_get() {	# api_get API_PORT PATH OUT
	curl -sS -f -o "$3" -H "Authorization: Bearer $(cat "$key")" \
	    "http://127.0.0.1:$1$2"
}
jget() {	# jget FILE KEY
	python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

ctl "$api_a" token create lic-cluster --size 4M --writable >/dev/null ||
    die "token create through a"
ctl "$api_b" vm add guest --addr 127.0.0.1 >/dev/null || die "vm add through b"
ctl "$api_b" assign lic-cluster guest >/dev/null || die "assign through b"
# Both replicas show the assignment (bounded) before the guest boots.
for n in a b; do
	case $n in a) api=$api_a ;; *) api=$api_b ;; esac
	i=0
	while :; do
		ctl "$api" -o json token show lic-cluster > "$work/show.$n.json" ||
		    die "token show through $n"
		[ -n "$(jget "$work/show.$n.json" vm)" ] && break
		i=$((i + 1))
		[ $i -lt 100 ] || die "node $n never saw the assignment"
		sleep 0.1
	done
done
id=$(jget "$work/show.a.json" id)
busid=$(jget "$work/show.a.json" busid)
[ "$(jget "$work/show.a.json" writable)" = True ] || die "token not writable"
[ -n "$id" ] && [ -n "$busid" ] || die "token show: no id/busid"
[ "$(jget "$work/show.b.json" busid)" = "$busid" ] ||
    die "busid differs between nodes: $busid vs $(jget "$work/show.b.json" busid)"

head -c 300000 /dev/urandom > "$work/DATA.BIN"
data_sha=$(e2e_sha256 "$work/DATA.BIN")
note_a="written-through-a-$$"
note_b="written-through-b-$$"

# The host's side of the protocol, driven by the guest's marker lines:
# READY-FOR-KILL -> SIGKILL node a; ATTACHED-B (timed); READY-FOR-REVOKE
# -> revoke through node b.  Every wait is bounded (the guest run's).
log="$work/guest.log"
: > "$log"
(
	wait_marker() {	# wait_marker MARKER SECS
		i=0
		while [ $i -lt $(($2 * 10)) ]; do
			grep -q "^$1" "$log" && return 0
			grep -q '^E2E-EXIT=' "$log" && return 1
			sleep 0.1
			i=$((i + 1))
		done
		return 1
	}
	wait_marker E2E-READY-FOR-KILL 150 || exit 1
	kill -KILL "$pid_a"
	now > "$work/t_kill"
	wait_marker E2E-ATTACHED-B 90 || exit 1
	now > "$work/t_attached_b"
	wait_marker E2E-READY-FOR-REVOKE 60 || exit 1
	now > "$work/t_revoke"
	ctl "$api_b" revoke lic-cluster > "$work/revoke.out" 2>&1 ||
	    echo "revoke failed: $(cat "$work/revoke.out")" > "$work/revoke.err"
	now > "$work/t_revoked"
) &
watch=$!

rc=0
t_boot=$(now)
"$GUEST_RUN" -q -t 170 --log "$log" --port "$port_a" \
    --append usb_storage.delay_use=0 -f "$work/DATA.BIN" \
    -e "PORT_A=$port_a" -e "PORT_B=$port_b" -e "BUSID=$busid" \
    -e "DATA_SHA=$data_sha" -e "NOTE_A=$note_a" -e "NOTE_B=$note_b" \
    "$E2E_DIR/guest_cluster.sh" || rc=$?
t_end=$(now)
wait "$watch" || true
watch=""
if [ $rc -ne 0 ]; then
	echo "---- guest log (non-marker lines) ----"
	grep -v '^E2E-' "$log" | tail -n 80
	die "guest script exit $rc"
fi
[ -f "$work/revoke.err" ] && die "$(cat "$work/revoke.err")"
pid_a=""	# killed by the watcher

# Timings: the guest's (uptime) and the host's (marker lines seen).
sed -n 's/^E2E-TIME /E2E-HOST TIME guest: /p' "$log"
grep -e '^B ' -e '^write_cache' "$log" | sed 's/^/guest: /'
echo "E2E-HOST TIME kill of a -> guest attached through b:" \
    "$(elapsed "$(cat "$work/t_kill")" "$(cat "$work/t_attached_b")") s"
echo "E2E-HOST TIME revoke call through b:" \
    "$(elapsed "$(cat "$work/t_revoke")" "$(cat "$work/t_revoked")") s"
echo "E2E-HOST TIME whole guest run: $(elapsed "$t_boot" "$t_end") s"

kill -0 "$pid_b" 2>/dev/null || die "node b died"

# The database holds what the guest wrote through both nodes.
api_get "$api_b" "/v1/tokens/$id/image" "$work/token.img" ||
    die "image through b"
mcopy -i "$work/token.img" ::DATA.BIN "$work/DATA.back" ||
    die "DATA.BIN missing from the stored image"
[ "$(e2e_sha256 "$work/DATA.back")" = "$data_sha" ] ||
    die "DATA.BIN in the stored image differs"
[ "$(mtype -i "$work/token.img" ::NOTE.TXT)" = "$note_a" ] ||
    die "NOTE.TXT in the stored image differs"
[ "$(mtype -i "$work/token.img" ::NOTEB.TXT)" = "$note_b" ] ||
    die "NOTEB.TXT in the stored image differs"
# A's mount set the FAT dirty bit and A never unmounted; Linux keeps a
# volume it found dirty marked dirty (B's clean umount leaves it), so
# that is the one finding allowed.
if ! fsck.fat -n "$work/token.img" > "$work/fsck.out" 2>&1; then
	if grep -v -e '^fsck.fat ' -e '^Dirty bit is set' \
	    -e 'Automatically removing dirty bit' \
	    -e '^Leaving filesystem unchanged' -e '^$' \
	    -e "^$work/token.img: [0-9]* files, " "$work/fsck.out"; then
		cat "$work/fsck.out"; die "fsck.fat of the stored image"
	fi
fi

# Audit: the chain verifies through b and holds both nodes' records.
ctl "$api_b" audit verify > "$work/verify.out" 2>&1 ||
    { cat "$work/verify.out"; die "audit verify through b"; }
api_get "$api_b" "/v1/audit?limit=1000" "$work/audit.json" ||
    die "audit through b"
python3 - "$work/audit.json" "$id" <<'EOF' || die "audit content"
import json, sys
recs = json.load(open(sys.argv[1]))["records"]
tok = "token:" + sys.argv[2]
seen = {}
for r in recs:
    seen.setdefault(r.get("node"), []).append(r["action"])
    if r.get("subject") == tok:
        print("audit: seq %s node %s %s %s" % (r["seq"], r.get("node"),
              r["action"], json.dumps(r.get("detail"), sort_keys=True)))
need = {"a": ["token.create", "attach"], "b": ["assign", "attach", "revoke"]}
bad = [(n, a) for n, acts in need.items() for a in acts
       if a not in seen.get(n, [])]
if bad:
    print("audit lacks (node, action): %s; has %s" % (bad, seen))
    sys.exit(1)
EOF
echo "E2E-HOST PASS"
