#!/bin/sh
# Runs inside the e2e guest (busybox sh).  See cluster.sh.
# Env: PORT_A, PORT_B (the two nodes' USB/IP ports), BUSID, DATA_SHA
# (SHA-256 of /e2e/files/DATA.BIN), NOTE_A, NOTE_B (texts to write).
# Markers for the host: E2E-READY-FOR-KILL (written and fsynced through
# A; the host kills A), E2E-ATTACHED-B, E2E-READY-FOR-REVOKE (the host
# revokes through B).  E2E-TIME lines carry the guest's measurements.
HOST=${E2E_HOST:-10.0.2.2}
FAILS=0
pass() { echo "E2E-STEP $1 PASS${2:+ $2}"; }
fail() { echo "E2E-STEP $1 FAIL${2:+ $2}"; FAILS=$((FAILS + 1)); }
done_() {
	if [ "$FAILS" -eq 0 ]; then echo "E2E-RESULT PASS"; exit 0; fi
	echo "E2E-RESULT FAIL ($FAILS)"; dmesg | tail -n 60; exit 1
}
now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# attach PORT: attaches BUSID through PORT and sets DEV to the new
# /dev/sdX (<= 30 s for it to appear).  The tool's output is in /tmp/att.
attach() {
	before=$(ls /sys/block | grep '^sd' | tr '\n' ' ')
	usbip --tcp-port "$1" attach -r "$HOST" -b "$BUSID" > /tmp/att 2>&1 ||
	    return 1
	DEV=""
	i=0
	while [ -z "$DEV" ] && [ $i -lt 300 ]; do
		for b in $(ls /sys/block | grep '^sd'); do
			case " $before " in *" $b "*) ;; *)
				[ -b "/dev/$b" ] && DEV=$b ;; esac
		done
		[ -n "$DEV" ] || { sleep 0.1; i=$((i + 1)); }
	done
	[ -n "$DEV" ] || { echo "attach: no new disk within 30 s"; return 2; }
}

# detach_all: detaches every vhci port still in use.
detach_all() {
	for p in $(usbip port 2>/dev/null | sed -n 's/^Port \([0-9]*\):.*/\1/p'); do
		usbip detach -p "$p" >/dev/null 2>&1 && echo "detached port $p"
	done
}

# wait_gone DEV SECS: waits until /sys/block/DEV is gone; 0 if it went.
wait_gone() {
	i=0
	while [ -e "/sys/block/$1" ] && [ $i -lt $(($2 * 10)) ]; do
		sleep 0.1; i=$((i + 1))
	done
	[ ! -e "/sys/block/$1" ]
}

mkdir -p /mnt

# --- 1. attach through node A, write and fsync ---
t0=$(now)
attach "$PORT_A" || { cat /tmp/att; fail attach_a; done_; }
DEV_A=$DEV
echo "E2E-TIME attach_a=$(since "$t0")"
pass attach_a "/dev/$DEV_A"
wc=$(cat "/sys/block/$DEV_A/queue/write_cache" 2>/dev/null)
echo "write_cache of /dev/$DEV_A: $wc"
mount -t vfat "/dev/$DEV_A" /mnt || { fail mount_a; done_; }
pass mount_a
t0=$(now)
# conv=fsync: fsync() of the file sends SYNCHRONIZE CACHE (WCE=1), which
# the node answers only once the writes are committed to the database.
if dd if=/e2e/files/DATA.BIN of=/mnt/DATA.BIN bs=64k conv=fsync \
    2>/dev/null && printf '%s' "$NOTE_A" > /tmp/note &&
    dd if=/tmp/note of=/mnt/NOTE.TXT conv=fsync 2>/dev/null; then
	pass write_fsync_a
else
	fail write_fsync_a; done_
fi
echo "E2E-TIME write_fsync_a=$(since "$t0")"

# While A holds the session, B must refuse the import (one session per
# token in the cluster).
if attach "$PORT_B"; then
	fail busy_while_a_holds "B attached it while A holds the session"
	done_
