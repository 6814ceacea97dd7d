#!/bin/sh
# e2e.agent_managed: the agent managed from the centre (docs/AGENT.md),
# in a guest with the kernel USB/IP client, nftables and the real agent.
#  - the operator changes the VM's policy with vtokenctl; the running
#    agent applies it at its next authentication;
#  - after a revoke, isolate-network cuts the guest's other traffic (an
#    HTTP server on a second host port) while the controller stays
#    reachable, and a new assignment plus authentication lifts it;
#  - the facts the controller keeps are the guest's real kernel and
#    qemu's DMI values; changing the guest's machine-id is recorded as
#    vm.identity_changed and raises the identity_changed alarm; the
#    policy that fired is reported once the agent is back.
# Host and guest meet through markers on the console (a watcher job),
# as in agent.sh.  The guest has no module loading of its own, so the
# nf_tables modules of its kernel go in as files (-f) and it insmods
# them in modprobe's order.
set -eu
. "$E2E_DIR/lib.sh"

work=$(mktemp -d /tmp/vt-e2e-managed.XXXXXX)
pid=""
watcher=""
other=""
cleanup() {
	[ -n "$watcher" ] && kill "$watcher" 2>/dev/null || true
	[ -n "$other" ] && kill "$other" 2>/dev/null || true
	[ -n "$pid" ] && e2e_stop_daemon "$pid"
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

other_port=$(e2e_free_port)
mkdir -p "$work/www" "$work/mods"
e2e_agent_vtokend "$work"
export VTOKEN_URL="http://127.0.0.1:$api_port"
export VTOKEN_API_KEY_FILE="$work/var/admin.key"
ctl() { "$VT_BIN/vtokenctl" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# The second host service the isolation must cut.
echo ok > "$work/www/ok.txt"
python3 -m http.server --bind 127.0.0.1 --directory "$work/www" \
    "$other_port" > "$work/other.log" 2>&1 &
other=$!
e2e_wait_port "$other_port" || e2e_fail "no second service"

t1_json=$(ctl -o json token create t1) || e2e_fail "create t1"
t1=$(echo "$t1_json" | json 'd["id"]')
t1_busid=$(echo "$t1_json" | json 'd["busid"]')
ctl vm add guest --addr 127.0.0.1 > /dev/null || e2e_fail "vm add"
ctl assign t1 guest > /dev/null || e2e_fail "assign"
# Rounds every 5 s from the start, so the next change lands quickly.
ctl vm policy guest --interval 5 --grace 30 --action log > /dev/null ||
    e2e_fail "first policy"

# The guest kernel (as guest-run picks it) and its nf_tables modules.
kver=""
for v in $(ls /lib/modules | sort -V); do
	[ -e "/boot/vmlinuz-$v" ] &&
	    ls "/lib/modules/$v"/kernel/drivers/usb/usbip/vhci-hcd.ko* \
	    > /dev/null 2>&1 && kver=$v
done
[ -n "$kver" ] || e2e_fail "no guest kernel"
mods=""
fargs=""
for path in $(modprobe -S "$kver" --show-depends nft_ct |
    awk '$1 == "insmod" { print $2 }'); do
	name=$(basename "$path" | sed 's/\.ko.*$//')
	case $path in
	*.xz) xz -dc "$path" > "$work/mods/$name.ko" ;;
	*.zst) zstd -qdc "$path" > "$work/mods/$name.ko" ;;
	*.gz) gzip -dc "$path" > "$work/mods/$name.ko" ;;
	*) cp "$path" "$work/mods/$name.ko" ;;
	esac
	mods="$mods $name"
	fargs="$fargs -f $work/mods/$name.ko:/e2e/files/mods/$name.ko"
done
[ -n "$mods" ] || e2e_fail "no nf_tables modules for $kver"

