#!/usr/bin/env bash
# Debian's chromium for the browser tests (HTML reports, /docs), installed when it is missing.
# Playwright drives it as it is: no browser download from Playwright's CDN.
exec "$(dirname "$0")/apt-install.sh" chromium chromium FAIRPROBE_CHROMIUM "the browser tests"
