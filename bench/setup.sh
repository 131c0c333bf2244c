#!/usr/bin/env bash
# Installs the peer (rsyslog from Debian) for the system benchmark. Idempotent.
# rsyslog is only installed, never started as the system logger: the benchmark runs
# its own `rsyslogd -n -f FILE -i PIDFILE` and stops it afterwards.
# The log-file cases (e, f) also need rsyslog's imfile and mmnormalize modules. Debian's rsyslog
# package ships both (mmnormalize links liblognorm5, a dependency of the package); they are
# checked for, and the package is (re)installed if one is missing.
set -euo pipefail

# rsyslog's module directory: /usr/lib/<multiarch>/rsyslog on Debian.
module_present() {
    local m
    for m in /usr/lib/*/rsyslog/"$1".so /usr/lib/rsyslog/"$1".so /usr/lib64/rsyslog/"$1".so; do
        [ -f "$m" ] && return 0
    done
    return 1
}

missing=""
if ! { command -v rsyslogd >/dev/null 2>&1 || [ -x /usr/sbin/rsyslogd ]; }; then
    missing="rsyslogd"
fi
for m in imptcp imfile mmnormalize; do
    module_present "$m" || missing="$missing $m"
done
if [ -z "$missing" ]; then
    echo "setup: rsyslog already installed with imptcp, imfile, mmnormalize ($(/usr/sbin/rsyslogd -v 2>/dev/null | head -n1))"
    exit 0
fi
echo "setup: missing:$missing"

if [ "$(id -u)" -ne 0 ]; then
    echo "setup: rsyslog (or one of its modules) is missing; run this script as root (apt-get install rsyslog liblognorm5)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when apt does not know the package yet.
if ! apt-cache show rsyslog >/dev/null 2>&1; then
    apt-get update
fi

# Keep the package's init script from starting a system-wide rsyslogd during install.
added_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    added_policy=1
fi
if command -v rsyslogd >/dev/null 2>&1 || [ -x /usr/sbin/rsyslogd ]; then
    # Installed but a module file is gone: put the package's files back.
    apt-get install -y --no-install-recommends --reinstall rsyslog liblognorm5
else
    apt-get install -y --no-install-recommends rsyslog liblognorm5
fi
if [ "$added_policy" -eq 1 ]; then
    rm -f /usr/sbin/policy-rc.d
fi

# If a system rsyslogd was started anyway (e.g. by systemd), stop that one process.
if [ -s /run/rsyslogd.pid ] && kill -0 "$(cat /run/rsyslogd.pid)" 2>/dev/null; then
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        systemctl disable --now rsyslog.service syslog.socket || true
    else
        kill "$(cat /run/rsyslogd.pid)" || true
    fi
    echo "setup: stopped the system rsyslogd that the package started"
fi
for m in imptcp imfile mmnormalize; do
    if ! module_present "$m"; then
        echo "setup: rsyslog module $m still missing after the install" >&2
        exit 1
    fi
done
echo "setup: installed $(/usr/sbin/rsyslogd -v | head -n1)"
