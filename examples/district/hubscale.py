#!/usr/bin/env python3
"""One hub, many light uplinks (issue 22, "Scale"): PostgreSQL 15 and `waystation-district serve` on this
machine, N stations enrolled through the hub's CLI (in parallel, timed), and N light simulated uplinks in
one asyncio process: no Modbus, no daemon, each speaking the sync API over HTTPS with its own token from
enrolment and doing per round what waystation-uplink's DistrictSync does: riders/lookup (rider ids sealed
with HPKE, RFC 9180, exactly as the kiosk seals them), reports, visits, state (hourly), then
GET changes?since=cursor. A round every --interval (60 s, the product default), at a random phase per
station, and at once (within the uplink's 5-s local check) when a rider's id or a report waits. Meanwhile
some reports are verified through the CLI, and their verdicts must come down to their station.

Goal: every request answered with p99 < 1 s, no station's sync missed (every station completed a round
in every interval), nothing lost: at the end every report posted is in the hub exactly once (and every
verdict given reached its station).

    hubscale.py [--stations 1400] [--seconds 300] [--bin .build/release] [--interval 60]

Needs root (PostgreSQL runs as the postgres user). State and logs: --state (default state/hub-scale).
"""
import argparse
import asyncio
import base64
import concurrent.futures
import hashlib
import hmac
import json
import os
import random
import shutil
import ssl
import struct
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import districtlib as dl  # noqa: E402
import hublib  # noqa: E402

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

# ---- HPKE (RFC 9180) base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305 --------------
KEM_ID, KDF_ID, AEAD_ID = 0x0020, 0x0001, 0x0003
INFO = b"waystation rider v1"


def _extract(salt, ikm):
    return hmac.new(salt or b"\0" * 32, ikm, hashlib.sha256).digest()


def _expand(prk, info, length):
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def _labeled_extract(suite, salt, label, ikm):
    return _extract(salt, b"HPKE-v1" + suite + label + ikm)


def _labeled_expand(suite, prk, label, info, length):
    return _expand(prk, struct.pack(">H", length) + b"HPKE-v1" + suite + label + info, length)


def hpke_seal(pk_raw, plaintext, aad, info=INFO, eph=None):
    """Single-shot HPKE seal (mode_base); returns (enc, ciphertext). `eph`: a fixed ephemeral key (tests)."""
    kem_suite = b"KEM" + struct.pack(">H", KEM_ID)
    suite = b"HPKE" + struct.pack(">HHH", KEM_ID, KDF_ID, AEAD_ID)
    sk_e = eph or X25519PrivateKey.generate()
    enc = sk_e.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    dh = sk_e.exchange(X25519PublicKey.from_public_bytes(pk_raw))
    eae_prk = _labeled_extract(kem_suite, b"", b"eae_prk", dh)
    shared = _labeled_expand(kem_suite, eae_prk, b"shared_secret", enc + pk_raw, 32)
    psk_id_hash = _labeled_extract(suite, b"", b"psk_id_hash", b"")
    info_hash = _labeled_extract(suite, b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash
    secret = _labeled_extract(suite, shared, b"secret", b"")
    key = _labeled_expand(suite, secret, b"key", context, 32)
    nonce = _labeled_expand(suite, secret, b"base_nonce", context, 12)
    return enc, ChaCha20Poly1305(key).encrypt(nonce, plaintext, aad)


def hpke_self_test():
    """RFC 9180 appendix A.2.1 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, base): sequence
    number 0's ciphertext."""
    sk_e = X25519PrivateKey.from_private_bytes(bytes.fromhex(
        "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600"))
    pk_r = bytes.fromhex("4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a")
    enc, ct = hpke_seal(pk_r, bytes.fromhex("4265617574792069732074727574682c20747275746820626561757479"),
                        bytes.fromhex("436f756e742d30"), info=bytes.fromhex("4f6465206f6e2061204772656369616e2055726e"),
                        eph=sk_e)
    return (enc.hex() == "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a" and
            ct.hex() == "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28")


# ---- a minimal HTTP/1.1 client over asyncio TLS streams ---------------------------------------------------
class Conn:
    def __init__(self, host, port, ctx):
        self.host, self.port, self.ctx = host, port, ctx
        self.reader = self.writer = None

    async def close(self):
        if self.writer:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (OSError, ssl.SSLError):
                pass
        self.reader = self.writer = None

    async def request(self, method, path, token, body=None):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port, ssl=self.ctx,
                                                                     server_hostname="localhost")
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: localhost:{self.port}\r\nAuthorization: Bearer {token}\r\n"
                f"Accept: application/json\r\nUser-Agent: hubscale\r\n")
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + data)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("connection closed by the hub")
        status = int(status_line.split()[1])
        headers = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            payload = b""
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                payload += await self.reader.readexactly(size)
                await self.reader.readexactly(2)
        else:
            payload = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, payload


