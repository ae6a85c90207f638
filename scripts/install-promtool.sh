#!/usr/bin/env bash
# Debian's prometheus package for promtool (the ops tests check the shipped alert rules and the OpenMetrics
# answers with it), installed when it is missing.
set -euo pipefail
if command -v promtool >/dev/null 2>&1 || [ -n "${FAIRPROBE_PROMTOOL:-}" ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "install-promtool: promtool is missing and this user cannot install it (install Debian's prometheus," \
       "or set FAIRPROBE_PROMTOOL to a promtool binary)" >&2
  exit 1
fi
echo "install-promtool: installing Debian's prometheus (apt-get) for promtool"
$sudo apt-get update -qq
# only promtool is wanted: RUNLEVEL=1 asks the package not to start its server (no init system runs here anyway)
DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
promtool --version | head -1
