#!/usr/bin/env bash
# Install what leakcheck's build, demo and tests need on Debian 12 (bookworm), only where it is
# missing: Debian's debug interpreter with its test suite and headers (the real CPython the tests
# run), a C compiler for the fixtures and the shim's build (gcc brings libasan8, libubsan1 and
# libtsan2; g++, and clang with its runtimes for MemorySanitizer, build the sanitizer fixtures),
# procps, xmllint (the JUnit report's schema check), debootstrap (the sid root, below) and a
# Python venv with the report tests' tools from PyPI (see the end). Rust: when no cargo is found,
# rustup installs the stable toolchain into ~/.cargo (Debian's own cargo is too old).
set -euo pipefail

packages=(python3.11-dbg libpython3.11-testsuite python3.11-dev gcc libc6-dev libc6-dbg procps binutils dwz llvm libxml2-utils
    python3-venv g++ clang libclang-rt-14-dev curl ca-certificates
    debootstrap debian-archive-keyring gpgv wget)

"$(dirname "$0")/apt-install-missing.sh" setup "${packages[@]}"

# The Debian sid root of harness/tests/cpython313.rs and cpython_sid.rs, with Debian's debug
# CPython 3.13, 3.14 and 3.15 and their test suites (debootstrap from deb.debian.org, 2 to 5
# minutes and 1.9 GB the first time; a no-op after), into the cache of the build below: the
# tests run them inside it through scripts/in-sid-root.sh. Mostly downloads, so it runs beside
# the CPU-bound build below (its debootstrap is installed above: no second apt-get at the same
# time), unless sudo would ask for a password. LEAKCHECK_SKIP_SID_ROOT=1 skips it (the demo does
# not need it; the tests that run in it then fail and say why). A failure warns, as for the build
# below.
sid_root() {
    "$(dirname "$0")/build-sid-root.sh" >/dev/null \
        || echo "setup: WARNING: the Debian sid root with CPython 3.13, 3.14 and 3.15 could not be made (scripts/build-sid-root.sh)" >&2
}
sid_pid=
if [ "${LEAKCHECK_SKIP_SID_ROOT:-0}" != 1 ]; then
    if [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; then
        sid_root &
        sid_pid=$!
    else
        sid_root
    fi
fi

if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: no cargo: installing Rust (stable) with rustup into ~/.cargo" >&2
    # rustup's installer from its own host (https://sh.rustup.rs redirects there; machines that
    # may reach only package hosts resolve static.rust-lang.org, which serves the toolchains too).
    curl --proto '=https' --tlsv1.2 -sSf https://static.rust-lang.org/rustup/rustup-init.sh \
        | sh -s -- -y --profile minimal --no-modify-path \
        || { echo "setup: cannot install Rust with rustup; install Rust 1.88 or newer and run again" >&2; exit 1; }
    export PATH="$HOME/.cargo/bin:$PATH"
fi
python3.11-dbg -c 'import sys, test.libregrtest; assert hasattr(sys, "gettotalrefcount")' \
    || { echo "setup: python3.11-dbg cannot run regrtest -R" >&2; exit 1; }

# The Python tools of harness/tests/reports.rs (junitparser reads the JUnit XML back,
# markdown-it-py renders the issue drafts as CommonMark) and harness/tests/buildbot.rs (a real
# buildbot master, its REST API and a worker), pinned, in a venv outside the work tree so that it
# survives `cargo clean` and new clones. The tests find it at the same path: $LEAKCHECK_PY_VENV,
# else $HOME/.cache/leakcheck/py-venv. A stamp file holding the pins makes the second run a
# no-op; a change of pins rebuilds the venv.
py_venv="${LEAKCHECK_PY_VENV:-$HOME/.cache/leakcheck/py-venv}"
py_pins="junitparser==5.0.3 markdown-it-py==4.3.0 buildbot==4.3.0 buildbot-www==4.3.0 buildbot-worker==4.3.0"
if [ "$(cat "$py_venv/.leakcheck-pins" 2>/dev/null)" != "$py_pins" ]; then
    echo "setup: creating the Python venv $py_venv ($py_pins)" >&2
    if [ -e "$py_venv" ] && [ ! -e "$py_venv/pyvenv.cfg" ]; then
        echo "setup: $py_venv exists and is not a venv: remove it, or set LEAKCHECK_PY_VENV" >&2
        exit 1
    fi
    mkdir -p "$(dirname "$py_venv")"
    python3 -m venv --clear "$py_venv" || { echo "setup: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
    # shellcheck disable=SC2086 # the pins are words
    "$py_venv/bin/python" -m pip install --quiet --disable-pip-version-check $py_pins
    echo "$py_pins" >"$py_venv/.leakcheck-pins"
fi

# The AddressSanitizer CPython of harness/tests/asan_python.rs (3.11.2 --with-pydebug
# --with-address-sanitizer --without-pymalloc, from Debian's source package), built once per
# machine into $LEAKCHECK_CACHE or $HOME/.cache/leakcheck (about 5 minutes of CPU the first
# time; a no-op after). The demo does not need it; LEAKCHECK_SKIP_ASAN_PYTHON=1 skips it here
# (the ASAN tests then fail and say why).
# A failed build does not stop the set-up: the tests that need the interpreter fail and say
# which script to run, the others run.
if [ "${LEAKCHECK_SKIP_ASAN_PYTHON:-0}" != 1 ]; then
    "$(dirname "$0")/build-asan-python.sh" >/dev/null \
        || echo "setup: WARNING: the ASAN CPython could not be built (scripts/build-asan-python.sh)" >&2
fi

[ -z "$sid_pid" ] || wait "$sid_pid"
