#!/usr/bin/env bash
# The kill -9 crash test of the disk queue (README, "Delivery guarantee"): hekad runs
# TcpInput and LogstreamerInput → buffered TcpOutput to a receiver that stops and restarts;
# hekad is killed with SIGKILL at random moments, ROUNDS times, and restarted. Prints what was
# sent, received, lost (must be 0) and repeated; fails if anything was lost.
#
#   scripts/crash-test.sh [ROUNDS] [MESSAGES]     (defaults: 20 rounds, 20000 messages per sender)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-20}"
messages="${2:-20000}"
target="${CARGO_TARGET_DIR:-target}"
cargo build --quiet --locked -p hekad --bin hekad
cargo build --quiet --locked -p heka-bench --bin crash-test
"$target/debug/crash-test" --hekad "$target/debug/hekad" "$rounds" "$messages"
