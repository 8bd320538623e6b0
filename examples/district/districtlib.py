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
import ssl
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
WEB_CONFIG = os.path.join(HERE, "district", "web-config.yml")
DEMO_STATION = os.path.join(REPO, "examples", "demo-station.toml")

PROMETHEUS = os.environ.get("PROMETHEUS", "prometheus")
PROMTOOL = os.environ.get("PROMTOOL", "promtool")
ALERTMANAGER = os.environ.get("ALERTMANAGER", "prometheus-alertmanager")
AMTOOL = os.environ.get("AMTOOL", "amtool")
NODE_EXPORTER = os.environ.get("NODE_EXPORTER", "prometheus-node-exporter")
OPENSSL = os.environ.get("OPENSSL", "openssl")


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

# The client certificate this run presents to the district (set_client_tls); None: plain requests only.
_client_tls = None


def tls_context(ca, cert=None, key=None):
    """An SSL context that trusts only the district CA `ca` and, with cert/key, presents that client
    certificate."""
    ctx = ssl.create_default_context(cafile=ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def set_client_tls(ca, cert, key):
    """Every https:// request of http()/get_text()/prom_query() from now on trusts only `ca` and presents
    cert/key (the district's web-config requires a client certificate)."""
    global _client_tls
    _client_tls = tls_context(ca, cert, key)


def http(method, url, body=None, timeout=10, headers=None, context=None):
    """One request; https:// uses `context`, else the set_client_tls() one."""
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    ctx = context or (_client_tls if url.startswith("https:") else None)
    with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
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


# ---- throwaway district PKI (the openssl CLI) --------------------------------------------------------

def _openssl(*argv):
    p = subprocess.run([OPENSSL, *argv], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(argv[:2])}: {p.stderr.strip()}")


def make_pki(d, stations=(), clients=(), server_san="IP:127.0.0.1,DNS:localhost"):
    """A throwaway district CA in directory d (made 0700) and, signed by it (ECDSA P-256, 2 days):
    district.pem/.key (the district server, SAN server_san (127.0.0.1 and localhost), server and client auth: the
    district Prometheus presents it to itself and to Alertmanager), <station>.pem/.key for each station
    (client auth, CN = station id), <name>.pem/.key for each other client (staff tools, the tests), and
    rogue-ca.pem with rogue.pem/.key: a client certificate of ANOTHER CA, which the district must refuse.
    Returns d. File names match district/web-config.yml (district-ca.pem, district.pem, district.key)."""
    os.makedirs(d, mode=0o700, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]

    def ca(name, cn):
        _openssl("req", "-x509", *ec, "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.pem", "-days", "2",
                 "-subj", f"/CN={cn}", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def leaf(name, cn, ca_name, ext):
        extfile = f"{d}/{name}.ext"
        with open(extfile, "w") as f:
            f.write(ext)
        _openssl("req", "-new", *ec, "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr", "-subj", f"/CN={cn}")
        _openssl("x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/{ca_name}.pem", "-CAkey",
                 f"{d}/{ca_name}.key", "-CAcreateserial", "-days", "2", "-out", f"{d}/{name}.pem",
                 "-extfile", extfile)
        os.remove(f"{d}/{name}.csr")
        os.remove(extfile)

    ca("district-ca", "Waystation test district CA")
    leaf("district", "district", "district-ca",
         f"subjectAltName={server_san}\nbasicConstraints=CA:FALSE\n"
         "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n")
    for name in [*stations, *clients]:
        leaf(name, name, "district-ca", "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                         "extendedKeyUsage=clientAuth\n")
    ca("rogue-ca", "Not the district CA")
    leaf("rogue", "rogue", "rogue-ca", "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                       "extendedKeyUsage=clientAuth\n")
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o600)
    return d


def station_tls_dir(pki, station, d):
    """The agent's @TLS_DIR@ for `station` (in dir d): district-ca.pem, station.pem, station.key."""
    os.makedirs(d, mode=0o700, exist_ok=True)
    for src, dst in (("district-ca.pem", "district-ca.pem"), (f"{station}.pem", "station.pem"),
                     (f"{station}.key", "station.key")):
        shutil.copyfile(os.path.join(pki, src), os.path.join(d, dst))
        os.chmod(os.path.join(d, dst), 0o600)
    return d


# ---- configs --------------------------------------------------------------------------------------

def _fill(text, values, what):
    for k, v in values.items():
        text = text.replace(k, v)
    if "@" in re.sub(r"#.*", "", text):
        raise ValueError(f"unrendered @...@ left in {what}")
    return text


def render_agent_config(station, district, remote_write_url, web_target, node_target, agent_target,
                        tls_dir="/etc/prometheus/district", template=AGENT_TEMPLATE):
    with open(template) as f:
        text = f.read()
    return _fill(text, {"@STATION@": station, "@DISTRICT@": district, "@REMOTE_WRITE_URL@": remote_write_url,
                        "@WEB_TARGET@": web_target, "@NODE_TARGET@": node_target,
                        "@AGENT_TARGET@": agent_target, "@TLS_DIR@": tls_dir}, template)


def render_web_config(tls_dir):
    with open(WEB_CONFIG) as f:
        return _fill(f.read(), {"@TLS_DIR@": tls_dir}, WEB_CONFIG)


def render_district_config(prom_port, am_port, tls_dir="/etc/prometheus/district-tls"):
    """district/prometheus.yml for a run on loopback: its own and the Alertmanager's ports, the rules by
    absolute path, the TLS files from tls_dir."""
    with open(DISTRICT_CONFIG) as f:
        text = _fill(f.read(), {"@TLS_DIR@": tls_dir}, DISTRICT_CONFIG)
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

def write_web_config(workdir, pki):
    path = os.path.join(workdir, "web-config.yml")
    with open(path, "w") as f:
        f.write(render_web_config(pki))
    return path


def start_district(procs, workdir, prom_port, am_port, pki, data_dir=None):
    """The district Prometheus as shipped: HTTPS with client certificates (web-config.yml with the PKI of
    make_pki(pki)); call set_client_tls() first to talk to it."""
    os.makedirs(workdir, exist_ok=True)
    cfg = os.path.join(workdir, "district-prometheus.yml")
    with open(cfg, "w") as f:
        f.write(render_district_config(prom_port, am_port, pki))
    data_dir = data_dir or os.path.join(workdir, "district-data")
    p = procs.start("district-prometheus", [
        PROMETHEUS, f"--config.file={cfg}", "--web.enable-remote-write-receiver",
        f"--web.config.file={write_web_config(workdir, pki)}",
        f"--storage.tsdb.path={data_dir}", f"--web.listen-address=127.0.0.1:{prom_port}",
        "--log.level=warn"], os.path.join(workdir, "district-prometheus.log"))
    wait_http(f"https://127.0.0.1:{prom_port}/-/ready", 60)
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


def start_alertmanager(procs, workdir, port, config_text, pki=None, name="alertmanager"):
    """The district Alertmanager; with pki (make_pki) as shipped, HTTPS with client certificates
    (district/web-config.yml); without, plain http (for senders that speak nothing else yet)."""
    d = os.path.join(workdir, name)
    os.makedirs(d, exist_ok=True)
    cfg = os.path.join(d, "alertmanager.yml")
    with open(cfg, "w") as f:
        f.write(config_text)
    tls = [f"--web.config.file={write_web_config(d, pki)}"] if pki else []
    p = procs.start(name, [
        ALERTMANAGER, f"--config.file={cfg}", f"--storage.path={os.path.join(d, 'am-data')}", *tls,
        f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"],
        os.path.join(d, "alertmanager.log"))
    wait_http(f"{'https' if pki else 'http'}://127.0.0.1:{port}/-/ready", 60)
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


# ---- what crosses the uplink ------------------------------------------------------------------------

class CountingProxy:
    """A TCP relay on 127.0.0.1 that stands for a station's 4G link: it forwards every connection to
    upstream (host, port) untouched (TLS stays end to end) and records (time, direction, bytes) of each
    chunk, "up" towards upstream and "down" back. The bytes are what the link carries above TCP: HTTP,
    TLS records and handshakes included (TCP/IP headers not)."""

    def __init__(self, upstream_port, upstream_host="127.0.0.1", tls=None):
        """tls: an SSL context (tls_context()) to speak TLS to upstream with, while the relay's own side
        stays plain: a stand-in for a sender that has no TLS of its own (then the counts are plaintext)."""
        self.upstream = (upstream_host, upstream_port)
        self.tls = tls
        self.lock = threading.Lock()
        self.events = []  # (t, "up"|"down", n)
        self.connections = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
                if self.tls:
                    server = self.tls.wrap_socket(server, server_hostname=self.upstream[0])
                server.settimeout(None)
            except OSError:
                client.close()  # the district is down: the agent sees its connection refused/closed
                continue
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, server, "up"), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, "down"), daemon=True).start()

    def _pump(self, src, dst, direction):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self.lock:
                    self.events.append((time.time(), direction, len(data)))
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def bursts(self, gap=5.0):
        """The requests seen so far: [(start, up_bytes, down_bytes)], chunks less than `gap` s apart being
        one exchange (a request and its answer)."""
        with self.lock:
            ev = list(self.events)
        out = []
        last = None
        for t, d, n in ev:
            if last is None or t - last > gap:
                out.append([t, 0, 0])
            out[-1][1 if d == "up" else 2] += n
            last = t
        return [tuple(b) for b in out]

    def per_day(self, gap=5.0, request=1024, need=3):
        """Steady-state figures a day, or None before `need` requests: a dict of up, down (bytes a day),
        requests (a day) and handshake (bytes). A request is an exchange of at least `request` bytes up; the
        smaller ones between are HTTP/2 keep-alive pings (Prometheus's client pings an idle connection every
        minute), counted in the bytes too. Measured from the first request's start to the last's, with the
        bytes of everything after the first: the first opens the connection, and its TLS handshake
        (handshake = its bytes less the average later request's) is left out of the steady state."""
        b = self.bursts(gap)
        big = [i for i, x in enumerate(b) if x[1] >= request]
        if len(big) < need:
            return None
        i0, i1 = big[0], big[-1]
        span = b[i1][0] - b[i0][0]
        later = [b[i][1] + b[i][2] for i in big[1:]]
        return {"up": sum(x[1] for x in b[i0 + 1:i1 + 1]) / span * 86400,
                "down": sum(x[2] for x in b[i0 + 1:i1 + 1]) / span * 86400,
                "requests": (len(big) - 1) / span * 86400,
                "handshake": max(0.0, b[i0][1] + b[i0][2] - sum(later) / len(later))}

    def close(self):
        self.closed = True
        self.sock.close()


class RemoteWriteSink:
    """A remote-write receiver that only answers 204 (for a reference agent whose bytes are measured but
    whose series must not reach the district)."""

    def __init__(self):
        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def scrape_intervals(agent_config_text):
    """{job: seconds} of a rendered agent config: each job's scrape_interval, else the global one (read
    by indentation, as the template is laid out; no YAML library needed)."""
    def secs(v):
        m = re.fullmatch(r"(\d+)(ms|s|m|h)", v.strip().strip('"'))
        return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]
    default, jobs, job, section = 60, {}, None, None
    for line in agent_config_text.splitlines():
        if re.match(r"^\S", line):
            section, job = line.split(":")[0], None
        if m := re.match(r"^  - job_name:\s*(\S+)", line):
            job = m.group(1).strip('"')
            jobs.setdefault(job, None)
        elif m := re.match(r"^(  |    )scrape_interval:\s*(\S+)", line):
            if section == "global":
                default = secs(m.group(2))
            elif job and m.group(1) == "    ":
                jobs[job] = secs(m.group(2))
    return {j: v if v is not None else default for j, v in jobs.items()}


MIB = 1024 * 1024
AGENT_BUDGET = 5 * MIB  # bytes a day per station for the agent; the hub sync has the other 1 MiB of 6