fi
ans=$(tr '\n' ' ' < /tmp/att)
echo "B while A holds it: $ans"
case "$ans" in *[Bb]usy*) pass busy_while_a_holds ;;
*) fail busy_while_a_holds "refused, but not as busy" ;; esac

# --- 2. the host kills A (SIGKILL); wait until A is gone ---
echo "E2E-READY-FOR-KILL"
t_ready=$(now)
dead=0
i=0
while [ $i -lt 60 ]; do
	if ! usbip --tcp-port "$PORT_A" list -r "$HOST" >/dev/null 2>&1; then
		dead=1; break
	fi
	sleep 0.5; i=$((i + 1))
done
[ $dead -eq 1 ] || { fail node_a_dead "A still answers after 30 s"; done_; }
t_dead=$(now)
echo "E2E-TIME a_unreachable_after_ready=$(since "$t_ready")"
pass node_a_dead
# The kernel should notice the closed connection and drop the disk; the
# vhci port may already be gone, or not: handle both.
if wait_gone "$DEV_A" 10; then
	pass a_disk_gone "after $(since "$t_dead") s"
else
	echo "disk /dev/$DEV_A still present 10 s after A died; detaching"
fi
usbip port 2>&1 | sed 's/^/usbip port: /'
detach_all
umount /mnt 2>/dev/null || umount -l /mnt || { fail umount_a; done_; }
wait_gone "$DEV_A" 10 || { fail a_disk_gone "still present"; done_; }
pass umount_a

# --- 3. take over through node B: busy until A's lease runs out ---
t0=$(now)
n=0
first=""
ok=0
while :; do
	if attach "$PORT_B"; then ok=1; break; fi
	n=$((n + 1))
	ans=$(tr '\n' ' ' < /tmp/att)
	[ -n "$first" ] || first=$ans
	case "$ans" in *[Bb]usy*) ;; *) echo "B answered: $ans" ;; esac
	[ "$(since "$t_dead" | cut -d. -f1)" -lt 40 ] || break
	sleep 0.5
done
echo "B refused $n time(s) before the takeover; first answer: $first"
[ $ok -eq 1 ] || { cat /tmp/att; fail attach_b "still refused 40 s after A died"; done_; }
echo "E2E-ATTACHED-B"
echo "E2E-TIME takeover_after_a_dead=$(since "$t_dead") retry_loop=$(since "$t0") refusals=$n"
pass attach_b "/dev/$DEV"
DEV_B=$DEV
echo 3 > /proc/sys/vm/drop_caches
if mount -t vfat "/dev/$DEV_B" /mnt; then
	pass mount_b
	sha=$(sha256sum /mnt/DATA.BIN 2>/dev/null | cut -d' ' -f1)
	[ "$sha" = "$DATA_SHA" ] && pass data_intact ||
	    fail data_intact "sha '$sha' != '$DATA_SHA'"
	got=$(cat /mnt/NOTE.TXT 2>/dev/null)
	[ "$got" = "$NOTE_A" ] && pass note_intact ||
	    fail note_intact "'$got' != '$NOTE_A'"
	ls -l /mnt
	# B's own writes are durable too (checked on the host later).
	printf '%s' "$NOTE_B" > /tmp/noteb
	dd if=/tmp/noteb of=/mnt/NOTEB.TXT conv=fsync 2>/dev/null &&
	    pass write_fsync_b || fail write_fsync_b
	umount /mnt && pass umount_b || fail umount_b
	# umount writes the clean state but sends no flush: flush it too.
	dd if="/dev/$DEV_B" of="/dev/$DEV_B" bs=512 count=1 \
	    conv=notrunc,fsync 2>/dev/null && pass flush_b || fail flush_b
else
	fail mount_b
fi

# --- 4. the host revokes through B: the disk must vanish ---
echo "E2E-READY-FOR-REVOKE"
t0=$(now)
if wait_gone "$DEV_B" 30; then
	echo "E2E-TIME revoke_disk_gone_after_ready=$(since "$t0")"
	pass revoke_detaches
else
	fail revoke_detaches "disk still present after 30 s"
fi
done_
