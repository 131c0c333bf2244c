#!/usr/bin/env bash
# Fuzzes every target in fuzz/ for SECONDS each (default 30), starting from a copy of its
# seeds (fuzz/seeds/<target>/), one target after the other. Exits non-zero when any target
# crashes (a panic, a failed check, a timeout or running out of memory); the input is then in
# fuzz/artifacts/<target>/ and the end of the fuzzer's log is printed.
#
# Usage: scripts/fuzz.sh [SECONDS]      (scripts/test.sh runs it with 30; a longer run: 600)
#
# Installs cargo-fuzz when it is missing. Only stable Rust is installed: cargo-fuzz passes -Z
# flags to rustc, which RUSTC_BOOTSTRAP=1 lets stable accept. Targets are built once, optimised,
# with debug assertions and overflow checks on and without a sanitizer (the project forbids
# unsafe code; a panic is what the targets look for).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-30}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds == 0)); then
    echo "usage: scripts/fuzz.sh [SECONDS]  (a whole number of seconds per target, default 30)" >&2
    exit 2
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
# The fuzz workspace keeps its own build folder, whatever the caller builds the project in.
export CARGO_TARGET_DIR="$PWD/fuzz/target"
build_flags=(--release --debug-assertions --sanitizer none)

cd fuzz
echo "== building fuzz targets"
cargo fuzz build "${build_flags[@]}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mapfile -t targets < <(cargo fuzz list)
failed=()
for target in "${targets[@]}"; do
    corpus="$work/corpus/$target"
    mkdir -p "$corpus" "artifacts/$target"
    if [[ -d "seeds/$target" ]]; then
        cp -R "seeds/$target/." "$corpus/"
    fi
    log="$work/$target.log"
    start=$SECONDS
    if cargo fuzz run "${build_flags[@]}" "$target" "$corpus" -- \
        -max_len=4096 -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        >"$log" 2>&1; then
        runs="$(grep -o 'Done [0-9]* runs' "$log" | tail -n 1 | grep -o '[0-9]*' || true)"
        echo "fuzz $target: ${runs:-?} runs in $((SECONDS - start)) s, no crash"
    else
        echo "fuzz $target: CRASH after $((SECONDS - start)) s:"
        # The panic message, libFuzzer's verdict (timeouts, memory), and where the input is.
        grep -A 2 "panicked at" "$log" | head -n 6 || true
        grep -E "^==[0-9]+== ERROR: libFuzzer|^SUMMARY: libFuzzer" "$log" || true
        sed -n '/^Failing input:/,/^Minimize test case/p' "$log" | head -n 20 | cut -c 1-300
        failed+=("$target")
    fi
done

if ((${#failed[@]})); then
    echo "fuzz: ${#failed[@]} of ${#targets[@]} targets crashed: ${failed[*]}"
    echo "inputs are in fuzz/artifacts/<target>/; reproduce one with"
    echo "  cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run ${build_flags[*]} <target> artifacts/<target>/<file>"
    exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds} s each without a crash"
