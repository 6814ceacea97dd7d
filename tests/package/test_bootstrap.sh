#!/bin/sh
# package.bootstrap: packaging/bootstrap.sh.in, filled in here as the
# controller fills it (sed on the placeholders), against local static
# file servers (HTTP, and HTTPS with a certificate pin) on free ports of
# 127.0.0.1.  With --verify-only, as any user: a good release verifies
# (curl, and wget when curl is absent); a bad signature, a signature by
# another key, a wrong SHA-256, a wrong size, a tampered artifact, a
# missing release key, a wrong pin, a pin over http and an unfilled
# template are refused.  As root with VTOKEN_PACKAGE_TESTS=1 it also
# installs for real and checks the configuration written, then purges.
#   test_bootstrap.sh TEMPLATE DIR   (DIR: the vtoken-agent package)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
template=$1 dir=$2

for t in openssl python3 curl wget; do
	command -v $t >/dev/null 2>&1 ||
	    { echo "SKIP: $t is not installed (scripts/deps.sh test)"; exit 77; }
done
deb=$(pkg_file "$dir" vtoken-agent)

w=$(mktemp -d "${TMPDIR:-/tmp}/vt-bootstrap.XXXXXX")
pids=""
PKG_LOG=$w/dpkg.log
real=0
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	[ "$real" -eq 0 ] || pkg_purge_all
	rm -rf "$w"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# serve NAME DIR [CERT KEY]: a server; its port in $w/NAME.port.
serve() {
	python3 "$here/http_server.py" "$2" "$w/$1.port" ${3:+"$3"} \
	    ${4:+"$4"} 2>"$w/$1.log" &
	pids="$pids $!"
	i=0
	while [ ! -s "$w/$1.port" ]; do
		i=$((i + 1))
		[ $i -le 100 ] || fail "server $1 did not start in 10 s"
		sleep 0.1
	done
}

# Keys: the operator's release key and someone else's.
openssl genpkey -algorithm ed25519 -out "$w/release.key" 2>/dev/null
openssl pkey -in "$w/release.key" -pubout -out "$w/release.pub"
openssl genpkey -algorithm ed25519 -out "$w/other.key" 2>/dev/null
openssl pkey -in "$w/other.key" -pubout -out "$w/other.pub"

# The release, served where the controller serves it.
ver=9.9.9-test
path=/v1/agent/releases/$ver/artifact
mkdir -p "$w/www/v1/agent/releases/$ver" "$w/tampered/v1/agent/releases/$ver"
cp "$deb" "$w/www$path"
sha=$(openssl dgst -sha256 -r "$deb" | cut -d' ' -f1)
size=$(wc -c <"$deb" | tr -d ' ')
# Same size, one byte changed (in the last member's data).
cp "$deb" "$w/tampered$path"
printf 'X' | dd of="$w/tampered$path" bs=1 seek=$((size - 2)) conv=notrunc \
    2>/dev/null
cmp -s "$deb" "$w/tampered$path" && fail "tampering did not change a byte"

# sign KEY VERSION SHA SIZE: base64 of the signature over the release line.
sign() {
	printf 'vtoken-release-v1 %s %s %s\n' "$2" "$3" "$4" >"$w/msg"
	openssl pkeyutl -sign -inkey "$1" -rawin -in "$w/msg" -out "$w/sig"
	openssl base64 -A -in "$w/sig"
}
good_sig=$(sign "$w/release.key" "$ver" "$sha" "$size")

# fill OUT URL PIN VERSION SHA SIZE SIG PATH: the template, filled in.
fill() {
	sed -e "s|@CONTROLLER_URL@|$2|" -e "s|@CA_SHA256@|$3|" \
	    -e "s|@RELEASE_VERSION@|$4|" -e "s|@RELEASE_SHA256@|$5|" \
	    -e "s|@RELEASE_SIZE@|$6|" -e "s|@RELEASE_SIGNATURE@|$7|" \
	    -e "s|@RELEASE_URL@|$8|" "$template" >"$1"
	if grep -q '@[A-Z_0-9]*@' "$1"; then
		fail "placeholder left in $1"
	fi
}

