# Shared host-side helpers for the e2e tests (sourced, POSIX sh).
# Needs: VT_BIN (build/bin), GUEST_RUN (shared/e2e/guest-run).

e2e_fail() { echo "E2E-HOST FAIL: $*" >&2; exit 1; }

# A free loopback TCP port.
e2e_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# e2e_wait_port PORT: waits (<= 10 s) until something listens on it.
e2e_wait_port() {
	i=0
	while [ $i -lt 100 ]; do
		if python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$1)))" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# e2e_make_fat IMG SIZE_KIB FILE...: a superfloppy FAT image with files.
e2e_make_fat() {
	img=$1; kib=$2; shift 2
	rm -f "$img"
	mkfs.vfat -C -n VTOKEN "$img" "$kib" >/dev/null || e2e_fail "mkfs.vfat"
	for f in "$@"; do
		mcopy -i "$img" "$f" "::$(basename "$f")" || e2e_fail "mcopy $f"
	done
}

e2e_sha256() { sha256sum "$1" | cut -d' ' -f1; }

# e2e_stop_daemon PID: SIGTERM, then wait (<= 10 s), then SIGKILL.
e2e_stop_daemon() {
	kill -TERM "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null || true
}

# e2e_agent_vtokend WORK: vtokend on free ports with agent rate limits
# for rounds every few seconds, state in WORK/var, log in
# WORK/vtokend.log; sets pid, port, api_port and waits (<= 5 s) for
# WORK/var/admin.key.  The caller's cleanup stops $pid.
e2e_agent_vtokend() {
	port=$(e2e_free_port)
	api_port=$(e2e_free_port)
	mkdir -p "$1/var"
	cat > "$1/vtokend.yaml" <<EOF
agent:
  rate_per_token: 600
  rate_per_address: 6000
EOF
	"$VT_BIN/vtokend" -c "$1/vtokend.yaml" --data-dir "$1/var" \
	    --listen "127.0.0.1:$port" --api-listen "127.0.0.1:$api_port" \
	    2> "$1/vtokend.log" &
	pid=$!
	e2e_wait_port "$api_port" ||
	    { cat "$1/vtokend.log"; e2e_fail "no API"; }
	_i=0
	while [ ! -s "$1/var/admin.key" ] && [ $_i -lt 50 ]; do
		sleep 0.1; _i=$((_i + 1))
	done
	[ -s "$1/var/admin.key" ] || e2e_fail "no admin.key"
}
