"""The district desk's stack for tests and demos (issue 23): the district Prometheus and Alertmanager (HTTPS,
client certificates) beside the hub, the hub's [desk] table and its staff, and stations that also run
their Prometheus agent and send their alerts through waystation-uplink. Shared by Tests/desk/run.py and
district-demo.py; built on districtlib (processes, PKI, configs) and hublib (PostgreSQL, the hub).

Intervals are short (`fast=True`): the agent scrapes waystation-web every 5 s and remote-writes every 5 s,
the district evaluates its rules every 5 s, so a station's data shows on the desk within ~20 s.
Python 3.11 standard library only."""
import datetime
import json
import math
import os
import re
import shutil
import subprocess
import time
import urllib.parse

import districtlib as dl


def desk_supported(bin_dir):
    """True when this waystation-district has the desk (its `users` command)."""
    p = subprocess.run([os.path.join(bin_dir, "waystation-district"), "--help"], capture_output=True, text=True)
    return re.search(r"(?m)^\s+users\s", p.stdout) is not None


def start_district(procs, workdir, pki, receiver_port, fast=True):
    """The district Alertmanager and Prometheus as shipped (HTTPS, client certificates of the CA in pki),
    their rules evaluated every 5 s when fast; Alertmanager's webhooks go to 127.0.0.1:receiver_port.
    Returns (prometheus_url, alertmanager_url)."""
    prom_port, am_port = dl.free_port(), dl.free_port()
    dl.start_alertmanager(procs, workdir, am_port, dl.render_am_config(receiver_port, fast=fast), pki=pki)
    cfg = os.path.join(workdir, "district-prometheus.yml")
    text = dl.render_district_config(prom_port, am_port, pki)
    if fast:
        text = re.sub(r"evaluation_interval: \S+", "evaluation_interval: 5s", text)
    with open(cfg, "w") as f:
        f.write(text)
    _district[workdir] = (cfg, prom_port, pki)
    _start_prometheus(procs, workdir)
    return f"https://127.0.0.1:{prom_port}", f"https://127.0.0.1:{am_port}"


_district = {}  # workdir: (config, port, pki) of the district Prometheus started there


