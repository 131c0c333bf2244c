#!/usr/bin/env bash
# Builds hekad and the tools as static executables and checks that each one is: ldd must say
# "not a dynamic executable".
#
# glibc's static libc (-C target-feature=+crt-static) with -C relocation-model=static: a plain
# static executable, not a static PIE (which ldd calls "statically linked" and which still
# needs its own relocation at start). Names still resolve: static glibc reads /etc/hosts and
# DNS itself, without NSS modules; time zones come from /usr/share/zoneinfo, or from the
# database jiff bundles into hekad when a system has none.
#
# Usage: scripts/build-static.sh
# The binaries land in target/<host triple>/release/ (or under $CARGO_TARGET_DIR). The
# explicit --target keeps build scripts and proc macros dynamic; only the shipped binaries are
# static. Lua, LPeg and cjson are linked in as for the normal build.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
triple=$(rustc -vV | sed -n 's/^host: //p')
# The man page writer (an example) is built beside them, with the same flags, for
# scripts/package.sh.
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static -C relocation-model=static" \
    cargo build --release --locked --target "$triple" -p hekad --bins --example manpages
bindir=${CARGO_TARGET_DIR:-target}/$triple/release
status=0
for b in hekad heka-cat heka-flood heka-inject heka-logstreamer heka-sbmgr heka-sbmgrload; do
    # ldd exits 1 on a static executable: read its words, not its status.
    if [[ $(ldd "$bindir/$b" 2>&1 || true) == *"not a dynamic executable"* ]]; then
        echo "static: $bindir/$b ($(du -h "$bindir/$b" | cut -f1))"
    else
        echo "NOT static: $bindir/$b" >&2
        ldd "$bindir/$b" >&2 || true
        status=1
    fi
done
exit $status
