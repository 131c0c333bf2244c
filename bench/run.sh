#!/usr/bin/env bash
# The system benchmark: builds heka-bench and hekad (release), makes sure rsyslog is
# installed, then runs every case. Arguments go to heka-bench (e.g. --count 10000000,
# --repeat 3, --cases b,c); `bench/run.sh statsd [options]` runs the metrics case instead.
# See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
target="$(realpath "${CARGO_TARGET_DIR:-target}")"

if ! bench/setup.sh; then
    echo "run.sh: rsyslog setup failed; the rsyslog case will be skipped" >&2
fi

cargo build --release -p heka-bench
hekad_args=()
if cargo build --release -p hekad && [ -x "$target/release/hekad" ]; then
    hekad_args=(--hekad "$target/release/hekad")
else
    echo "run.sh: hekad did not build; the hekad cases will be skipped" >&2
fi

# `bench/run.sh statsd …`: the metrics case (statsd lines into hekad and the statsd daemon).
if [[ "${1:-}" == "statsd" ]]; then
    shift
    [[ -f target/test-peers/npm/node_modules/statsd/stats.js ]] || scripts/setup.sh test
    exec "$target/release/heka-bench" statsd "${hekad_args[@]}" "$@"
fi
exec "$target/release/heka-bench" run "${hekad_args[@]}" "$@"
