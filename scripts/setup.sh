#!/usr/bin/env bash
# Installs what building and testing microwaf needs on a fresh Debian/Ubuntu machine with rustup.
# Idempotent: every step is skipped when already satisfied, so the test script runs it each time.
set -euo pipefail
cd "$(dirname "$0")/.."

# The toolchain and wasm targets pinned by rust-toolchain.toml.
if ! command -v rustup >/dev/null 2>&1; then
  echo "setup: rustup is required (https://rustup.rs)" >&2
  exit 1
fi
rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
rustup target add wasm32-wasip1 wasm32-unknown-unknown >/dev/null
rustup component add rustfmt clippy >/dev/null

# System tools: a C compiler and linker for crates with native parts (ring), pkg-config, curl.
need=()
for tool in cc pkg-config curl; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if ((${#need[@]})); then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq build-essential pkg-config curl
fi
