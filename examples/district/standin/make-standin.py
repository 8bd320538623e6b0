#!/usr/bin/env python3
"""STAND-IN for waystation-web's /metrics, until that process exists.

Writes a Prometheus text exposition that follows the metrics contract of issue 13 exactly, for the
devices and points of a station config (default: examples/demo-station.toml with its profiles under
devices/): 5 devices, 74 points. The values are plausible constants. It doubles as a readable spec of
the exposition: `standin/metrics.prom` beside this file is its output for the demo station.

    make-standin.py [--config FILE] [--station ID] [--district NAME] [--version V] [-o FILE]

Python 3.11+ standard library only (tomllib).
"""
import argparse
import os
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

# Profile unit (as written in devices/*.toml) -> the `unit` label value. A proposal for waystation-web:
# spelled-out plural unit names as the Prometheus naming guidelines use them; values are not converted.
UNIT_LABEL = {
    "°C": "celsius",
    "V": "volts",
    "A": "amperes",
    "W": "watts",
    "VA": "volt_amperes",
    "var": "volt_amperes_reactive",
    "Wh": "watt_hours",
    "kWh": "kilowatt_hours",
    "kvarh": "kilovolt_amperes_reactive_hours",
    "Hz": "hertz",
    "h": "hours",
    "": "",
}

KINDS = ["air_conditioner", "fridge", "microwave", "charger", "meter", "other"]
STATES = ["unknown", "online", "degraded", "offline"]
RESULTS = ["ok", "timeout", "crc", "exception", "connection", "invalid"]
BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
SEVERITIES = ["info", "warning", "critical"]

# Plausible values for a quiet, healthy station; anything not listed is 0.
VALUES = {
    ("fridge", "control_temp"): 4.1, ("fridge", "cabinet_temp"): 4.3, ("fridge", "evaporator_temp"): -2.5,
    ("fridge", "setpoint"): 4.0, ("fridge", "compressor"): 1, ("fridge", "controller_on"): 1,
    ("air_conditioner", "on"): 1, ("air_conditioner", "mode"): 4, ("air_conditioner", "fan_speed"): 2,
    ("air_conditioner", "setpoint"): 26.0, ("air_conditioner", "room_temp"): 26.8,
    ("air_conditioner", "operation_hours"): 1843,
    ("microwave", "voltage"): 229.8, ("microwave", "frequency"): 50.0, ("microwave", "energy"): 18342,
    ("microwave", "power_alarm_threshold"): 1500,
    ("meter", "voltage"): 230.1, ("meter", "current"): 3.42, ("meter", "power"): 742.0,
    ("meter", "apparent_power"): 786.9, ("meter", "reactive_power"): 262.1, ("meter", "power_factor"): 0.94,
    ("meter", "frequency"): 50.0, ("meter", "import_energy"): 1532.7, ("meter", "total_energy"): 1532.7,
    ("meter", "import_reactive_energy"): 210.4, ("meter", "total_reactive_energy"): 210.4,
}
SLOT_VALUES = {"relay": 1, "battery": 1, "temp": 31.5, "voltage": 54.2, "current": 2.1, "energy": 412}


def point_value(kind, point):
    if (kind, point) in VALUES:
        return VALUES[(kind, point)]
    if kind == "charger" and point.startswith("slot") and "_" in point:
        return SLOT_VALUES.get(point.split("_", 1)[1], 0)
    return 0


def esc(v):
    return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def labels(**kv):
    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in kv.items()) + "}" if kv else ""


def fmt(v):
    if isinstance(v, float):
        return repr(v)
    return str(v)


def load_station(config_path):
    with open(config_path, "rb") as f:
        cfg = tomllib.load(f)
    base = os.path.dirname(os.path.abspath(config_path))
    paths = [os.path.join(base, p) for p in cfg.get("profiles", {}).get("paths", [])]
    paths.append(os.path.join(REPO, "devices"))
    devices = []
    for dev in cfg.get("device", []):
        prof = None
        for p in paths:
            fn = os.path.join(p, dev["profile"] + ".toml")
            if os.path.exists(fn):
                with open(fn, "rb") as f:
                    prof = tomllib.load(f)
                break
        if prof is None:
            sys.exit(f"profile {dev['profile']!r} of device {dev['id']!r} not found in {paths}")
        kind = prof["profile"].get("kind", "other")
        points = [(p["name"], UNIT_LABEL.get(p.get("unit", ""), p.get("unit", "")))
                  for p in prof.get("point", [])]
        devices.append({"id": dev["id"], "kind": kind, "bus": dev["bus"], "points": points})
    return cfg, devices


