#!/usr/bin/env python3
"""The district desk's browser tests (Tests/desk/test_desk.py) against a real stack, on loopback, in a
temporary directory (issue 23):

  - PostgreSQL 15 (a Unix socket only) and the hub `waystation-district serve` with a [desk] table;
  - the district Prometheus and Alertmanager as shipped (HTTPS, client certificates of a throwaway
    district CA; the desk has a client certificate of its own);
  - two enrolled stations, each with waystation-sim, waystationd, waystation-web (the kiosk),
    waystation-uplink (sync every 5 s, alerts to the district Alertmanager) and a Prometheus agent
    remote-writing to the district every 5 s;
  - three staff: an admin, a desk user and a viewer (`waystation-district users add`, random passwords).

Then test_desk.py runs with the stack in its environment (DESK_* variables, see its docstring), and
everything is stopped by pid; a process of the run still alive afterwards is named and fails the run.
Exit status: the test's (1 when the stack did not come up).

  Tests/desk/run.py [--bin .build/debug] [--keep] [--stack-only] [-- unittest args]
  DESK_SCREENSHOTS=docs Tests/desk/run.py      # also writes docs/desk-*.png

--stack-only brings the stack up, proves it (both stations' series at the district, a silence taken and
expired by Alertmanager, the hub's categories at both kiosks, the desk's login page when the hub has one)
and stops, without the browser. Needs no root (PostgreSQL runs as `postgres` through setpriv when root).
"""
import argparse
import datetime
import json
import os
import secrets
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "examples", "district"))
import districtlib as dl  # noqa: E402
import desklib  # noqa: E402
import hublib  # noqa: E402

CHARTJS = "/usr/share/javascript/chart.js/chart.min.js"  # the desk's default [desk] chartjs
DISTRICT = "hanyang"  # hublib's [district] id: the agents' district label


