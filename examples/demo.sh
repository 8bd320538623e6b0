#!/usr/bin/env bash
# Runs the demo station: the simulator serves every appliance of examples/demo-station.toml (the
# RS-485 line through a socat pty pair, the cabinet and meter over Modbus TCP on 127.0.0.1:15020),
# and the Waystation client layer reads every device.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/debug
config=examples/demo-station.toml
mkdir -p state
rm -f state/sim.sock

"$bin/waystation-sim" --config "$config" --pty --no-stdin --control-socket state/sim.sock \
  >state/sim.log 2>&1 </dev/null &
sim=$!
trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null || true' EXIT

for _ in $(seq 50); do [ -S state/sim.sock ] && break; sleep 0.1; done
[ -S state/sim.sock ] || { echo "simulator did not start:"; cat state/sim.log; exit 1; }

echo "== $(date '+%H:%M:%S') demo station: every device read once through libmodbus"
"$bin/waystationd" --config "$config" --poll-once
echo
echo "== fault: the fridge door is opened and the fridge probe jumps to 15 °C"
echo "hold fridge cabinet_temp 15" | socat - UNIX-CONNECT:state/sim.sock >/dev/null
echo "set fridge door_open 1" | socat - UNIX-CONNECT:state/sim.sock >/dev/null
"$bin/waystationd" --config "$config" --poll-once | grep -E "^(DEVICE|fridge)"
