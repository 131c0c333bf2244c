#!/usr/bin/env bash
# Builds and runs hekad. Without arguments it runs the built-in default config (TcpInput on
# 127.0.0.1:5565, protobuf decoding, message counts logged); pass -config=FILE for your own.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec cargo run --quiet --release -p hekad --bin hekad -- "$@"
