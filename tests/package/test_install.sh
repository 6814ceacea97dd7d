#!/bin/sh
# package.install: the packages on this machine, for real: install, what
# docs/AGENT.md ("Packages and bootstrap") documents (owners, modes, the
# user, the unit, the configuration), upgrade to the next build keeping
# a modified conffile, remove keeping the state, purge removing it.
# Runs only as root with VTOKEN_PACKAGE_TESTS=1 (it changes the system:
# CI's disposable machine); exits 77 (skipped) otherwise.  Any vtokend or
# vtoken-agent package installed before is purged first and after.
#   test_install.sh DIR1 DIR2   (release 1 and release 2 packages)
set -eu
. "$(dirname "$0")/lib.sh"
d1=$1 d2=$2

if ! pkg_real_tests; then
	echo "SKIP: installs packages: run as root with VTOKEN_PACKAGE_TESTS=1" \
	    "on a disposable machine"
	exit 77
fi
s1=$(pkg_file "$d1" vtokend)
a1=$(pkg_file "$d1" vtoken-agent)
s2=$(pkg_file "$d2" vtokend)
a2=$(pkg_file "$d2" vtoken-agent)
v1=$(dpkg-deb -f "$s1" Version)
v2=$(dpkg-deb -f "$s2" Version)
dpkg --compare-versions "$v2" gt "$v1" || fail "$v2 is not newer than $v1"

PKG_LOG=$(mktemp)
pkg_lock
trap 'pkg_purge_all; rm -f "$PKG_LOG"' EXIT
pkg_purge_all

# --- install
pkg_dpkg -i "$s1" "$a1" ||
    fail "dpkg -i (release 1)"
for p in vtokend vtoken-agent; do
	[ "$(pkg_status $p)" = "install ok installed $v1" ] ||
	    fail "$p: $(pkg_status $p)"
done
ok "installed $v1"

pw=$(getent passwd vtoken) || fail "no vtoken user"
uid=$(echo "$pw" | cut -d: -f3)
[ "$uid" -lt 1000 ] || fail "vtoken is not a system user (uid $uid)"
echo "$pw" | grep -q ':/var/lib/vtoken:/usr/sbin/nologin$' ||
    fail "vtoken user: $pw"
getent group vtoken >/dev/null || fail "no vtoken group"
ok "system user: $pw"

check_stat /usr/sbin/vtokend root:root 755
check_stat /usr/bin/vtokenctl root:root 755
check_stat /usr/sbin/vtoken-agent root:root 755
check_stat /etc/vtoken root:root 755
check_stat /etc/vtoken/vtokend.yaml root:vtoken 640
check_stat /etc/vtoken/vtoken-agent.yaml root:root 644
check_stat /lib/systemd/system/vtokend.service root:root 644
check_stat /lib/systemd/system/vtoken-agent.service root:root 644
check_stat /usr/share/vtoken/ui/index.html root:root 644
check_stat /var/lib/vtoken vtoken:vtoken 700
check_stat /var/lib/vtoken-agent root:root 700
ok "owners and modes"
grep -qx 'data_dir: /var/lib/vtoken' /etc/vtoken/vtokend.yaml ||
    fail "installed vtokend.yaml: data_dir is not /var/lib/vtoken"
for b in /usr/sbin/vtokend /usr/bin/vtokenctl /usr/sbin/vtoken-agent; do
	if readelf -S "$b" | grep -q '\.symtab'; then
		fail "$b is not stripped"
	fi
done
ok "binaries stripped"

# The units: systemd-analyze verify needs no running systemd; it warns
# (status 0) about unknown keys, so any output is a failure too.
for u in vtokend vtoken-agent; do
	out=$(timeout 60 systemd-analyze verify \
	    /lib/systemd/system/$u.service 2>&1) ||
	    fail "systemd-analyze verify $u.service: $out"
	[ -z "$out" ] || fail "systemd-analyze verify $u.service: $out"
	[ -L /etc/systemd/system/multi-user.target.wants/$u.service ] ||
	    fail "$u.service is not enabled"
done
ok "units verify and are enabled"

# The installed configuration, read as the unit's user reads it.
out=$(timeout 30 runuser -u vtoken -- /usr/sbin/vtokend -n \
    -c /etc/vtoken/vtokend.yaml 2>&1) || fail "vtokend -n: $out"
[ "$out" = "configuration OK" ] || fail "vtokend -n: $out"
out=$(timeout 30 /usr/sbin/vtoken-agent -n \
    -c /etc/vtoken/vtoken-agent.yaml 2>&1) || fail "vtoken-agent -n: $out"
