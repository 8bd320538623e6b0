#!/usr/bin/env python3
"""A district on one machine (issue 13): N simulated stations, each with its own waystation-sim,
waystationd and waystation-web (serving the station's /metrics; as nobody with the control socket's group
when run as root), its own ports and state dir, and its own Prometheus agent; the district Prometheus
(remote-write receiver) and Alertmanager, both HTTPS with client certificates of a throwaway district CA;
one node-exporter that every station's agent scrapes as if it were its own. Each agent's remote write
goes through a counting relay (its 4G link), and station 1 has a second, reference agent with the config
from before the data budget (station/prometheus-agent-before-budget.yml, to a sink), so the uplink is
measured before and after on the same station. After a warm-up it measures what the district takes in
and what each station's processes take and send, and extrapolates to 140 and 1,400 stations.

    fleet.py [--stations 20] [--bin .build/release] [--seconds 300] [--no-faults] [--state state/fleet]

Station configs come from examples/demo-station.toml, TCP only: its RS-485 bus becomes a Modbus TCP bus
on its own port (the simulator serves units 1, 3, 4 behind it like an RS-485 gateway), so no socat pty
pairs (20 more processes and 9600-baud timing that the district side does not see anyway).

State, configs and logs: --state (default state/fleet, emptied first). Needs the Debian packages
prometheus, prometheus-alertmanager, prometheus-node-exporter.
"""
import argparse
import os
import shutil
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import districtlib as dl  # noqa: E402

DISTRICT = "fleetdistrict"


