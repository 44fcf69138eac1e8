#!/usr/bin/env bash
# Run a command inside the Debian sid root of scripts/build-sid-root.sh (where Debian's
# python3.13-dbg, python3.14-dbg and python3.15-dbg run), in a private mount namespace: /proc,
# /dev and /sys, /tmp, $TMPDIR, the current directory, this clone, the directory of CMD when it
# is a path, and the directories of $LEAKCHECK_SID_BINDS (colon-separated) are bind-mounted at
# the same paths, so that a bookworm-built leakcheck, its fixtures and its reports are where the
# caller sees them.
# The current directory is kept; the command replaces this script (exec all the way: its exit
# status and the signals sent to this pid are its own); stdin, stdout and stderr are untouched.
#
#   scripts/in-sid-root.sh CMD [ARG...]
#   scripts/in-sid-root.sh target/release/leakcheck -- python3.14-dbg -m test -R 3:3 test_bool
#
# Root: $LEAKCHECK_SID_ROOT, else ${LEAKCHECK_CACHE:-$HOME/.cache/leakcheck}/sid-root.
# chroot and the mounts need root: as root, unshare(1) directly; otherwise in a user namespace
# (unshare --user --map-root-user), where a mount point the root lacks cannot be created (the
# root belongs to root): make it once with sudo mkdir. Exit status 125: this script failed.
set -euo pipefail

fail() {
    echo "in-sid-root: $*" >&2
    exit 125
}
[ $# -gt 0 ] || fail "usage: scripts/in-sid-root.sh CMD [ARG...]"
root=${LEAKCHECK_SID_ROOT:-${LEAKCHECK_CACHE:-$HOME/.cache/leakcheck}/sid-root}
[ -f "$root/.leakcheck-complete" ] \
    || fail "no Debian sid root at $root (or an unfinished one): run scripts/build-sid-root.sh (or scripts/setup.sh)"
root=$(realpath -e "$root")

here=$(pwd -P)
clone=$(cd "$(dirname "$0")/.." && pwd -P)
cmd=$1
shift
candidates=(/tmp "${TMPDIR:-/tmp}" "$here" "$clone")
if [[ $cmd == */* ]]; then
    # The physical path: a symbolic link on the way (/home -> /data/home) is not in the root.
    dir=$(cd "$(dirname "$cmd")" 2>/dev/null && pwd -P) || fail "no directory $(dirname "$cmd")"
    cmd="$dir/$(basename "$cmd")"
    candidates+=("$dir")
fi
IFS=: read -r -a extra <<<"${LEAKCHECK_SID_BINDS:-}"
candidates+=("${extra[@]}")

# Physical, existing, outside the root and the kernel's file systems; a directory under one
# already bound is skipped (it is there already). Parents come first.
binds=()
while IFS= read -r path; do
    case $path in
        "" | / | /proc | /proc/* | /dev | /dev/* | /sys | /sys/* | "$root" | "$root"/*) continue ;;
    esac
    covered=0
    for b in "${binds[@]}"; do
        case $path in "$b" | "$b"/*) covered=1 ;; esac
    done
    [ $covered = 1 ] || binds+=("$path")
done < <(for c in "${candidates[@]}"; do
    [ -n "$c" ] && [ -d "$c" ] && (cd "$c" && pwd -P)
done | awk '{ print length($0) "\t" $0 }' | sort -n -k1,1 | cut -f2- | uniq)

if [ "$(id -u)" -eq 0 ]; then
    ns=(unshare --mount --propagation private)
elif unshare --user --map-root-user --mount true 2>/dev/null; then
    ns=(unshare --user --map-root-user --mount --propagation private)
else
    fail "chroot needs root: run as root, or enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)"
fi

# Inside the new mount namespace (gone with the command): mount, then chroot and cd, each an exec.
# shellcheck disable=SC2016 # expanded by the inner shells
exec "${ns[@]}" -- /bin/bash -c '
set -e
root=$1 here=$2 n=$3
shift 3
for d in /proc /dev /sys "${@:1:$n}"; do
    [ -d "$root$d" ] || mkdir -p "$root$d" 2>/dev/null \
        || { echo "in-sid-root: cannot create the mount point $root$d: sudo mkdir -p $root$d" >&2; exit 125; }
    mount --rbind "$d" "$root$d" || { echo "in-sid-root: cannot bind-mount $d into $root" >&2; exit 125; }
done
shift "$n"
exec chroot "$root" /bin/sh -c '\''cd "$0" || { echo "in-sid-root: cannot enter $0 inside the root" >&2; exit 125; }; exec "$@"'\'' "$here" "$@"
' in-sid-root "$root" "$here" "${#binds[@]}" "${binds[@]}" "$cmd" "$@"
