#!/bin/sh
# interop.fsck_fat: token images from vt-mkimage against dosfstools and
# mtools.  For each size: fsck.fat -n finds nothing, the FAT type is the
# expected one, mtype prints TOKEN.JSON and TOKEN.KEY, mdir shows the
# VTOKEN label, and our reader (through pread, as the agent reads a
# block device) gets the same public key back.  Then the other way:
# images changed by mtools (long names, deleted entries) and images made
# by mkfs.vfat must still read.
#
# usage: fsck_fat.sh PATH/TO/vt-mkimage
set -eu

MKIMAGE=${1:?usage: fsck_fat.sh PATH/TO/vt-mkimage}
PATH=$PATH:/usr/sbin:/sbin
export PATH

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

need() {
	command -v "$1" >/dev/null 2>&1 ||
	    fail "$1 not found: install $2 (apt-get install $2)"
}
need fsck.fat dosfstools
need mkfs.vfat dosfstools
need mtype mtools
need mcopy mtools
need mdir mtools
need mdel mtools
need mmd mtools
[ -x "$MKIMAGE" ] || fail "$MKIMAGE is not executable"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vt-fsck.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM

# TOKEN.JSON as vt-mkimage writes it: canonical, keys sorted, no newline.
SHA=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
EXPECT_JSON="{\"ca_sha256\":\"$SHA\",\"controller\":\"https://127.0.0.1:3241\","
EXPECT_JSON="$EXPECT_JSON\"name\":\"interop test token\","
EXPECT_JSON="$EXPECT_JSON\"token_id\":\"tok-interop-1\",\"version\":1}"

# fsck_clean IMG BITS: fsck.fat -n exits 0 and prints nothing but its
# version and the summary line; fsck.fat -v sees BITS-bit FAT entries.
fsck_clean() {
	out=$(fsck.fat -n "$1" 2>&1) || {
		echo "$out" >&2
		fail "fsck.fat -n $1 exited non-zero"
	}
	bad=$(echo "$out" | grep -v -E \
	    '^fsck\.fat [0-9]|: [0-9]+ files, [0-9]+/[0-9]+ clusters$' || true)
	[ -z "$bad" ] || {
		echo "$out" >&2
		fail "fsck.fat -n $1 reported: $bad"
	}
	fsck.fat -n -v "$1" 2>&1 | grep -q "^ *2 FATs, $2 bit entries" ||
	    fail "$1: expected FAT$2"
}

# read_back IMG PUBKEY: our reader finds the token and the same key.
read_back() {
	out=$("$MKIMAGE" -r "$1") || fail "vt-mkimage -r $1"
	echo "$out" | grep -qx "token_id tok-interop-1" ||
	    fail "$1: token_id: $out"
	echo "$out" | grep -qx "pubkey $2" || fail "$1: pubkey: $out"
}

n=0
# In KiB: 1 to 64 MiB, and 1382 KiB, whose FAT12 was once one byte short.
for kib in 1024 1382 2048 3072 4096 8192 16384 32768 49152 65536; do
	mib=$((kib / 1024))
	[ $((mib * 1024)) -eq "$kib" ] || mib=$kib-KiB
	img=$TMP/token-$mib.img
	pub=$("$MKIMAGE" "${kib}K" "$img") || fail "vt-mkimage ${kib}K"
	pub=${pub#pubkey }
	size=$(wc -c <"$img")
	[ "$size" -eq $((kib * 1024)) ] || fail "$img is $size bytes"
	if [ "$kib" -le 8192 ]; then bits=12; else bits=16; fi
	fsck_clean "$img" $bits

	json=$(mtype -i "$img" ::TOKEN.JSON) ||
	    fail "mtype TOKEN.JSON ($mib MiB)"
	[ "$json" = "$EXPECT_JSON" ] || fail "$mib MiB: TOKEN.JSON is '$json'"
	mtype -i "$img" ::TOKEN.KEY | head -1 |
	    grep -qx -- '-----BEGIN PRIVATE KEY-----' ||
	    fail "$mib MiB: TOKEN.KEY is not a PKCS#8 PEM"
	mdir -i "$img" :: | grep -q 'Volume in drive : is VTOKEN' ||
	    fail "$mib MiB: no VTOKEN label in mdir"
	mdir -i "$img" :: | grep -q 'TOKEN *KEY' ||
	    fail "$mib MiB: no TOKEN.KEY in mdir"
	read_back "$img" "$pub"
	echo "ok $kib KiB: FAT$bits, fsck clean, mtype ok, read back"
	n=$((n + 1))
done

# Images changed by mtools: a long file name, a subdirectory and a
# deleted entry (mdel) join the token files; fsck and our reader must
# both still be happy.
for mib in 1 16; do
	img=$TMP/token-$mib.img
	pub=$("$MKIMAGE" -r "$img" | sed -n 's/^pubkey //p')
	echo "some notes" >"$TMP/A long file name.txt"
	echo "gone" >"$TMP/gone.txt"
	mcopy -i "$img" "$TMP/gone.txt" "$TMP/A long file name.txt" :: ||
	    fail "mcopy into $img"
	mmd -i "$img" ::subdir || fail "mmd in $img"
	mdel -i "$img" ::gone.txt || fail "mdel in $img"
	fsck_clean "$img" $([ "$mib" -le 8 ] && echo 12 || echo 16)
	read_back "$img" "$pub"
	echo "ok $mib MiB after mtools changes"
	n=$((n + 1))
done

# Images made by mkfs.vfat, with the token files copied in by mtools.
mtype -i "$TMP/token-1.img" ::TOKEN.JSON >"$TMP/TOKEN.JSON"
mtype -i "$TMP/token-1.img" ::TOKEN.KEY >"$TMP/TOKEN.KEY"
pub=$("$MKIMAGE" -r "$TMP/token-1.img" | sed -n 's/^pubkey //p')
for kib in 1440 4096 20480; do
	img=$TMP/mkfs-$kib.img
	mkfs.vfat -C -n VTOKEN "$img" $kib >/dev/null || fail "mkfs.vfat $kib"
	mcopy -i "$img" "$TMP/A long file name.txt" "$TMP/TOKEN.JSON" \
	    "$TMP/TOKEN.KEY" :: || fail "mcopy into $img"
	read_back "$img" "$pub"
	echo "ok mkfs.vfat $kib KiB image read back"
	n=$((n + 1))
done

echo "interop.fsck_fat: $n checks passed"
