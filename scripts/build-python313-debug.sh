#!/usr/bin/env bash
# Build a debug CPython 3.13 (--with-pydebug, so that regrtest's -R runs) from Debian's source
# package (trixie's python3.13; bookworm has none), into a cache outside the clone: a machine
# builds it once (about 4 minutes on 2 cores). harness/tests/cpython313.rs runs leakcheck on it,
# so that the shim, the -R boundaries and the output parser are checked live on the new
# libregrtest, not only on captures.
#
#   scripts/build-python313-debug.sh      # prints the path of the built ./python
#
# Cache: ${LEAKCHECK_CACHE:-$HOME/.cache/leakcheck}/cpython-3.13-pydebug
# Needs: network access to deb.debian.org (the source package), build-essential and the build
# dependencies build-asan-python.sh installs. No system apt configuration is changed: trixie's
# source index goes to a private list directory in the cache.
set -euo pipefail

cache=${LEAKCHECK_CACHE:-$HOME/.cache/leakcheck}
prefix="$cache/cpython-3.13-pydebug"
python="$prefix/python"
if [ -f "$prefix/.leakcheck-complete" ] && [ -x "$python" ]; then
    echo "$python"
    exit 0
fi

# CPython's build dependencies that matter for the test suite, as for the ASAN build.
deps=(build-essential pkg-config zlib1g-dev libssl-dev libffi-dev libbz2-dev liblzma-dev libsqlite3-dev libreadline-dev libgdbm-dev uuid-dev libexpat1-dev xz-utils)
"$(dirname "$0")/apt-install-missing.sh" build-python313-debug "${deps[@]}"

src="$cache/src/python3.13"
mkdir -p "$src/lists/partial"
tarball=$(ls "$src"/python3.13_*.orig.tar.xz 2>/dev/null | head -1 || true)
if [ -z "$tarball" ]; then
    echo 'deb-src http://deb.debian.org/debian trixie main' >"$src/trixie.list"
    apt_private=(-o Dir::Etc::sourcelist="$src/trixie.list" -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$src/lists")
    apt-get "${apt_private[@]}" update >&2
    # Only the upstream tarball matters (the Debian patches of an update may 404).
    (cd "$src" && apt-get "${apt_private[@]}" source --download-only python3.13 >&2) || true
    tarball=$(ls "$src"/python3.13_*.orig.tar.xz 2>/dev/null | head -1 || true)
    [ -n "$tarball" ] || { echo "build-python313-debug: could not download python3.13's sources" >&2; exit 1; }
fi

# Built in place, like the ASAN CPython: the build tree is the installation.
rm -rf "$prefix"
mkdir -p "$prefix"
tar -xJf "$tarball" -C "$prefix" --strip-components=1
cd "$prefix"
./configure --with-pydebug >"$prefix/configure.log" 2>&1 || { tail -30 "$prefix/configure.log" >&2; exit 1; }
make -j"$(nproc)" >"$prefix/make.log" 2>&1 || { tail -30 "$prefix/make.log" >&2; exit 1; }
"$python" -c 'import sys; assert sys.version_info[:2] == (3, 13) and hasattr(sys, "gettotalrefcount")'
touch "$prefix/.leakcheck-complete"
echo "$python"
