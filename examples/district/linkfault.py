#!/usr/bin/env python3
"""Link faults between a hub and stations on this machine, for the district link tests (issue 22).

    with LinkLab(stations=2) as lab:            # needs root; namespaces ws-hub, ws-st1, ws-st2
        hub = lab.popen(lab.hub, ["waystation-district", ...])       # listens on lab.hub_addr
        st1 = lab.popen(lab.station(1), ["waystation-uplink", ...])  # reaches the hub at lab.hub_addr
        lab.impair(1, delay_ms=300, jitter_ms=100, loss=0.05)       # a poor 4G link
        lab.outage(1)                                                # the link is gone (packets vanish)
        lab.restore(1)                                               # back, no faults
    # on leaving the block, on an exception and on SIGTERM/SIGINT: the processes popen() started are
    # ended and every namespace made here is deleted

The lab: network namespaces `<prefix>-hub` and `<prefix>-st1`...`-stN` (prefix "ws"), each with its own
loopback; addresses in 10.231.0.0/16 only (the hub 10.231.0.1, station i 10.231.i.2). Nothing is added to
the machine's own namespace: no route, no device, no address; the namespaces reach nothing but each other.

Each station's link is a pair of TUN devices, `uplink` in the station's namespace and `st<i>` in the
hub's, joined by a thread of this process ("the wire") that copies the IP packets across, and that is
where the faults are made: delay and jitter (in order, as a radio link queues), random loss, a rate limit,
and an outage, either "blackhole" (every packet vanishes, as when 4G coverage goes: connections hang and
time out) or "down" (the station's link is set down: connects fail at once). Not veth + `tc netem`: the
kernels this runs on (CI's too) are built without sch_netem (CONFIG_NET_SCH_NETEM is not set), and a
userspace wire behaves the same everywhere. The wire keeps packet counts per direction (counters()).

Self-test (root): `python3 linkfault.py --self-test`: an HTTP server in the hub namespace, curl from the
stations: delay shows in the connect time, a lossy link still delivers, an outage stops station 1 but not
station 2, a download running across an outage completes after restore(), and teardown leaves no
namespace. `--cleanup [PREFIX]` removes the namespaces of a run that was killed with SIGKILL.

Python 3.11 standard library only (ctypes for setns, fcntl for the TUN ioctl).
"""
import atexit
import ctypes
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import subprocess
import sys
import threading
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
MARKS = "/run/waystation-linkfault"  # one file per namespace made here: what --cleanup may remove

_libc = ctypes.CDLL(None, use_errno=True)


def _ip(*argv, ns=None):
    cmd = ["ip", *argv] if ns is None else ["ip", "netns", "exec", ns, "ip", *argv]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {p.stderr.strip()}")


