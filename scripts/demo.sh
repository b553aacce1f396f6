#!/usr/bin/env bash
# The README's first command: set up, build the MicroWAF filter and the proxy, and start the
# proxy on 127.0.0.1:8080 with MicroWAF in front of the built-in demo upstream.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
(cd filters && cargo build --release --locked --target wasm32-wasip1 -p microwaf-filter)
cargo build --release --locked -p microwaf-proxy
exec ./target/release/microwaf demo \
  --wasm filters/target/wasm32-wasip1/release/microwaf_filter.wasm "$@"
