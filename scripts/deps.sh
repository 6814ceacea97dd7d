#!/bin/sh
# Installs the Debian 12 packages vtoken needs.  Idempotent: apt-get runs
# only when something is missing, and "apt-get update" only then.
#   scripts/deps.sh build   # compile and run vtokend, vtokenctl
#   scripts/deps.sh test    # build + everything the test suite uses
set -eu

BUILD="build-essential cmake pkg-config libevent-dev libyaml-dev libssl-dev
libjansson-dev libsqlite3-dev libpq-dev libudev-dev libcurl4-openssl-dev
dosfstools mtools"
# Test peers and tools: Check, Debian's usbip client, the qemu guest that
# runs the Linux kernel client (shared/e2e/guest-run), sanitizer runtimes,
# a PostgreSQL server the tests start themselves (tests/lib/pg_fixture.sh),
# JSON Schema validation of docs/openapi.json and the API's answers
# (tests/openapi/), and Debian's Chromium driven through ChromeDriver by
# Selenium for the web console's browser tests (tests/browser/), and for
# the Debian packages (tests/package/): dpkg-dev (dpkg-shlibdeps for
# CPack), fakeroot, lintian, adduser (the vtokend postinst), systemd
# (systemd-analyze verify), wget (the bootstrap script's fallback), and
# nftables (the agent's network isolation).
TEST="check usbip qemu-system-x86 linux-image-amd64 busybox-static cpio kmod
xz-utils util-linux iproute2 clang libclang-rt-14-dev valgrind
sqlite3 curl openssl python3 python3-jsonschema postgresql postgresql-client
chromium chromium-driver python3-selenium fonts-dejavu-core
dpkg-dev fakeroot lintian adduser systemd wget nftables"

want=$BUILD
[ "${1:-build}" = test ] && want="$BUILD $TEST"

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >&2
