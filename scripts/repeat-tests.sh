#!/usr/bin/env bash
# Runs the test suite RUNS times in a row (default 20) under the conditions it must survive:
# every CPU kept busy by other processes, and a hekad with the built-in default config already
# listening on 127.0.0.1:5565. Stops at the first failing run and prints the end of its log.
#
# Usage: scripts/repeat-tests.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-20}"
if ! [[ "$runs" =~ ^[0-9]+$ ]] || ((runs == 0)); then
    echo "usage: scripts/repeat-tests.sh [RUNS]" >&2
    exit 2
fi
target="$(realpath "${CARGO_TARGET_DIR:-target}")"
logs="$(mktemp -d)"

scripts/setup.sh test
cargo build --release --locked -p hekad
cargo test --workspace --locked --no-run

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

"$target/release/hekad" >"$logs/hekad.log" 2>&1 &
hekad=$!
pids+=("$hekad")
for _ in $(seq 50); do
    if (exec 3<>/dev/tcp/127.0.0.1/5565) 2>/dev/null; then break; fi
    sleep 0.1
done
if ! (exec 3<>/dev/tcp/127.0.0.1/5565) 2>/dev/null; then
    echo "the default hekad is not listening on 127.0.0.1:5565:" >&2
    cat "$logs/hekad.log" >&2
    exit 1
fi
for _ in $(seq "$(nproc)"); do
    (while :; do :; done) &
    pids+=("$!")
done

for i in $(seq "$runs"); do
    start=$SECONDS
    if ! cargo test --workspace --locked >"$logs/run-$i.log" 2>&1; then
        echo "run $i of $runs FAILED; the end of its log ($logs/run-$i.log):"
        grep -E "^test .*FAILED|panicked" "$logs/run-$i.log" | head -20
        tail -40 "$logs/run-$i.log"
        trap - EXIT
        cleanup
        exit 1
    fi
    tests=$(grep -E "^test result: ok" "$logs/run-$i.log" | awk '{s += $4} END {print s}')
    echo "run $i of $runs passed: $tests tests in $((SECONDS - start)) s"
    if ! kill -0 "$hekad" 2>/dev/null; then
        echo "the default hekad on 5565 exited during run $i:" >&2
        cat "$logs/hekad.log" >&2
        exit 1
    fi
done
echo "all $runs runs passed, with $(nproc) busy loops and hekad on 127.0.0.1:5565 beside them"
rm -rf "$logs"
