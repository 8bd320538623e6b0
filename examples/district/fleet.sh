#!/usr/bin/env bash
# `make fleet`: N simulated stations + the district Prometheus and Alertmanager on this machine, measured
# and extrapolated to 140 and 1,400 stations. See fleet.py --help; the usual knobs:
#   FLEET_STATIONS=20  BIN=.build/release  FLEET_SECONDS=120  FLEET_WEB=standin|waystation-web
# Run from the repository root (state goes to state/fleet/).
set -euo pipefail
exec python3 "$(dirname "$0")/fleet.py" "$@"