def human_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stations", "-n", type=int, default=int(os.environ.get("FLEET_STATIONS", 20)),
                    help="how many stations (default 20, env FLEET_STATIONS)")
    ap.add_argument("--bin", default=os.environ.get("BIN", ".build/release"),
                    help="directory with waystation-sim, waystationd and waystation-web")
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("FLEET_SECONDS", 300)),
                    help="how long the fleet runs before it is measured (default 300; the uplink figures "
                         "need three 2-minute remote-write requests, so at least ~300)")
    ap.add_argument("--no-faults", action="store_true",
                    help="do not inject the two faults (microwave silent at station 1, slot overheating at 2)")
    ap.add_argument("--no-hub", action="store_true",
                    help="without the hub (PostgreSQL, waystation-district) and the stations' waystation-uplink")
    ap.add_argument("--reports", type=int, default=int(os.environ.get("FLEET_REPORTS", 10)),
                    help="reports driven through the kiosks (KioskScan + SubmitReport) and verified at the hub "
                         "for the latency figures (default 10, env FLEET_REPORTS)")
    ap.add_argument("--state", default=os.environ.get("FLEET_STATE", "state/fleet"),
                    help="state, configs and logs (default state/fleet, emptied first; env FLEET_STATE)")
    args = ap.parse_args()

    missing = [b for b in (dl.PROMETHEUS, dl.ALERTMANAGER, dl.NODE_EXPORTER) if not shutil.which(b)]
    if missing:
        sys.exit("missing: " + " ".join(missing) + "\nrun: apt-get install -y prometheus "
                 "prometheus-alertmanager prometheus-node-exporter")
    bin_dir = os.path.abspath(args.bin)
    use_hub = not args.no_hub
    if use_hub and os.geteuid() != 0:
        dl.log("fleet: no hub (needs root: PostgreSQL runs as the postgres user); --no-hub assumed")
        use_hub = False
    for b in ("waystation-sim", "waystationd", "waystation-web") + (
            ("waystation-district", "waystation-uplink") if use_hub else ()):
        if not os.access(os.path.join(bin_dir, b), os.X_OK):
            sys.exit(f"{bin_dir}/{b} missing: build with `swift build -c release` (or pass --bin DIR)")

    state = os.path.abspath(args.state)
    shutil.rmtree(state, ignore_errors=True)
    os.makedirs(state)
    procs = dl.Procs()
    receiver = dl.WebhookReceiver()
    n = args.stations
    ids = [f"fl-{i:03d}" for i in range(1, n + 1)]
    pki = dl.make_pki(os.path.join(state, "pki"), stations=ids, clients=["fleet", "uplink"])
    dl.set_client_tls(f"{pki}/district-ca.pem", f"{pki}/fleet.pem", f"{pki}/fleet.key")
    relays = []
    sink = None
    hub = None
    try:
        if use_hub:
            import fleethub  # here: it needs the `cryptography` package (HPKE), which --no-hub does not
            hub = fleethub.FleetHub(procs, state, pki, bin_dir)
        prom_port, am_port, node_port = dl.free_port(), dl.free_port(), dl.free_port()
        dl.start_alertmanager(procs, state, am_port, dl.render_am_config(receiver.port), pki=pki)
        district = dl.start_district(procs, state, prom_port, am_port, pki)
        base = f"https://127.0.0.1:{prom_port}"
        # Each station's waystation-uplink delivers its daemon's outbox; here it posts plain http to this
        # relay, which does the TLS with a client certificate ("uplink") to the district Alertmanager (the
        # uplink's own https is in test-district.py and the uplink's tests).
        am_relay = dl.CountingProxy(am_port, tls=dl.tls_context(f"{pki}/district-ca.pem", f"{pki}/uplink.pem",
                                                                f"{pki}/uplink.key"))
        relays.append(am_relay)
        time.sleep(10)
        base_rss = dl.rss_bytes(district.pid)
        dl.start_node_exporter(procs, state, node_port)
        dl.log(f"district Prometheus on :{prom_port} (RSS {human_bytes(base_rss)} empty), Alertmanager on "
               f":{am_port}, node-exporter on :{node_port}; starting {n} stations "
               "(waystation-sim, waystationd, waystation-web and a Prometheus agent each)")

        stations = []
        for sid in ids:
            d = os.path.join(state, sid)
            os.makedirs(d)
            ports = {k: dl.free_port() for k in ("rs485", "cabinet", "web", "agent")}
            cfg = os.path.join(d, "station.toml")
            st = {"id": sid, "dir": d, "ports": ports, "config": cfg}
            with open(cfg, "w") as f:
                f.write(dl.station_config(sid, d, ports["rs485"], ports["cabinet"], am_relay.port, ports["web"],
                                          district=DISTRICT))
                if hub:  # enrolled at the hub; its [district] url is the station's sync link (a counting relay)
                    f.write(hub.enrol(st, len(stations) + 1))
                    relays.append(st["sync"])
            st["sim"] = procs.start(f"sim-{sid}", [
                os.path.join(bin_dir, "waystation-sim"), "--config", cfg, "--no-stdin",
                "--control-socket", os.path.join(d, "sim.sock")], os.path.join(d, "sim.log"))
            stations.append(st)
        for st in stations:
            sock = os.path.join(st["dir"], "sim.sock")
            if not dl.wait_until(lambda: os.path.exists(sock), 30, 0.2):
                sys.exit(f"simulator of {st['id']} did not start:\n{dl.tail(st['sim'].logfile)}")
            st["daemon"] = procs.start(f"daemon-{st['id']}", [
                os.path.join(bin_dir, "waystationd"), "--config", st["config"]],
                os.path.join(st["dir"], "daemon.log"))
        for st in stations:
            sock = os.path.join(st["dir"], "control.sock")
            if not dl.wait_until(lambda: os.path.exists(sock), 30, 0.2):
                sys.exit(f"daemon of {st['id']} did not start:\n{dl.tail(st['daemon'].logfile)}")
        if hub:
            for st in stations:
                hub.start_uplink(st)
        else:  # the notifications' carrier, with or without a hub
            for st in stations:
                st["uplink"] = procs.start(f"uplink-{st['id']}", [
                    os.path.join(bin_dir, "waystation-uplink"), "--config", st["config"]],
                    os.path.join(st["dir"], "uplink.log"))
        for st in stations:
            web_target = f"127.0.0.1:{st['ports']['web']}"
            st["web"] = dl.start_web(procs, st["dir"], bin_dir, st["config"], st["ports"]["web"],
                                     name=f"web-{st['id']}")
            agent_port = st["ports"]["agent"]
            # The station's 4G link: a counting relay in front of the district.
            st["link"] = dl.CountingProxy(prom_port)
            relays.append(st["link"])
            tls_dir = dl.station_tls_dir(pki, st["id"], os.path.join(st["dir"], "tls"))
            cfg = dl.render_agent_config(st["id"], DISTRICT, f"https://127.0.0.1:{st['link'].port}/api/v1/write",
                                         web_target, f"127.0.0.1:{node_port}", f"127.0.0.1:{agent_port}", tls_dir)
            st["agent_config"] = cfg
            st["agent"] = dl.start_agent(procs, st["dir"], "agent", cfg, agent_port)
        # Before the budget, on the same station: the old config's agent, to a sink through its own relay.
        sink = dl.RemoteWriteSink()
        before_link = dl.CountingProxy(sink.port)
        relays.append(before_link)
        before_port = dl.free_port()
        before_cfg = dl.render_agent_config(
            stations[0]["id"], DISTRICT, f"http://127.0.0.1:{before_link.port}/api/v1/write",
            f"127.0.0.1:{stations[0]['ports']['web']}", f"127.0.0.1:{node_port}", f"127.0.0.1:{before_port}",
            template=os.path.join(dl.HERE, "station", "prometheus-agent-before-budget.yml"))
        before_agent = dl.start_agent(procs, stations[0]["dir"], "agent-before-budget", before_cfg, before_port)
        for st in stations:
            dl.wait_http(f"http://127.0.0.1:{st['ports']['agent']}/-/ready", 60)
        dl.wait_http(f"http://127.0.0.1:{before_port}/-/ready", 60)

        if not args.no_faults and n >= 2:
            time.sleep(5)
            dl.sim_command(os.path.join(stations[0]["dir"], "sim.sock"), "silent microwave")
            dl.sim_command(os.path.join(stations[1]["dir"], "sim.sock"), "hold cabinet slot1_temp 75")
            dl.log(f"faults: {stations[0]['id']} microwave silent (DeviceOffline), "
                   f"{stations[1]['id']} slot 1 at 75 °C (SlotInterlock)")

        def agents_total(name):
            total = 0.0
            for st in stations:
                try:
                    e = dl.parse_exposition(dl.get_text(f"http://127.0.0.1:{st['ports']['agent']}/metrics"))
                    total += dl.metric_sum(e, name)
                except Exception:  # noqa: BLE001
                    pass
            return total

        t0 = time.time()
        appended0 = agents_total("prometheus_agent_samples_appended_total")
        cpu0 = {p.pid: dl.cpu_seconds(p.pid) for p in procs.procs}
        if hub:
            hub.begin(stations, args.reports, args.seconds)
        dl.log(f"all {n} stations running; measuring after {args.seconds:.0f} s ...")
        time.sleep(args.seconds)
        # The uplink figures need three remote-write requests (every 2 min) on every station's link.
        if not dl.wait_until(lambda: all(st["link"].per_day() for st in stations) and before_link.per_day(),
                             300, 5):
            dl.log("  (not every link has seen three requests after 5 more minutes)")
        elapsed = time.time() - t0
        if hub:
            hub.end()
        cpu = {p.name: dl.cpu_seconds(p.pid) - cpu0.get(p.pid, 0) for p in procs.procs
               if p.pid != before_agent.pid}

        # ---- measurements -------------------------------------------------------------------------
        per_station = dl.prom_query(base, f'count by (station) ({{district="{DISTRICT}",station=~".+"}})')
        series = sorted(float(r["value"][1]) for r in per_station)
        by_job = dl.prom_query(base, f'count by (job) ({{district="{DISTRICT}",station=~".+"}}) / {max(1, len(series))}')
        head_series = dl.prom_scalar(base, "prometheus_tsdb_head_series", 0)
        rate = dl.prom_scalar(base, "rate(prometheus_tsdb_head_samples_appended_total[1m])", 0)
        # What the stations' agents scraped into their WALs (and so send), per second over the run.
        station_rate = (agents_total("prometheus_agent_samples_appended_total") - appended0) / (time.time() - t0)
        up = dl.prom_query(base, f'avg by (job) (up{{district="{DISTRICT}"}})')
        up_total = dl.prom_query(base, f'count(up{{district="{DISTRICT}"}} == 1) or vector(0)')
        up_all = dl.prom_query(base, f'count(up{{district="{DISTRICT}"}})')
        rss = dl.rss_bytes(district.pid)
        uplinks = [u for u in (st["link"].per_day() for st in stations) if u]
        before_up = before_link.per_day()
        agent_rss = [dl.rss_bytes(st["agent"].pid) for st in stations]
        rw = {"sent": 0, "failed": 0, "retried": 0, "dropped": 0, "pending": 0, "bytes": 0}
        for st in stations:
            try:
                e = dl.parse_exposition(dl.get_text(f"http://127.0.0.1:{st['ports']['agent']}/metrics"))
            except Exception:  # noqa: BLE001
                continue
            rw["sent"] += dl.metric_sum(e, "prometheus_remote_storage_samples_total")
            rw["failed"] += dl.metric_sum(e, "prometheus_remote_storage_samples_failed_total")
            rw["retried"] += dl.metric_sum(e, "prometheus_remote_storage_samples_retried_total")
            rw["dropped"] += dl.metric_sum(e, "prometheus_remote_storage_samples_dropped_total")
            rw["pending"] += dl.metric_sum(e, "prometheus_remote_storage_samples_pending")
            rw["bytes"] += dl.metric_sum(e, "prometheus_remote_storage_bytes_total")
        wal = [sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(os.path.join(st["dir"], "agent", "agent-data"))
                   for f in fs) for st in stations]
        alerts = receiver.alerts()

        def cpu_of(prefix):
            return sum(v for k, v in cpu.items() if k.startswith(prefix)) / elapsed

        print()
        print(f"== fleet: {n} stations (waystation-web /metrics), measured after {elapsed:.0f} s")
        if series:
            print(f"series per station       min {series[0]:.0f}  avg {sum(series) / len(series):.0f}  max {series[-1]:.0f}"
                  f"   ({len(series)} stations reporting)")
            print("  by job (per station)   " + ", ".join(
                f'{r["metric"].get("job", "district recording rules")} {float(r["value"][1]):.0f}' for r in by_job))
        print(f"district head series     {head_series:.0f}")
        print(f"samples/s ingested       {rate:.1f} (rate(prometheus_tsdb_head_samples_appended_total[1m]),"
              f" incl. the district's own); scraped by the station agents {station_rate:.1f}")
        print("scrape success (up)      " + ", ".join(
            f'{r["metric"].get("job", "?")} {100 * float(r["value"][1]):.0f}%' for r in up) +
              f"   ({float(up_total[0]['value'][1]) if up_total else 0:.0f}/"
              f"{float(up_all[0]['value'][1]) if up_all else 0:.0f} targets up)")
        sent = rw["sent"]
        print(f"remote write (agents)    samples sent {sent:.0f}, failed {rw['failed']:.0f}, retried "
              f"{rw['retried']:.0f}, dropped {rw['dropped']:.0f}, pending {rw['pending']:.0f}"
              f"  -> {100 * (sent - rw['failed']) / sent if sent else 0:.2f}% delivered")
        print(f"district Prometheus RSS  {human_bytes(rss)} (empty: {human_bytes(base_rss)});"
              f" CPU {100 * cpu_of('district-prometheus'):.1f}% of a core")
        d_rss = [dl.rss_bytes(st["daemon"].pid) for st in stations]
        w_rss = [dl.rss_bytes(st["web"].pid) for st in stations]
        s_rss = [dl.rss_bytes(st["sim"].pid) for st in stations]

        def avg(xs):
            return sum(xs) / len(xs)
        print("per station (avg):")
        print(f"  waystationd            RSS {human_bytes(avg(d_rss))}, CPU {100 * cpu_of('daemon-') / n:.2f}% of a core")
        web_every = dl.scrape_intervals(stations[0]["agent_config"]).get("waystation", 0)
        print(f"  waystation-web         RSS {human_bytes(avg(w_rss))}, CPU {100 * cpu_of('web-') / n:.2f}% of a core"
              f" (scraped every {web_every:.0f} s)")
        print(f"  Prometheus agent       RSS {human_bytes(avg(agent_rss))}, CPU {100 * cpu_of('agent-') / n:.2f}% of a core,"
              f" WAL {human_bytes(sum(wal) / len(wal))}")
        print(f"  station total          RSS {human_bytes(avg(d_rss) + avg(w_rss) + avg(agent_rss))}, CPU "
              f"{100 * (cpu_of('daemon-') + cpu_of('web-') + cpu_of('agent-')) / n:.2f}% of a core"
              " (daemon + web + agent; node-exporter not counted)")
        print(f"  (waystation-sim        RSS {human_bytes(avg(s_rss))}, CPU {100 * cpu_of('sim-') / n:.2f}% of a core:"
              " the appliances, not at a station)")
        print(f"Alertmanager deliveries  safety {sum(1 for p, s, _ in alerts if p == '/safety')}, "
              f"maintenance {sum(1 for p, s, _ in alerts if p == '/maintenance')}: " + ", ".join(
                  sorted({f"{p[1:]}:{lab.get('alertname')}@{lab.get('station')}" for p, s, lab in alerts})))

        seen = {}
        for p, s_, lab in alerts:
            seen.setdefault(lab.get("alertname"), lab)
        for name, lab in sorted(seen.items()):
            print(f"  {name} labels: " + ", ".join(f"{k}={v}" for k, v in sorted(lab.items())))

        # ---- the uplink ---------------------------------------------------------------------------
        print()
        print("== uplink: the agent's remote write per station-day, as the 4G link carries it (TCP payload: "
              "HTTP, TLS, both directions)")
        if uplinks and before_up:
            def day(u):
                return u["up"] + u["down"]
            after_day = avg([day(u) for u in uplinks])
            before_day = day(before_up)
            print(f"  before (15 s, every series, http; {stations[0]['id']}'s reference agent) "
                  f"{human_bytes(before_day)}/day  (up {human_bytes(before_up['up'])}, down "
                  f"{human_bytes(before_up['down'])}, {before_up['requests']:.0f} requests/day)")
            print(f"  after  (station/prometheus-agent.yml, https; avg of {len(uplinks)}) "
                  f"{human_bytes(after_day)}/day  (up {human_bytes(avg([u['up'] for u in uplinks]))}, down "
                  f"{human_bytes(avg([u['down'] for u in uplinks]))}, "
                  f"{avg([u['requests'] for u in uplinks]):.0f} requests/day)"
                  f"  -> {before_day / after_day:.1f}x less; budget {human_bytes(dl.AGENT_BUDGET)}: "
                  f"{'within' if after_day <= dl.AGENT_BUDGET else 'OVER'}")
            hs = avg([u["handshake"] for u in uplinks])
            print(f"  a new connection's TLS handshake (client certificate) costs {human_bytes(hs)}; if the 4G NAT "
                  f"dropped the idle connection before every request: "
                  f"+{human_bytes(hs * avg([u['requests'] for u in uplinks]))}/day")
            print(f"{'stations':>9} {'before/day':>12} {'after/day':>12} {'after/month':>12}")
            for k in (n, 140, 1400):
                print(f"{k:>9} {human_bytes(before_day * k):>12} {human_bytes(after_day * k):>12} "
                      f"{human_bytes(after_day * k * 30):>12}")
        else:
            print("  not enough requests on the links (each needs 3, one every 2 minutes)")
        if hub:
            hub.print_figures(n, avg([u["up"] + u["down"] for u in uplinks]) if uplinks else None, human_bytes)

        # ---- extrapolation ------------------------------------------------------------------------
        if series and head_series:
            per_st = sum(series) / len(series)
            district_own = max(0.0, head_series - sum(series))
            per_series_mem = max(0.0, rss - base_rss) / head_series
            per_st_rate = station_rate / len(series)
            print()
            print(f"== extrapolation (per station {per_st:.0f} series, {per_st_rate:.1f} samples/s; "
                  f"{per_series_mem / 1024:.1f} KiB RSS per head series measured; retention 90 d at ~1.5 B/sample)")
            bps = rw["bytes"] / rw["sent"] if rw["sent"] else 0
            print(f"  remote write: {bps:.2f} bytes/sample on the wire (snappy) -> "
                  f"{human_bytes(per_st_rate * 86400 * bps)}/day of 4G uplink per station, before HTTP/TLS overhead")
            print(f"{'stations':>9} {'series':>10} {'samples/s':>10} {'RSS est.':>10} {'RAM to give':>12} "
                  f"{'disk 90 d':>10} {'ingress/day':>12}")
            for k in (n, 140, 1400):
                s = per_st * k + district_own
                r = per_st_rate * k
                mem = base_rss + per_series_mem * s
                disk = r * 86400 * 90 * 1.5
                print(f"{k:>9} {s:>10.0f} {r:>10.1f} {human_bytes(mem):>10} {human_bytes(mem * 2.5):>12} "
                      f"{human_bytes(disk):>10} {human_bytes(r * 86400 * bps):>12}")
            print("  RAM to give = 2.5 x the steady RSS (queries, compaction, WAL replay after a restart).")
        print(f"\nstate, configs and logs: {state}")
        return 0
    finally:
        if hub:
            hub.stop()
        procs.stop_all()
        receiver.close()
        for r in relays:
            r.close()
        if sink:
            sink.close()


if __name__ == "__main__":
    sys.exit(main())
