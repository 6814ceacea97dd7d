#!/bin/sh
# Installs the build dependencies, builds, and runs vtokend in the
# foreground on its embedded defaults: state in SQLite under ./var,
# USB/IP on 127.0.0.1:3240, the REST API on 127.0.0.1:3241, and a demo
# token assigned to a VM at 127.0.0.1 (it prints the usbip attach line).
# Stop it with Ctrl-C.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh build
cmake -S . -B build >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)"
exec build/bin/vtokend --demo "$@"