# expect STATUS PATTERN NAME CMD...: run CMD, check status and output.
expect() {
	_st=$1 _pat=$2 _name=$3
	shift 3
	_rc=0
	timeout 120 "$@" >"$w/out" 2>&1 || _rc=$?
	if [ "$_rc" -ne "$_st" ] || ! grep -q -- "$_pat" "$w/out"; then
		cat "$w/out" >&2
		fail "$_name: status $_rc (expected $_st), output must match" \
		    "\"$_pat\""
	fi
	ok "$_name"
}

serve plain "$w/www"
serve bad "$w/tampered"
url=http://127.0.0.1:$(cat "$w/plain.port")

fill "$w/good.sh" "$url" "" "$ver" "$sha" "$size" "$good_sig" "$path"
expect 0 "verified agent $ver" "good release verifies (curl)" \
    sh "$w/good.sh" --verify-only --release-key "$w/release.pub"
expect 0 "verified agent $ver" "key from VTOKEN_RELEASE_KEY" \
    env VTOKEN_RELEASE_KEY="$w/release.pub" sh "$w/good.sh" --verify-only

# wget when there is no curl: a PATH of everything but curl.
mkdir "$w/bin"
for d in /usr/local/bin /usr/bin /bin /usr/sbin /sbin; do
	for f in "$d"/*; do
		b=${f##*/}
		[ "$b" != curl ] && [ -x "$f" ] && [ ! -e "$w/bin/$b" ] &&
		    ln -s "$f" "$w/bin/$b"
	done
done
expect 0 "verified agent $ver" "good release verifies (wget, no curl)" \
    env PATH="$w/bin" sh "$w/good.sh" --verify-only \
    --release-key "$w/release.pub"

expect 1 "no release public key" "no release key: refused" \
    env -u VTOKEN_RELEASE_KEY sh "$w/good.sh" --verify-only
expect 1 "not an Ed25519 public key" "a private key file as key: refused" \
    sh "$w/good.sh" --verify-only --release-key "$w/release.key"
expect 1 "refused: bad signature" "someone else's key: refused" \
    sh "$w/good.sh" --verify-only --release-key "$w/other.pub"

fill "$w/othersig.sh" "$url" "" "$ver" "$sha" "$size" \
    "$(sign "$w/other.key" "$ver" "$sha" "$size")" "$path"
expect 1 "refused: bad signature" "signed by another key: refused" \
    sh "$w/othersig.sh" --verify-only --release-key "$w/release.pub"

fill "$w/othver.sh" "$url" "" "9.9.8" "$sha" "$size" "$good_sig" \
    "$path"
expect 1 "refused: bad signature" "signature of another version: refused" \
    sh "$w/othver.sh" --verify-only --release-key "$w/release.pub"

# A wrong hash or size, signed with the right key: the checks before the
# signature refuse it.
badsha=$(printf 'other' | openssl dgst -sha256 -r | cut -d' ' -f1)
fill "$w/badsha.sh" "$url" "" "$ver" "$badsha" "$size" \
    "$(sign "$w/release.key" "$ver" "$badsha" "$size")" "$path"
expect 1 "refused: SHA-256" "wrong SHA-256: refused" \
    sh "$w/badsha.sh" --verify-only --release-key "$w/release.pub"
fill "$w/badsize.sh" "$url" "" "$ver" "$sha" "$((size + 1))" \
    "$(sign "$w/release.key" "$ver" "$sha" "$((size + 1))")" "$path"
expect 1 "refused: size" "wrong size: refused" \
    sh "$w/badsize.sh" --verify-only --release-key "$w/release.pub"

fill "$w/tampered.sh" "http://127.0.0.1:$(cat "$w/bad.port")" "" "$ver" "$sha" \
    "$size" "$good_sig" "$path"
expect 1 "refused: SHA-256" "tampered artifact: refused" \
    sh "$w/tampered.sh" --verify-only --release-key "$w/release.pub"

fill "$w/pinhttp.sh" "$url" "$sha" "$ver" "$sha" "$size" "$good_sig" \
    "$path"
expect 1 "needs an https" "a pin with an http URL: refused" \
    sh "$w/pinhttp.sh" --verify-only --release-key "$w/release.pub"
