#!/usr/bin/env bash
# FerroLB's main job on one machine: builds the programs and runs them in network namespaces
# that this script creates and always removes again (also on Ctrl-C and on failure).
#
#   sudo ./scripts/demo.sh
#
# Today it shows the router daemon: every example configuration is checked with the shared
# validator, then ferrolb-router runs from configs/homelab in a namespace of its own and
# answers on its admin API. The whole-system demo (controller, speakers, routers, clients)
# grows here as those programs land.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "demo: run as root (sudo ./scripts/demo.sh): it creates network namespaces" >&2
    exit 2
fi
for tool in ip cargo curl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "demo: '$tool' is missing; ./scripts/install-deps.sh installs the Debian packages FerroLB uses" >&2
        exit 2
    fi
done

NS="flb-demo-$$"
ROUTER_PID=""
RESULTS=()
cleanup() {
    if [ -n "$ROUTER_PID" ] && kill -0 "$ROUTER_PID" 2>/dev/null; then
        kill -TERM "$ROUTER_PID" 2>/dev/null || true
        wait "$ROUTER_PID" 2>/dev/null || true
    fi
    ip netns del "$NS" 2>/dev/null || true
    [ -n "${WORK:-}" ] && rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

step() { printf '\n==> %s\n' "$*"; }
record() { RESULTS+=("$1|$2"); }

step "building ferrolb-router (release)"
cargo build --release --locked --bin ferrolb-router
BIN="${CARGO_TARGET_DIR:-target}/release"

step "checking every example router configuration with the shared validator"
# The examples name files under /etc/ferrolb (BGP passwords, CA bundles); the demo checks copies
# that point at placeholder files in a temporary directory instead of touching /etc.
WORK="$(mktemp -d)"
for config in configs/*/router-*.yaml; do
    copy="$WORK/$(basename "$(dirname "$config")")-$(basename "$config")"
    sed "s#/etc/ferrolb/#$WORK/etc/#g" "$config" > "$copy"
    for file in $(grep -o "$WORK/etc/[A-Za-z0-9._/-]*" "$copy" | sort -u); do
        mkdir -p "$(dirname "$file")"
        [ -e "$file" ] || echo "demo-placeholder" > "$file"
    done
    echo "$config:"
    "$BIN/ferrolb-router" --check-config --config "$copy"
done
record "example configurations valid" ok

step "a configuration with a mistake is refused, naming the field"
bad="$(mktemp)"
sed 's/^asn: .*/asn: 0/' configs/homelab/router-1.yaml > "$bad"
if out="$(RUST_BACKTRACE=0 "$BIN/ferrolb-router" --check-config --config "$bad" 2>&1)"; then
    echo "$out"
    record "bad configuration refused with the field named" FAIL
elif echo "$out" && grep -q 'asn: AS number 0' <<<"$out"; then
    record "bad configuration refused with the field named" ok
else
    record "bad configuration refused with the field named" FAIL
fi
rm -f "$bad"

step "starting ferrolb-router in namespace $NS"
ip netns add "$NS"
ip -n "$NS" link set lo up
# A router forwards: FerroLB checks this at start and says so if it is off.
ip netns exec "$NS" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
config="$WORK/homelab-router-1.yaml"
ip netns exec "$NS" "$BIN/ferrolb-router" --config "$config" --admin-listen 127.0.0.1:9612 &
ROUTER_PID=$!
for _ in $(seq 1 50); do
    if ip netns exec "$NS" curl -fsS http://127.0.0.1:9612/readyz >/dev/null 2>&1; then break; fi
    sleep 0.1
done
if ip netns exec "$NS" curl -fsS http://127.0.0.1:9612/readyz; then
    echo
    record "router ready on its admin API" ok
else
    record "router ready on its admin API" FAIL
fi
if ip netns exec "$NS" curl -fsS http://127.0.0.1:9612/metrics | grep 'ferrolb_build_info'; then
    record "router metrics served" ok
else
    record "router metrics served" FAIL
fi

step "stopping the router with SIGTERM"
kill -TERM "$ROUTER_PID"
if wait "$ROUTER_PID"; then
    record "router stopped cleanly" ok
else
    record "router stopped cleanly" FAIL
fi
ROUTER_PID=""

step "summary"
failed=0
printf '%-50s %s\n' "step" "result"
for r in "${RESULTS[@]}"; do
    printf '%-50s %s\n' "${r%%|*}" "${r##*|}"
    [ "${r##*|}" = ok ] || failed=1
done
exit "$failed"