ok "vtokend -n and vtoken-agent -n accept the installed configuration"
timeout 10 /usr/bin/vtokenctl --help >/dev/null 2>&1 ||
    timeout 10 /usr/bin/vtokenctl -h >/dev/null 2>&1 ||
    fail "vtokenctl does not run"

# With systemd running (not in most CI containers), the daemon must
# come up as vtoken and write its state.
if [ -d /run/systemd/system ]; then
	i=0
	until systemctl is-active --quiet vtokend.service; do
		i=$((i + 1))
		[ $i -le 30 ] || fail "vtokend.service not active after 15 s"
		sleep 0.5
	done
	i=0
	until [ -f /var/lib/vtoken/admin.key ]; do
		i=$((i + 1))
		[ $i -le 30 ] || fail "no /var/lib/vtoken/admin.key after 15 s"
		sleep 0.5
	done
	check_stat /var/lib/vtoken/admin.key vtoken:vtoken 600
	ok "vtokend.service runs as vtoken"
else
	echo "note: systemd is not running: the service was not started"
fi

# --- upgrade: a modified conffile and the state are kept
echo "# changed by package.install" >>/etc/vtoken/vtokend.yaml
echo "# changed by package.install" >>/etc/vtoken/vtoken-agent.yaml
echo marker >/var/lib/vtoken/package-test
chown vtoken:vtoken /var/lib/vtoken/package-test
pkg_dpkg -i "$s2" "$a2" ||
    fail "dpkg -i (release 2)"
for p in vtokend vtoken-agent; do
	[ "$(pkg_status $p)" = "install ok installed $v2" ] ||
	    fail "$p after upgrade: $(pkg_status $p)"
done
grep -q '^# changed by package.install$' /etc/vtoken/vtokend.yaml ||
    fail "upgrade replaced the modified vtokend.yaml"
grep -q '^# changed by package.install$' /etc/vtoken/vtoken-agent.yaml ||
    fail "upgrade replaced the modified vtoken-agent.yaml"
check_stat /etc/vtoken/vtokend.yaml root:vtoken 640
check_stat /var/lib/vtoken vtoken:vtoken 700
[ "$(cat /var/lib/vtoken/package-test)" = marker ] ||
    fail "upgrade lost /var/lib/vtoken/package-test"
[ "$(getent passwd vtoken | cut -d: -f3)" = "$uid" ] ||
    fail "upgrade changed the vtoken user"
ok "upgraded to $v2; modified conffiles, state and user kept"

# --- remove: binaries and units go, configuration and state stay
pkg_dpkg --remove vtokend vtoken-agent || fail "dpkg --remove"
for p in vtokend vtoken-agent; do
	[ "$(pkg_status $p)" = "deinstall ok config-files $v2" ] ||
	    fail "$p after remove: $(pkg_status $p)"
done
for f in /usr/sbin/vtokend /usr/bin/vtokenctl /usr/sbin/vtoken-agent \
    /lib/systemd/system/vtokend.service /usr/share/vtoken/ui/index.html; do
	[ ! -e "$f" ] || fail "remove left $f"
done
[ "$(cat /var/lib/vtoken/package-test)" = marker ] ||
    fail "remove lost /var/lib/vtoken"
[ -d /var/lib/vtoken-agent ] || fail "remove lost /var/lib/vtoken-agent"
[ -f /etc/vtoken/vtokend.yaml ] || fail "remove lost vtokend.yaml"
[ -f /etc/vtoken/vtoken-agent.yaml ] || fail "remove lost vtoken-agent.yaml"
getent passwd vtoken >/dev/null || fail "remove deleted the vtoken user"
ok "removed; configuration, state and user kept"

# --- purge: everything goes
pkg_dpkg --purge vtokend vtoken-agent || fail "dpkg --purge"
for p in vtokend vtoken-agent; do
	[ -z "$(pkg_status $p)" ] ||
	    [ "$(pkg_status $p)" = "unknown ok not-installed " ] ||
	    fail "$p after purge: $(pkg_status $p)"
done
for f in /var/lib/vtoken /var/lib/vtoken-agent /etc/vtoken/vtokend.yaml \
    /etc/vtoken/vtoken-agent.yaml /etc/vtoken \
    /etc/systemd/system/multi-user.target.wants/vtokend.service \
    /etc/systemd/system/multi-user.target.wants/vtoken-agent.service; do
	if [ -e "$f" ] || [ -L "$f" ]; then
		fail "purge left $f"
	fi
done
! getent passwd vtoken >/dev/null || fail "purge left the vtoken user"
! getent group vtoken >/dev/null || fail "purge left the vtoken group"
! dpkg-statoverride --list /etc/vtoken/vtokend.yaml >/dev/null ||
    fail "purge left the statoverride of vtokend.yaml"
ok "purged: state, configuration, user, group, unit links gone"
echo "package.install: passed"
