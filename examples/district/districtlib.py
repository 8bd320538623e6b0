"""Helpers shared by test-district.py and fleet.py: free ports, the real Prometheus / Alertmanager /
node-exporter binaries on loopback, simulated stations (waystation-sim, waystationd, waystation-web),
config rendering, the HTTP APIs, and a tiny webhook receiver.
Python 3.11 standard library only. Every process started here is remembered and stopped by its pid."""
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
AGENT_TEMPLATE = os.path.join(HERE, "station", "prometheus-agent.yml")
DISTRICT_CONFIG = os.path.join(HERE, "district", "prometheus.yml")
DISTRICT_RULES = os.path.join(HERE, "district", "rules")
AM_CONFIG = os.path.join(HERE, "alertmanager", "alertmanager.yml")
DEMO_STATION = os.path.join(REPO, "examples", "demo-station.toml")

PROMETHEUS = os.environ.get("PROMETHEUS", "prometheus")
PROMTOOL = os.environ.get("PROMTOOL", "promtool")
ALERTMANAGER = os.environ.get("ALERTMANAGER", "prometheus-alertmanager")
AMTOOL = os.environ.get("AMTOOL", "amtool")
NODE_EXPORTER = os.environ.get("NODE_EXPORTER", "prometheus-node-exporter")


def log(msg):
    print(msg, flush=True)


_used_ports = set()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A free TCP port on 127.0.0.1, not handed out twice by this process.

    Taken from just below the kernel's ephemeral range: a port bound and released inside it can be
    taken by any outgoing connection before the listener it was meant for binds it."""
    top = _ephemeral_low()
    bottom = max(1024, top - 12000)
    # Random picks below the range, then the kernel's choice.
    picks = (random.randrange(bottom, top) for _ in range(1000 if top - bottom >= 100 else 0))
    for port in itertools.chain(picks, [0]):
        if port in _used_ports:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            port = s.getsockname()[1]
        if port not in _used_ports:
            _used_ports.add(port)
            return port
    raise RuntimeError("no free loopback port")


class Procs:
    """The processes this run started; stop() ends them by pid (TERM, then KILL after a grace)."""

    def __init__(self):
        self.procs = []

    def start(self, name, argv, logfile, cwd=None, env=None):
        out = open(logfile, "ab")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             cwd=cwd, env=env)
        out.close()
        p.name = name
        p.logfile = logfile
        self.procs.append(p)
        return p

    def stop(self, p, grace=20):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in list(reversed(self.procs)):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.time() + 20
        for p in list(self.procs):
            try:
                p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs.clear()


def tail(path, n=15):
    try:
        with open(path, "rb") as f:
            return b"\n".join(f.read().splitlines()[-n:]).decode(errors="replace")
    except OSError:
        return ""


# ---- HTTP -----------------------------------------------------------------------------------------

def http(method, url, body=None, timeout=10, headers=None):
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def get_text(url, timeout=10):
    return http("GET", url, timeout=timeout)[1].decode()


def wait_http(url, timeout=60):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            http("GET", url, timeout=2)
            return True
        except Exception as e:  # noqa: BLE001 - anything means "not yet"
            last = e
            time.sleep(0.3)
    raise TimeoutError(f"{url} not answering after {timeout}s: {last}")


def wait_until(fn, timeout, interval=1.0):
    """Calls fn until it returns something truthy (returned) or the timeout passes (returns None)."""
    deadline = time.time() + timeout
    while True:
        try:
            v = fn()
            if v:
                return v
        except Exception:  # noqa: BLE001 - a failed probe is a "not yet"
            pass
        if time.time() >= deadline:
            return None
        time.sleep(interval)


def prom_query(base, expr, at=None):
    params = {"query": expr}
    if at is not None:
        params["time"] = f"{at:.3f}"
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode(params)
    body = json.loads(get_text(url, timeout=30))
    if body.get("status") != "success":
        raise RuntimeError(f"query {expr!r}: {body}")
    return body["data"]["result"]


def prom_scalar(base, expr, default=None):
    r = prom_query(base, expr)
    if not r:
        return default
    return float(r[0]["value"][1])


def parse_exposition(text):
    """{(name, frozenset(labels)): value} of a text exposition (enough for our own checks)."""
    out = {}
    rx = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)')
    lrx = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = rx.match(line)
        if not m:
            continue
        labels = frozenset(lrx.findall(m.group(3) or ""))
        try:
            out[(m.group(1), labels)] = float(m.group(4))
        except ValueError:
            pass
    return out


def metric_sum(expo, name):
    return sum(v for (n, _), v in expo.items() if n == name)


def rss_bytes(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_seconds(pid):
    """utime+stime of a process, in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


