#!/usr/bin/env bash
# The test command: set-up, formatting and lints, then every test of both workspaces.
# Benches run once in smoke mode (criterion's test mode under `cargo test`, dev profile, so no
# second optimised build of the dependencies); no timing is asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

echo "== fmt"
cargo fmt --all --check
(cd filters && cargo fmt --all --check)

echo "== clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
(cd filters && cargo clippy --workspace --all-targets --locked -- -D warnings)

echo "== filters (native)"
(cd filters && cargo test --workspace --locked --all-targets && cargo test --workspace --locked --doc)

echo "== host workspace (bench targets run once each, in criterion's test mode)"
cargo test --workspace --locked --all-targets
cargo test --workspace --locked --doc
