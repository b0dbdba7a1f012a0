#!/bin/sh
# Installs the Debian 12 packages autoscalerd needs to build, test, fuzz and demo.
# As root: apt-get installs what is missing. Otherwise: print the exact command and stop.
set -eu

PKGS="build-essential meson ninja-build pkg-config
libcurl4-openssl-dev libcjson-dev libyaml-dev libssl-dev check libmicrohttpd-dev libgnutls28-dev libev-dev
clang libclang-rt-14-dev llvm valgrind python3
prometheus"
# Extra packages, space-separated (also a way to dry-run the non-root path with a bogus name).
PKGS="$PKGS ${AUTOSCALERD_EXTRA_PKGS:-}"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "autoscalerd: missing packages:$missing" >&2
	echo "install them with:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi

echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
