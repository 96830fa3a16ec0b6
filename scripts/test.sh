#!/usr/bin/env bash
# FerroLB's test command: everything CI runs, in order. Run as root on Debian (the tests build
# network namespaces and start real BIRD, FRR and GoBGP daemons).
#
#   sudo ./scripts/test.sh
#
# Environment:
#   CARGO_TARGET_DIR   where to build (default: a cache outside the checkout when writable, so
#                      repeated runs on one machine reuse the build)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/test.sh: run as root: the tests create network namespaces and start routing daemons" >&2
    exit 2
fi

step() { printf '\n==> %s\n' "$*"; }

step "installing missing Debian packages"
./scripts/install-deps.sh

if [ -z "${CARGO_TARGET_DIR:-}" ] && mkdir -p /var/cache/ferrolb/target 2>/dev/null; then
    export CARGO_TARGET_DIR=/var/cache/ferrolb/target
fi
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Every CI run builds a fresh clone, whose incremental caches no later run can reuse: skip them
# (faster builds, and gigabytes less in the shared target directory).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "doc tests"
cargo test --workspace --locked --doc

# Last, so that its summary is the run's closing line.
step "cargo nextest (unit, integration, interop and netns tests)"
cargo nextest run --workspace --locked --no-fail-fast --profile ci
