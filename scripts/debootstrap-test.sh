#!/usr/bin/env bash
# Installs the heka Debian package into a fresh Debian root made with debootstrap and checks,
# in that root, that:
#   * the package installs with apt (its dependencies resolved from the mirror), creating the
#     heka user, /var/cache/hekad, /etc/hekad.toml, the heka.service unit and the man pages;
#   * hekad -test passes on the default config (/etc/hekad.toml);
#   * the static hekad starts on that config and accepts a message sent with heka-inject (its
#     CounterFilter then reports "Got 1 messages").
#
# Not run in CI: it downloads a Debian base system (about 100 MB). Needs root.
# Usage: scripts/debootstrap-test.sh [SUITE [MIRROR]]
#        (defaults: bookworm, the first deb.debian.org-style URI of /etc/apt/sources.list.d)
set -euo pipefail
cd "$(dirname "$0")/.."

suite=${1:-bookworm}
mirror=${2:-http://deb.debian.org/debian}
if [[ $(id -u) -ne 0 ]]; then
    echo "debootstrap-test: needs root (debootstrap, chroot)" >&2
    exit 1
fi
if ! command -v debootstrap >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
fi
if (exec 3<>/dev/tcp/127.0.0.1/5565) 2>/dev/null; then
    echo "debootstrap-test: port 5565 is taken; the default config listens there" >&2
    exit 1
fi

scripts/package.sh target/dist
deb=$(ls -t target/dist/heka_*.deb | head -n1)

root=$(mktemp -d /var/tmp/heka-root.XXXXXX)
# The root of the new system: mktemp made it 0700, which only root could traverse.
chmod 0755 "$root"
hekad_pid=
cleanup() {
    [[ -n $hekad_pid ]] && kill "$hekad_pid" 2>/dev/null || true
    umount "$root/proc" 2>/dev/null || true
    rm -rf "$root"
}
trap cleanup EXIT

echo "== debootstrap $suite into $root"
debootstrap --variant=minbase "$suite" "$root" "$mirror" >/tmp/debootstrap-test.log 2>&1 ||
    { tail -20 /tmp/debootstrap-test.log >&2; exit 1; }
mount -t proc proc "$root/proc"
cp "$deb" "$root/tmp/"
chmod 0644 "$root/tmp/$(basename "$deb")"

echo "== apt-get install $(basename "$deb")"
# No service manager runs in the root: postinst skips systemctl then.
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "/tmp/$(basename "$deb")"

fail() { echo "debootstrap-test: $*" >&2; exit 1; }
chroot "$root" getent passwd heka >/dev/null || fail "no heka user"
[[ $(chroot "$root" stat -c %U /var/cache/hekad) == heka ]] || fail "/var/cache/hekad is not heka's"
for f in /etc/hekad.toml /lib/systemd/system/heka.service /usr/share/man/man1/hekad.1.gz \
    /usr/share/man/man1/heka-cat.1.gz /usr/bin/heka-cat /usr/bin/heka-inject; do
    [[ -e $root$f ]] || fail "$f not installed"
done
grep -qx "/etc/hekad.toml" "$root/var/lib/dpkg/info/heka.conffiles" || fail "/etc/hekad.toml not a conffile"

echo "== hekad -test on the default config"
chroot "$root" /usr/bin/hekad -test -config=/etc/hekad.toml

echo "== hekad on the default config, one message"
chroot "$root" setpriv --reuid=heka --regid=heka --init-groups \
    /usr/bin/hekad -config=/etc/hekad.toml >"$root/tmp/hekad.log" 2>&1 &
hekad_pid=$!
for _ in $(seq 1 100); do
    grep -q "TcpInput listening on" "$root/tmp/hekad.log" && break
    kill -0 "$hekad_pid" 2>/dev/null || { cat "$root/tmp/hekad.log" >&2; fail "hekad exited"; }
    sleep 0.1
done
chroot "$root" /usr/bin/heka-inject -heka 127.0.0.1:5565 -payload "hello from the package"
# The CounterFilter reports every 5 s.
for _ in $(seq 1 120); do
    grep -q "Got 1 messages" "$root/tmp/hekad.log" && break
    sleep 0.1
done
kill "$hekad_pid"
wait "$hekad_pid" 2>/dev/null || true
hekad_pid=
grep -q "Got 1 messages" "$root/tmp/hekad.log" ||
    { cat "$root/tmp/hekad.log" >&2; fail "the message was not counted"; }
echo "debootstrap-test: ok ($suite, $(basename "$deb"))"
