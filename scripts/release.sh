#!/usr/bin/env bash
# Makes a release: the static tarball and the Debian package with their checksums.
#
# Usage: scripts/release.sh [OUT_DIR]         (default: target/release-VERSION)
#
# Before building, it checks that the version in Cargo.toml has its own section in
# CHANGELOG.md ("## VERSION (YYYY-MM-DD)"): move the "Unreleased" entries under that heading
# when releasing. It also refuses a work tree with uncommitted changes, so the artifacts are
# made from a commit. Then it runs scripts/package.sh and prints the checksums.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
if ! grep -Eq "^## \[?$version\]?( |$)" CHANGELOG.md; then
    echo "release: CHANGELOG.md has no section for $version (a heading '## $version (date)');" \
        "move the Unreleased entries under it first" >&2
    exit 1
fi
if [[ -n "$(git status --porcelain 2>/dev/null)" ]]; then
    echo "release: the work tree has uncommitted changes; commit them first" >&2
    exit 1
fi
out=${1:-target/release-$version}
scripts/package.sh "$out"
echo "== release $version ($(git rev-parse --short HEAD 2>/dev/null || echo 'no git'))"
cat "$out/SHA256SUMS"