# The operator's part, driven by the guest's markers (<= 280 s).
: > "$work/console.log"
(
	done_policy=""; done_revoke=""; i=0
	while [ $i -lt 2800 ]; do
		if [ -z "$done_policy" ] &&
		    grep -q '^E2E-MANAGED-POLICY-NOW' "$work/console.log"; then
			ctl vm policy guest --interval 5 --grace 10 \
			    --action isolate-network > "$work/policy.out" 2>&1
			done_policy=1
		fi
		if [ -z "$done_revoke" ] &&
		    grep -q '^E2E-MANAGED-REVOKE-NOW' "$work/console.log"; then
			ctl revoke t1 > "$work/revoke.out" 2>&1
			done_revoke=1
		fi
		if grep -q '^E2E-MANAGED-REASSIGN-NOW' "$work/console.log"; then
			ctl assign t1 guest > "$work/reassign.out" 2>&1
			exit 0
		fi
		sleep 0.1; i=$((i + 1))
	done
) &
watcher=$!

rc=0
# shellcheck disable=SC2086  # fargs: one -f per module
"$GUEST_RUN" -q -t 360 --port "$port" --log "$work/console.log" \
    --append usb_storage.delay_use=0 \
    -F "$VT_BIN/vtoken-agent" -F /usr/sbin/nft $fargs \
    -e "T1=$t1" -e "T1_BUSID=$t1_busid" -e "API_PORT=$api_port" \
    -e "OTHER_PORT=$other_port" -e "MODS=$mods" \
    "$E2E_DIR/guest_agent_managed.sh" || rc=$?
if [ $rc -ne 0 ]; then
	echo "---- vtokend log ----"; tail -n 40 "$work/vtokend.log"
	e2e_fail "guest script exit $rc"
fi
grep -q 'isolate-network' "$work/policy.out" ||
    e2e_fail "vtokenctl vm policy: $(cat "$work/policy.out")"

# What the controller knows of the guest is what the guest said it is.
fact() { sed -n "s/^E2E-FACT $1=//p" "$work/console.log" | tr -d '\r' |
    head -n 1; }
ctl -o json vm show guest > "$work/vm.json" || e2e_fail "vm show"
python3 - "$work/vm.json" "$(fact kernel)" "$(fact dmi_vendor)" \
    "$(fact dmi_product)" "$(fact dmi_uuid)" "$(fact machine_id)" \
    <<'EOF' || e2e_fail "facts"
import json, sys
f = json.load(open(sys.argv[1]))["facts"]
want = dict(zip(["kernel", "dmi_vendor", "dmi_product", "dmi_uuid",
                 "machine_id"], sys.argv[2:]))
bad = 0
for k, v in want.items():
    # qemu gives no system UUID unless told (-uuid): then both are "".
    ok = (v != "" or k == "dmi_uuid") and f.get(k) == v
    print("E2E-HOST fact %s: %r %s" % (k, f.get(k), "ok" if ok else
          "WANT %r" % v))
    bad += not ok
print("E2E-HOST fact os: %r, agent_version: %r, reported: %r" %
      (f.get("os"), f.get("agent_version"), f.get("reported")))
sys.exit(1 if bad or not f.get("agent_version") else 0)
EOF
ctl vm show guest | grep -qi 'QEMU' || e2e_fail "vm show shows no DMI vendor"

ctl -o json audit --limit 1000 > "$work/audit.json"
python3 - "$work/audit.json" <<'EOF' || e2e_fail "audit"
import json, sys
recs = json.load(open(sys.argv[1]))["records"]
def n(what, **kw):
    return sum(1 for r in recs if r["action"] == what and all(
        (r.get("detail") or {}).get(k) == v for k, v in kw.items()))
checks = {
    "policy.set by the operator": n("policy.set") >= 2,
    "revoke": n("revoke") == 1,
    "vm.identity_changed": n("vm.identity_changed") == 1,
    "agent.policy_fired isolate-network": n("agent.policy_fired",
        action="isolate-network") == 1,
}
for k, ok in checks.items():
    print("E2E-HOST audit %s: %s" % (k, "ok" if ok else "MISSING"))
sys.exit(0 if all(checks.values()) else 1)
EOF
i=0
until ctl alarms --state active | grep -q identity_changed; do
	i=$((i + 1)); [ $i -lt 50 ] || e2e_fail "no identity_changed alarm"
	sleep 0.1
done
kill -0 "$pid" || e2e_fail "vtokend died"
echo "E2E-HOST PASS"
