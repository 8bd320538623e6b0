"""The district hub for tests and demos: PostgreSQL 15 started here, hub.toml, waystation-district serve,
enrolment of stations and their configs with [district]. Shared by test-link.py and district-demo.py.

Python 3.11 standard library only; districtlib for processes, waits and certificates."""
import json
import os
import shutil
import socket
import subprocess

import districtlib as dl

PG_BIN = "/usr/lib/postgresql/15/bin"

CATEGORIES = """
[[category]]
id = "manhole_cover"
name = "Manhole cover missing"
name_zh = "井盖缺失"
points = 7

[[category]]
id = "fallen_cable"
name = "Fallen cable"
name_zh = "电线掉落"
points = 5
"""


def run(argv, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def varlink(sock, method, params=None, timeout=20):
    """One call on a station's control socket (as the caller: root is admin); raises on a varlink error."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(sock)
        s.sendall(json.dumps({"method": "io.waystation.Station." + method,
                              "parameters": params or {}}).encode() + b"\0")
        buf = b""
        while not buf.endswith(b"\0"):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
    reply = json.loads(buf[:-1])
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']} {reply.get('parameters')}")
    return reply.get("parameters", {})


def start_postgres(procs, d):
    """PostgreSQL 15 in d on a Unix socket in d/sock only (no TCP), as the postgres user when run as root
    (initdb refuses root); returns the hub's [database] url."""
    sock = os.path.join(d, "sock")
    os.makedirs(sock, exist_ok=True)
    as_pg = []
    if os.geteuid() == 0:
        shutil.chown(d, "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")
        as_pg = ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups"]
    run([*as_pg, f"{PG_BIN}/initdb", "-D", f"{d}/data", "-A", "trust", "-U", "postgres", "-E", "UTF8",
         "--no-sync"])
    procs.start("postgres", [*as_pg, f"{PG_BIN}/postgres", "-D", f"{d}/data", "-k", sock,
                             "-c", "listen_addresses=", "-c", "fsync=off"], os.path.join(d, "pg.log"))
    ok = dl.wait_until(lambda: subprocess.run([f"{PG_BIN}/pg_isready", "-q", "-h", sock, "-U", "postgres"])
                       .returncode == 0, 120, 0.5)
    if not ok:
        raise RuntimeError("PostgreSQL did not start:\n" + dl.tail(os.path.join(d, "pg.log")))
    run([*as_pg, f"{PG_BIN}/createdb", "-h", sock, "-U", "postgres", "district"])
    return f"postgres:///district?host={sock}&user=postgres"


def write_hub_config(hub_dir, pki, db_url, listen):
    """hub.toml in hub_dir (its TLS files copied from the PKI of districtlib.make_pki); returns its path."""
    for f in ("district-ca.pem", "district.pem", "district.key"):
        shutil.copyfile(os.path.join(pki, f), os.path.join(hub_dir, f))
        os.chmod(os.path.join(hub_dir, f), 0o600)
    config = os.path.join(hub_dir, "hub.toml")
    with open(config, "w") as f:
        f.write(f"""[district]
id = "hanyang"
name = "Hanyang District"
time_zone = "Asia/Shanghai"

[database]
url = "{db_url}"

[web]
listen = "{listen}"

[tls]
certificate = "district.pem"
key = "district.key"
ca = "district-ca.pem"

[privacy]
rider_key = "rider.key"
hpke_key = "hpke.key"
{CATEGORIES}""")
    return config


class Hub:
    """waystation-district on hub.toml: the CLI, and `serve` started and stopped (in a namespace when
    `spawn` is a LinkLab's popen for it)."""

    def __init__(self, bin_dir, config, url, spawn=None, probe=None):
        self.binary = os.path.join(bin_dir, "waystation-district")
        self.config = config
        self.url = url
        self.log = os.path.join(os.path.dirname(config), "hub.log")
        self.spawn = spawn or (lambda argv, **kw: subprocess.Popen(argv, **kw))
        # How to ask the hub for its Open311 services (a curl argv prefix; in a namespace for LinkLab).
        self.probe = probe or []
        self.proc = None

    def cli(self, *argv):
        return run([self.binary, *argv, "--config", self.config])

    def start(self):
        out = open(self.log, "ab")
        self.proc = self.spawn([self.binary, "serve", "--config", self.config], stdout=out,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        cmd = [*self.probe, "curl", "-s", "--cacert", os.path.join(os.path.dirname(self.config), "district-ca.pem"),
               "-o", "/dev/null", "-w", "%{http_code}", self.url + "/open311/v2/services.json"]
        ok = dl.wait_until(lambda: subprocess.run(cmd, capture_output=True, text=True).stdout == "200", 90, 0.5)
        if not ok:
            raise RuntimeError("the hub did not start:\n" + dl.tail(self.log))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
        self.proc = None

    def reports(self):
        """reports list: [id, status, station#report, created, category, location, note]."""
        return [line.split("\t") for line in self.cli("reports", "list").splitlines() if line.strip()]

    def enrol(self, sid, d, index, web_port=None, sync_interval=None):
        """Enrols station sid (files in d/enrolment) and writes d/station.toml: the simulated station of
        districtlib.station_config with its [district] section; returns the config's path."""
        enrol = os.path.join(d, "enrolment")
        self.cli("stations", "add", sid, "--name", f"Station {sid}", "--address", f"{index} Hanyang Road",
                 "--out", enrol, "--url", self.url)
        text = dl.station_config(sid, d, dl.free_port(), dl.free_port(), 1, web_port or dl.free_port(),
                                 district="hanyang")
        text = text.rsplit("\n[[notify]]", 1)[0] + "\n"  # no Alertmanager in these runs
        with open(os.path.join(enrol, "district.toml")) as f:
            text += "\n" + f.read()
        if sync_interval:
            text += f'\nsync_interval = "{sync_interval}"\n'
        conf = os.path.join(d, "station.toml")
        with open(conf, "w") as f:
            f.write(text)
        return conf