# ---- configs --------------------------------------------------------------------------------------

def render_agent_config(station, district, remote_write_url, web_target, node_target, agent_target):
    with open(AGENT_TEMPLATE) as f:
        text = f.read()
    for k, v in {"@STATION@": station, "@DISTRICT@": district, "@REMOTE_WRITE_URL@": remote_write_url,
                 "@WEB_TARGET@": web_target, "@NODE_TARGET@": node_target,
                 "@AGENT_TARGET@": agent_target}.items():
        text = text.replace(k, v)
    if "@" in re.sub(r"#.*", "", text):
        raise ValueError("unrendered @...@ left in the agent config")
    return text


def render_district_config(prom_port, am_port):
    """district/prometheus.yml for a run on loopback: its own and the Alertmanager's ports, the rules by
    absolute path."""
    with open(DISTRICT_CONFIG) as f:
        text = f.read()
    text = text.replace("127.0.0.1:9090", f"127.0.0.1:{prom_port}")
    text = text.replace("127.0.0.1:9093", f"127.0.0.1:{am_port}")
    text = text.replace("  - rules/*.yml", f"  - {DISTRICT_RULES}/*.yml")
    return text


def render_am_config(receiver_port, fast=False):
    """alertmanager/alertmanager.yml with its webhooks pointing at our receiver. fast=True shortens
    group_wait / group_interval (and nothing else) so a test sees firing and resolved within seconds."""
    with open(AM_CONFIG) as f:
        text = f.read()
    text = text.replace("127.0.0.1:5001", f"127.0.0.1:{receiver_port}")
    if fast:
        text = re.sub(r"group_wait: \S+", "group_wait: 1s", text)
        text = re.sub(r"group_interval: \S+", "group_interval: 2s", text)
    return text


# ---- the real binaries ----------------------------------------------------------------------------

def start_district(procs, workdir, prom_port, am_port, data_dir=None):
    os.makedirs(workdir, exist_ok=True)
    cfg = os.path.join(workdir, "district-prometheus.yml")
    with open(cfg, "w") as f:
        f.write(render_district_config(prom_port, am_port))
    data_dir = data_dir or os.path.join(workdir, "district-data")
    p = procs.start("district-prometheus", [
        PROMETHEUS, f"--config.file={cfg}", "--web.enable-remote-write-receiver",
        f"--storage.tsdb.path={data_dir}", f"--web.listen-address=127.0.0.1:{prom_port}",
        "--log.level=warn"], os.path.join(workdir, "district-prometheus.log"))
    wait_http(f"http://127.0.0.1:{prom_port}/-/ready", 60)
    return p


AGENT_DROPIN = os.path.join(HERE, "station", "systemd", "prometheus.service.d", "waystation-agent.conf")


