#!/bin/sh
# package.lintian: lintian on the vtokend and vtoken-agent packages in
# DIR: no errors (warnings and overridden tags are printed, not fatal;
# the overrides are packaging/*.lintian-overrides, each explained there).
#   test_lintian.sh DIR
set -eu
. "$(dirname "$0")/lib.sh"
dir=$1

command -v lintian >/dev/null 2>&1 ||
    { echo "SKIP: lintian is not installed (scripts/deps.sh test)"; exit 77; }
f1=$(pkg_file "$dir" vtokend)
f2=$(pkg_file "$dir" vtoken-agent)
set -- "$f1" "$f2"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
timeout 300 lintian --allow-root --fail-on error --display-info \
    --show-overrides "$@" >"$out" 2>&1 || rc=$?
cat "$out"
if grep -q '^E: ' "$out"; then
	fail "lintian reports errors"
fi
[ "$rc" -eq 0 ] || fail "lintian exited with $rc"
echo "summary: $(grep -c '^W: ' "$out" || true) warnings," \
    "$(grep -c '^I: ' "$out" || true) infos," \
    "$(grep -c '^O: ' "$out" || true) overridden, 0 errors"

# What lintian does not check: names, the conffiles, the dependencies.
for deb in "$@"; do
	pkg=$(dpkg-deb -f "$deb" Package)
	case $pkg in
	vtokend) conf=/etc/vtoken/vtokend.yaml ;;
	vtoken-agent) conf=/etc/vtoken/vtoken-agent.yaml ;;
	*) fail "$deb: unexpected package $pkg" ;;
	esac
	dpkg-deb -I "$deb" conffiles | grep -qx "$conf" ||
	    fail "$pkg: $conf is not a conffile"
	dpkg-deb -f "$deb" Depends | grep -q 'libc6' ||
	    fail "$pkg: no shared-library dependencies (dpkg-shlibdeps)"
	ok "$pkg: conffile $conf, Depends: $(dpkg-deb -f "$deb" Depends)"
done
dpkg-deb -f "$1" Depends | grep -q 'adduser' ||
    fail "vtokend does not depend on adduser"
echo "package.lintian: passed"
