#!/usr/bin/env bash
# Build an AddressSanitizer CPython (with --with-pydebug, so that regrtest's -R runs) from
# Debian's source package, the way CPython's "AMD64 Arch Linux Asan Debug" buildbot configures
# it, into a cache outside the clone: a machine builds it once (about 5 minutes of one core).
#
#   scripts/build-asan-python.sh        # prints the path of the built ./python
#
# Cache: ${LEAKCHECK_CACHE:-$HOME/.cache/leakcheck}/cpython-3.11.2-asan-pydebug
# Needs: a deb-src entry for bookworm (added if missing), build-essential and CPython's build
# dependencies (installed if missing).
set -euo pipefail

version=3.11.2
cache=${LEAKCHECK_CACHE:-$HOME/.cache/leakcheck}
prefix="$cache/cpython-$version-asan-pydebug"
python="$prefix/python"
if [ -f "$prefix/.leakcheck-complete" ] && [ -x "$python" ]; then
    echo "$python"
    exit 0
fi

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive

# CPython's build dependencies that matter for the test suite (zlib, ssl, ffi for ctypes...).
deps=(build-essential pkg-config zlib1g-dev libssl-dev libffi-dev libbz2-dev liblzma-dev libsqlite3-dev libreadline-dev libgdbm-dev uuid-dev libexpat1-dev)
"$(dirname "$0")/apt-install-missing.sh" build-asan-python "${deps[@]}"

mkdir -p "$cache/src"
tarball="$cache/src/python3.11_$version.orig.tar.gz"
if [ ! -f "$tarball" ]; then
    if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
        echo "build-asan-python: adding a deb-src entry for bookworm" >&2
        printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            | "${sudo[@]}" tee /etc/apt/sources.list.d/leakcheck-deb-src.sources >/dev/null
        "${sudo[@]}" apt-get update >&2
    fi
    # Only the upstream tarball matters (the Debian patches of a security update may 404).
    (cd "$cache/src" && apt-get source --download-only python3.11 >&2) || true
    [ -f "$tarball" ] || { echo "build-asan-python: could not download $tarball" >&2; exit 1; }
fi

# Built in place: the build tree is the installation (./python finds Lib/ next to it, as on the
# buildbots), and sysconfig's paths stay true. The marker says the build finished.
build="$prefix"
rm -rf "$build"
mkdir -p "$build"
tar -xzf "$tarball" -C "$build" --strip-components=1
cd "$build"
# LSan would fail the build when the fresh interpreter builds the extension modules.
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:handle_segv=0
./configure --with-pydebug --with-address-sanitizer --without-pymalloc >"$build/configure.log" 2>&1 \
    || { tail -30 "$build/configure.log" >&2; exit 1; }
make -j"$(nproc)" >"$build/make.log" 2>&1 || { tail -30 "$build/make.log" >&2; exit 1; }
"$python" -c 'import sys; assert hasattr(sys, "gettotalrefcount")'
touch "$prefix/.leakcheck-complete"
echo "$python"
