#!/usr/bin/env bash
# Runs every check and test of the project: format, lints, unit and end-to-end tests, and a
# compile of the fuzz targets. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
echo "== cargo fmt"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== fuzz targets compile"
cargo check --manifest-path fuzz/Cargo.toml --quiet
echo "== cargo test"
cargo test --workspace --locked
