# Shared by the package tests (sourced): messages, the opt-in check and
# dpkg with a bounded wait for its lock.

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
ok() {
	echo "ok: $*"
}

# pkg_real_tests: true when this run may install packages for real:
# root, and VTOKEN_PACKAGE_TESTS=1 (scripts/test.sh sets it in CI, on a
# disposable machine).
pkg_real_tests() {
	[ "${VTOKEN_PACKAGE_TESTS:-}" = 1 ] && [ "$(id -u)" -eq 0 ]
}

# pkg_lock: one package test at a time on this machine, whatever build
# directory it runs from (fd 9 stays open until the script ends).
pkg_lock() {
	exec 9>/run/vtoken-package-tests.lock
	flock -w 600 9 || fail "another package test holds the lock for 600 s"
}

# pkg_dpkg ARGS...: dpkg, retried while another dpkg or apt holds its
# lock, for at most 300 s.  Output goes to $PKG_LOG.
pkg_dpkg() {
	_n=0
	while :; do
		if DEBIAN_FRONTEND=noninteractive timeout 300 dpkg "$@" \
		    >"$PKG_LOG" 2>&1; then
			return 0
		fi
		if grep -q 'lock' "$PKG_LOG" && [ $_n -lt 150 ]; then
			_n=$((_n + 1))
			sleep 2
			continue
		fi
		cat "$PKG_LOG" >&2
		return 1
	done
}

# pkg_purge_all: best effort, leaves no vtoken package behind.
pkg_purge_all() {
	pkg_dpkg --purge vtokend vtoken-agent || true
}

# pkg_status PKG: dpkg's status words and version, e.g.
# "install ok installed 0.1.0-1", or "" when dpkg does not know it.
pkg_status() {
	dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null || true
}

# check_stat PATH OWNER:GROUP MODE
check_stat() {
	[ -e "$1" ] || fail "$1 missing"
	_got=$(stat -c '%U:%G %a' "$1")
	[ "$_got" = "$2 $3" ] || fail "$1 is $_got, expected $2 $3"
}

# pkg_file DIR PKG: the one PKG_*.deb in DIR.
pkg_file() {
	set -- "$1" "$1/$2"_*.deb
	[ $# -eq 2 ] || fail "more than one $2 package in $1"
	[ -f "$2" ] || fail "no package in $1"
	echo "$2"
}
