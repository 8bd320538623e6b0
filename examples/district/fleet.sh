#!/usr/bin/env bash
# `make fleet`: N simulated stations + the district Prometheus and Alertmanager on this machine, measured
# and extrapolated to 140 and 1,400 stations. Each station runs waystation-sim, waystationd, waystation-web
# (its /metrics) and a Prometheus agent. See fleet.py --help; the usual knobs:
#   FLEET_STATIONS=20  BIN=.build/release  FLEET_SECONDS=120  FLEET_STATE=state/fleet
# Run from the repository root (state goes to state/fleet/).
set -euo pipefail
exec python3 "$(dirname "$0")/fleet.py" "$@"