def say(msg):
    print(f"run.py: {msg}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(REPO, ".build", "debug"))
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, databases)")
    ap.add_argument("--stack-only", action="store_true", help="bring the stack up, check it, stop (no browser)")
    ap.add_argument("--serve", action="store_true",
                    help="bring the stack up, write its environment to DIR/env.sh and keep it until Ctrl-C")
    ap.add_argument("rest", nargs="*", help="arguments for test_desk.py (unittest: -v, test names)")
    args = ap.parse_args()
    bin_dir = os.path.abspath(args.bin)
    need = ["waystation-district", "waystation-sim", "waystationd", "waystationctl", "waystation-web",
            "waystation-uplink"]
    absent = [b for b in need if not os.access(os.path.join(bin_dir, b), os.X_OK)]
    tools = [dl.PROMETHEUS, dl.ALERTMANAGER, dl.OPENSSL, "/usr/bin/chromium", "/usr/bin/chromedriver",
             hublib.PG_BIN + "/postgres"]
    missing = [t for t in tools if not shutil.which(t)]
    if not os.path.exists(CHARTJS):
        missing.append(f"{CHARTJS} (Debian's libjs-chart.js: the desk serves it for its charts)")
    if absent or missing:
        say(f"cannot run: missing {' '.join(absent + missing)} (swift build; make deps)")
        return 1
    desk = desklib.desk_supported(bin_dir)
    if not desk and not (args.stack_only or args.serve):
        say(f"FAIL: {bin_dir}/waystation-district has no desk (no `users` command); "
            "--stack-only checks the stack alone")
        return 1
    t0 = time.monotonic()
    work = tempfile.mkdtemp(prefix="ws-desk-")
    os.chmod(work, 0o755)
    procs = dl.Procs()
    status = 1
    sessions = []
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        env = stack(procs, work, bin_dir, desk)
        say(f"stack up in {time.monotonic() - t0:.0f} s")
        if args.stack_only:
            status = 0
        elif args.serve:
            with open(os.path.join(work, "env.sh"), "w") as f:
                f.writelines(f"export {k}={shlex.quote(v)}\n" for k, v in sorted(env.items()))
            say(f"serving; the environment is in {work}/env.sh; Ctrl-C stops")
            while True:
                time.sleep(3600)
        else:
            t1 = time.monotonic()
            tmp = os.path.join(work, "tmp")  # the browser's profile: a leftover Chromium shows up below
            os.makedirs(tmp)
            # In a session of its own: whatever it leaves running (a browser, a driver) is found below.
            p = subprocess.Popen([sys.executable, "-B", os.path.join(HERE, "test_desk.py"), *(args.rest or ["-v"])],
                                 env={**os.environ, **env, "TMPDIR": tmp}, start_new_session=True)
            sessions.append(p.pid)
            status = p.wait()
            say(f"test_desk.py exited {status} after {time.monotonic() - t1:.0f} s")
    except KeyboardInterrupt:
        say("interrupted")
        status = 0 if args.serve else 1
    except Exception as e:  # noqa: BLE001 - a stack that did not come up fails the run, with its logs
        say(f"FAIL: the stack did not come up: {type(e).__name__}: {e}")
        for root, _, files in os.walk(work):
            for f in files:
                if f.endswith(".log"):
                    t = dl.tail(os.path.join(root, f), 8)
                    if t:
                        print(f"--- {os.path.relpath(os.path.join(root, f), work)}\n{t}")
    finally:
        stop(procs)
        for r in _receivers:
            r.close()
        left = desklib.leftovers(work, sessions)
        deadline = time.time() + 10
        while left and time.time() < deadline:
            time.sleep(0.2)
            left = desklib.leftovers(work, sessions)
        for pid, cmd in left:
            say(f"FAIL: still running after the run: pid {pid}: {cmd[:160]}")
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if left:
            status = status or 1
        if args.keep or (status and not args.serve):
            say(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    say(f"{'PASS' if status == 0 else 'FAIL'} in {time.monotonic() - t0:.0f} s")
    return status


def stop(procs):
    """Everything, by pid: the agents first, while the district they flush to is still up (an agent that
    cannot flush waits a minute before it exits), then the rest."""
    agents = [p for p in procs.procs if p.name.startswith("agent-")]
    for p in agents:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in agents:
        procs.stop(p, grace=15)
    procs.stop_all()


def _interrupt(*_):
    raise KeyboardInterrupt


def stack(procs, work, bin_dir, desk):
    """Brings everything up and returns the test's environment."""
    a_id, b_id = "hy-001", "hy-002"
    pki = dl.make_pki(os.path.join(work, "pki"), stations=[a_id, b_id], clients=["desk", "uplink", "tester"])
    ca = os.path.join(pki, "district-ca.pem")
    dl.set_client_tls(ca, f"{pki}/tester.pem", f"{pki}/tester.key")
    say("PostgreSQL, the district Prometheus and Alertmanager ...")
    db_url = hublib.start_postgres(procs, os.path.join(work, "pg"))
    prometheus, alertmanager = desklib.start_district(procs, work, pki, receiver_port(procs))
    hub_dir = os.path.join(work, "hub")
    os.makedirs(hub_dir)
    port = dl.free_port()
    config = hublib.write_hub_config(hub_dir, pki, db_url, f"127.0.0.1:{port}")
    if desk:
        desklib.desk_section(hub_dir, pki, prometheus, alertmanager)
    hub = hublib.Hub(bin_dir, config, f"https://127.0.0.1:{port}",
                     spawn=lambda argv, **kw: procs.start("hub", argv, os.path.join(hub_dir, "hub.log")))
    hub.cli("keys", "init")
    say("the hub ...")
    hub.start()
    staff = {}
    if desk:
        for role, name in (("admin", "ada"), ("desk", "dan"), ("viewer", "vic")):
            staff[role] = (name, secrets.token_urlsafe(12))
            desklib.add_user(hub, name, role, staff[role][1])
    stations = []
    for i, sid in ((1, a_id), (2, b_id)):
        say(f"station {sid} ...")
        stations.append(desklib.start_station(procs, hub, bin_dir, work, pki, sid, i, alertmanager, prometheus,
                                              DISTRICT))
    a, b = stations
    prove(hub, stations, prometheus, alertmanager, desk)
    if os.environ.get("DESK_SCREENSHOTS"):
        # Charts with a day in them (made up, up to 10 minutes ago), for the screenshots.
        n = desklib.backfill_history(procs, work, prometheus, [a_id, b_id])
        say(f"a day of history for {n} chart series (for the screenshots)")
    ctl = os.path.join(bin_dir, "waystationctl")
    env = {
        "DESK_URL": hub.url + "/desk/",
        "DESK_CA": ca,
        "DESK_PROMETHEUS": prometheus,
        "DESK_AM_URL": alertmanager, "DESK_AM_CA": ca,
        "DESK_AM_CERT": f"{pki}/tester.pem", "DESK_AM_KEY": f"{pki}/tester.key",
        "DESK_STATION_A": a["id"], "DESK_STATION_B": b["id"],
        "DESK_KIOSK_A": a["kiosk"], "DESK_KIOSK_B": b["kiosk"],
        "DESK_SIM_A": a["sim_sock"], "DESK_SIM_B": b["sim_sock"],
        "DESK_CTL_A": f"{ctl} --socket {a['sock']}", "DESK_CTL_B": f"{ctl} --socket {b['sock']}",
    }
    for role, (name, password) in staff.items():
        key = {"admin": "DESK_ADMIN", "desk": "DESK_STAFF", "viewer": "DESK_VIEWER"}[role]
        env[key] = name
        env[key + "_PASSWORD"] = password
    return env


_receivers = []


def receiver_port(procs):
    """Alertmanager's webhooks need somewhere to go: a receiver in this process (closed by main)."""
    r = dl.WebhookReceiver()
    _receivers.append(r)
    return r.port


def prove(hub, stations, prometheus, alertmanager, desk):
    """Waits until the stack works end to end: each station's series at the district, the hub's categories
    at each kiosk, Alertmanager taking and expiring a silence (the desk's client certificate is the same
    kind), the desk's login page. Raises naming what is missing."""
    def series(sid):
        return dl.prom_query(prometheus, f'waystation_point_value{{station="{sid}",point="cabinet_temp"}}')
    for s in stations:
        if not dl.wait_until(lambda: series(s["id"]), 90, 1):
            raise RuntimeError(f"the district Prometheus has no series of {s['id']} after 90 s:\n"
                               + dl.tail(os.path.join(s["dir"], "agent", "agent.log")))
    say("the district Prometheus has both stations' series")

    def categories(s):
        with urllib.request.urlopen(s["kiosk"] + "api/kiosk", timeout=10) as r:
            k = json.loads(r.read())
        return "manhole_cover" in [c.get("id") for c in k.get("hazard_categories", [])]
    for s in stations:
        if not dl.wait_until(lambda: categories(s), 60, 1):
            raise RuntimeError(f"the hub's hazard categories did not reach {s['id']}'s kiosk:\n"
                               + dl.tail(os.path.join(s["dir"], "uplink.log")))
    say("the hub's categories are at both kiosks")

    now = datetime.datetime.now(datetime.timezone.utc)
    silence = {"matchers": [{"name": "station", "value": "probe", "isRegex": False, "isEqual": True}],
               "startsAt": now.isoformat(), "endsAt": (now + datetime.timedelta(hours=1)).isoformat(),
               "createdBy": "run.py", "comment": "stack probe"}
    _, body = dl.http("POST", f"{alertmanager}/api/v2/silences", silence)
    sid = json.loads(body)["silenceID"]
    dl.http("DELETE", f"{alertmanager}/api/v2/silence/{sid}")
    state = json.loads(dl.get_text(f"{alertmanager}/api/v2/silence/{sid}"))["status"]["state"]
    if state != "expired":
        raise RuntimeError(f"Alertmanager: a silence deleted is {state}, not expired")
    say("Alertmanager takes and expires a silence")

    if desk:
        ctx = ssl.create_default_context(cafile=os.path.join(os.path.dirname(hub.config), "district-ca.pem"))

        def login_page():
            with urllib.request.urlopen(hub.url + "/desk/login", timeout=10, context=ctx) as r:
                return r.status == 200 and b'id="login"' in r.read()
        if not dl.wait_until(login_page, 30, 1):
            raise RuntimeError(f"{hub.url}/desk/login has no form#login:\n" + dl.tail(hub.log))
        say("the desk answers at " + hub.url + "/desk/")


if __name__ == "__main__":
    sys.exit(main())
