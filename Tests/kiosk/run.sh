#!/usr/bin/env bash
# Runs the kiosk browser tests (test_kiosk.py) against a real stack: waystation-sim serving the demo
# station's appliances (the cabinet on a free loopback port), waystationd, and waystation-web on a
# free loopback port, all in a fresh temporary directory that is searched for the raw card number
# afterwards. Exit status: the test's.
#
#   Tests/kiosk/run.sh                      # binaries from .build/debug (or $WAYSTATION_BIN)
#   KIOSK_FAILED_SHOTS=/tmp/shots Tests/kiosk/run.sh   # on failure, keep every screenshot taken there
#   KIOSK_ONLY="KioskTest.test_55_english_words_not_clipped_in_landscape" Tests/kiosk/run.sh   # some tests only
#   KIOSK_SCREENSHOTS=docs Tests/kiosk/run.sh   # also keep docs/kiosk-portrait.png, kiosk-landscape.png,
#                                               # kiosk-smoke-alarm.png and kiosk-report.png
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=${WAYSTATION_BIN:-$repo/.build/debug}
shots_out=${KIOSK_SCREENSHOTS:-}
dir=$(mktemp -d /tmp/ws-kiosk-XXXXXX)
mkdir -p "$dir/logs" "$dir/shots"
pids=()
cleanup() {
  # a daemon restarted by the test (its "daemon away" case) is not our child: stop it by its pid file
  if [ -f "$dir/daemon.pid" ]; then
    dpid=$(cat "$dir/daemon.pid")
    kill -TERM "$dpid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
  fi
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cabinet_port=$(free_port)
web_port=$(free_port)
sed -e "s|\"../state/station.db\"|\"$dir/station.db\"|" \
    -e "s|\"../state/control.sock\"|\"$dir/control.sock\"|" \
    -e "s|\[\"../devices\"\]|[\"$repo/devices\"]|" \
    -e "s|\"../state/ttyWS0\"|\"$dir/ttyWS0\"|" \
    -e "s|^port = 15020|port = $cabinet_port|" \
    -e "s|^listen = \"127.0.0.1:8480\"|listen = \"127.0.0.1:$web_port\"|" \
    "$repo/examples/demo-station.toml" > "$dir/station.toml"

wait_for() {  # wait_for WHAT SECONDS COMMAND...
  local what=$1 limit=$2; shift 2
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $end ]; then echo "run.sh: timed out waiting for $what" >&2; tail -n 30 "$dir"/logs/*.log >&2; exit 1; fi
    sleep 0.1
  done
}

"$bin/waystation-sim" --config "$dir/station.toml" --pty --no-stdin --control-socket "$dir/sim.sock" \
  >"$dir/logs/sim.log" 2>&1 </dev/null &
pids+=($!)
wait_for "the simulator" 30 test -S "$dir/sim.sock"
# How the test starts the daemon again after stopping it (the page's "daemon away" case).
daemon_start="TZ=UTC '$bin/waystationd' --config '$dir/station.toml' >>'$dir/logs/daemon.log' 2>&1 </dev/null & echo \$! >'$dir/daemon.pid'"
TZ=UTC "$bin/waystationd" --config "$dir/station.toml" >"$dir/logs/daemon.log" 2>&1 </dev/null &
pids+=($!)
echo $! >"$dir/daemon.pid"
wait_for "the daemon" 30 test -S "$dir/control.sock"
"$bin/waystation-web" --config "$dir/station.toml" >"$dir/logs/web.log" 2>&1 </dev/null &
pids+=($!)
wait_for "waystation-web" 30 python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$web_port/api/kiosk', timeout=2)"
# Every device polled once, so the page has something to show.
wait_for "the devices online" 30 sh -c "WAYSTATION_SOCKET='$dir/control.sock' '$bin/waystationctl' status --json | python3 -c 'import json,sys; d=json.load(sys.stdin)[\"devices\"]; sys.exit(0 if all(x[\"state\"]==\"online\" for x in d) else 1)'"

status=0
KIOSK_URL="http://127.0.0.1:$web_port/" \
WAYSTATIONCTL="$bin/waystationctl" WAYSTATION_SOCKET="$dir/control.sock" \
SIM_SOCKET="$dir/sim.sock" KIOSK_STATE_DIRS="$dir" KIOSK_SCREENSHOTS="$dir/shots" \
KIOSK_DAEMON_PIDFILE="$dir/daemon.pid" KIOSK_DAEMON_START="$daemon_start" \
  python3 "$repo/Tests/kiosk/test_kiosk.py" -v ${KIOSK_ONLY:-} || status=$?
if [ -n "$shots_out" ] && [ "$status" = 0 ]; then
  mkdir -p "$shots_out"
  cp "$dir/shots/kiosk-portrait.png" "$dir/shots/kiosk-landscape.png" "$dir/shots/kiosk-smoke-alarm.png" \
    "$dir/shots/kiosk-report.png" "$shots_out/"
  echo "run.sh: screenshots in $shots_out/: kiosk-portrait, kiosk-landscape, kiosk-smoke-alarm, kiosk-report (.png)"
fi
if [ "$status" != 0 ]; then
  tail -n 40 "$dir"/logs/*.log >&2
  if [ -n "${KIOSK_FAILED_SHOTS:-}" ]; then mkdir -p "$KIOSK_FAILED_SHOTS" && cp "$dir"/shots/*.png "$KIOSK_FAILED_SHOTS/" 2>/dev/null || true; fi
fi
exit "$status"
