#!/usr/bin/env bash
# Installs the Debian packages the build and tests need. Idempotent: installs only what is missing.
# Usage: scripts/setup.sh [bench]   ("bench" adds the peers the benchmark runs against)
set -euo pipefail

# gcc, g++: C and C++ code of dependencies (ring, mimalloc, libFuzzer for scripts/fuzz.sh).
# tzdata: /usr/share/zoneinfo, read by the time zone tests (America/Los_Angeles, ...).
# procps: kill(1), which the end-to-end tests use to signal hekad and stop stuck tools.
# libfaketime: the FileOutput rotation test runs hekad with a wall clock just before an hour
# boundary (LD_PRELOAD of libfaketime.so.1).
packages=(gcc g++ tzdata procps libfaketime)
if [[ "${1:-}" == "bench" ]]; then
    packages+=(rsyslog)
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    SUDO=""
    [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
command -v cargo >/dev/null || { echo "setup: cargo not found: install Rust (rustup) first" >&2; exit 1; }
