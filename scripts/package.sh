#!/usr/bin/env bash
# Builds the static hekad and tools and packs them: a tarball and a Debian package.
#
# Usage: scripts/package.sh [OUT_DIR]        (default: target/dist)
#
# Writes OUT_DIR/heka-VERSION-linux-ARCH.tar.gz, OUT_DIR/heka_VERSION_ARCH.deb and
# OUT_DIR/SHA256SUMS. The binaries are linked statically with glibc (-C target-feature=+crt-static,
# Lua, LPeg and cjson included); the script fails if one of them is not static.
# scripts/release.sh calls this after checking the CHANGELOG.
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$PWD
out=${1:-target/dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)

scripts/setup.sh
for tool in dpkg-deb strip gzip sha256sum; do
    command -v "$tool" >/dev/null || { echo "package: $tool is missing" >&2; exit 1; }
done

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
triple=$(rustc -vV | sed -n 's/^host: //p')
case "$triple" in
    x86_64-*) arch=amd64 ;;
    aarch64-*) arch=arm64 ;;
    *) echo "package: no Debian architecture known for $triple" >&2; exit 1 ;;
esac
bins=(hekad heka-cat heka-flood heka-inject heka-logstreamer heka-sbmgr heka-sbmgrload)

echo "== static build ($triple, version $version)"
scripts/build-static.sh
bindir=${CARGO_TARGET_DIR:-target}/$triple/release

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# The file tree both packages share, rooted at /.
tree=$stage/tree
mkdir -p "$tree/usr/bin" "$tree/usr/share/man/man1" "$tree/usr/share/heka/examples" \
    "$tree/usr/share/doc/heka" "$tree/etc" "$tree/lib/systemd/system"
for b in "${bins[@]}"; do
    strip --strip-all -o "$tree/usr/bin/$b" "$bindir/$b"
done
"$bindir/examples/manpages" "$stage/man" >/dev/null
for page in "$stage"/man/*.1; do
    gzip -9n -c "$page" >"$tree/usr/share/man/man1/$(basename "$page").gz"
done
# Our Lua plugin library (Heka's share_dir layout: lua_modules/, lua_decoders/, lua_filters/,
# lua_encoders/), where Heka's configs expect it, from share/heka/ of the repository.
if [[ -d share/heka ]]; then
    cp -r share/heka/. "$tree/usr/share/heka/"
fi
install -m 0644 packaging/debian/hekad.toml "$tree/etc/hekad.toml"
install -m 0644 packaging/debian/hekad.toml "$tree/usr/share/heka/examples/hekad.toml"
install -m 0644 packaging/debian/heka.service "$tree/lib/systemd/system/heka.service"
install -m 0644 README.md "$tree/usr/share/doc/heka/README.md"
gzip -9n -c CHANGELOG.md >"$tree/usr/share/doc/heka/changelog.gz"
cat >"$tree/usr/share/doc/heka/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: heka (Heka, rebuilt in Rust)

Files: *
License: MPL-2.0
 This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
 On Debian systems the full text is in /usr/share/common-licenses/MPL-2.0.
EOF

echo "== tarball"
name=heka-$version-linux-$arch
tarroot=$stage/$name
mkdir -p "$tarroot/bin" "$tarroot/share" "$tarroot/etc"
cp -a "$tree/usr/bin/." "$tarroot/bin/"
cp -a "$tree/usr/share/heka" "$tarroot/share/heka"
cp -a "$tree/usr/share/man" "$tarroot/share/man"
cp -a "$tree/etc/hekad.toml" "$tarroot/etc/hekad.toml"
cp -a "$tree/lib/systemd/system/heka.service" "$tarroot/share/heka/heka.service"
cp -a README.md CHANGELOG.md "$tarroot/"
tar --sort=name --owner=0 --group=0 --numeric-owner -C "$stage" -czf "$out/$name.tar.gz" "$name"

echo "== Debian package"
deb=$stage/deb
cp -a "$tree" "$deb"
mkdir -p "$deb/DEBIAN"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm \
    "$deb/DEBIAN/"
echo "/etc/hekad.toml" >"$deb/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$deb" | cut -f1)
cat >"$deb/DEBIAN/control" <<EOF
Package: heka
Version: $version
Architecture: $arch
Maintainer: Heka, rebuilt in Rust <heka@localhost>
Installed-Size: $size
Depends: adduser
Recommends: tzdata
Section: admin
Priority: optional
Homepage: https://github.com/mozilla-services/heka
Description: data collection and processing daemon (Heka, rebuilt in Rust)
 hekad reads logs, metrics and events from many sources, decodes them into
 Heka messages, routes them with message matchers to filters and outputs,
 and runs Lua sandbox plugins. It loads Heka 0.10 configs and speaks Heka's
 wire format. This package holds the static hekad, heka-cat, heka-flood,
 heka-inject, heka-logstreamer, heka-sbmgr and heka-sbmgrload, the heka
 systemd service and /etc/hekad.toml.
EOF
debname=heka_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$deb" "$out/$debname" >/dev/null

(cd "$out" && sha256sum "$name.tar.gz" "$debname" >SHA256SUMS)
echo "== done"
for f in "$name.tar.gz" "$debname" SHA256SUMS; do
    echo "$out/$f ($(du -h "$out/$f" | cut -f1))"
done
cd "$root_dir"