def _tun_in(ns, name):
    """A TUN device `name` created inside namespace `ns` (by a thread that enters it, so the machine's own
    namespace never sees it); returns its fd, non-blocking. Closing the fd removes the device."""
    out = {}

    def make():
        try:
            with open(f"/run/netns/{ns}") as f:
                if _libc.setns(f.fileno(), CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {ns}")
            fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
            out["fd"] = fd
        except Exception as e:  # noqa: BLE001 - reported to the caller
            out["error"] = e

    # The thread's network namespace dies with the thread; the device stays in `ns`.
    t = threading.Thread(target=make)
    t.start()
    t.join()
    if "error" in out:
        raise RuntimeError(f"TUN {name} in {ns}: {out['error']}")
    return out["fd"]


class Wire:
    """Copies IP packets between a station's TUN and the hub's, with the faults of the moment."""

    def __init__(self, station_fd, hub_fd):
        self.fds = {"up": (station_fd, hub_fd), "down": (hub_fd, station_fd)}
        self.lock = threading.Lock()
        self.delay = self.jitter = 0.0
        self.loss = 0.0
        self.rate = None  # bytes per second
        self.blackhole = False
        self.counts = {d: {"forwarded": 0, "dropped": 0} for d in self.fds}
        self._queue = []  # (due, seq, direction, packet)
        self._last_due = {d: 0.0 for d in self.fds}
        self._seq = 0
        self._rng = random.Random(0x57A7)
        self._stop = os.pipe()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def set(self, delay_ms=0, jitter_ms=0, loss=0.0, rate_kbit=None, blackhole=False):
        with self.lock:
            self.delay, self.jitter = delay_ms / 1000, jitter_ms / 1000
            self.loss = loss
            self.rate = rate_kbit * 1000 / 8 if rate_kbit else None
            self.blackhole = blackhole
            if blackhole:
                self._queue.clear()  # what was in flight is lost too

    def _run(self):
        ins = {fds[0]: d for d, fds in self.fds.items()}
        while True:
            with self.lock:
                wait = max(0.0, self._queue[0][0] - time.monotonic()) if self._queue else None
            r, _, _ = select.select([*ins, self._stop[0]], [], [], wait)
            if self._stop[0] in r:
                return
            now = time.monotonic()
            failed = False
            for fd in r:
                d = ins[fd]
                while True:
                    try:
                        pkt = os.read(fd, 65536)
                    except BlockingIOError:
                        break
                    except OSError:
                        failed = True  # a device going away or down: do not spin on it
                        break
                    self._take(d, pkt, now)
            self._deliver(time.monotonic())
            if failed:
                time.sleep(0.05)

    def _take(self, d, pkt, now):
        with self.lock:
            if self.blackhole or (self.loss and self._rng.random() < self.loss):
                self.counts[d]["dropped"] += 1
                return
            due = now + self.delay + (self._rng.uniform(-self.jitter, self.jitter) if self.jitter else 0.0)
            if self.rate:
                due = max(due, self._last_due[d]) + len(pkt) / self.rate
            due = max(due, self._last_due[d])  # in order, as a link's queue
            self._last_due[d] = due
            self._seq += 1
            heapq.heappush(self._queue, (due, self._seq, d, pkt))

    def _deliver(self, now):
        while True:
            with self.lock:
                if not self._queue or self._queue[0][0] > now:
                    return
                _, _, d, pkt = heapq.heappop(self._queue)
                self.counts[d]["forwarded"] += 1
            try:
                os.write(self.fds[d][1], pkt)
            except OSError:
                pass  # the receiving side is down: the packet is lost, as on a real link

    def close(self):
        os.write(self._stop[1], b"x")
        self.thread.join(5)
        for fd in (*self.fds["up"], *self._stop):
            try:
                os.close(fd)
            except OSError:
                pass


class LinkLab:
    """A hub and N stations in network namespaces of their own, joined by faulty links (module doc)."""

    def __init__(self, stations=1, prefix="ws", net="10.231"):
        if not 1 <= stations <= 250:
            raise ValueError("stations: 1 to 250")
        if os.geteuid() != 0:
            raise PermissionError("LinkLab needs root (network namespaces)")
        self.prefix, self.n, self.net = prefix, stations, net
        self.hub = f"{prefix}-hub"
        self.hub_addr = f"{net}.0.1"
        self.made = []
        self.wires = {}
        self.procs = []  # started by popen(): ended by teardown()
        self._old_handlers = {}

    def station(self, i):
        return f"{self.prefix}-st{i}"

    def station_addr(self, i):
        return f"{self.net}.{i}.2"

    # ---- life cycle ----
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.teardown()

    def start(self):
        names = [self.hub, *(self.station(i) for i in range(1, self.n + 1))]
        existing = set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split())
        taken = [n for n in names if n in existing]
        if taken:
            raise RuntimeError(f"network namespace(s) {', '.join(taken)} exist already (another run, or one "
                               f"killed): `python3 {os.path.abspath(__file__)} --cleanup {self.prefix}` removes "
                               "those this module made")
        atexit.register(self.teardown)
        for sig in (signal.SIGTERM, signal.SIGINT):
            if signal.getsignal(sig) in (signal.SIG_DFL, signal.default_int_handler):
                self._old_handlers[sig] = signal.signal(sig, self._on_signal)
        os.makedirs(MARKS, exist_ok=True)
        try:
            for ns in names:
                _ip("netns", "add", ns)
                self.made.append(ns)
                with open(os.path.join(MARKS, ns), "w") as f:
                    f.write(f"{os.getpid()}\n")
                _ip("link", "set", "lo", "up", ns=ns)
            for i in range(1, self.n + 1):
                st = self.station(i)
                sfd = _tun_in(st, "uplink")
                hfd = _tun_in(self.hub, f"st{i}")
                self.wires[i] = Wire(sfd, hfd)
                _ip("addr", "add", self.station_addr(i), "peer", self.hub_addr, "dev", "uplink", ns=st)
                _ip("link", "set", "uplink", "up", ns=st)
                _ip("addr", "add", self.hub_addr, "peer", self.station_addr(i), "dev", f"st{i}", ns=self.hub)
                _ip("link", "set", f"st{i}", "up", ns=self.hub)
        except BaseException:
            self.teardown()
            raise

    def _on_signal(self, signum, frame):
        raise SystemExit(128 + signum)

    def teardown(self):
        """Ends the processes popen() started (TERM, then KILL after 10 s, by pid), removes everything
        made here; safe to call twice."""
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs.clear()
        for w in self.wires.values():
            w.close()
        self.wires.clear()
        for ns in reversed(self.made):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            try:
                os.remove(os.path.join(MARKS, ns))
            except OSError:
                pass
        self.made.clear()
        for sig, h in self._old_handlers.items():
            signal.signal(sig, h)
        self._old_handlers.clear()

    # ---- processes in a namespace ----
    @staticmethod
    def argv(ns, argv):
        return ["ip", "netns", "exec", ns, *argv]

    def run(self, ns, argv, **kw):
        return subprocess.run(self.argv(ns, argv), **kw)

    def popen(self, ns, argv, **kw):
        """A process in namespace ns; teardown() ends it if it still runs."""
        p = subprocess.Popen(self.argv(ns, argv), **kw)
        self.procs.append(p)
        return p

    # ---- faults ----
    def impair(self, i, delay_ms=0, jitter_ms=0, loss=0.0, rate_kbit=None):
        """Station i's link, both directions: delay_ms (+/- jitter_ms, kept in order) each way, a share
        `loss` (0..1) of packets lost, at most rate_kbit. Replaces the previous faults."""
        if not 0 <= loss <= 1:
            raise ValueError("loss is a share, 0 to 1")
        self._link_up(i)
        self.wires[i].set(delay_ms, jitter_ms, loss, rate_kbit)

    def clear(self, i):
        self.impair(i)

    def outage(self, i, mode="blackhole"):
        """Station i loses its link: "blackhole" (packets vanish both ways; connections hang, then time out)
        or "down" (also the station's `uplink` is set down: connects fail at once with "network unreachable")."""
        if mode not in ("blackhole", "down"):
            raise ValueError("mode: blackhole or down")
        self.wires[i].set(blackhole=True)
        if mode == "down":
            _ip("link", "set", "uplink", "down", ns=self.station(i))
            self._down = getattr(self, "_down", set()) | {i}

    def restore(self, i):
        """Station i's link back, without faults."""
        self.impair(i)

    def _link_up(self, i):
        if i in getattr(self, "_down", set()):
            _ip("link", "set", "uplink", "up", ns=self.station(i))
            # The address's route comes back with the link.
            self._down.discard(i)

    def counters(self, i):
        """{"up"|"down": {"forwarded": n, "dropped": n}} of station i's link (up = towards the hub)."""
        with self.wires[i].lock:
            return {d: dict(c) for d, c in self.wires[i].counts.items()}


