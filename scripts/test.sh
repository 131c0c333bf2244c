#!/usr/bin/env bash
# Runs every check and test of the project: format, lints (the fuzz targets too), unit and
# end-to-end tests, the static build and the packages, the kill -9 crash test, then 30 s of
# fuzzing per fuzz target.
# This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh test
echo "== cargo fmt"
cargo fmt --all --check
cargo fmt --manifest-path fuzz/Cargo.toml --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo clippy (fuzz targets, stable, without cargo-fuzz)"
cargo clippy --manifest-path fuzz/Cargo.toml --locked --quiet -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
echo "== static build and packages"
scripts/check-package.sh
echo "== crash test (SIGKILL of hekad with a buffered output, small size)"
scripts/crash-test.sh 8 5000
echo "== fuzz (30 s per target)"
scripts/fuzz.sh 30
