#!/usr/bin/env bash
# The soak test (issue 12; not in CI): MINUTES of sustained load on one release-built hekad —
# TcpInput → CounterFilter, a Lua SandboxFilter, a buffered FileOutput and TcpOutput (buffered)
# to a receiver that is restarted every 20-60 s — sampling hekad's VmRSS every 10 s into a
# CSV file. Prints first/last/max RSS and the messages sent, written and received (lost must
# be 0); fails if any was lost.
#
#   scripts/soak.sh [MINUTES] [RATE] [CSV]      (defaults: 30 minutes, 20000 msg/s, a file
#                                                in the run's temporary directory)
# Set NICE=10 (for example) to run it niced beside other work.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-30}"
rate="${2:-20000}"
csv="${3:-}"
target="${CARGO_TARGET_DIR:-target}"
cargo build --quiet --locked --release -p hekad --bin hekad
cargo build --quiet --locked --release -p heka-bench --bin soak
args=(--hekad "$target/release/hekad" --minutes "$minutes" --rate "$rate")
if [ -n "$csv" ]; then
  args+=(--csv "$csv")
fi
exec nice -n "${NICE:-0}" "$target/release/soak" "${args[@]}"
