#!/usr/bin/env bash
# Make a Debian sid (unstable) root with Debian's debug CPython 3.14 and 3.15 (python3.14-dbg,
# python3.15-dbg), their test suites and headers, into a cache outside the clone: a machine makes
# it once (2 to 5 minutes, mostly downloads; 1.4 GB). bookworm has no 3.14/3.15 and sid's source
# packages are not always served by the mirror, but its binary packages are; they need sid's
# glibc, so they run inside the root: scripts/in-sid-root.sh CMD... runs a command there.
# harness/tests/cpython_sid.rs runs leakcheck on them, so that the shim, the -R boundaries and the
# output parser are checked live on the interpreters CPython's buildbots run.
#
#   scripts/build-sid-root.sh      # prints the path of the root
#
# Cache: ${LEAKCHECK_CACHE:-$HOME/.cache/leakcheck}/sid-root (owned by root: debootstrap runs as
# root, with sudo when not root). Mirror: $LEAKCHECK_DEBIAN_MIRROR, else deb.debian.org.
# Needs: debootstrap (installed if missing; bookworm's knows sid and its archive keys). No system
# apt configuration is changed.
#
# The root is accepted only with its completion stamp, which holds the package list: a root
# without it (an interrupted build, one made by hand) or with another list is made again, beside
# it, and swapped in when it passes its checks. A run on a root in use by in-sid-root.sh removes
# the old root under that command's feet: do not rebuild during a test run.
set -euo pipefail

cache=${LEAKCHECK_CACHE:-$HOME/.cache/leakcheck}
root="$cache/sid-root"
stamp="$root/.leakcheck-complete"
mirror=${LEAKCHECK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
versions=(3.14 3.15)
# libc6-dbg: sid's libc is stripped; the hang diagnosis reads glibc's mutex waits through its
# symbols and DWARF (without them a lock cycle is not proved, only reported after the timeout).
packages=(libc6-dbg)
for v in "${versions[@]}"; do
    packages+=("python$v-dbg" "libpython$v-testsuite" "python$v-dev")
done
# What the stamp holds: a change of the list makes the root again.
want="sid minbase ${packages[*]}"
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && [ -x "$root/usr/bin/python${versions[-1]}-dbg" ]; then
    echo "$root"
    exit 0
fi

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
fail() {
    echo "build-sid-root: $*" >&2
    exit 1
}

"$(dirname "$0")/apt-install-missing.sh" build-sid-root debootstrap debian-archive-keyring gpgv wget
debootstrap=$(command -v debootstrap || echo /usr/sbin/debootstrap)
[ -x "$debootstrap" ] || fail "no debootstrap after installing it"

mkdir -p "$cache"
new="$root.partial"
log="$cache/sid-root.log"
# --one-file-system: an interrupted debootstrap may leave its /proc mounted in the target.
"${sudo[@]}" rm -rf --one-file-system "$new"
echo "build-sid-root: debootstrap sid into $new (log: $log)" >&2
include=$(
    IFS=,
    echo "${packages[*]}"
)
"${sudo[@]}" "$debootstrap" --variant=minbase --include="$include" sid "$new" "$mirror" >"$log" 2>&1 \
    || { tail -30 "$log" >&2; fail "debootstrap failed (network? the mirror $mirror? see $log)"; }

# The checks: each interpreter is a debug build of its version, regrtest imports, the headers
# for the fixtures' extension modules are there.
for v in "${versions[@]}"; do
    [ -f "$new/usr/include/python${v}d/Python.h" ] || fail "no $new/usr/include/python${v}d/Python.h"
    "${sudo[@]}" chroot "$new" "/usr/bin/python$v-dbg" -c "
import sys, sysconfig, test.libregrtest
assert sys.version_info[:2] == (${v/./, }), sys.version
assert hasattr(sys, 'gettotalrefcount')
assert sysconfig.get_config_var('EXT_SUFFIX')
" || fail "python$v-dbg in $new cannot run regrtest -R"
done
echo "$want" | "${sudo[@]}" tee "$new/.leakcheck-complete" >/dev/null

if [ -e "$root" ]; then
    echo "build-sid-root: replacing $root (no stamp or another package list)" >&2
    "${sudo[@]}" rm -rf --one-file-system "$root.old"
    "${sudo[@]}" mv "$root" "$root.old"
    "${sudo[@]}" rm -rf --one-file-system "$root.old"
fi
"${sudo[@]}" mv "$new" "$root"
echo "$root"
