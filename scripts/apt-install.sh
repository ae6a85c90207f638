#!/usr/bin/env bash
# apt-install.sh COMMAND PACKAGE OVERRIDE_VARIABLE WHY: install Debian's PACKAGE when COMMAND is missing (and
# the OVERRIDE_VARIABLE, naming another binary, is unset). Used by `make test` for the tools its tests drive.
set -euo pipefail
command_name=$1 package=$2 override=$3 why=$4
if command -v "$command_name" >/dev/null 2>&1 || [ -n "${!override:-}" ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "apt-install: $command_name is missing and this user cannot install it (install Debian's $package," \
       "or set $override to a $command_name binary)" >&2
  exit 1
fi
echo "apt-install: installing Debian's $package (apt-get) for $why"
$sudo apt-get update -qq
# RUNLEVEL=1 asks a package with a server not to start it (no init system runs here anyway)
DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $sudo apt-get install -y -qq --no-install-recommends "$package" >/dev/null
"$command_name" --version | head -1
