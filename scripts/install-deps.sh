#!/usr/bin/env bash
# Installs the Debian packages FerroLB's tests, demo and benchmarks use, when they are missing.
# Real peers (BIRD, FRR, GoBGP, keepalived, HAProxy) are what the interop tests run against.
set -euo pipefail

PACKAGES=(iproute2 iputils-ping arping tcpdump bird2 frr gobgpd keepalived haproxy curl procps psmisc openssl)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages: ${missing[*]}; run as root to install them" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Packaged daemons must not start system-wide instances: the tests start their own, in namespaces.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
