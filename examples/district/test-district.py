#!/usr/bin/env python3
"""Tests of the district side (issues 13 and 22) with the real Debian binaries (prometheus 2.42, promtool,
prometheus-alertmanager 0.25, amtool, prometheus-node-exporter) and a throwaway district CA made with the
openssl CLI, on loopback, free ports and a temp dir.

Static checks: promtool check config (district and rendered station agent), promtool check web-config,
promtool check rules, promtool test rules on every district/tests/*.yml, amtool check-config, and every
case of alertmanager/routing-tests.txt with `amtool config routes test`.

End to end, with a simulated station from --bin (default .build/debug): waystation-sim, waystationd and
waystation-web. Alertmanager (HTTPS, client certificates) routes, inhibits and resolves alerts posted to
its API, and the daemon's own SlotInterlock (through waystation-uplink, https with a client certificate). The
station's agent remote-writes over https with its client certificate, through a counting relay (its 4G
link), to the district Prometheus (HTTPS, client certificates): the district has each device's state as
`waystationctl status` and a point value as `waystationctl read`; plain http, no certificate and another
CA's certificate are refused by Prometheus and Alertmanager; every series the rules and the desk read
arrives and the dropped ones do not; the uplink per station-day is within the 5 MiB budget; the district
Prometheus is stopped for --outage seconds (default 120) and the station's series have no gap over it.

Prints PASS/FAIL per check and "district: N passed, M failed"; exits 1 on any failure.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import districtlib as dl  # noqa: E402

results = []


def check(name, ok, detail=""):
    results.append((name, bool(ok)))
    print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"  -- {detail}" if detail else ""), flush=True)
    return ok


def run(argv, stdin=None):
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True)
    return p.returncode, (p.stdout + p.stderr).strip()


def static_checks(tmp, pki):
    district = os.path.join(tmp, "district-rendered.yml")
    with open(district, "w") as f:
        f.write(dl.render_district_config(9090, 9093, pki))
    rc, out = run([dl.PROMTOOL, "check", "config", district])
    check("promtool check config district/prometheus.yml (rendered, TLS files of a test CA)", rc == 0,
          "" if rc == 0 else out)
    rc, out = run([dl.PROMTOOL, "check", "web-config", dl.write_web_config(tmp, pki)])
    check("promtool check web-config district/web-config.yml (rendered)", rc == 0, "" if rc == 0 else out)

    agent = os.path.join(tmp, "agent-rendered.yml")
    tls_dir = dl.station_tls_dir(pki, "hy-042", os.path.join(tmp, "hy-042-tls"))
    with open(agent, "w") as f:
        f.write(dl.render_agent_config("hy-042", "hanyang", "https://metrics.hanyang.example/api/v1/write",
                                       "127.0.0.1:8480", "127.0.0.1:9100", "127.0.0.1:9090", tls_dir))
    rc, out = run([dl.PROMTOOL, "check", "config", "--agent", agent])
    check("promtool check config --agent station/prometheus-agent.yml (rendered)", rc == 0,
          "" if rc == 0 else out)
    with open(agent) as f:
        text = f.read()
    check("the agent sends over https only, with the district CA and a client certificate",
          "https://" in text and "http://" not in text.split("remote_write:")[1]
          and all(k in text for k in ("ca_file:", "cert_file:", "key_file:")))

    rules = sorted(os.path.join(dl.DISTRICT_RULES, f) for f in os.listdir(dl.DISTRICT_RULES)
                   if f.endswith(".yml"))
    rc, out = run([dl.PROMTOOL, "check", "rules", *rules])
    check("promtool check rules district/rules/*.yml", rc == 0, "" if rc == 0 else out)

    tests_dir = os.path.join(dl.HERE, "district", "tests")
    for t in sorted(os.listdir(tests_dir)):
        if t.endswith(".yml"):
            rc, out = run([dl.PROMTOOL, "test", "rules", os.path.join(tests_dir, t)])
            check(f"promtool test rules district/tests/{t}", rc == 0, "" if rc == 0 else out)

    rc, out = run([dl.AMTOOL, "check-config", dl.AM_CONFIG])
    check("amtool check-config alertmanager/alertmanager.yml", rc == 0, "" if rc == 0 else out)

    with open(os.path.join(dl.HERE, "alertmanager", "routing-tests.txt")) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            want, *labels = line.split()
            rc, out = run([dl.AMTOOL, "config", "routes", "test", f"--config.file={dl.AM_CONFIG}",
                           f"--verify.receivers={want}", *labels])
            got = out.splitlines()[-1] if out else ""
            check(f"amtool routes {labels[0]} -> {want}", rc == 0, "" if rc == 0 else f"got {got!r}")


def raw_samples(base, expr, end, seconds):
    """[(t, v)] of the raw samples of the one series `expr` selects, over (end - seconds, end]."""
    r = dl.prom_query(base, f"{expr}[{int(seconds)}s]", at=end)
    if len(r) != 1:
        raise RuntimeError(f"{expr}: {len(r)} series")
    return [(float(t), float(v)) for t, v in r[0]["values"]]


def e2e(args, tmp, pki):
    procs = dl.Procs()
    receiver = dl.WebhookReceiver()
    relays = []
    station, district = args.station, args.district
    ca = f"{pki}/district-ca.pem"
    try:
        prom_port, am_port, agent_port, node_port = (dl.free_port() for _ in range(4))
        # The district as shipped: Prometheus and Alertmanager on HTTPS, client certificates required.
        dl.start_alertmanager(procs, tmp, am_port, dl.render_am_config(receiver.port, fast=True), pki=pki)
        district_proc = dl.start_district(procs, tmp, prom_port, am_port, pki)
        base = f"https://127.0.0.1:{prom_port}"
        dl.start_node_exporter(procs, tmp, node_port)
        amtool_http = os.path.join(tmp, "amtool-http.yml")
        with open(amtool_http, "w") as f:
            f.write(f"tls_config:\n  ca_file: {ca}\n  cert_file: {pki}/tester.pem\n  key_file: {pki}/tester.key\n")
        sdir = os.path.join(tmp, "station")
        os.makedirs(sdir)
        # The real station: simulator, daemon (alerts to this Alertmanager), waystation-web for /metrics.
        web_port = dl.free_port()
        cfg = os.path.join(sdir, "station.toml")
        # Its alerts go to the district Alertmanager through waystation-uplink, over https with the
        # district CA and the uplink's client certificate ([[notify]] ca, certificate, key).
        text = dl.station_config(station, sdir, dl.free_port(), dl.free_port(), am_port, web_port, district=district)
        plain = f'url = "http://127.0.0.1:{am_port}"\n'
        if plain not in text:
            raise RuntimeError("districtlib.station_config's [[notify]] changed; update test-district.py")
        text = text.replace(plain, f'url = "https://127.0.0.1:{am_port}"\nca = "{ca}"\n'
                                   f'certificate = "{pki}/uplink.pem"\nkey = "{pki}/uplink.key"\n')
        with open(cfg, "w") as f:
            f.write(text)
        dl.start_sim_and_daemon(procs, sdir, args.bin, cfg)
        procs.start("uplink", [os.path.join(args.bin, "waystation-uplink"), "--config", cfg],
                    os.path.join(sdir, "uplink.log"))
        dl.sim_command(os.path.join(sdir, "sim.sock"), "hold fridge cabinet_temp 4.5")
        dl.start_web(procs, sdir, args.bin, cfg, web_port)
        web_target = f"127.0.0.1:{web_port}"
        ctl = [os.path.join(args.bin, "waystationctl")]
        sock = ["--socket", os.path.join(sdir, "control.sock")]
        dl.log(f"      waystation-sim, waystationd and waystation-web ({web_target}) running for {station}")

        def ctl_json(*argv):
            rc, out = run([*ctl, *argv, "--json", *sock])
            if rc != 0:
                raise RuntimeError(f"waystationctl {' '.join(argv)}: {out}")
            return json.loads(out)

        # Every device polled, so that the exposition has every point.
        dl.wait_until(lambda: all(d["state"] == "online" for d in ctl_json("status")["devices"]), 30, 0.5)
        expo_text = dl.get_text(f"http://{web_target}/metrics")
        rc, out = run([dl.PROMTOOL, "check", "metrics"], stdin=expo_text)
        check("promtool check metrics on waystation-web's /metrics", rc == 0, out)

        # The agent as shipped (config and drop-in flags), its remote write through a counting relay that
        # stands for the station's 4G link, over https with the station's client certificate.
        link = dl.CountingProxy(prom_port)
        relays.append(link)
        tls_dir = dl.station_tls_dir(pki, station, os.path.join(tmp, "agent-tls"))
        agent_cfg = dl.render_agent_config(station, district, f"https://127.0.0.1:{link.port}/api/v1/write",
                                           web_target, f"127.0.0.1:{node_port}", f"127.0.0.1:{agent_port}", tls_dir)
        agent = dl.start_agent(procs, tmp, "agent", agent_cfg, agent_port)
        agent_url = f"http://127.0.0.1:{agent_port}"
        t_agent = time.time()
        intervals = dl.scrape_intervals(agent_cfg)
        every = intervals["waystation"]
        # The same agent without a client certificate (trusting the district CA), as "rogue-001", sending
        # every 5 s: the district must refuse it.
        rogue_port = dl.free_port()
        rogue_cfg = re.sub(r"\n\s*(cert_file|key_file):.*", "", dl.render_agent_config(
            "rogue-001", district, f"https://127.0.0.1:{prom_port}/api/v1/write", web_target,
            f"127.0.0.1:{node_port}", f"127.0.0.1:{rogue_port}", tls_dir))
        rogue_cfg = re.sub(r"batch_send_deadline: \S+", "batch_send_deadline: 5s", rogue_cfg)
        dl.start_agent(procs, tmp, "rogue-agent", rogue_cfg, rogue_port)

        # While the agent's first requests are on their way (every 2 minutes):
        # 2. Alertmanager: routing, inhibition, resolution, with the daemon's labels.
        am_url = f"https://127.0.0.1:{am_port}"
        now = datetime.datetime.now(datetime.timezone.utc)

        def alert(labels, ends=None):
            a = {"labels": labels, "annotations": {"summary": labels["alertname"]},
                 "startsAt": (now - datetime.timedelta(seconds=5)).isoformat(),
                 "generatorURL": "http://waystation.invalid/"}
            if ends is not None:
                a["endsAt"] = ends.isoformat()
            return a

        # Posted as station "<station>-api", apart from the real daemon's alerts (part 4).
        api_station = station + "-api"
        common = {"station": api_station, "district": district}
        silent_station = station + "-silent"
        firing = [
            {"alertname": "SlotInterlock", **common, "device": "cabinet", "slot": "slot-1", "severity": "critical"},
            {"alertname": "FridgeTooWarm", **common, "device": "fridge", "severity": "warning"},
            {"alertname": "StationSilent", "station": silent_station, "district": district, "severity": "warning"},
            {"alertname": "DeviceOffline", "station": silent_station, "district": district, "device": "microwave",
             "severity": "warning"},
            {"alertname": "CabinetSmoke", "station": silent_station, "district": district, "device": "cabinet",
             "severity": "critical"},
        ]
        # StationSilent first: inhibition applies from when Alertmanager knows the source alert (alerts of
        # one POST can race it once; at a district, StationSilent comes minutes before anything else).
        status, _ = dl.http("POST", f"{am_url}/api/v2/alerts", [alert(firing[2])])
        dl.wait_until(lambda: json.loads(dl.get_text(f"{am_url}/api/v2/alerts?" + urllib.parse.urlencode(
            {"filter": 'alertname="StationSilent"'}))), 10, 0.2)
        time.sleep(1)
        status2, _ = dl.http("POST", f"{am_url}/api/v2/alerts", [alert(l) for l in firing])
        check("POST /api/v2/alerts accepted", status == 200 and status2 == 200, f"HTTP {status}, {status2}")

        def delivered(path, name, st, stn=api_station):
            return any(s == st and lab.get("alertname") == name and lab.get("station") == stn
                       for _, s, lab in receiver.alerts(path))

        ok = dl.wait_until(lambda: delivered("/safety", "SlotInterlock", "firing"), 30, 0.5)
        lab = next((l for _, s, l in receiver.alerts("/safety") if l.get("alertname") == "SlotInterlock"
                    and l.get("station") == api_station), {})
        check("SlotInterlock reaches the safety receiver with station, district, device, slot, severity",
              ok and all(k in lab for k in ("station", "district", "device", "slot", "severity")), json.dumps(lab))
        ok = dl.wait_until(lambda: delivered("/maintenance", "FridgeTooWarm", "firing"), 30, 0.5)
        check("FridgeTooWarm reaches the maintenance receiver", ok)
        check("SlotInterlock did not go to maintenance, FridgeTooWarm not to safety",
              not delivered("/maintenance", "SlotInterlock", "firing")
              and not delivered("/safety", "FridgeTooWarm", "firing"))
        rc, out = run([dl.AMTOOL, "alert", "query", f"--alertmanager.url={am_url}", "-o", "json",
                       f"--http.config.file={amtool_http}",
                       "alertname=SlotInterlock", f"station={api_station}"])
        try:
            q = json.loads(out)
            ok = rc == 0 and len(q) == 1 and q[0]["labels"].get("slot") == "slot-1"
        except ValueError:
            ok = False
        check("amtool alert query finds SlotInterlock with its labels", ok, out[:200] if not ok else "")

        ok = dl.wait_until(lambda: delivered("/maintenance", "StationSilent", "firing", silent_station)
                           and delivered("/safety", "CabinetSmoke", "firing", silent_station), 30, 0.5)
        time.sleep(3)
        api = json.loads(dl.get_text(f"{am_url}/api/v2/alerts?" + urllib.parse.urlencode(
            {"filter": f'station="{silent_station}"', "inhibited": "true"})))
        inhibited = {a["labels"]["alertname"]: bool(a["status"]["inhibitedBy"]) for a in api}
        check("a silent station inhibits its device alerts (DeviceOffline), not its safety ones (CabinetSmoke)",
              ok and inhibited.get("DeviceOffline") is True and inhibited.get("CabinetSmoke") is False
              and not delivered(None, "DeviceOffline", "firing", silent_station),
              f"inhibited: {json.dumps(inhibited)}; delivered: "
              + ", ".join(f"{p}:{l.get('alertname')}:{s}" for p, s, l in receiver.alerts()
                          if l.get("station") == silent_station))

        ended = now - datetime.timedelta(seconds=1)
        resolve = [alert(l, ends=ended) for l in firing[:2]]
        status, _ = dl.http("POST", f"{am_url}/api/v2/alerts", resolve)
        ok = dl.wait_until(lambda: delivered("/safety", "SlotInterlock", "resolved")
                           and delivered("/maintenance", "FridgeTooWarm", "resolved"), 30, 0.5)
        check("posted with endsAt in the past, both arrive resolved at their receivers", ok,
              f"safety {receiver.count('/safety')} deliveries, maintenance {receiver.count('/maintenance')}")

        # 3. The real daemon: a slot interlock in the simulator reaches Alertmanager and resolves.
        dl.sim_command(os.path.join(sdir, "sim.sock"), "hold cabinet slot1_temp 75")
        ok = dl.wait_until(lambda: delivered("/safety", "SlotInterlock", "firing", station), 60, 0.5)
        lab = next((l for _, s_, l in receiver.alerts("/safety")
                    if l.get("alertname") == "SlotInterlock" and l.get("station") == station), {})
        want_labels = ("alertname", "station", "district", "device", "slot", "severity")
        missing = [k for k in want_labels if not lab.get(k)]
        check("waystationd's SlotInterlock (slot at 75 °C in the simulator) reaches the safety receiver "
              "with station, district, device, slot, severity", ok and not missing,
              json.dumps(lab) + (f"; missing {missing}" if missing else ""))
        dl.sim_command(os.path.join(sdir, "sim.sock"), "hold cabinet slot1_temp 25")
        enabled = dl.wait_until(lambda: run([*ctl, "enable-slot", "slot-1", *sock])[0] == 0, 30, 1)
        ok = enabled and dl.wait_until(lambda: delivered("/safety", "SlotInterlock", "resolved", station),
                                       60, 0.5)
        check("after `waystationctl enable-slot slot-1` the SlotInterlock arrives resolved", ok,
              "" if enabled else "enable-slot refused: " + run([*ctl, "enable-slot", "slot-1", *sock])[1])

        # 4. The station's series at the district, over https with its client certificate.
        sel = f'station="{station}",district="{district}"'
        got = dl.wait_until(lambda: dl.prom_query(base, f'waystation_build_info{{{sel}}}'), 240)
        check("district returns the station's waystation_build_info (remote write over https with the "
              "station's client certificate)", got, "" if got else dl.tail(agent.logfile))
        # Each device's state at the district is the daemon's (`waystationctl status`).
        def states():
            want = {d["id"]: d["state"] for d in ctl_json("status")["devices"]}
            got = {r["metric"]["device"]: r["metric"]["state"]
                   for r in dl.prom_query(base, f'waystation_device_state{{{sel}}} == 1')}
            return want, got
        same = dl.wait_until(lambda: (st := states())[0] == st[1] and st, 4 * every + 60)
        want, got = same or states()
        check(f"district returns the state of each of the station's {len(want)} devices, as waystationctl "
              "status has it", same and len(want) == 5,
              "district " + ", ".join(f"{k}={v}" for k, v in sorted(got.items()))
              + ("" if same else "; waystationctl " + ", ".join(f"{k}={v}" for k, v in sorted(want.items()))))

        # A point value at the district equals `waystationctl read` (the simulator holds it at 4.5).
        def point():
            want = ctl_json("read", "fridge", "cabinet_temp")["point"]["value"]
            r = dl.prom_query(base, f'waystation_point_value{{{sel},device="fridge",point="cabinet_temp",'
                                    'unit="celsius"}')
            return want, (float(r[0]["value"][1]) if len(r) == 1 else None)
        same = dl.wait_until(lambda: (pv := point())[1] is not None and abs(pv[0] - pv[1]) < 1e-9 and pv,
                             4 * every + 60)
        want_v, got_v = same or point()
        check("district fridge cabinet_temp (unit celsius) equals waystationctl read", same,
              f"district {got_v}, waystationctl read {want_v}")
        up = dl.wait_until(lambda: (r := dl.prom_query(base, f'up{{{sel}}}')) and len(r) >= 3 and r, 300) or \
            dl.prom_query(base, f'up{{{sel}}}')
        check("every scrape job of the agent (waystation, node, prometheus-agent) is up (remote-written `up`)",
              len(up) == 3 and all(r["value"][1] == "1" for r in up),
              ", ".join(f'{r["metric"]["job"]}={r["value"][1]}' for r in up))

        # 5. HTTPS only, client certificates required: Prometheus (the receiver) and Alertmanager refuse
        # plain http, a client without a certificate and one with a certificate of another CA.
        no_cert = dl.tls_context(ca)
        rogue = dl.tls_context(ca, f"{pki}/rogue.pem", f"{pki}/rogue.key")
        for what, port, path, body in (
                ("district Prometheus remote write", prom_port, "/api/v1/write", b"\0"),
                ("district Alertmanager", am_port, "/api/v2/alerts",
                 json.dumps([{"labels": {"alertname": "RefusedProbe", "station": station}}]).encode())):
            outcomes = {}
            for how, scheme, ctx in (("plain http", "http", None), ("https without a client certificate",
                                     "https", no_cert), ("https with another CA's certificate", "https", rogue)):
                try:
                    status, _ = dl.http("POST", f"{scheme}://127.0.0.1:{port}{path}", body, timeout=10, context=ctx,
                                        headers={"Content-Type": "application/x-protobuf"} if "write" in path else None)
                    outcomes[how] = f"HTTP {status}"
                except urllib.error.HTTPError as e:
                    outcomes[how] = f"refused (HTTP {e.code})" if e.code == 400 and scheme == "http" else f"HTTP {e.code}"
                except (ssl.SSLError, ConnectionError, urllib.error.URLError, OSError) as e:
                    outcomes[how] = f"refused ({str(getattr(e, 'reason', e))[:70]})"
            check(f"{what} refuses plain http, no client certificate and another CA's certificate",
                  all(o.startswith("refused") for o in outcomes.values()),
                  "; ".join(f"{k}: {v}" for k, v in outcomes.items()))
        am_url = f"https://127.0.0.1:{am_port}"
        probes = json.loads(dl.get_text(f"{am_url}/api/v2/alerts?" + urllib.parse.urlencode(
            {"filter": 'alertname="RefusedProbe"'})))
        check("Alertmanager took no alert from the refused requests (and answers with a client certificate)",
              probes == [], json.dumps(probes)[:200])
        r = dl.prom_query(base, 'count({station="rogue-001"}) or vector(0)')
        check("an agent without a client certificate gets nothing into the district (its TLS handshakes fail)",
              r and float(r[0]["value"][1]) == 0 and "Failed to send batch" in dl.tail(
                  os.path.join(tmp, "rogue-agent", "agent.log"), 50),
              dl.tail(os.path.join(tmp, "rogue-agent", "agent.log"), 1)[:240])

        # 6. The data budget, measured on the link: three remote-write requests at least.
        budget(base, sel, link, agent_url, agent_cfg, intervals)

        # 7. The outage: the district stops, the agent's WAL carries the samples, nothing is missing.
        t_down = time.time()
        dl.log(f"      stopping the district Prometheus for {args.outage:.0f} s ...")
        procs.stop(district_proc)
        time.sleep(args.outage)
        t_up = time.time()
        district_proc = dl.start_district(procs, tmp, prom_port, am_port, pki)
        dl.log("      district Prometheus started again; waiting for the agent's backlog")
        # Delivered when the district has a sample newer than the restart + a scrape interval (sent within
        # the 2-minute batch deadline after it was scraped).
        caught_up = dl.wait_until(lambda: dl.prom_scalar(
            base, f'timestamp(up{{{sel},job="waystation"}})', 0) > t_up + every, 420)
        check("the agent delivered its backlog after the district came back", caught_up)
        time.sleep(2)
        win_start, win_end = t_down - 3 * every, t_up + every
        for expr in (f'up{{{sel},job="waystation"}}',
                     f'waystation_point_value{{{sel},device="fridge",point="cabinet_temp"}}'):
            try:
                samples = [s for s in raw_samples(base, expr, win_end, win_end - win_start) if s[0] >= win_start]
                ts = [t for t, _ in samples]
                gaps = [b - a for a, b in zip(ts, ts[1:])]
                max_gap = max(gaps) if gaps else float("inf")
                expected = (win_end - win_start) / every
                covers = ts and ts[0] <= t_down - every and ts[-1] >= t_up
                ok = covers and max_gap <= every + 1 and len(ts) >= expected - 2
                check(f"no gap over the {args.outage:.0f} s outage in {expr.split('{')[0]}",
                      ok, f"{len(ts)} samples over {win_end - win_start:.0f} s (expected ~{expected:.0f} at "
                      f"{every:.0f} s), largest gap {max_gap:.1f} s")
            except Exception as e:  # noqa: BLE001
                check(f"no gap over the outage in {expr.split('{')[0]}", False, str(e))
        a = dl.parse_exposition(dl.get_text(f"{agent_url}/metrics"))
        retried = dl.metric_sum(a, "prometheus_remote_storage_samples_retried_total")
        failed = dl.metric_sum(a, "prometheus_remote_storage_samples_failed_total")
        dropped = dl.metric_sum(a, "prometheus_remote_storage_samples_dropped_total")
        dl.log(f"      agent: samples retried {retried:.0f}, failed {failed:.0f}, dropped {dropped:.0f}")
        check("the agent dropped no samples", dropped == 0, f"dropped {dropped:.0f}")
    finally:
        procs.stop_all()
        receiver.close()
        for r in relays:
            r.close()


# What the district's rules (district/rules) and the desk's charts read: each must still arrive.
NEEDED = [
    ('up{job="waystation"}', 1), ('up{job="node"}', 1), ('up{job="prometheus-agent"}', 1),
    ("waystation_build_info", 1), ("waystation_daemon_up", 1),
    ('waystation_device_state{state="online"}', 5), ('waystation_device_state{state="offline"}', 5),
    ("waystation_device_maintenance", 5), ("waystation_slot_interlocked", 4), ("waystation_storage_ok", 1),
    ("waystation_storage_errors_total", 1), ("waystation_outbox_pending", 1), ("waystation_occupancy_riders", 1),
    ("waystation_capacity_riders", 1), ("waystation_checkins_total", 4), ("waystation_day_unique_riders", 1),
    ('waystation_point_value{device="ac",point="room_temp"}', 1),
    ('waystation_point_value{device="fridge",point="cabinet_temp"}', 1),
    ('waystation_point_value{device="cabinet",point=~"slot[0-9]+_temp"}', 4),
    ('waystation_point_value{device="meter",point="power"}', 1),
]
# Sent before the budget and no longer: none of them may arrive.
DROPPED = ["waystation_bus_requests_total", "waystation_bus_request_duration_seconds_bucket",
           'waystation_point_value{point="slot1_voltage"}', "waystation_alerts",
           'waystation_device_state{state="unknown"}', "node_load5"]


def budget(base, sel, link, agent_url, agent_cfg, intervals):
    """The agent's uplink per station-day, measured on the link relay (TCP payload: HTTP, TLS, both ways),
    against the 5 MiB budget; and every series a rule or the desk reads still arrives."""
    def absent():
        missing = []
        for expr, want in NEEDED:
            sel_expr = expr.replace("{", "{" + sel + ",") if "{" in expr else f"{expr}{{{sel}}}"
            n = len(dl.prom_query(base, sel_expr))
            if n < want:
                missing.append(f"{expr}: {n} of {want}")
        for rule in ("station:waystation_last_seen_timestamp_seconds", "station:waystation_devices:count",
                     "station:waystation_devices_online:count", "station:waystation_devices_offline:count"):
            if not dl.prom_query(base, f"{rule}{{{sel}}}"):
                missing.append(rule)
        return missing
    # The recording rules run every 30 s at the district: give them two rounds.
    missing = absent()
    if missing and dl.wait_until(lambda: not absent(), 90, 5):
        missing = []
    check("every series the district's rules and the desk's charts read still arrives", not missing,
          "; ".join(missing) or f"{len(NEEDED)} selectors and 4 recording rules")
    sent = [e for e in DROPPED if dl.prom_query(base, e.replace("{", "{" + sel + ",") if "{" in e else f"{e}{{{sel}}}")]
    check("what no rule or view reads is not sent (bus figures, other points, alert counts, node load5)",
          not sent, ", ".join(sent))

    dl.log("      measuring the uplink: waiting for three remote-write requests on the link ...")
    per_day = dl.wait_until(link.per_day, 600, 5)
    if not per_day:
        check("agent uplink within the data budget", False, f"only {len(link.bursts())} exchanges in 10 min")
        return
    up, down, requests, handshake = (per_day[k] for k in ("up", "down", "requests", "handshake"))
    by_job = {r["metric"].get("job"): int(r["value"][1]) for r in
              dl.prom_query(base, f'count by (job) ({{{sel},job!=""}})')}
    samples_day = sum(n * 86400 / intervals.get(job, 60) for job, n in by_job.items())
    a = dl.parse_exposition(dl.get_text(f"{agent_url}/metrics"))
    payload = dl.metric_sum(a, "prometheus_remote_storage_bytes_total")
    nsent = dl.metric_sum(a, "prometheus_remote_storage_samples_total")
    per_sample = payload / nsent if nsent else 0
    total = up + down
    worst = total + 8 * samples_day  # every value different from the one before: 8 bytes a sample more
    dl.log(f"      series sent by job: " + ", ".join(f"{j} {n} every {intervals.get(j, 0):.0f} s"
                                                     for j, n in sorted(by_job.items()))
           + f" -> {samples_day:,.0f} samples/day; {per_sample:.1f} bytes/sample compressed payload")
    dl.log(f"      uplink per station-day: {total / dl.MIB:.2f} MiB (up {up / dl.MIB:.2f}, down {down / dl.MIB:.2f}, "
           f"{requests:.0f} requests/day; a new connection's TLS handshake {handshake / 1024:.1f} KiB more); "
           f"with every value changing {worst / dl.MIB:.2f} MiB; budget {dl.AGENT_BUDGET / dl.MIB:.0f} MiB")
    check(f"agent uplink within the data budget: {total / dl.MIB:.2f} MiB/day <= 5 MiB (measured on the link)",
          total <= dl.AGENT_BUDGET, f"{len(link.bursts())} exchanges on the link")
    check("agent uplink within the data budget with every value changing (+8 bytes a sample)",
          worst <= dl.AGENT_BUDGET, f"{worst / dl.MIB:.2f} MiB/day")


def main():
    ap = argparse.ArgumentParser(description="District tests (issues 13, 22) with the real Prometheus binaries.")
    ap.add_argument("--outage", type=float, default=float(os.environ.get("DISTRICT_OUTAGE_SECONDS", 120)),
                    help="seconds the district Prometheus is stopped (default 120, env DISTRICT_OUTAGE_SECONDS)")
    ap.add_argument("--static-only", action="store_true", help="only the config/rule/routing checks")
    ap.add_argument("--bin", default=os.environ.get("DISTRICT_BIN", os.path.join(dl.REPO, ".build", "debug")),
                    help="directory with waystation-sim, waystationd, waystationctl and waystation-web, which run "
                         "the station end to end (default .build/debug of the repository; env DISTRICT_BIN)")
    ap.add_argument("--station", default=os.environ.get("DISTRICT_STATION", "test-001"), help="station id")
    ap.add_argument("--district", default="testdistrict")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data)")
    args = ap.parse_args()

    args.bin = os.path.abspath(args.bin)
    if not args.static_only:
        absent = [b for b in ("waystation-sim", "waystationd", "waystationctl", "waystation-web")
                  if not os.access(os.path.join(args.bin, b), os.X_OK)]
        if absent:
            ap.error(f"not in {args.bin}: {' '.join(absent)} (run `swift build`, pass --bin DIR, "
                     "or --static-only)")
    missing = [b for b in (dl.PROMETHEUS, dl.PROMTOOL, dl.ALERTMANAGER, dl.AMTOOL, dl.NODE_EXPORTER, dl.OPENSSL)
               if not shutil.which(b)]
    if missing:
        print("missing: " + " ".join(missing) + "\nrun: apt-get install -y prometheus prometheus-alertmanager "
              "prometheus-node-exporter")
        print("district: 0 passed, 1 failed")
        return 1
    tmp = tempfile.mkdtemp(prefix="ws-district-")
    os.chmod(tmp, 0o755)  # waystation-web runs as nobody and reads the station's config in here
    try:
        pki = dl.make_pki(os.path.join(tmp, "pki"), stations=[args.station, "hy-042"], clients=["tester", "uplink"])
        dl.set_client_tls(f"{pki}/district-ca.pem", f"{pki}/tester.pem", f"{pki}/tester.key")
        static_checks(tmp, pki)
        if not args.static_only:
            try:
                e2e(args, tmp, pki)
            except Exception as e:  # noqa: BLE001 - a crash is one more failure, with its logs
                check("end-to-end run", False, f"{type(e).__name__}: {e}")
                for f in ("district-prometheus.log", "alertmanager/alertmanager.log", "agent/agent.log",
                          "station/daemon.log", "station/web.log"):
                    t = dl.tail(os.path.join(tmp, f))
                    if t:
                        print(f"--- {f}\n{t}")
    finally:
        if args.keep:
            print(f"(kept {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print(f"district: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
