#!/usr/bin/env bash
# Set up what is missing, then run every test of the workspace (unit, integration against the
# real python3.11-dbg, shim and parser tests).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
cargo test --workspace --locked "$@"
