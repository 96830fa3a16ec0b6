#!/usr/bin/env bash
# FerroLB's main job on one machine: builds the programs and runs the whole system in network
# namespaces that the demo creates and always removes again (also on Ctrl-C and on failure).
#
#   sudo ./scripts/demo.sh           # the demo; ends with a summary, exit 0 if every step worked
#   sudo ./scripts/demo.sh --keep    # leave it up to look around; `lbctl demo down` removes it
#
# What runs: an in-process Kubernetes API server (the fake one from the tests) seeded from
# configs/demo/, the real ferrolb-controller, a ferrolb-speaker on each of three node namespaces
# (with stand-in pods and API servers), two ferrolb-router namespaces and a client namespace.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "demo: run as root (sudo ./scripts/demo.sh): it creates network namespaces" >&2
    exit 2
fi

# What the demo itself needs: iproute2 (ip netns, veth, bridge, nexthop objects) and curl for the
# commands it suggests with --keep. Anything missing is installed by install-deps.sh, which says
# what it installs.
missing=()
command -v ip >/dev/null 2>&1 || missing+=("ip (iproute2)")
command -v curl >/dev/null 2>&1 || missing+=("curl")
if [ ${#missing[@]} -gt 0 ]; then
    echo "demo: missing ${missing[*]}; running ./scripts/install-deps.sh to install it" >&2
    ./scripts/install-deps.sh
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "demo: cargo is missing: install a Rust toolchain (https://rustup.rs), then run this again" >&2
    exit 2
fi
if ! ip nexthop show >/dev/null 2>&1; then
    echo "demo: this iproute2 or kernel has no nexthop objects (ip nexthop); the routers need them (Linux 5.3+)" >&2
    exit 2
fi
probe="flb-demo-probe-$$"
if ! ip netns add "$probe" 2>/dev/null; then
    echo "demo: cannot create network namespaces here (a container without CAP_SYS_ADMIN?)" >&2
    exit 2
fi
ip netns del "$probe"

echo "==> building ferrolb-controller, ferrolb-speaker, ferrolb-router, lbctl and ferrolb-demo (release)"
cargo build --release --locked \
    --bin ferrolb-controller --bin ferrolb-speaker --bin ferrolb-router --bin lbctl --bin ferrolb-demo
BIN="${CARGO_TARGET_DIR:-target}/release"

# A demo left up with --keep (or killed) is removed first.
if [ -e /run/ferrolb-demo/state.json ]; then
    echo "==> removing the previous demo"
    "$BIN/lbctl" demo down
fi

exec "$BIN/ferrolb-demo" "$@"