# ---- one light uplink --------------------------------------------------------------------------------
class Station:
    def __init__(self, sid, token, pub, run):
        self.sid, self.token, self.pub, self.run = sid, token, pub, run
        self.cursor = ""
        self.lookups = []  # (ref, raw id) waiting
        self.mapped = {}  # ref -> district pseudonym
        self.reports = []  # waiting to go up
        self.next_report = 1
        self.posted = set()  # report ids the hub accepted
        self.visits = 0
        self.sent_visits = -1
        self.state_sent = None
        self.verdicts = {}  # report id -> verdict received
        self.rounds = []  # completion times of successful rounds
        self.wake = asyncio.Event()

    def scan(self):
        ref = f"{self.sid}-r{len(self.mapped) + len(self.lookups)}"
        raw = "139" + "".join(random.choice("0123456789") for _ in range(8))
        self.lookups.append((ref, raw))
        self.visits += 1
        self.wake.set()

    def report(self):
        refs = list(self.mapped)
        rid = self.next_report
        self.next_report += 1
        self.reports.append({"id": rid, "key": f"{self.sid}/report/{rid}", "category": random.choice(
            ["manhole_cover", "fallen_cable"]), "location": f"Hanyang Rd {random.randint(1, 400)}",
            "note": None, "rider": self.mapped[random.choice(refs)] if refs else None,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")})
        self.wake.set()

    async def call(self, conn, method, what, body=None):
        path = f"/sync/v1/stations/{self.sid}/{what}"
        t = time.monotonic()
        try:
            status, payload = await asyncio.wait_for(conn.request(method, path, self.token, body), 30)
        except Exception as e:  # noqa: BLE001
            await conn.close()
            self.run.errors.append((self.sid, what, f"{type(e).__name__}: {e}"))
            raise
        finally:
            self.run.latency.setdefault(what.split("?")[0], []).append(time.monotonic() - t)
        if status != 200:
            self.run.errors.append((self.sid, what, f"HTTP {status}: {payload[:200]!r}"))
            raise RuntimeError(f"HTTP {status}")
        return json.loads(payload) if payload else {}

    async def round(self, conn):
        """What DistrictSync.round does, in its order."""
        if self.lookups:
            batch = self.lookups[:200]
            sealed = []
            for ref, raw in batch:
                enc, ct = hpke_seal(self.pub, raw.encode(), self.sid.encode())
                sealed.append({"ref": ref, "enc": base64.b64encode(enc).decode(), "ct": base64.b64encode(ct).decode()})
            answer = await self.call(conn, "POST", "riders/lookup", {"sealed": sealed})
            for r in answer.get("riders", []):
                self.mapped[r["ref"]] = r["district"]
            if answer.get("refused"):
                self.run.errors.append((self.sid, "riders/lookup", f"refused {answer['refused']}"))
            self.lookups = self.lookups[len(batch):]
        if self.reports:
            batch = self.reports[:200]
            answer = await self.call(conn, "POST", "reports", {"reports": batch})
            accepted = set(answer.get("accepted", []))
            # The ack can get lost on the way back: the real uplink sends the batch again; so do we, now and then.
            if random.random() < self.run.resend:
                await self.call(conn, "POST", "reports", {"reports": batch})
                self.run.resent += len(batch)
            self.posted |= accepted
            self.reports = [r for r in self.reports if r["id"] not in accepted]
        if self.visits != self.sent_visits:
            day = datetime.now(timezone(timedelta(hours=8))).date().isoformat()
            await self.call(conn, "POST", "visits", {"days": [{"day": day, "category": "food_delivery",
                                                               "visits": self.visits}]})
            self.sent_visits = self.visits
        if self.state_sent is None or time.monotonic() - self.state_sent > 3600:
            await self.call(conn, "POST", "state", {"software": "1.0.0", "config": "0123456789abcdef",
                                                    "reported": datetime.now(timezone.utc).isoformat(
                                                        timespec="seconds").replace("+00:00", "Z")})
            self.state_sent = time.monotonic()
        ch = await self.call(conn, "GET", f"changes?since={self.cursor}")
        for v in ch.get("verdicts", []):
            if v["id"] in self.verdicts:
                self.run.verdict_repeats += 1
            self.verdicts[v["id"]] = v["verdict"]
        self.cursor = ch["cursor"]

    async def loop(self, until):
        conn = Conn(self.run.host, self.run.port, self.run.ctx)
        await asyncio.sleep(random.uniform(0, self.run.interval))
        last = -1e9
        failures = 0
        while True:
            now = time.monotonic()
            interval = self.run.interval if failures == 0 else min(10 * 2 ** (failures - 1), self.run.interval)
            waiting = bool(self.lookups or self.reports)
            if now - last >= interval or (waiting and failures == 0) or (now >= until and waiting):
                last = now
                try:
                    await self.round(conn)
                    self.rounds.append(time.monotonic())
                    failures = 0
                except Exception:  # noqa: BLE001
                    failures += 1
                # A new connection each round: AsyncHTTPClient's pool drops a connection idle for 60 s.
                await conn.close()
            if now >= until and not self.lookups and not self.reports:
                return
            self.wake.clear()
            try:
                # The uplink looks at the daemon every 5 s: a waiting rider or report starts a round then.
                await asyncio.wait_for(self.wake.wait(), max(0.1, last + interval - time.monotonic()))
                await asyncio.sleep(random.uniform(0, 5))
            except asyncio.TimeoutError:
                pass


class Run:
    def __init__(self, host, port, ctx, interval, resend):
        self.host, self.port, self.ctx, self.interval, self.resend = host, port, ctx, interval, resend
        self.latency = {}
        self.errors = []
        self.resent = 0
        self.verdict_repeats = 0


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else 0.0


def psql(db_sock, sql):
    return hublib.run(["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups",
                       f"{hublib.PG_BIN}/psql", "-h", db_sock, "-U", "postgres", "-d", "district", "-At",
                       "-F", "\t", "-c", sql] if os.geteuid() == 0 else
                      [f"{hublib.PG_BIN}/psql", "-h", db_sock, "-U", "postgres", "-d", "district", "-At",
                       "-F", "\t", "-c", sql])


def tree_cpu(pid):
    """CPU seconds of a process and its children now running (PostgreSQL's backends)."""
    total = dl.cpu_seconds(pid)
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        total += dl.cpu_seconds(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stations", "-n", type=int, default=int(os.environ.get("FLEET_STATIONS", 1400)))
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("FLEET_SECONDS", 300)),
                    help="how long the load runs (default 300)")
    ap.add_argument("--interval", type=float, default=60, help="each station's sync_interval (default 60 s)")
    ap.add_argument("--bin", default=os.environ.get("BIN", ".build/release"))
    ap.add_argument("--lookups-per-day", type=float, default=300,
                    help="new riders scanned per station-day (each a sealed look-up; default 300)")
    ap.add_argument("--reports-per-day", type=float, default=100, help="reports per station-day (default 100)")
    ap.add_argument("--verify", type=int, default=20, help="reports verified through the CLI during the run")
    ap.add_argument("--resend", type=float, default=0.05,
                    help="share of report batches sent twice (a lost ack; default 0.05)")
    ap.add_argument("--enrol-workers", type=int, default=4)
    ap.add_argument("--state", default=os.environ.get("FLEET_STATE", "state/hub-scale"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("hubscale: needs root (PostgreSQL runs as the postgres user)")
    if not hpke_self_test():
        sys.exit("hubscale: the Python HPKE does not match RFC 9180's test vector")
    bin_dir = os.path.abspath(args.bin)
    state = os.path.abspath(args.state)
    shutil.rmtree(state, ignore_errors=True)
    os.makedirs(state)
    os.chmod(state, 0o755)
    procs = dl.Procs()
    hub = None
    try:
        pki = dl.make_pki(os.path.join(state, "pki"))
        pg_dir = os.path.join(state, "pg")
        db_url = hublib.start_postgres(procs, pg_dir)
        db_sock = os.path.join(pg_dir, "sock")
        hub_dir = os.path.join(state, "hub")
        os.makedirs(hub_dir)
        port = dl.free_port()
        config = hublib.write_hub_config(hub_dir, pki, db_url, f"127.0.0.1:{port}")
        with open(config, "a") as f:
            f.write("\n[limits]\nlookups_per_hour = 100000\n")
        url = f"https://127.0.0.1:{port}"
        hub = hublib.Hub(bin_dir, config, url)
        hub.cli("keys", "init")
        hub.start()
        n = args.stations
        ids = [f"hs-{i:04d}" for i in range(1, n + 1)]
        dl.log(f"hub on {url}; enrolling {n} stations through the CLI ({args.enrol_workers} at a time) ...")
        t0 = time.time()

        def enrol(sid):
            d = os.path.join(state, "stations", sid)
            hub.cli("stations", "add", sid, "--name", f"Station {sid}", "--address", f"{sid} Hanyang Road",
                    "--out", d, "--url", url)
            with open(os.path.join(d, "token")) as f:
                token = f.read().strip()
            with open(os.path.join(d, "hub-rider.pub")) as f:
                pub = base64.b64decode(f.read().strip())
            return sid, token, pub
        with concurrent.futures.ThreadPoolExecutor(args.enrol_workers) as ex:
            enrolled = list(ex.map(enrol, ids))
        enrol_s = time.time() - t0
        dl.log(f"enrolled {n} stations in {enrol_s:.0f} s ({enrol_s / n * 1000:.0f} ms each, "
               f"{args.enrol_workers} in parallel)")
        db0 = int(psql(db_sock, "SELECT pg_database_size('district')").strip())

        ctx = ssl.create_default_context(cafile=os.path.join(hub_dir, "district-ca.pem"))
        run = Run("127.0.0.1", port, ctx, args.interval, args.resend)
        stations = [Station(sid, token, pub, run) for sid, token, pub in enrolled]
        cpu0, pg_cpu0 = dl.cpu_seconds(hub.proc.pid), tree_cpu(procs.procs[0].pid)
        rss_max = [0]
        verdicts_given = {}  # (station, report id) -> verdict

        async def drive():
            start = time.monotonic()
            until = start + args.seconds
            tasks = [asyncio.create_task(s.loop(until)) for s in stations]
            # Riders and reports arrive as Poisson processes over all stations.
            scan_rate = n * args.lookups_per_day / 86400
            report_rate = n * args.reports_per_day / 86400
            next_scan = start + random.expovariate(scan_rate) if scan_rate else float("inf")
            next_report = start + random.expovariate(report_rate) if report_rate else float("inf")
            next_verify = start + args.interval
            verify_every = max(1.0, (args.seconds - 2 * args.interval) / max(1, args.verify))
            loop = asyncio.get_running_loop()
            while time.monotonic() < until:
                now = time.monotonic()
                while next_scan <= now:
                    random.choice(stations).scan()
                    next_scan += random.expovariate(scan_rate)
                while next_report <= now:
                    random.choice(stations).report()
                    next_report += random.expovariate(report_rate)
                if len(verdicts_given) < args.verify and now >= next_verify:
                    next_verify = now + verify_every
                    rows = [r for r in await loop.run_in_executor(None, hub.reports) if r[1] == "pending"]
                    if rows:
                        r = random.choice(rows)
                        sid, rid = r[2].split("#")
                        verdict = random.choice(["verified", "rejected"])
                        await loop.run_in_executor(None, hub.cli, "reports", "verify" if verdict == "verified"
                                                   else "reject", r[0], "--note", "hubscale", "--by", "hubscale")
                        verdicts_given[(sid, int(rid))] = verdict
                rss_max[0] = max(rss_max[0], dl.rss_bytes(hub.proc.pid))
                await asyncio.sleep(0.05)
            dl.log("load over; the stations flush what waits and make one more round ...")
            await asyncio.gather(*tasks)
            # One more round each, so every verdict given can come down.
            conn_rounds = []
            for s in stations:
                c = Conn(run.host, run.port, run.ctx)

                async def last(s=s, c=c):
                    try:
                        await s.round(c)
                    finally:
                        await c.close()
                conn_rounds.append(last())
            sem = asyncio.Semaphore(50)

            async def limited(coro):
                async with sem:
                    return await coro
            await asyncio.gather(*(limited(c) for c in conn_rounds), return_exceptions=True)
            return start

        dl.log(f"{n} light uplinks running for {args.seconds:.0f} s (sync every {args.interval:.0f} s, "
               f"{args.lookups_per_day:.0f} look-ups and {args.reports_per_day:.0f} reports per station-day) ...")
        t_load = time.time()
        start_mono = asyncio.run(drive())
        elapsed = time.time() - t_load
        hub_cpu = dl.cpu_seconds(hub.proc.pid) - cpu0
        pg_cpu = tree_cpu(procs.procs[0].pid) - pg_cpu0
        hub_rss = dl.rss_bytes(hub.proc.pid)
        db1 = int(psql(db_sock, "SELECT pg_database_size('district')").strip())

        # ---- nothing lost ------------------------------------------------------------------------------
        rows = psql(db_sock, "SELECT station, station_report, count(*) FROM reports GROUP BY 1, 2")
        at_hub = {}
        for line in rows.splitlines():
            sid, rid, c = line.split("\t")
            at_hub[(sid, int(rid))] = int(c)
        posted = {(s.sid, rid) for s in stations for rid in s.posted}
        made = sum(s.next_report - 1 for s in stations)
        missing = posted - set(at_hub)
        extra = set(at_hub) - posted
        dupes = [k for k, c in at_hub.items() if c != 1]
        unsent = sum(len(s.reports) for s in stations)
        by_sid = {s.sid: s for s in stations}
        verdict_missing = [k for k, v in verdicts_given.items() if by_sid[k[0]].verdicts.get(k[1]) != v]
        verdict_elsewhere = sum(1 for s in stations for rid in s.verdicts if (s.sid, rid) not in verdicts_given)

        # ---- held: every station synced in every interval ----------------------------------------------
        gaps = []
        for s in stations:
            ts = [start_mono] + [t for t in s.rounds if t >= start_mono]
            gaps.append(max(b - a for a, b in zip(ts, ts[1:])) if len(ts) > 1 else float("inf"))
        missed = sum(1 for g in gaps if g > args.interval + 10)  # a round a minute (+ the 5-s check, jitter)
        all_lat = [x for v in run.latency.values() for x in v]
        requests = len(all_lat)
        lookups = sum(len(s.mapped) for s in stations)

        print()
        print(f"== hub scale: {n} light uplinks against one hub (binaries in {args.bin}), "
              f"{elapsed:.0f} s, sync every {args.interval:.0f} s")
        print(f"enrolment (CLI)          {n} stations in {enrol_s:.0f} s ({args.enrol_workers} in parallel; "
              f"{enrol_s / n * 1000:.0f} ms a station)")
        print(f"requests                 {requests} ({requests / elapsed:.1f}/s): " + ", ".join(
            f"{k} {len(v)}" for k, v in sorted(run.latency.items())))
        print(f"latency (all)            p50 {1000 * pct(all_lat, 50):.0f} ms, p99 {1000 * pct(all_lat, 99):.0f} ms, "
              f"max {1000 * max(all_lat or [0]):.0f} ms  (a new TLS connection every round included)")
        for k, v in sorted(run.latency.items()):
            print(f"  {k:<22} p50 {1000 * pct(v, 50):5.0f} ms  p99 {1000 * pct(v, 99):5.0f} ms  max {1000 * max(v):5.0f} ms")
        print(f"errors                   {len(run.errors)}" + (": " + "; ".join(
            f"{s} {w}: {e}" for s, w, e in run.errors[:5]) if run.errors else ""))
        print(f"sync held                {n - missed}/{n} stations completed a round in every interval "
              f"(longest gap {max(gaps):.0f} s)")
        print(f"riders looked up (HPKE)  {lookups}; reports made {made}, accepted {len(posted)}, still queued "
              f"{unsent}, batches sent twice {run.resent} reports")
        print(f"at the hub               {len(at_hub)} reports; missing {len(missing)}, not posted {len(extra)}, "
              f"stored twice {len(dupes)}")
        print(f"verdicts                 {len(verdicts_given)} given (CLI), {len(verdicts_given) - len(verdict_missing)} "
              f"reached their station, {verdict_elsewhere} at another, {run.verdict_repeats} repeated")
        print(f"hub                      CPU {100 * hub_cpu / elapsed:.1f}% of a core, RSS {hub_rss / 2**20:.1f} MiB "
              f"(max {rss_max[0] / 2**20:.1f} MiB)")
        print(f"PostgreSQL               CPU {100 * pg_cpu / elapsed:.1f}% of a core; database "
              f"{db0 / 2**20:.1f} -> {db1 / 2**20:.1f} MiB: {(db1 - db0) / elapsed * 86400 / n / 1024:.0f} KiB per "
              f"station-day at this run's rates")
        ok = (pct(all_lat, 99) < 1.0 and not missing and not extra and not dupes and unsent == 0 and missed == 0
              and not verdict_missing and verdict_elsewhere == 0)
        print(f"goal (p99 < 1 s, every station held, nothing lost): {'MET' if ok else 'NOT MET'}")
        print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; state and logs: {state}")
        return 0 if ok else 1
    finally:
        if hub:
            hub.stop()
        procs.stop_all()


if __name__ == "__main__":
    sys.exit(main())
