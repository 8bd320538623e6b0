#!/usr/bin/env bash
# The demo station: waystation-sim serves every appliance of examples/demo-station.toml (the RS-485
# line through a socat pty pair, the charging cabinet and meter over Modbus TCP on 127.0.0.1:15020),
# waystationd polls them, waystation-web serves the kiosk page (its address is printed), and
# `waystationctl status` shows the station live. Midway a fault is
# injected: the fridge door opens (its probe jumps to 15 °C) and the microwave's meter goes silent.
#
# DEMO_SECONDS=0 runs until Ctrl-C (default 40 s).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/debug
config=examples/demo-station.toml
seconds=${DEMO_SECONDS:-45}
mkdir -p state
rm -f state/sim.sock state/control.sock

"$bin/waystation-sim" --config "$config" --pty --no-stdin --control-socket state/sim.sock \
  >state/sim.log 2>&1 </dev/null &
sim=$!
daemon=
web=
cleanup() {
  [ -n "$web" ] && kill -TERM "$web" 2>/dev/null && wait "$web" 2>/dev/null || true
  [ -n "$daemon" ] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
  kill "$sim" 2>/dev/null; wait "$sim" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

for _ in $(seq 100); do [ -S state/sim.sock ] && break; sleep 0.1; done
[ -S state/sim.sock ] || { echo "simulator did not start:"; cat state/sim.log; exit 1; }

"$bin/waystationd" --check-config --config "$config"
echo
"$bin/waystationd" --config "$config" >state/daemon.log 2>&1 </dev/null &
daemon=$!
for _ in $(seq 100); do [ -S state/control.sock ] && break; sleep 0.1; done
[ -S state/control.sock ] || { echo "daemon did not start:"; cat state/daemon.log; exit 1; }

"$bin/waystation-web" --config "$config" >state/web.log 2>&1 </dev/null &
web=$!
kiosk_url="http://$(sed -n 's/^listen = "\(.*\)"/\1/p' "$config" | head -n 1)/"
echo "== Kiosk page: $kiosk_url   (open it in a browser; metrics at ${kiosk_url}metrics)"
echo

export WAYSTATION_SOCKET=state/control.sock
ctl() { "$bin/waystationctl" "$@"; }
sim() { echo "$*" | socat - UNIX-CONNECT:state/sim.sock >/dev/null; }

sleep 3
start=$(date +%s)
faulted=0
while :; do
  now=$(date +%s)
  elapsed=$((now - start))
  if [ -t 1 ]; then clear; fi
  echo "== $(date '+%H:%M:%S') waystationctl status   (daemon log: state/daemon.log)   kiosk: $kiosk_url"
  ctl status || true
  echo
  ctl device fridge | grep -E "^(POINT|cabinet_temp|setpoint|door_open|compressor) " || true
  echo
  ctl alerts || true
  if [ "$faulted" = 0 ] && [ "$elapsed" -ge $(( seconds > 0 ? seconds / 3 : 10 )) ]; then
    echo
    echo ">> fault injected: fridge door open, fridge probe at 15 °C, microwave meter silent"
    sim "hold fridge cabinet_temp 15"
    sim "set fridge door_open 1"
    sim "silent microwave"
    faulted=1
  fi
  if [ "$seconds" -gt 0 ] && [ "$elapsed" -ge "$seconds" ]; then break; fi
  echo
  sleep 5
done
echo
echo "== self-test"
ctl selftest || true
echo
echo "== a rider checks in at the kiosk (the id is stored only as a keyed hash)"
echo "+86 139 0000 0000" | ctl checkin --category food_delivery --source kiosk || true
