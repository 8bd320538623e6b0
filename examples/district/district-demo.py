#!/usr/bin/env python3
"""`make district-demo`: a district hub with three simulated stations on this machine.

PostgreSQL 15 (started here, on a Unix socket in a temporary folder), the hub `waystation-district serve`
on https://127.0.0.1:PORT with a throwaway district CA, and three enrolled stations, each with
waystation-sim, waystationd, waystation-web (its kiosk page) and waystation-uplink (its link to the hub).
A notice and a partner's service are published at the hub; a rider reports an open manhole at the first
station, the hub verifies it, and the rider's district balance shows at the second station. Then the
state of the link is printed every few seconds until DEMO_SECONDS (default 60; 0: until Ctrl-C).
"""
import argparse
import datetime
import os
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import districtlib as dl  # noqa: E402
import hublib  # noqa: E402
from hublib import varlink  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
RIDER = "139 0000 8888"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(REPO, ".build/debug"))
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("DEMO_SECONDS", 60)))
    args = ap.parse_args()
    bin_dir = os.path.abspath(args.bin)
    work = tempfile.mkdtemp(prefix="ws-district-demo-")
    os.chmod(work, 0o755)
    procs = dl.Procs()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    try:
        run(procs, work, bin_dir, args.seconds, stop)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping ...")
        procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)


def run(procs, work, bin_dir, seconds, stop):
    port = dl.free_port()
    hub_dir = os.path.join(work, "hub")
    os.makedirs(hub_dir)
    pki = dl.make_pki(os.path.join(work, "pki"))
    print("starting PostgreSQL ...")
    db_url = hublib.start_postgres(procs, os.path.join(work, "pg"))
    config = hublib.write_hub_config(hub_dir, pki, db_url, f"127.0.0.1:{port}")
    hub = hublib.Hub(bin_dir, config, f"https://127.0.0.1:{port}",
                     spawn=lambda argv, **kw: procs.start("hub", argv, hub_dir + "/hub.log"))
    hub.cli("keys", "init")
    print("starting the hub ...")
    hub.start()
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    hub.cli("notices", "add", "--title", "Free flu shots on Saturday", "--title-zh", "周六免费流感疫苗",
            "--body", "Community health centre, 9:00-12:00. Bring your ID.",
            "--body-zh", "社区卫生服务中心，9:00-12:00，请带身份证。",
            "--from", (now - datetime.timedelta(hours=1)).isoformat(),
            "--until", (now + datetime.timedelta(days=7)).isoformat())
    hub.cli("services", "add", "legal-aid", "--name", "Legal aid", "--name-zh", "法律援助",
            "--days", "tue,thu", "--hours", "14:00-17:00")
    stations = []
    for i in (1, 2, 3):
        sid = f"hy-00{i}"
        d = os.path.join(work, sid)
        os.makedirs(d)
        os.chmod(d, 0o755)
        web_port = dl.free_port()
        conf = hub.enrol(sid, d, i, web_port=web_port, sync_interval="10s")
        print(f"starting station {sid} ...")
        dl.start_sim_and_daemon(procs, d, bin_dir, conf)
        dl.start_web(procs, d, bin_dir, conf, web_port, name=f"web-{sid}")
        procs.start(f"uplink-{sid}", [os.path.join(bin_dir, "waystation-uplink"), "--config", conf],
                    os.path.join(d, "uplink.log"))
        stations.append({"id": sid, "sock": os.path.join(d, "control.sock"), "kiosk": f"http://127.0.0.1:{web_port}/",
                         "dir": d})

    print("\n== the district hub: " + hub.url + "   (Open311: " + hub.url + "/open311/v2/requests.json)")
    print("   its CA (for curl --cacert): " + os.path.join(hub_dir, "district-ca.pem"))
    print("   hub CLI: " + f"{hub.binary} --config {config} reports list")
    for s in stations:
        print(f"== kiosk of {s['id']}: {s['kiosk']}")
    print()

    first, second = stations[0], stations[1]
    dl.wait_until(lambda: varlink(first["sock"], "DistrictStatus").get("last_sync"), 60, 1)
    scan = varlink(first["sock"], "KioskScan", {"worker": RIDER, "category": "food_delivery"})
    report = varlink(first["sock"], "SubmitReport", {"session": scan["session"], "category": "manhole_cover",
                                                      "location": "Hanyang Rd 12", "note": "lid missing"})
    print(f">> a rider reports an open manhole at {first['id']} (local report {report['report']['id']})")
    mine = lambda: [r for r in hub.reports() if r[5] == "Hanyang Rd 12"]  # noqa: E731
    if dl.wait_until(lambda: mine(), 60, 1):
        print(">> " + hub.cli("reports", "verify", mine()[0][0], "--note", "crew sent", "--by", "demo").strip())
    scan_b = varlink(second["sock"], "KioskScan", {"worker": RIDER, "category": "food_delivery"})
    dl.wait_until(lambda: (varlink(second["sock"], "GetRider", {"session": scan_b["session"]})["rider"]
                           .get("district") or {}).get("balance"), 60, 1)
    rider = varlink(second["sock"], "GetRider", {"session": scan_b["session"]})["rider"]
    print(f">> the same rider at {second['id']}: district balance {(rider.get('district') or {}).get('balance')}\n")

    start = time.time()
    while not stop and (seconds <= 0 or time.time() - start < seconds):
        print(f"== {time.strftime('%H:%M:%S')}  the link as each station sees it")
        print(f"   {'station':<8} {'last sync':<22} {'queued ids':>10} {'reports':>7} {'notices':>7}")
        for s in stations:
            st = varlink(s["sock"], "DistrictStatus")
            print(f"   {s['id']:<8} {st.get('last_sync') or '-':<22} {st['lookups']:>10} {st['reports']:>7}"
                  f" {st['notices']:>7}")
        print(f"   hub reports: {len(hub.reports())}\n")
        for _ in range(10):
            if stop or (seconds > 0 and time.time() - start >= seconds):
                break
            time.sleep(1)


if __name__ == "__main__":
    main()
