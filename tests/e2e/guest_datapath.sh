#!/bin/sh
# Runs inside the e2e guest (busybox sh).  See datapath.sh.
HOST=${E2E_HOST:-10.0.2.2}
PORT=${E2E_PORT:-3240}
FAILS=0
pass() { echo "E2E-STEP $1 PASS${2:+ $2}"; }
fail() { echo "E2E-STEP $1 FAIL${2:+ $2}"; FAILS=$((FAILS + 1)); }
done_() {
	if [ "$FAILS" -eq 0 ]; then echo "E2E-RESULT PASS"; exit 0; fi
	echo "E2E-RESULT FAIL ($FAILS)"; dmesg | tail -n 60; exit 1
}

# attach BUSID: attaches and sets DEV to the new /dev/sdX (<= 30 s).
attach() {
	before=$(ls /sys/block | grep '^sd' | tr '\n' ' ')
	usbip --tcp-port "$PORT" attach -r "$HOST" -b "$1" || return 1
	DEV=""
	i=0
	while [ -z "$DEV" ] && [ $i -lt 300 ]; do
		for b in $(ls /sys/block | grep '^sd'); do
			case " $before " in *" $b "*) ;; *)
				[ -b "/dev/$b" ] && DEV=/dev/$b ;; esac
		done
		[ -n "$DEV" ] || { sleep 0.1; i=$((i + 1)); }
	done
	[ -n "$DEV" ]
}

# detach_all: detaches every vhci port in use (<= 10 s for the disk to go).
detach_all() {
	for p in $(usbip port 2>/dev/null | sed -n 's/^Port \([0-9]*\):.*/\1/p'); do
		usbip detach -p "$p" >/dev/null 2>&1
	done
	i=0
	while ls /sys/block | grep -q '^sd' && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	! ls /sys/block | grep -q '^sd'
}

usbip --tcp-port "$PORT" list -r "$HOST" > /tmp/list 2>&1
cat /tmp/list
if grep -q '1-1:' /tmp/list && grep -q '1-2:' /tmp/list &&
    grep -q '(08/06/50)' /tmp/list && grep -q '1209:0001' /tmp/list; then
	pass list
else
	fail list; done_
fi

# --- 1-1: writable ---
attach 1-1 && pass attach_rw "$DEV" || { fail attach_rw; done_; }
sha=$(dd if="$DEV" bs=64k 2>/dev/null | sha256sum | cut -d' ' -f1)
[ "$sha" = "$SHA_RW" ] && pass sha_rw || fail sha_rw "$sha != $SHA_RW"
mkdir -p /mnt
if mount -t vfat "$DEV" /mnt; then
	pass mount_rw
	[ "$(cat /mnt/TOKEN.TXT)" = "$EXPECT_TOKEN" ] && pass read_file ||
	    fail read_file
	# conv=fsync: fsync() makes Linux send SYNCHRONIZE CACHE (WCE=1).
	printf '%s' "$NEW_TEXT" > /tmp/new
	dd if=/tmp/new of=/mnt/NEWFILE.TXT conv=fsync 2>/dev/null &&
	    pass write_fsync || fail write_fsync
	umount /mnt && pass umount_rw || fail umount_rw
else
	fail mount_rw
fi
detach_all && pass detach_rw || fail detach_rw

# --- 1-2: read-only ---
attach 1-2 && pass attach_ro "$DEV" || { fail attach_ro; done_; }
ro=$(cat /sys/block/${DEV#/dev/}/ro)
[ "$ro" = 1 ] && pass write_protected || fail write_protected "ro=$ro"
sha=$(dd if="$DEV" bs=64k 2>/dev/null | sha256sum | cut -d' ' -f1)
[ "$sha" = "$SHA_RO" ] && pass sha_ro || fail sha_ro "$sha != $SHA_RO"
if dd if=/dev/zero of="$DEV" bs=512 count=1 conv=fsync 2>/dev/null; then
	fail write_refused "raw write succeeded"
else
	pass write_refused
fi
if mount -t vfat -o ro "$DEV" /mnt; then
	[ "$(cat /mnt/TOKEN.TXT)" = "$EXPECT_TOKEN" ] && pass read_ro ||
	    fail read_ro
	umount /mnt
else
	fail mount_ro
fi
detach_all && pass detach_ro || fail detach_ro
done_