def cleanup(prefix="ws"):
    """Removes the namespaces that this module made (marked in MARKS) and a killed run left behind."""
    if not os.path.isdir(MARKS):
        return []
    gone = []
    for ns in os.listdir(MARKS):
        if ns.startswith(prefix + "-"):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            os.remove(os.path.join(MARKS, ns))
            gone.append(ns)
    return gone


# ---- self-test -------------------------------------------------------------------------------------

def self_test():
    import tempfile
    results = []

    def check(name, ok, detail=""):
        results.append(bool(ok))
        print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"  -- {detail}" if detail else ""), flush=True)

    with tempfile.TemporaryDirectory(prefix="ws-linkfault-") as tmp, LinkLab(stations=2, prefix="wslf") as lab:
        with open(os.path.join(tmp, "big"), "wb") as f:
            f.write(os.urandom(600_000))
        server = lab.popen(lab.hub, [sys.executable, "-m", "http.server", "8080", "--bind", lab.hub_addr,
                                     "--directory", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://{lab.hub_addr}:8080/big"
        try:
            def curl(i, *extra, timeout=30):
                p = lab.run(lab.station(i), ["curl", "-sS", "-o", "/dev/null", "-w",
                                             "%{http_code} %{size_download} %{time_connect} %{time_total}",
                                             *extra, url], capture_output=True, text=True, timeout=timeout)
                parts = p.stdout.split()
                if p.returncode != 0 or len(parts) != 4:
                    return None, p.stderr.strip() or p.stdout
                code, size, connect, total = parts
                return {"code": int(code), "size": int(size), "connect": float(connect), "total": float(total)}, ""

            deadline = time.time() + 10
            while (r := curl(1, "--max-time", "2")[0]) is None and time.time() < deadline:
                time.sleep(0.2)
            check("station 1 fetches from the hub's HTTP server across its link", r and r["size"] == 600_000,
                  f"{r}")
            r2, _ = curl(2, "--max-time", "5")
            check("station 2 too, over its own link", r2 and r2["size"] == 600_000)
            p = lab.run(lab.station(1), ["ip", "route", "get", "1.1.1.1"], capture_output=True, text=True)
            check("a station namespace has no route anywhere else", p.returncode != 0, p.stderr.strip())

            lab.impair(1, delay_ms=150)
            r, err = curl(1, "--max-time", "20")
            check("150 ms each way: the TCP connect takes a 300 ms round trip", r and r["connect"] >= 0.28,
                  f"connect {r and r['connect']:.3f} s" if r else err)

            lab.impair(1, loss=0.15)
            before = lab.counters(1)
            r, err = curl(1, "--max-time", "60", timeout=70)
            after = lab.counters(1)
            dropped = sum(after[d]["dropped"] - before[d]["dropped"] for d in after)
            check("15 % loss: packets are lost, TCP still delivers the whole file",
                  r and r["size"] == 600_000 and dropped > 0, f"{dropped} packets lost; {r or err}")

            lab.outage(1)
            r, err = curl(1, "--max-time", "3")
            r2, _ = curl(2, "--max-time", "5")
            check("outage (blackhole): station 1 cannot connect, station 2 still can", r is None and r2,
                  f"station 1: {err}")
            lab.restore(1)
            r, err = curl(1, "--max-time", "10")
            check("restore: station 1 connects again", r and r["size"] == 600_000, err)

            lab.outage(1, mode="down")
            t0 = time.monotonic()
            r, err = curl(1, "--max-time", "3")
            took = time.monotonic() - t0
            check("outage (link down): connects fail at once", r is None and took < 2.5, f"{took:.2f} s: {err}")
            lab.restore(1)
            r, err = curl(1, "--max-time", "10")
            check("restore after link down: station 1 connects again", r and r["size"] == 600_000, err)

            # A download that runs across an outage: it stalls, and completes after the link is back.
            dl = lab.popen(lab.station(1), ["curl", "-sS", "-o", "/dev/null", "--limit-rate", "100k", "-w",
                                            "%{size_download}", "--max-time", "60", url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(1.5)
            lab.outage(1)
            stalled_at = lab.counters(1)["down"]["forwarded"]
            time.sleep(4)
            stalled = lab.counters(1)["down"]["forwarded"] == stalled_at
            lab.restore(1)
            out, err = dl.communicate(timeout=70)
            check("a TCP connection across a 4-s outage stalls, then completes after restore",
                  dl.returncode == 0 and out.strip() == "600000" and stalled,
                  f"stalled during the outage: {stalled}; downloaded {out.strip()} bytes {err.strip()}")
        finally:
            server.terminate()
            server.wait(10)
    left = set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split())
    check("teardown leaves none of the lab's namespaces", not any(n.startswith("wslf-") for n in left),
          " ".join(sorted(left)))
    # A test killed by SIGTERM (a CI timeout) tears its lab down too.
    child = subprocess.Popen([sys.executable, "-B", "-c", "import sys, time; sys.path.insert(0, sys.argv[1]); "
                              "import linkfault; lab = linkfault.LinkLab(1, prefix='wslg'); lab.start(); "
                              "print('up', flush=True); time.sleep(60)", os.path.dirname(os.path.abspath(__file__))],
                             stdout=subprocess.PIPE, text=True)
    up = child.stdout.readline().strip() == "up"
    child.send_signal(signal.SIGTERM)
    child.wait(20)
    left = set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split())
    check("SIGTERM: the lab of a killed run is torn down", up and not any(n.startswith("wslg-") for n in left),
          f"exit {child.returncode}; left: {' '.join(sorted(n for n in left if n.startswith('wslg-')))}")
    print(f"linkfault: {sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    if "--self-test" in sys.argv:
        sys.exit(self_test())
    if "--cleanup" in sys.argv:
        rest = sys.argv[sys.argv.index("--cleanup") + 1:]
        print("removed:", " ".join(cleanup(rest[0] if rest else "ws")) or "nothing")
        sys.exit(0)
    print(__doc__)
    sys.exit(2)