def exposition(cfg, devices, station, district, version, now):
    out = ["# STAND-IN for waystation-web /metrics (issue 13 contract), written by examples/district/"
           "standin/make-standin.py; constant values."]

    def metric(name, mtype, help_, samples):
        out.append(f"# HELP {name} {help_}")
        out.append(f"# TYPE {name} {mtype}")
        for suffix, lbl, v in samples:
            out.append(f"{name}{suffix}{lbl} {fmt(v)}")

    metric("waystation_build_info", "gauge",
           "Version of waystation and identity of this station; always 1.",
           [("", labels(version=version, station=station, district=district), 1)])
    metric("waystation_daemon_up", "gauge",
           "1 if waystation-web can reach the daemon's control socket, else 0.", [("", "", 1)])
    metric("waystation_device_state", "gauge",
           "Device health: 1 for the device's current state, 0 for the other states.",
           [("", labels(device=d["id"], kind=d["kind"], state=s), 1 if s == "online" else 0)
            for d in devices for s in STATES])
    metric("waystation_device_maintenance", "gauge",
           "1 if the device is in maintenance (its alerts do not fire), else 0.",
           [("", labels(device=d["id"], kind=d["kind"]), 0) for d in devices])
    metric("waystation_device_last_good_read_timestamp_seconds", "gauge",
           "Unix time of the device's last good read.",
           [("", labels(device=d["id"], kind=d["kind"]), round(now - 2.0, 3)) for d in devices])
    metric("waystation_point_value", "gauge",
           "Latest good value of a device point, in the unit named by the unit label.",
           [("", labels(device=d["id"], kind=d["kind"], point=p, unit=u), point_value(d["kind"], p))
            for d in devices for p, u in d["points"]])

    buses = [b["name"] for b in cfg.get("bus", [])]
    req = {}
    for b in buses:
        ok = 86400 * 3
        req[b] = {"ok": ok, "timeout": 41, "crc": 3 if b != "cabinet" else 0, "exception": 2,
                  "connection": 1, "invalid": 0}
    metric("waystation_bus_requests_total", "counter", "Modbus requests on a bus, by result.",
           [("", labels(bus=b, result=r), req[b][r]) for b in buses for r in RESULTS])
    metric("waystation_bus_reconnects_total", "counter", "Times a bus's connection was reopened.",
           [("", labels(bus=b), 1) for b in buses])
    hist = []
    for b in buses:
        total = sum(req[b].values())
        # A 9600-baud RTU line answers in ~20-60 ms, a TCP gateway in a few ms.
        fractions = ([0.05, 0.20, 0.70, 0.97, 0.995, 0.998, 0.999, 0.9995, 1.0] if b != "cabinet"
                     else [0.60, 0.95, 0.995, 0.999, 0.9995, 0.9998, 0.9999, 1.0, 1.0])
        cum = [int(total * f) for f in fractions]
        for le, c in zip(BUCKETS, cum):
            hist.append(("_bucket", labels(bus=b, le=repr(float(le))), c))
        hist.append(("_bucket", labels(bus=b, le="+Inf"), total))
        hist.append(("_sum", labels(bus=b), round(total * (0.031 if b != "cabinet" else 0.004), 3)))
        hist.append(("_count", labels(bus=b), total))
    metric("waystation_bus_request_duration_seconds", "histogram",
           "Time from sending a Modbus request to its reply or failure.", hist)
    metric("waystation_alerts", "gauge", "Alerts of this station by state and severity.",
           [("", labels(state=st, severity=sv), 0) for st in ("pending", "firing") for sv in SEVERITIES])
    metric("waystation_slot_interlocked", "gauge",
           "1 if the charging slot's power is cut and latched by an interlock, else 0.",
           [("", labels(slot=s["id"]), 0) for s in cfg.get("slot", [])])
    metric("waystation_occupancy_riders", "gauge", "Riders checked in now.", [("", "", 3)])
    metric("waystation_capacity_riders", "gauge", "Riders the station is meant to hold.",
           [("", "", cfg.get("station", {}).get("capacity", 0))])
    cats = cfg.get("visits", {}).get("categories", ["courier", "food_delivery", "ride_hailing", "other"])
    metric("waystation_checkins_total", "counter", "Check-ins by rider category (counts only).",
           [("", labels(category=c), n) for c, n in zip(cats, [812, 1377, 240, 35])])
    metric("waystation_storage_ok", "gauge", "1 if the last database write succeeded, else 0.",
           [("", "", 1)])
    metric("waystation_storage_errors_total", "counter", "Failed database writes.", [("", "", 0)])
    metric("waystation_storage_written_bytes_total", "counter",
           "Bytes written to the database and its WAL.", [("", "", 48213504)])
    metric("waystation_database_size_bytes", "gauge", "Size of the database file and its WAL.",
           [("", "", 7340032)])
    targets = [n.get("kind", "webhook") for n in cfg.get("notify", [])] or ["alertmanager", "webhook"]
    metric("waystation_outbox_pending", "gauge", "Notifications not yet delivered, by target.",
           [("", labels(target=t), 0) for t in targets])
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=os.path.join(REPO, "examples", "demo-station.toml"))
    ap.add_argument("--station", help="station id (default: [station] id of the config)")
    ap.add_argument("--district", default="haidian")
    ap.add_argument("--version", default="0.1.0")
    ap.add_argument("--now", type=float, default=1767225600.0,
                    help="Unix time used for last-good-read timestamps (default fixed, for a stable file)")
    ap.add_argument("-o", "--output", default="-")
    a = ap.parse_args()
    cfg, devices = load_station(a.config)
    station = a.station or cfg.get("station", {}).get("id", "demo-001")
    text = exposition(cfg, devices, station, a.district, a.version, a.now)
    if a.output == "-":
        sys.stdout.write(text)
    else:
        with open(a.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