def agent_flags_from_dropin():
    """The agent flags of the shipped systemd drop-in (so the tests run what stations run), less those a
    run on loopback sets itself."""
    with open(AGENT_DROPIN) as f:
        lines = f.read().splitlines()
    cmd, on = [], False
    for line in lines:
        if line.startswith("ExecStart=/"):
            on = True
            line = line[len("ExecStart="):]
        if on:
            cmd.append(line.rstrip("\\").strip())
            if not line.rstrip().endswith("\\"):
                break
    flags = " ".join(cmd).split()[1:]
    own = ("--config.file", "--storage.agent.path", "--web.listen-address", "--log.level")
    return [f for f in flags if not f.startswith(own)]


def start_agent(procs, workdir, name, config_text, port):
    d = os.path.join(workdir, name)
    os.makedirs(d, exist_ok=True)
    cfg = os.path.join(d, "prometheus-agent.yml")
    with open(cfg, "w") as f:
        f.write(config_text)
    p = procs.start(f"agent-{name}", [
        PROMETHEUS, *agent_flags_from_dropin(), f"--config.file={cfg}",
        f"--storage.agent.path={os.path.join(d, 'agent-data')}",
        f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"], os.path.join(d, "agent.log"))
    return p


def start_alertmanager(procs, workdir, port, config_text):
    os.makedirs(workdir, exist_ok=True)
    cfg = os.path.join(workdir, "alertmanager.yml")
    with open(cfg, "w") as f:
        f.write(config_text)
    p = procs.start("alertmanager", [
        ALERTMANAGER, f"--config.file={cfg}", f"--storage.path={os.path.join(workdir, 'am-data')}",
        f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"],
        os.path.join(workdir, "alertmanager.log"))
    wait_http(f"http://127.0.0.1:{port}/-/ready", 60)
    return p


def start_node_exporter(procs, workdir, port):
    p = procs.start("node-exporter", [
        NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        os.path.join(workdir, "node-exporter.log"))
    wait_http(f"http://127.0.0.1:{port}/metrics", 30)
    return p


# ---- simulated stations ---------------------------------------------------------------------------

def station_config(sid, d, rs485_port, cabinet_port, am_port, web_port, district=None):
    """A station config for a simulated station in dir d, from examples/demo-station.toml: TCP only (its
    RS-485 bus becomes a Modbus TCP bus on its own port, served by the simulator like an RS-485 gateway),
    its own ports and paths, [[notify]] to the Alertmanager on am_port, and waystation-web's
    [web] listen on 127.0.0.1:web_port."""
    with open(DEMO_STATION) as f:
        text = f.read()
    rep = [
        ('id = "demo-001"', f'id = "{sid}"'),
        ('name = "Demo station (simulated)"', f'name = "Fleet station {sid} (simulated)"'
         + (f'\ndistrict = "{district}"' if district else "")),
        ('path = "../state/station.db"', f'path = "{d}/station.db"'),
        ('socket = "../state/control.sock"', f'socket = "{d}/control.sock"'),
        ('paths = ["../devices"]', f'paths = ["{REPO}/devices"]'),
        ('transport = "rtu"\nserial = "../state/ttyWS0"\nbaud = 9600\nparity = "none"\ndata_bits = 8\n'
         'stop_bits = 1\n', f'transport = "tcp"\nhost = "127.0.0.1"\nport = {rs485_port}\n'),
        ("port = 15020", f"port = {cabinet_port}"),
    ]
    for old, new in rep:
        if old not in text:
            raise SystemExit(f"examples/demo-station.toml changed: {old!r} not found; update districtlib.py")
        text = text.replace(old, new)
    text += f'\n[[notify]]\nkind = "alertmanager"\nurl = "http://127.0.0.1:{am_port}"\n'
    # The demo station has a [web] table of its own (the kiosk and /metrics at 127.0.0.1:8480): move it.
    demo_listen = 'listen = "127.0.0.1:8480"'
    if demo_listen in text:
        text = text.replace(demo_listen, f'listen = "127.0.0.1:{web_port}"')
    else:
        text += f'\n[web]\nlisten = "127.0.0.1:{web_port}"\n'
    return text


def start_sim_and_daemon(procs, d, bin_dir, config):
    """waystation-sim (control socket d/sim.sock) and waystationd on a station config made by
    station_config(); returns (sim, daemon) once both sockets exist."""
    sim = procs.start(f"sim-{os.path.basename(d)}", [
        os.path.join(bin_dir, "waystation-sim"), "--config", config, "--no-stdin",
        "--control-socket", os.path.join(d, "sim.sock")], os.path.join(d, "sim.log"))
    if not wait_until(lambda: os.path.exists(os.path.join(d, "sim.sock")), 30, 0.2):
        raise RuntimeError(f"waystation-sim did not start:\n{tail(sim.logfile)}")
    daemon = procs.start(f"daemon-{os.path.basename(d)}", [
        os.path.join(bin_dir, "waystationd"), "--config", config], os.path.join(d, "daemon.log"))
    if not wait_until(lambda: os.path.exists(os.path.join(d, "control.sock")), 30, 0.2):
        raise RuntimeError(f"waystationd did not start:\n{tail(daemon.logfile)}")
    return sim, daemon


def start_web(procs, d, bin_dir, config, port, name="waystation-web"):
    """The real waystation-web for a station made by station_config() in dir d (after its daemon is up),
    serving the kiosk and /metrics on 127.0.0.1:port; returns once /metrics answers.

    As root (the tests, the fleet) it runs as nobody through setpriv, with the control socket's group as
    its only group, as its systemd unit runs it (DynamicUser=, SupplementaryGroups= with the socket's
    group): an unprivileged reader of the socket, which is all /metrics needs (the unit adds the kiosk
    group for the kiosk page; these simulated stations have none). As anyone else it runs as the caller,
    who owns the daemon's socket and so reaches it as a reader too."""
    argv = [os.path.join(bin_dir, "waystation-web"), "--config", config]
    if os.geteuid() == 0 and shutil.which("setpriv"):
        sock = os.path.join(d, "control.sock")
        closed = [p for p in _parents(d) if not os.stat(p).st_mode & 0o001]
        if closed:
            raise RuntimeError(f"waystation-web runs as nobody and cannot reach {d}: "
                               f"no o+x on {', '.join(closed)}")
        argv = [shutil.which("setpriv"), "--reuid=65534", "--regid=65534",
                f"--groups={os.stat(sock).st_gid}", *argv]
    p = procs.start(name, argv, os.path.join(d, "web.log"))
    try:
        wait_http(f"http://127.0.0.1:{port}/metrics", 30)
    except TimeoutError as e:
        raise RuntimeError(f"waystation-web did not start: {e}\n{tail(p.logfile)}") from None
    return p


def _parents(d):
    d = os.path.abspath(d)
    out = [d]
    while d != os.path.dirname(d):
        d = os.path.dirname(d)
        out.append(d)
    return out


def sim_command(sock_path, line):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(sock_path)
        s.sendall((line + "\n").encode())
        s.shutdown(socket.SHUT_WR)
        try:
            s.recv(4096)
        except OSError:
            pass


# ---- webhook receiver -----------------------------------------------------------------------------

class WebhookReceiver:
    """Collects Alertmanager webhook POSTs (version 4 payload) by path: /safety, /maintenance, ..."""

    def __init__(self):
        self.lock = threading.Lock()
        self.posts = []  # (path, payload)
        rec = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(n)
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {"raw": body.decode(errors="replace")}
                with rec.lock:
                    rec.posts.append((self.path, payload))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self, path=None):
        """[(path, status, labels)] of every alert in every delivery so far."""
        with self.lock:
            posts = list(self.posts)
        out = []
        for p, payload in posts:
            if path and p != path:
                continue
            for a in payload.get("alerts", []):
                out.append((p, a.get("status"), a.get("labels", {})))
        return out

    def count(self, path=None):
        with self.lock:
            return sum(1 for p, _ in self.posts if path is None or p == path)

    def close(self):
        self.server.shutdown()
