#!/usr/bin/env bash
# Install what leakcheck's build, demo and tests need on Debian 12 (bookworm), only where it is
# missing: Debian's debug interpreter with its test suite and headers (the real CPython the tests
# run), a C compiler for the fixtures and the shim's build, and procps. Rust (cargo) must already
# be installed (rustup); Debian's own cargo is too old.
set -euo pipefail

packages=(python3.11-dbg libpython3.11-testsuite python3.11-dev gcc libc6-dev procps binutils llvm)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; then
        "${sudo[@]}" apt-get update
        "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
    fi
fi

if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 || { echo "setup: cargo not found: install Rust with rustup (1.88 or newer)" >&2; exit 1; }
python3.11-dbg -c 'import sys, test.libregrtest; assert hasattr(sys, "gettotalrefcount")' \
    || { echo "setup: python3.11-dbg cannot run regrtest -R" >&2; exit 1; }
