#!/usr/bin/env bash
# `make fleet`: N simulated stations + the district Prometheus and Alertmanager + the hub (PostgreSQL,
# waystation-district) on this machine, measured and extrapolated to 140 and 1,400 stations. Each station
# runs waystation-sim, waystationd, waystation-web (its /metrics), waystation-uplink and a Prometheus agent.
# See fleet.py --help; the usual knobs:
#   FLEET_STATIONS=20  BIN=.build/release  FLEET_SECONDS=120  FLEET_STATE=state/fleet  FLEET_REPORTS=10
# FLEET_MODE=hub-scale: 1,400 light simulated uplinks against one hub instead (hubscale.py --help;
#   FLEET_STATIONS defaults to 1400 there, FLEET_SECONDS to 300, state in state/hub-scale).
# Run from the repository root.
set -euo pipefail
here="$(dirname "$0")"
if [ "${FLEET_MODE:-}" = "hub-scale" ]; then
    exec python3 "$here/hubscale.py" "$@"
fi
exec python3 "$here/fleet.py" "$@"
