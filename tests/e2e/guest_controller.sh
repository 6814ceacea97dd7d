#!/bin/sh
# Runs inside the e2e guest (busybox sh).  See controller.sh.
HOST=${E2E_HOST:-10.0.2.2}
PORT=${E2E_PORT:-3240}
FAILS=0
pass() { echo "E2E-STEP $1 PASS${2:+ $2}"; }
fail() { echo "E2E-STEP $1 FAIL${2:+ $2}"; FAILS=$((FAILS + 1)); }
done_() {
	if [ "$FAILS" -eq 0 ]; then echo "E2E-RESULT PASS"; exit 0; fi
	echo "E2E-RESULT FAIL ($FAILS)"; dmesg | tail -n 40; exit 1
}

usbip --tcp-port "$PORT" list -r "$HOST" > /tmp/list 2>&1
if grep -q "$BUSID:" /tmp/list; then pass list; else
	cat /tmp/list; fail list; done_; fi

usbip --tcp-port "$PORT" attach -r "$HOST" -b "$BUSID" ||
    { fail attach; done_; }
DEV=""
i=0
while [ -z "$DEV" ] && [ $i -lt 300 ]; do
	b=$(ls /sys/block | grep '^sd' | head -n 1)
	[ -n "$b" ] && [ -b "/dev/$b" ] && DEV=$b
	[ -n "$DEV" ] || { sleep 0.1; i=$((i + 1)); }
done
[ -n "$DEV" ] && pass attach "/dev/$DEV" || { fail attach "no disk"; done_; }

mkdir -p /mnt
if mount -t vfat -o ro "/dev/$DEV" /mnt; then
	json=$(cat /mnt/TOKEN.JSON)
	echo "TOKEN.JSON: $json"
	case "$json" in *"\"token_id\":\"$TOKEN_ID\""*) pass token_id ;;
	*) fail token_id ;; esac
	case "$json" in *"\"name\":\"$TOKEN_NAME\""*) pass token_name ;;
	*) fail token_name ;; esac
	[ -s /mnt/TOKEN.KEY ] && pass token_key || fail token_key
	umount /mnt
else
	fail mount
fi

# The host revokes now; the disk must vanish without any guest action.
echo "E2E-READY-FOR-REVOKE"
i=0
while [ -e "/sys/block/$DEV" ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ -e "/sys/block/$DEV" ]; then
	fail revoke_detaches "disk still present after 30 s"
else
	pass revoke_detaches "after ~$((i / 10)).$((i % 10)) s"
fi
done_
