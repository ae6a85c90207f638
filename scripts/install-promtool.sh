#!/usr/bin/env bash
# Debian's prometheus package for promtool (the ops tests check the shipped alert rules and the OpenMetrics
# answers with it), installed when it is missing.
exec "$(dirname "$0")/apt-install.sh" promtool prometheus FAIRPROBE_PROMTOOL "the ops tests (promtool)"
