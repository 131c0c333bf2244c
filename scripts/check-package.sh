#!/usr/bin/env bash
# What CI checks of the shipped artifacts (scripts/test.sh runs it):
#   * the binaries are static (scripts/build-static.sh, through scripts/package.sh);
#   * the tarball and the Debian package build, and the package holds what it should;
#   * the static hekad and tools run in an empty root: localhost resolves, a time zone works,
#     a message is accepted (scripts/static-smoke.sh);
#   * the systemd unit passes `systemd-analyze verify`, its man page reference included.
# Installing the package into a fresh Debian root is scripts/debootstrap-test.sh (not in CI).
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/dist
scripts/package.sh "$out"
scripts/static-smoke.sh

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
deb=$(ls "$out"/heka_"$version"_*.deb)
contents=$(dpkg-deb --contents "$deb")
for f in ./usr/bin/hekad ./usr/bin/heka-cat ./usr/bin/heka-flood ./usr/bin/heka-inject \
    ./usr/bin/heka-logstreamer ./usr/bin/heka-sbmgr ./usr/bin/heka-sbmgrload \
    ./usr/share/man/man1/heka-sbmgr.1.gz ./etc/hekad.toml ./lib/systemd/system/heka.service \
    ./usr/share/man/man1/hekad.1.gz ./usr/share/man/man1/heka-cat.1.gz \
    ./usr/share/heka/examples/hekad.toml ./usr/share/doc/heka/copyright \
    ./usr/share/heka/lua_modules/common_log_format.lua \
    ./usr/share/heka/lua_decoders/nginx_access.lua; do
    grep -q " $f\$" <<<"$contents" || { echo "check-package: $f not in $deb" >&2; exit 1; }
done
# The tarball carries the Lua library too, as share/heka/ (Heka's share_dir layout).
tarball=$(ls "$out"/heka-"$version"-linux-*.tar.gz)
listing=$(tar -tzf "$tarball")
for f in share/heka/lua_modules/date_time.lua share/heka/lua_decoders/apache_access.lua; do
    grep -q "^heka-$version-linux-[a-z0-9]*/$f\$" <<<"$listing" ||
        { echo "check-package: $f not in $tarball" >&2; exit 1; }
done
[[ $(dpkg-deb --field "$deb" Package) == heka ]]
(cd "$out" && sha256sum --check --quiet SHA256SUMS)
for s in postinst prerm postrm; do
    sh -n "packaging/debian/$s"
done

triple=$(rustc -vV | sed -n 's/^host: //p')
man=$(mktemp -d)
trap 'rm -rf "$man"' EXIT
"${CARGO_TARGET_DIR:-target}/$triple/release/examples/manpages" "$man/man1" >/dev/null
MANPATH=$man systemd-analyze verify packaging/debian/heka.service
echo "check-package: ok ($(basename "$deb"), $(du -h "$deb" | cut -f1))"
