#!/bin/sh
# Installs the build dependencies, builds, and runs vtokend in the
# foreground on its embedded defaults (loopback only), serving a demo
# token image.  Stop it with Ctrl-C.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh build
cmake -S . -B build >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)"

mkdir -p var
if [ ! -f var/demo.img ]; then
	tmp=$(mktemp -d)
	printf '{"demo": true, "note": "vtoken demo token"}\n' > "$tmp/TOKEN.TXT"
	mkfs.vfat -C -n VTOKEN var/demo.img 4096 >/dev/null
	mcopy -i var/demo.img "$tmp/TOKEN.TXT" ::TOKEN.TXT
	rm -rf "$tmp"
fi
cat <<MSG
vtokend: serving var/demo.img as busid 1-1 on 127.0.0.1:3240.
Attach it from this host (needs the vhci-hcd kernel module):
    sudo usbip --tcp-port 3240 attach -r 127.0.0.1 -b 1-1
List exported devices:
    usbip --tcp-port 3240 list -r 127.0.0.1
MSG
exec build/bin/vtokend --serve-image var/demo.img:rw
