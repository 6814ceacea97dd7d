#!/bin/sh
# make_seeds.sh [BUILD_DIR]: regenerates the generated seeds (seed-*) of
# every corpus in tests/fuzz/corpus/NAME/.  Binary seeds come from
# make_seeds.c (built in BUILD_DIR, default build/, a normal gcc build);
# the config seeds are the unit tests' YAML files, the shipped
# configuration and a few YAML shapes below.  Inputs kept from fuzzing
# (found-*) are left alone.  Deterministic: rerunning changes nothing.
set -eu

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
corpus=$src/tests/fuzz/corpus

cmake --build "$build" --target fuzz_make_seeds >/dev/null
rm -f "$corpus"/*/seed-*
"$build/bin/fuzz_make_seeds" "$corpus"

mkdir -p "$corpus/config"
for f in "$src"/tests/data/config/*.yaml; do
	cp "$f" "$corpus/config/seed-$(basename "$f" .yaml)"
done
cp "$src/conf/vtokend.yaml" "$corpus/config/seed-vtokend"
printf 'usbip: {listen: "[::1]:3240", max_urbs: 0x10}\napi: {max_body: 64K}\n' \
	>"$corpus/config/seed-flow"
printf 'usbip: &u\n  max_urbs: 8\napi: *u\nserve_images: [a.img:rw, b.img:ro, ":rw"]\n' \
	>"$corpus/config/seed-alias"
printf '%%YAML 1.1\n---\nlog_level: debug\n...\n---\nlog_level: info\n' \
	>"$corpus/config/seed-two-docs"
printf 'usbip:\n  listen: 127.0.0.1:99999\n  max_bulk_transfer: 17M\nusb:\n  vendor_id: 0x10000\n  manufacturer: ""\n' \
	>"$corpus/config/seed-bounds"
printf '? [a, b]\n: c\n"usbip": {? x}\n' >"$corpus/config/seed-complex-key"
for t in "$corpus"/*; do
	printf '%s: %s files\n' "$(basename "$t")" "$(ls "$t" | wc -l)"
done
