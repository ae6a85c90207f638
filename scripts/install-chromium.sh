#!/usr/bin/env bash
# Debian's chromium for the browser tests (HTML reports, /docs), installed when it is missing.
# Playwright drives it as it is: no browser download from Playwright's CDN.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -n "${FAIRPROBE_CHROMIUM:-}" ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "install-chromium: chromium is missing and this user cannot install it (install Debian's chromium," \
       "or set FAIRPROBE_CHROMIUM to a Chromium binary)" >&2
  exit 1
fi
echo "install-chromium: installing Debian's chromium (apt-get)"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
chromium --version
