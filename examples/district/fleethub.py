"""The hub in `make fleet` (issue 22): PostgreSQL 15 and waystation-district serve started here, every
station enrolled through the CLI with its [district] url pointing at a counting relay (its 4G link for the
sync; TLS passes through it as bytes), and its waystation-uplink started. Reports are driven through a
few kiosks (varlink KioskScan + SubmitReport, as test-link.py does) and verified with the hub's CLI, for
the latencies report -> hub (the hub's `received`) and verdict -> kiosk (until the daemon's ListReports
says verified). Prints those, the hub's CPU and RSS, PostgreSQL bytes per station-day and the sync's bytes
per station-day on the wire, beside the agent's, against the 6-MiB budget, for N, 140 and 1,400 stations.

Python 3.11 standard library; districtlib, hublib, hubscale (psql, tree_cpu)."""
import asyncio
import os
import random
import ssl
import threading
import time

import districtlib as dl
import hublib
from hubscale import Conn, pct, psql, tree_cpu

BUDGET = 6 * dl.MIB  # everything a station sends a day: the agent + the sync


class FleetHub:
    def __init__(self, procs, state, pki, bin_dir):
        self.procs, self.bin_dir = procs, bin_dir
        pg_dir = os.path.join(state, "pg")
        os.makedirs(pg_dir)
        db_url = hublib.start_postgres(procs, pg_dir)
        self.pg = procs.procs[-1]
        self.db_sock = os.path.join(pg_dir, "sock")
        hub_dir = os.path.join(state, "hub")
        os.makedirs(hub_dir)
        self.port = dl.free_port()
        config = hublib.write_hub_config(hub_dir, pki, db_url, f"127.0.0.1:{self.port}")
        self.hub = hublib.Hub(bin_dir, config, f"https://127.0.0.1:{self.port}")
        self.hub.cli("keys", "init")
        self.hub.start()
        self.samples = []  # dicts: station, location, t_submit, local id, received, verified_at, at_kiosk
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = None
        dl.log(f"hub (waystation-district serve) on :{self.port}, PostgreSQL on {self.db_sock}")

    def enrol(self, st, index):
        """Enrols station st; returns its [district] section (url: the station's sync relay)."""
        st["sync"] = dl.CountingProxy(self.port)
        enrol = os.path.join(st["dir"], "enrolment")
        self.hub.cli("stations", "add", st["id"], "--name", f"Station {st['id']}", "--address",
                     f"{index} Hanyang Road", "--out", enrol, "--url", f"https://127.0.0.1:{st['sync'].port}")
        with open(os.path.join(enrol, "district.toml")) as f:
            return "\n" + f.read()  # sync_interval: the product default, 60 s

    def start_uplink(self, st):
        sock = os.path.join(st["dir"], "control.sock")
        if not dl.wait_until(lambda: os.path.exists(sock), 30, 0.2):
            raise RuntimeError(f"daemon of {st['id']} has no control socket")
        st["uplink"] = self.procs.start(f"uplink-{st['id']}", [
            os.path.join(self.bin_dir, "waystation-uplink"), "--config", st["config"]],
            os.path.join(st["dir"], "uplink.log"))

    def db_size(self):
        return int(psql(self.db_sock, "SELECT pg_database_size('district')").strip())

    def begin(self, stations, reports, seconds):
        self.stations = stations
        self.t0 = time.time()
        self.cpu0 = dl.cpu_seconds(self.hub.proc.pid)
        self.pg_cpu0 = tree_cpu(self.pg.pid)
        self.db0 = self.db_size()
        self.up_cpu0 = sum(dl.cpu_seconds(st["uplink"].pid) for st in stations)
        self.rss_max = 0
        # Reports go to the first few stations only; the others' links show a station's idle sync.
        self.driven = stations[:max(1, min(3, len(stations) // 4))]
        self.thread = threading.Thread(target=self._drive, args=(reports, seconds), daemon=True)
        self.thread.start()

    def _drive(self, reports, seconds):
        """Files `reports` reports spread over the run, verifies each once it is at the hub, and watches
        each station's ListReports until it says verified."""
        spacing = max(5.0, (seconds - 90) / max(1, reports))
        next_at = time.time() + 20  # the first round has brought the categories
        while not self.stopping.is_set():
            now = time.time()
            self.rss_max = max(self.rss_max, dl.rss_bytes(self.hub.proc.pid))
            if len(self.samples) < reports and now >= next_at:
                next_at = now + spacing
                try:
                    self._file(random.choice(self.driven), len(self.samples) + 1)
                except Exception as e:  # noqa: BLE001
                    dl.log(f"  fleet hub: a report could not be filed: {e}")
            try:
                self._follow()
            except Exception as e:  # noqa: BLE001
                dl.log(f"  fleet hub: {e}")
            time.sleep(0.25)

    def _file(self, st, k):
        sock = os.path.join(st["dir"], "control.sock")
        rider = "139" + "".join(random.choice("0123456789") for _ in range(8))
        scan = hublib.varlink(sock, "KioskScan", {"worker": rider, "category": "food_delivery"})
        location = f"Fleet Rd {k}, by the bus stop"
        t = time.time()
        rep = hublib.varlink(sock, "SubmitReport", {"session": scan["session"], "category": "manhole_cover",
                                                    "location": location, "note": "lid gone"})
        with self.lock:
            self.samples.append({"st": st, "location": location, "t": t, "local": rep["report"]["id"]})

    def _follow(self):
        waiting = [s for s in self.samples if "received" not in s]
        if waiting:
            rows = psql(self.db_sock, "SELECT id, location, extract(epoch FROM received) FROM reports "
                        "WHERE location LIKE 'Fleet Rd %'")
            got = {loc: (hid, float(at)) for hid, loc, at in (r.split("\t") for r in rows.splitlines() if r)}
            for s in waiting:
                if s["location"] in got:
                    s["hub_id"], s["received"] = got[s["location"]]
                    # Staff judge at any time, not just after a sync round: a random moment within 60 s.
                    s["judge_at"] = time.time() + random.uniform(0, 60)
        for s in self.samples:
            if "judge_at" in s and "verified" not in s and time.time() >= s["judge_at"]:
                self.hub.cli("reports", "verify", s["hub_id"], "--note", "crew sent", "--by", "fleet")
                s["verified"] = time.time()
        for s in self.samples:
            if "verified" in s and "at_kiosk" not in s:
                rows = hublib.varlink(os.path.join(s["st"]["dir"], "control.sock"), "ListReports", {})["reports"]
                if any(r["id"] == s["local"] and r.get("status") == "verified" for r in rows):
                    s["at_kiosk"] = time.time()

    def exchange_costs(self, st):
        """Bytes on the wire, measured through a fresh counting relay with the station's token: a TLS
        connection (handshake and close), and a GET changes that brings nothing, on a kept connection."""
        relay = dl.CountingProxy(self.port)
        with open(os.path.join(st["dir"], "enrolment", "token")) as f:
            token = f.read().strip()
        ctx = ssl.create_default_context(cafile=os.path.join(st["dir"], "enrolment", "hub-ca.pem"))

        def total():
            with relay.lock:
                return sum(n for _, _, n in relay.events)

        async def go():
            c = Conn("127.0.0.1", relay.port, ctx)
            path = f"/sync/v1/stations/{st['id']}/changes?since="
            _, body = await c.request("GET", path, token)
            cursor = __import__("json").loads(body)["cursor"]
            await asyncio.sleep(0.3)
            a = total()
            await c.request("GET", path + cursor, token)
            await asyncio.sleep(0.3)
            b = total()
            await c.close()
            c2 = Conn("127.0.0.1", relay.port, ctx)
            await asyncio.sleep(0.3)
            c0 = total()
            c2.reader, c2.writer = await asyncio.open_connection("127.0.0.1", relay.port, ssl=ctx,
                                                                 server_hostname="localhost")
            await c2.close()
            await asyncio.sleep(0.3)
            return b - a, total() - c0
        try:
            return asyncio.run(go())
        finally:
            relay.close()

    def end(self, grace=90):
        """Waits (up to `grace` s) for the verdicts still on their way, then takes the figures."""
        dl.wait_until(lambda: all("at_kiosk" in s for s in self.samples), grace, 1)
        self.stopping.set()
        if self.thread:
            self.thread.join(30)
        self.elapsed = time.time() - self.t0
        self.cpu = dl.cpu_seconds(self.hub.proc.pid) - self.cpu0
        self.pg_cpu = tree_cpu(self.pg.pid) - self.pg_cpu0
        self.rss = dl.rss_bytes(self.hub.proc.pid)
        self.db1 = self.db_size()
        self.t1 = time.time()
        idle = [st for st in self.stations if st not in self.driven] or self.stations
        try:
            self.costs = self.exchange_costs(idle[0])
        except Exception as e:  # noqa: BLE001
            dl.log(f"  fleet hub: exchange costs not measured: {e}")
            self.costs = None
        self.uplink_rss = [dl.rss_bytes(st["uplink"].pid) for st in self.stations]
        self.up_cpu = sum(dl.cpu_seconds(st["uplink"].pid) for st in self.stations) - self.up_cpu0

    def _sync_day(self, st):
        """(up, down) bytes a day and rounds a day on the station's sync relay over the measurement."""
        with st["sync"].lock:
            ev = [(t, d, n) for t, d, n in st["sync"].events if self.t0 <= t <= self.t1]
        span = self.t1 - self.t0
        rounds, last = 0, None
        for t, _, _ in ev:
            if last is None or t - last > 2:
                rounds += 1
            last = t
        return (sum(n for _, d, n in ev if d == "up") / span * 86400,
                sum(n for _, d, n in ev if d == "down") / span * 86400,
                rounds / span * 86400)

    def print_figures(self, n, agent_day, human_bytes):
        print()
        print(f"== hub and sync: waystation-district + PostgreSQL 15, {n} stations' waystation-uplink "
              f"(sync_interval 60 s), {self.elapsed:.0f} s")
        lat_hub = [s["received"] - s["t"] for s in self.samples if "received" in s]
        lat_kiosk = [s["at_kiosk"] - s["verified"] for s in self.samples if "at_kiosk" in s]
        print(f"report -> hub            p50 {pct(lat_hub, 50):.1f} s, p99 {pct(lat_hub, 99):.1f} s, max "
              f"{max(lat_hub or [0]):.1f} s  ({len(lat_hub)}/{len(self.samples)} reports: KioskScan + "
              "SubmitReport -> the hub's received)")
        print(f"verdict -> kiosk         p50 {pct(lat_kiosk, 50):.1f} s, p99 {pct(lat_kiosk, 99):.1f} s, max "
              f"{max(lat_kiosk or [0]):.1f} s  ({len(lat_kiosk)} verdicts: reports verify -> ListReports "
              "verified; judged at a random moment, it comes down with the next 60-s round)")
        cpu = self.cpu / self.elapsed
        pg_cpu = self.pg_cpu / self.elapsed
        print(f"hub                      CPU {100 * cpu:.2f}% of a core, RSS {human_bytes(self.rss)} "
              f"(max seen {human_bytes(max(self.rss_max, self.rss))}); PostgreSQL CPU {100 * pg_cpu:.2f}% of a core")
        db_day = max(0, self.db1 - self.db0) / self.elapsed * 86400 / n
        print(f"PostgreSQL               database {human_bytes(self.db0)} -> {human_bytes(self.db1)}: "
              f"{human_bytes(db_day)} per station-day (coarse: the database grows by 8-KiB pages, and a short "
              f"run's few rows touch a page per table; {len(self.samples)} reports filed at {len(self.driven)} "
              "stations; the hub-scale run measures it over 1,400 stations)")
        print(f"waystation-uplink        RSS {human_bytes(sum(self.uplink_rss) / n)}, CPU "
              f"{100 * self.up_cpu / self.elapsed / n:.2f}% of a core (avg per station)")
        idle = [self._sync_day(st) for st in self.stations if st not in self.driven]
        busy = [self._sync_day(st) for st in self.driven]
        rows = idle or busy
        up = sum(u for u, _, _ in rows) / len(rows)
        down = sum(d for _, d, _ in rows) / len(rows)
        sync_day = up + down
        rounds = sum(c for _, _, c in rows) / len(rows)
        print(f"sync on the wire         {human_bytes(sync_day)} per station-day (up {human_bytes(up)}, down "
              f"{human_bytes(down)}; {rounds:.0f} rounds a day, {human_bytes(sync_day / max(1, rounds))} a round; "
              f"avg of {len(rows)} stations without driven reports)")
        if self.costs:
            empty, tls = self.costs
            print(f"  of a round: a new TLS connection (handshake, close) {human_bytes(tls)}; GET changes with "
                  f"nothing new {human_bytes(empty)}; at one round a minute: {human_bytes(tls * 1440)} + "
                  f"{human_bytes(empty * 1440)} a day")
        if busy and idle:
            extra = sum(u + d for u, d, _ in busy) / len(busy) - sync_day
            per = extra * len(busy) / 86400 * self.elapsed / max(1, len(self.samples))
            print(f"  a report (scan, sealed look-up, report, verdict, balance) costs ~{human_bytes(per)} more")
        if agent_day:
            total = agent_day + sync_day
            print(f"total sent per station   agent {human_bytes(agent_day)} + sync {human_bytes(sync_day)} = "
                  f"{human_bytes(total)}/day; budget {human_bytes(BUDGET)}: "
                  f"{'within' if total <= BUDGET else 'OVER'}")
        print(f"{'stations':>9} {'hub CPU':>9} {'PG CPU':>8} {'PG growth/day':>14} "
              f"{'sync/day':>10} {'agent+sync/day':>15} {'a month':>10}")
        for k in (n, 140, 1400):
            print(f"{k:>9} {100 * cpu * k / n:>8.1f}% {100 * pg_cpu * k / n:>7.1f}% {human_bytes(db_day * k):>14} "
                  f"{human_bytes(sync_day * k):>10} {human_bytes(((agent_day or 0) + sync_day) * k):>15} "
                  f"{human_bytes(((agent_day or 0) + sync_day) * k * 30):>10}")
        print("  (CPU and growth scale with the stations; the 1,400-station hub is measured by "
              "`make fleet FLEET_MODE=hub-scale`)")

    def stop(self):
        self.stopping.set()
        if self.hub:
            self.hub.stop()