expect 1 "bad controller URL" "unfilled template: refused" \
    sh "$template" --verify-only --release-key "$w/release.pub"
fill "$w/quote.sh" "$url" "" "$ver" "$sha" "$size" "$good_sig" \
    "/v1/x;y"
expect 1 "bad release path" "odd release path: refused" \
    sh "$w/quote.sh" --verify-only --release-key "$w/release.pub"

# HTTPS with the certificate pin (SHA-256 of the DER certificate).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$w/tls.key" -out "$w/tls.crt" -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 2>/dev/null
pin=$(openssl x509 -in "$w/tls.crt" -outform DER |
    openssl dgst -sha256 -r | cut -d' ' -f1)
serve tls "$w/www" "$w/tls.crt" "$w/tls.key"
turl=https://127.0.0.1:$(cat "$w/tls.port")
fill "$w/tls.sh" "$turl" "$pin" "$ver" "$sha" "$size" "$good_sig" "$path"
expect 0 "verified agent $ver" "https with the right pin verifies (curl)" \
    sh "$w/tls.sh" --verify-only --release-key "$w/release.pub"
expect 0 "verified agent $ver" "https with the right pin verifies (wget)" \
    env PATH="$w/bin" sh "$w/tls.sh" --verify-only \
    --release-key "$w/release.pub"
fill "$w/tlsbad.sh" "$turl" "$badsha" "$ver" "$sha" "$size" "$good_sig" \
    "$path"
expect 1 "does not match the pin" "https with another pin: refused" \
    sh "$w/tlsbad.sh" --verify-only --release-key "$w/release.pub"
fill "$w/tlsnopin.sh" "$turl" "" "$ver" "$sha" "$size" "$good_sig" "$path"
expect 1 "download failed" "https, no pin, untrusted CA: refused" \
    sh "$w/tlsnopin.sh" --verify-only --release-key "$w/release.pub"

if ! pkg_real_tests; then
	echo "note: the real install was skipped (root and" \
	    "VTOKEN_PACKAGE_TESTS=1 run it)"
	echo "package.bootstrap: passed"
	exit 0
fi

# For real: install, then the configuration written.
pkg_lock
real=1
pkg_purge_all
expect 0 "wrote /etc/vtoken/vtoken-agent.yaml" "bootstrap installs" \
    sh "$w/tls.sh" --release-key "$w/release.pub"
[ "$(pkg_status vtoken-agent)" = \
    "install ok installed $(dpkg-deb -f "$deb" Version)" ] ||
    fail "vtoken-agent: $(pkg_status vtoken-agent)"
check_stat /etc/vtoken/vtoken-agent.yaml root:root 644
check_stat /etc/vtoken/release.pub root:root 644
cmp -s /etc/vtoken/release.pub "$w/release.pub" ||
    fail "/etc/vtoken/release.pub is not the operator's key"
conf=/etc/vtoken/vtoken-agent.yaml
grep -qx "controller: \"$turl\"" $conf || fail "$conf: controller"
grep -qx "ca_sha256: \"$pin\"" $conf || fail "$conf: ca_sha256"
grep -qx "release_key: /etc/vtoken/release.pub" $conf ||
    fail "$conf: release_key"
grep -qx "state_dir: /var/lib/vtoken-agent" $conf || fail "$conf: state_dir"
if grep -qi 'private\|secret\|key:.*[A-Za-z0-9+/]\{40\}' $conf; then
	fail "$conf holds something secret-looking"
fi
ok "configuration: controller, pin and release key, 0644 root"
# The agent accepts it once it knows release_key (the packaged default
# names the key when it does).
if grep -q '^release_key:' /etc/vtoken/vtoken-agent.yaml.dpkg-old; then
	out=$(timeout 30 /usr/sbin/vtoken-agent -n -c $conf 2>&1) ||
	    fail "vtoken-agent -n: $out"
	ok "vtoken-agent -n accepts the bootstrap configuration"
else
	echo "note: this agent has no release_key key yet: -n not checked"
fi
pkg_dpkg --purge vtoken-agent || fail "purge"
[ ! -e /etc/vtoken/release.pub ] || fail "purge left release.pub"
ok "purged"
echo "package.bootstrap: passed"
