#!/usr/bin/env bash
# Runs the static hekad and tools in a root that holds nothing but them, two files of /etc and
# /dev/null, /dev/random and /dev/urandom: no shared library, no NSS module, no time zone database. It checks that
#   * "localhost" resolves (TcpInput address "localhost:0", heka-inject -heka localhost:PORT):
#     static glibc resolves names from /etc/hosts without loading libnss_files.so;
#   * a time zone (timestamp_location = "Europe/Paris") works without /usr/share/zoneinfo (the zone database bundled in
#     hekad through jiff's tzdb-bundle-always is used when the system has none);
#   * hekad -test passes on /etc/hekad.toml of the Debian package;
#   * a message sent with heka-inject is accepted and written by a FileOutput.
#
# Usage: scripts/static-smoke.sh            (after scripts/build-static.sh; needs root for chroot)
set -euo pipefail
cd "$(dirname "$0")/.."

triple=$(rustc -vV | sed -n 's/^host: //p')
bindir=${CARGO_TARGET_DIR:-target}/$triple/release
for b in hekad heka-inject heka-cat; do
    [[ -x $bindir/$b ]] || { echo "static-smoke: $bindir/$b missing; run scripts/build-static.sh" >&2; exit 1; }
done
if [[ $(id -u) -ne 0 ]]; then
    echo "static-smoke: needs root (chroot)" >&2
    exit 1
fi

root=$(mktemp -d)
hekad_pid=
cleanup() {
    [[ -n $hekad_pid ]] && kill "$hekad_pid" 2>/dev/null || true
    rm -rf "$root"
}
trap cleanup EXIT
mkdir -p "$root/bin" "$root/etc" "$root/work" "$root/tmp"
cp "$bindir/hekad" "$bindir/heka-inject" "$bindir/heka-cat" "$root/bin/"
# Every system, container or chroot has these devices (the random numbers of UUIDs come from
# them in a static binary).
mkdir -p "$root/dev"
mknod -m 666 "$root/dev/null" c 1 3
mknod -m 666 "$root/dev/random" c 1 8
mknod -m 666 "$root/dev/urandom" c 1 9
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n' >"$root/etc/hosts"
printf 'hosts: files\n' >"$root/etc/nsswitch.conf"
cp packaging/debian/hekad.toml "$root/etc/hekad.toml"
# The package's config, with its paths moved into the root (nothing else can be written there).
sed -i 's|^base_dir = .*|base_dir = "/work/base"|' "$root/etc/hekad.toml"

echo "== hekad -test on the package's /etc/hekad.toml"
chroot "$root" /bin/hekad -test -q -config=/etc/hekad.toml

echo "== localhost and Europe/Paris in an empty root"
printf '2026-07-01 12:00:00 hello from paris\n' >"$root/work/app.log"
cat >"$root/etc/smoke.toml" <<'EOF'
[hekad]
base_dir = "/work/base"

[TcpInput]
address = "localhost:0"

[app]
type = "LogstreamerInput"
log_directory = "/work"
file_match = 'app\.log'
decoder = "paris"

[paris]
type = "PayloadRegexDecoder"
match_regex = '^(?P<Timestamp>\S+ \S+) (?P<Text>[^\n]*)'
timestamp_layout = "2006-01-02 15:04:05"
timestamp_location = "Europe/Paris"

[out]
type = "FileOutput"
message_matcher = "TRUE"
path = "/work/out.pb"
encoder = "ProtobufEncoder"
flush_interval = 100
EOF
chroot "$root" /bin/hekad -config=/etc/smoke.toml >"$root/hekad.log" 2>&1 &
hekad_pid=$!
port=
for _ in $(seq 1 100); do
    port=$(sed -n 's/.*TcpInput listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$root/hekad.log" | head -n1)
    [[ -n $port ]] && break
    kill -0 "$hekad_pid" 2>/dev/null || break
    sleep 0.1
done
if [[ -z $port ]]; then
    echo "static-smoke: hekad did not listen on localhost" >&2
    cat "$root/hekad.log" >&2
    exit 1
fi
chroot "$root" /bin/heka-inject -heka "localhost:$port" -type smoke.test -payload "via localhost"
for _ in $(seq 1 100); do
    count=$(chroot "$root" /bin/heka-cat -format count /work/out.pb 2>/dev/null |
        sed -n 's/^Processed: \([0-9]*\).*/\1/p')
    [[ ${count:-0} -ge 2 ]] && break
    sleep 0.1
done
json=$(chroot "$root" /bin/heka-cat -format json /work/out.pb 2>/dev/null || true)
kill "$hekad_pid"
wait "$hekad_pid" 2>/dev/null || true
hekad_pid=
# 12:00 in Paris on 1 July (CEST, +02:00) is 10:00 UTC: 1782900000 s.
if ! grep -q '"timestamp":1782900000000000000' <<<"$json"; then
    echo "static-smoke: the Paris time was not parsed as 10:00 UTC" >&2
    echo "$json" >&2
    cat "$root/hekad.log" >&2
    exit 1
fi
if ! grep -q 'via localhost' <<<"$json"; then
    echo "static-smoke: the message sent to localhost:$port did not arrive" >&2
    echo "$json" >&2
    cat "$root/hekad.log" >&2
    exit 1
fi
echo "static-smoke: ok (localhost:$port resolved, Europe/Paris applied, 2 messages written)"
