#!/usr/bin/env bash
# Make a Debian sid (unstable) root with Debian's debug CPython 3.13, 3.14 and 3.15
# (python3.13-dbg, python3.14-dbg, python3.15-dbg), their test suites and headers, into a cache
# outside the clone: a machine makes it once (2 to 5 minutes, mostly downloads; 1.9 GB).
# bookworm has none of them and sid's source packages are not always served by the mirror, but
# its binary packages are; they need sid's glibc, so they run inside the root:
# scripts/in-sid-root.sh CMD... runs a command there. harness/tests/cpython313.rs and
# harness/tests/cpython_sid.rs run leakcheck on them, so that the shim, the -R boundaries and the
# output parser are checked live on the interpreters CPython's buildbots run.
#
#   scripts/build-sid-root.sh      # prints the path of the root
#
# Cache: ${LEAKCHECK_CACHE:-$HOME/.cache/leakcheck}/sid-root (owned by root: debootstrap runs as
# root, with sudo when not root). Mirror: $LEAKCHECK_DEBIAN_MIRROR, else deb.debian.org.
# Needs: debootstrap (installed if missing; bookworm's knows sid and its archive keys). No system
# apt configuration is changed.
#
# The root is accepted only with its completion stamp, which holds the package list. A root
# stamped with part of the list (made before packages were added to it) gets the missing ones in
# place, by the root's apt-get (a minute or two, downloads), and is stamped again when it passes
# its checks; a root without a stamp (an interrupted build, one made by hand), with another list
# (a package taken out), or whose apt-get fails, is made again, beside it, and swapped in when it
# passes its checks. A run on a root in use by in-sid-root.sh changes the root under that
# command's feet (adds packages, or removes the old root): do not run it during a test run.
set -euo pipefail

cache=${LEAKCHECK_CACHE:-$HOME/.cache/leakcheck}
root="$cache/sid-root"
stamp="$root/.leakcheck-complete"
mirror=${LEAKCHECK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
versions=(3.13 3.14 3.15)
# libc6-dbg: sid's libc is stripped; the hang diagnosis reads glibc's mutex waits through its
# symbols and DWARF (without them a lock cycle is not proved, only reported after the timeout).
# libasan8, libubsan1: the runtimes of the ASAN fixture extension harness/tests/sanitizer_runs.rs
# builds for python3.13-dbg with the host's gcc (`--sanitizer asan` preloads the root's libasan).
packages=(libc6-dbg libasan8 libubsan1)
# libpython3.1X-dbg holds the debug headers (/usr/include/python3.1Xd), which the fixtures'
# extension modules are built against; python3.1X-dbg needs it anyway.
for v in "${versions[@]}"; do
    packages+=("python$v-dbg" "libpython$v-dbg" "libpython$v-testsuite" "python$v-dev")
done
# What the stamp holds: a root stamped with part of the list gets the rest in place; any other
# change of the list makes the root again.
want="sid minbase ${packages[*]}"
stamped=$(cat "$stamp" 2>/dev/null || true)
if [ "$stamped" = "$want" ] && [ -x "$root/usr/bin/python${versions[-1]}-dbg" ]; then
    echo "$root"
    exit 0
fi

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
fail() {
    echo "build-sid-root: $*" >&2
    exit 1
}

# The checks: each interpreter is a debug build of its version, regrtest imports, the headers
# for the fixtures' extension modules are there.
check() {
    local dir=$1 v
    for v in "${versions[@]}"; do
        [ -f "$dir/usr/include/python${v}d/Python.h" ] || fail "no $dir/usr/include/python${v}d/Python.h"
        "${sudo[@]}" chroot "$dir" "/usr/bin/python$v-dbg" -c "
import sys, sysconfig, test.libregrtest
assert sys.version_info[:2] == (${v/./, }), sys.version
assert hasattr(sys, 'gettotalrefcount')
assert sysconfig.get_config_var('EXT_SUFFIX')
" || fail "python$v-dbg in $dir cannot run regrtest -R"
    done
}

mkdir -p "$cache"
log="$cache/sid-root.log"

# The packages the stamp lacks, when it holds the same base and a part of this list (or all of
# it, in another order); a package taken out of the list makes the root again.
missing=()
in_place=0
if [[ $stamped == "sid minbase "* ]] && [ -x "$root/usr/bin/apt-get" ]; then
    declare -A had=()
    for p in ${stamped#sid minbase }; do had[$p]=1; done
    for p in "${packages[@]}"; do
        [ -n "${had[$p]:-}" ] || missing+=("$p")
        unset "had[$p]"
    done
    [ ${#had[@]} -gt 0 ] || in_place=1
fi
if [ $in_place = 1 ]; then
    # The root's own apt-get, with /proc, /dev and /sys there (in-sid-root.sh, as root); its
    # package lists first as debootstrap left them (nothing else moves), else updated.
    in_root=("${sudo[@]}" env PATH=/usr/sbin:/usr/bin:/sbin:/bin LEAKCHECK_SID_ROOT="$root"
        DEBIAN_FRONTEND=noninteractive "$(dirname "$0")/in-sid-root.sh")
    install=(apt-get install -y --no-install-recommends "${missing[@]}")
    echo "build-sid-root: adding ${missing[*]:-nothing} to $root (log: $log)" >&2
    if { [ ${#missing[@]} -eq 0 ] || { "${in_root[@]}" dpkg --configure -a \
        && { "${in_root[@]}" "${install[@]}" || { "${in_root[@]}" apt-get update && "${in_root[@]}" "${install[@]}"; }; }; } \
        >"$log" 2>&1; } && (check "$root"); then
        echo "$want" | "${sudo[@]}" tee "$stamp" >/dev/null
        echo "$root"
        exit 0
    fi
    tail -30 "$log" >&2
    echo "build-sid-root: could not add ${missing[*]:-nothing} to $root: making it again" >&2
fi

"$(dirname "$0")/apt-install-missing.sh" build-sid-root debootstrap debian-archive-keyring gpgv wget
debootstrap=$(command -v debootstrap || echo /usr/sbin/debootstrap)
[ -x "$debootstrap" ] || fail "no debootstrap after installing it"

new="$root.partial"
# --one-file-system: an interrupted debootstrap may leave its /proc mounted in the target.
"${sudo[@]}" rm -rf --one-file-system "$new"
echo "build-sid-root: debootstrap sid into $new (log: $log)" >&2
include=$(
    IFS=,
    echo "${packages[*]}"
)
"${sudo[@]}" "$debootstrap" --variant=minbase --include="$include" sid "$new" "$mirror" >"$log" 2>&1 \
    || { tail -30 "$log" >&2; fail "debootstrap failed (network? the mirror $mirror? see $log)"; }

check "$new"
echo "$want" | "${sudo[@]}" tee "$new/.leakcheck-complete" >/dev/null

if [ -e "$root" ]; then
    echo "build-sid-root: replacing $root (no stamp or another package list)" >&2
    "${sudo[@]}" rm -rf --one-file-system "$root.old"
    "${sudo[@]}" mv "$root" "$root.old"
    "${sudo[@]}" rm -rf --one-file-system "$root.old"
fi
"${sudo[@]}" mv "$new" "$root"
echo "$root"
