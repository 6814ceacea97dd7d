#!/bin/sh
# Makes the Debian packages vtokend and vtoken-agent (packaging/cpack.cmake)
# in a build directory of their own, configured for them: binaries under
# /usr, no sanitizers, no tests, whatever the caller's build uses.
#   packaging/build-deb.sh SRC BUILDDIR [RELEASE]...
# For each RELEASE (default 1), the packages VERSION-RELEASE land in
# BUILDDIR/out-RELEASE/*.deb; the programs are compiled once (a second
# release only reconfigures the Debian revision).  "cmake --build B
# --target package-deb" runs it as  build-deb.sh SRC B/deb RELEASE.
set -eu
if [ $# -lt 2 ]; then
	echo "usage: build-deb.sh SRC BUILDDIR [RELEASE]..." >&2
	exit 2
fi
src=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
shift 2
log=$dir/build-deb.log
[ $# -ge 1 ] || set -- 1
jobs=$(nproc 2>/dev/null || echo 2)
# Debian's hardening flags (fortify, relro, bind-now), as a package
# build would use them.
cflags="" ldflags=""
if command -v dpkg-buildflags >/dev/null 2>&1; then
	export DEB_BUILD_MAINT_OPTIONS=hardening=+all
	cflags="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
	ldflags=$(dpkg-buildflags --get LDFLAGS)
fi
for r in "$@"; do
	rm -rf "$dir/out-$r"
	if ! { cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF -DVTOKEN_FUZZ=OFF \
	    -DVTOKEN_SANITIZE= -DVTOKEN_WERROR=OFF -DVTOKEN_DEB_RELEASE="$r" \
	    -DCMAKE_C_FLAGS="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$ldflags" &&
	    cmake --build "$dir" -j "$jobs" &&
	    (cd "$dir" && cpack -G DEB -B "$dir/out-$r"); } >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		echo "build-deb.sh: failed (whole log: $log)" >&2
		exit 1
	fi
	ls "$dir/out-$r"/*.deb
done
