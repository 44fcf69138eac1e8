#!/usr/bin/env bash
# Install the Debian packages named on the command line that are not installed yet (with sudo
# when not root; `apt-get update` once if the install fails on stale lists). Its output goes to
# stderr: the build scripts print their result on stdout.
#
#   scripts/apt-install-missing.sh WHO PACKAGE...      # WHO prefixes the message
set -euo pipefail

who=$1
shift
missing=()
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -gt 0 ] || exit 0

echo "$who: installing ${missing[*]}" >&2
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >&2 \
    || { "${sudo[@]}" apt-get update >&2 && "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >&2; }