def _start_prometheus(procs, workdir):
    cfg, port, pki = _district[workdir]
    p = procs.start("district-prometheus", [
        dl.PROMETHEUS, f"--config.file={cfg}", "--web.enable-remote-write-receiver",
        f"--web.config.file={dl.write_web_config(workdir, pki)}",
        f"--storage.tsdb.path={os.path.join(workdir, 'district-data')}",
        f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        os.path.join(workdir, "district-prometheus.log"))
    dl.wait_http(f"https://127.0.0.1:{port}/-/ready", 60)
    return p


# A day of each chart's series: (what it looks like over the station's local day, noise).
def _history_value(name, point, hour, th, seed):
    """hour: of the local day (the daily shape); th: hours since the epoch (everything else, continuous)."""
    wave = math.sin((hour - 9) / 24 * 2 * math.pi)  # warmest mid-afternoon
    if name == "waystation_occupancy_riders":
        peaks = 7 * math.exp(-((hour - 12.3) / 1.3) ** 2) + 9 * math.exp(-((hour - 18.5) / 1.8) ** 2)
        return max(0, round(peaks + 1.5 * math.sin(th * 2 + seed) + (1 if 8 <= hour <= 22 else 0)))
    if point == "room_temp":
        return round(25.5 + 3.0 * wave + 0.3 * math.sin(th * 3 + seed), 1)
    if point == "cabinet_temp":
        defrost = 2.5 if ((th + seed) % 6) < 0.4 else 0.0
        return round(4.3 + 0.4 * math.sin(th * 1.3 + seed) + defrost, 1)
    if point == "power":
        load = 250 + 120 * wave
        return round(load + 900 * math.exp(-((hour - 12.3) / 1.0) ** 2) + 1200 * math.exp(-((hour - 18.7) / 1.5) ** 2))
    m = re.fullmatch(r"slot(\d+)_temp", point or "")
    if m:
        k = int(m.group(1))
        charging = max(0.0, math.sin((th + 2 * k + seed) / 3.0)) ** 2
        return round(24 + 2.0 * wave + 14 * charging, 1)
    return None


def backfill_history(procs, workdir, prometheus, stations, hours=24, step=300, gap=600):
    """Gives the desk's charts a day to show: the district Prometheus (started by start_district in workdir)
    gets `hours` of made-up history, every `step` s up to `gap` s ago, for each station's chart series
    (room, fridge and slot temperatures, power, occupancy), with the live series' own labels. Written with
    `promtool tsdb create-blocks-from openmetrics`, then Prometheus is restarted to load the blocks (the
    agents' WALs carry the seconds it is away). For screenshots and the demo only: the tests' own checks
    read live values. Returns the number of series filled."""
    out = []
    now = time.time()
    zone = datetime.timezone(datetime.timedelta(hours=8))  # the district's zone (Asia/Shanghai)
    for i, sid in enumerate(stations):
        sel = (f'{{__name__="waystation_point_value",station="{sid}",'
               'point=~"room_temp|cabinet_temp|slot[0-9]+_temp|power"}')
        found = []
        for match in (sel, f'waystation_occupancy_riders{{station="{sid}"}}'):
            body = json.loads(dl.get_text(f"{prometheus}/api/v1/series?" + urllib.parse.urlencode({"match[]": match})))
            found += body.get("data", [])
        for labels in found:
            name = labels.pop("__name__")
            text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
            lines = []
            t = now - hours * 3600
            while t <= now - gap:
                hour = datetime.datetime.fromtimestamp(t, zone)
                v = _history_value(name, labels.get("point"), hour.hour + hour.minute / 60, t / 3600, i * 1.7)
                if v is not None:
                    lines.append(f"{name}{{{text}}} {v} {t:.0f}")
                t += step
            if lines:
                out.append((name, lines))
    if not out:
        return 0
    om = os.path.join(workdir, "history.om")
    with open(om, "w") as f:
        for name in sorted({n for n, _ in out}):
            f.write(f"# TYPE {name} gauge\n")
            for n, lines in out:
                if n == name:
                    f.write("\n".join(lines) + "\n")
        f.write("# EOF\n")
    blocks = os.path.join(workdir, "history-blocks")
    p = subprocess.run([dl.PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", "-q", om, blocks],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"promtool tsdb create-blocks-from openmetrics: {(p.stderr or p.stdout).strip()}")
    running = [p for p in procs.procs if p.name == "district-prometheus"]
    for p in running:
        procs.stop(p)
    data = os.path.join(workdir, "district-data")
    for b in os.listdir(blocks):
        shutil.move(os.path.join(blocks, b), os.path.join(data, b))
    _start_prometheus(procs, workdir)
    return len(out)


def desk_section(hub_dir, pki, prometheus, alertmanager, client="desk"):
    """Appends [desk] to hub_dir/hub.toml: the district Prometheus and Alertmanager, with the client
    certificate `client` of make_pki (copied beside hub.toml) and the district CA."""
    for src, dst in ((f"{client}.pem", "desk.pem"), (f"{client}.key", "desk.key")):
        shutil.copyfile(os.path.join(pki, src), os.path.join(hub_dir, dst))
        os.chmod(os.path.join(hub_dir, dst), 0o600)
    with open(os.path.join(hub_dir, "hub.toml"), "a") as f:
        f.write(f"""
[desk]
prometheus = "{prometheus}"
alertmanager = "{alertmanager}"
client_certificate = "desk.pem"
client_key = "desk.key"
ca = "district-ca.pem"
""")


def add_user(hub, name, role, password):
    """`waystation-district users add NAME --role R` with the password on stdin."""
    p = subprocess.run([hub.binary, "users", "add", name, "--role", role, "--config", hub.config],
                       input=password + "\n", capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError(f"users add {name} --role {role} exited {p.returncode}: {(p.stderr or p.stdout).strip()}")


def agent_config(sid, district, prometheus, web_port, agent_port, tls_dir, fast=True):
    """station/prometheus-agent.yml rendered for a station on loopback; fast: waystation-web scraped every
    5 s (the rest every 10 s) and sent every 5 s. It keeps waystation_day_unique_riders (the desk's
    riders today) even where the template does not yet."""
    text = dl.render_agent_config(sid, district, f"{prometheus}/api/v1/write", f"127.0.0.1:{web_port}",
                                  f"127.0.0.1:{dl.free_port()}", f"127.0.0.1:{agent_port}", tls_dir)
    if "day_unique_riders" not in text:
        text = text.replace("waystation_(build_info|", "waystation_(day_unique_riders|build_info|", 1)
    if fast:
        text = re.sub(r"(?m)^  scrape_interval: \S+", "  scrape_interval: 10s", text)
        text = re.sub(r"(?m)^    scrape_interval: 60s", "    scrape_interval: 5s", text)
        text = re.sub(r"batch_send_deadline: \S+", "batch_send_deadline: 5s", text)
    return text


def start_station(procs, hub, bin_dir, work, pki, sid, index, alertmanager, prometheus, district,
                  sync_interval="5s", web_as_nobody=False):
    """An enrolled simulated station in work/sid: waystation-sim, waystationd (its alerts to the district
    Alertmanager through waystation-uplink, https with the `uplink` client certificate of make_pki),
    waystation-web (the kiosk; as the caller, who reaches the daemon as admin, unless web_as_nobody),
    waystation-uplink, and a Prometheus agent remote-writing to `prometheus` with the station's own client
    certificate. Returns a dict: id, dir, conf, sock, sim_sock, kiosk (URL), web_port."""
    d = os.path.join(work, sid)
    os.makedirs(d)
    os.chmod(d, 0o755)
    web_port = dl.free_port()
    conf = hub.enrol(sid, d, index, web_port=web_port, sync_interval=sync_interval)
    ca = os.path.join(pki, "district-ca.pem")
    with open(conf, "a") as f:
        f.write(f'\n[[notify]]\nkind = "alertmanager"\nurl = "{alertmanager}"\nca = "{ca}"\n'
                f'certificate = "{pki}/uplink.pem"\nkey = "{pki}/uplink.key"\n')
    dl.start_sim_and_daemon(procs, d, bin_dir, conf)
    dl.sim_command(os.path.join(d, "sim.sock"), "hold fridge cabinet_temp 4.5")
    if web_as_nobody:
        dl.start_web(procs, d, bin_dir, conf, web_port, name=f"web-{sid}")
    else:
        p = procs.start(f"web-{sid}", [os.path.join(bin_dir, "waystation-web"), "--config", conf],
                        os.path.join(d, "web.log"))
        try:
            dl.wait_http(f"http://127.0.0.1:{web_port}/metrics", 30)
        except TimeoutError as e:
            raise RuntimeError(f"waystation-web of {sid} did not start: {e}\n{dl.tail(p.logfile)}") from None
    procs.start(f"uplink-{sid}", [os.path.join(bin_dir, "waystation-uplink"), "--config", conf],
                os.path.join(d, "uplink.log"))
    agent_port = dl.free_port()
    tls_dir = dl.station_tls_dir(pki, sid, os.path.join(d, "agent-tls"))
    dl.start_agent(procs, d, "agent", agent_config(sid, district, prometheus, web_port, agent_port, tls_dir),
                   agent_port)
    return {"id": sid, "dir": d, "conf": conf, "sock": os.path.join(d, "control.sock"),
            "sim_sock": os.path.join(d, "sim.sock"), "kiosk": f"http://127.0.0.1:{web_port}/", "web_port": web_port}


def leftovers(marker, sessions=()):
    """[(pid, cmdline)] of processes whose command line mentions `marker` (a run's temp dir) or whose session
    is one of `sessions` (the ids of sessions a run started, e.g. its browser test's)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            with open(f"/proc/{pid}/stat") as f:
                sid = int(f.read().rsplit(")", 1)[1].split()[3])
        except (OSError, ValueError, IndexError):
            continue
        if cmd and (marker in cmd or sid in sessions):
            out.append((int(pid), cmd))
    return out
