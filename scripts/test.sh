#!/bin/sh
# The whole test suite, as CI runs it (.ci/run calls this script):
#   1. installs what the build and the tests need (scripts/deps.sh test),
#   2. builds with -Werror and runs every test (unit, integration,
#      interop with Debian's usbip, e2e with the Linux kernel client),
#   3. rebuilds with ASan+UBSan and runs every test but the qemu guests
#      (they exercise the same daemon code that step 3 covers over
#      loopback, and the kernel is what they test).
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

scripts/deps.sh test

# Every option that decides what runs is set here, so that a reused build
# directory's cache cannot quietly drop tests.
cmake -S . -B build -DVTOKEN_WERROR=ON -DBUILD_TESTING=ON -DVTOKEN_FUZZ=OFF \
    -DVTOKEN_FUZZ_CI=ON -DVTOKEN_SANITIZE= >/dev/null
cmake --build build -j "$jobs"
(cd build && ctest -N -R '^fuzz\.run$' | grep -q 'Total Tests: 1') ||
    { echo "test.sh: fuzz.run is not registered" >&2; exit 1; }
(cd build && ctest -N -L '^package$' | grep -q 'Total Tests: 4') ||
    { echo "test.sh: the package tests are not registered" >&2; exit 1; }
# CI's machine is disposable and runs this as root: the package tests
# install, upgrade and purge the real .debs (tests/package/).
(cd build && VTOKEN_PACKAGE_TESTS=1 ctest --output-on-failure \
    --no-tests=error -j "$jobs")

cmake -S . -B build-asan -DVTOKEN_WERROR=ON -DBUILD_TESTING=ON \
    -DVTOKEN_FUZZ=OFF -DVTOKEN_SANITIZE=address,undefined >/dev/null
cmake --build build-asan -j "$jobs"
(cd build-asan && ctest --output-on-failure --no-tests=error -j "$jobs" \
    -LE e2e)
echo "test.sh: all tests passed"
