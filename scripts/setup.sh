#!/usr/bin/env bash
# Installs the Debian packages the build and tests need. Idempotent: installs only what is missing.
# Usage: scripts/setup.sh [test]   ("test" adds what the tests need beyond the build)
set -euo pipefail

# gcc, g++: C and C++ code of dependencies (ring, mimalloc, libFuzzer for scripts/fuzz.sh).
# tzdata: /usr/share/zoneinfo, read by the time zone tests (America/Los_Angeles, ...).
# procps: kill(1), which the end-to-end tests use to signal hekad and stop stuck tools.
# lua-lpeg-dev, lua-cjson-dev: the static LPeg and cjson libraries (and re.lua) linked into the
# Lua sandbox by crates/sandbox/build.rs.
# With "test":
# libfaketime: the FileOutput rotation test runs hekad with a wall clock just before an hour
# boundary (LD_PRELOAD of libfaketime.so.1).
# nginx, apache2, rsyslog, curl: real log producers whose logs the end-to-end tests read
# (crates/hekad/tests/e2e/producers.rs); the tests start them in the foreground themselves.
# rsyslog is also the benchmark's peer.
# binutils (strip), man-db (man, which `systemd-analyze verify` runs for the unit's
# Documentation=), systemd (systemd-analyze): scripts/check-package.sh.
# python3 with pip: Python's whisper module (Graphite's own implementation of the whisper file
# format), pinned, installed into target/test-peers (not system-wide); the WhisperOutput tests
# compare our files with what its whisper-create / whisper-update scripts write.
# graphite-carbon (carbon-cache, and whisper-fetch from python3-whisper): receives what
# CarbonOutput sends in crates/hekad/tests/e2e/metrics.rs (and lua_encoders.rs). influxdb
# (InfluxDB 1.x): receives the Lua encoders' line protocol in tests/e2e/lua_encoders.rs.
# nodejs, npm and python3-pip install the metrics test's peers from their registries (below).
# mariadb-server (mariadbd, mariadb-install-db), bind9 (named), bind9-dnsutils (dig): the Lua
# decoder tests (crates/hekad/tests/e2e/lua_decoders.rs) start their own private instances.
packages=(gcc g++ tzdata procps lua-lpeg-dev lua-cjson-dev)
if [[ "${1:-}" == "test" ]]; then
    packages+=(libfaketime nginx apache2 rsyslog curl binutils man-db systemd graphite-carbon
               influxdb mariadb-server bind9 bind9-dnsutils)
    # A node or pip already on the machine (another distribution of them) is used as it is.
    command -v node >/dev/null || packages+=(nodejs)
    command -v npm >/dev/null || packages+=(npm)
    python3 -m pip --version >/dev/null 2>&1 || packages+=(python3-pip)
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
    # Installing nginx, apache2 or rsyslog must not start them as system services (port 80,
    # the system logger): a policy-rc.d that refuses every start does that, unless the
    # machine already has its own.
    policy=/usr/sbin/policy-rc.d
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee $policy >/dev/null
        $SUDO chmod 755 $policy
        trap '$SUDO rm -f $policy' EXIT
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
if [[ "${1:-}" == "test" ]]; then
    peers="$(cd "$(dirname "$0")/.." && pwd)/target/test-peers"
    whisper=1.1.10
    if [[ ! -f "$peers/whisper/whisper-$whisper.dist-info/METADATA" ]]; then
        command -v python3 >/dev/null || { echo "setup: python3 not found (needed for the whisper tests)" >&2; exit 1; }
        echo "setup: installing Python's whisper $whisper into $peers/whisper"
        rm -rf "$peers/whisper"
        PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check \
            --no-warn-script-location --target "$peers/whisper" "whisper==$whisper"
    fi
fi
command -v cargo >/dev/null || { echo "setup: cargo not found: install Rust (rustup) first" >&2; exit 1; }

# The metrics test's peers, pinned, in <repo>/target/test-peers: the reference statsd daemon and
# the hot-shots client from npm, the statsd client from PyPI. Reinstalled only when the pinned
# versions change.
if [[ "${1:-}" == "test" ]]; then
    peers="$(cd "$(dirname "$0")/.." && pwd)/target/test-peers"
    want="npm: statsd@0.9.0 hot-shots@17.1.1; pip: statsd==4.0.1"
    if [[ "$(cat "$peers/metrics-installed" 2>/dev/null)" != "$want" ]]; then
        echo "setup: installing the metrics test peers into $peers"
        rm -rf "$peers/npm" "$peers/python"
        mkdir -p "$peers"
        npm install --prefix "$peers/npm" --no-audit --no-fund --omit=optional --loglevel=error \
            statsd@0.9.0 hot-shots@17.1.1
        python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$peers/python" \
            statsd==4.0.1
        echo "$want" >"$peers/metrics-installed"
    fi
    # graypy (a GELF logging handler) from PyPI, pinned: the graylog_extended decoder's e2e test.
    gelf=2.1.0
    if [[ ! -f "$peers/gelf/graypy-$gelf.dist-info/METADATA" ]]; then
        echo "setup: installing graypy $gelf into $peers/gelf"
        rm -rf "$peers/gelf"
        python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$peers/gelf" \
            "graypy==$gelf"
    fi
fi
