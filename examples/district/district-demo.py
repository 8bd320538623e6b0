#!/usr/bin/env python3
"""`make district-demo`: a district hub with three simulated stations on this machine.

PostgreSQL 15 (started here, on a Unix socket in a temporary folder), the hub `waystation-district serve`
on https://127.0.0.1:PORT with a throwaway district CA, the district Prometheus and Alertmanager (HTTPS,
client certificates of that CA), and three enrolled stations, each with waystation-sim, waystationd,
waystation-web (its kiosk page), waystation-uplink (its link to the hub, and its alerts to Alertmanager)
and a Prometheus agent remote-writing to the district. The hub's desk (https://127.0.0.1:PORT/desk/) reads
that Prometheus and Alertmanager; a first admin is made with a random password, printed with the address.
A notice and a partner's service are published at the hub; a rider reports an open manhole at the first
station, the hub verifies it, and the rider's district balance shows at the second station. Then the
state of the link is printed every few seconds until DEMO_SECONDS (default 60; 0: until Ctrl-C).
"""
import argparse
import datetime
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import desklib  # noqa: E402
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
    receiver = dl.WebhookReceiver()  # where the district Alertmanager's webhooks go
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    try:
        run(procs, work, bin_dir, args.seconds, stop, receiver)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping ...")
        # The agents first, while the district they flush to is up (else each waits a minute).
        for p in [p for p in procs.procs if p.name.startswith("agent-")]:
            procs.stop(p, grace=15)
        procs.stop_all()
        receiver.close()
        shutil.rmtree(work, ignore_errors=True)


def run(procs, work, bin_dir, seconds, stop, receiver):
    port = dl.free_port()
    hub_dir = os.path.join(work, "hub")
    os.makedirs(hub_dir)
    sids = [f"hy-00{i}" for i in (1, 2, 3)]
    pki = dl.make_pki(os.path.join(work, "pki"), stations=sids, clients=["desk", "uplink", "staff"])
    # This script talks to the district Prometheus and Alertmanager as staff would: with a client certificate.
    dl.set_client_tls(os.path.join(pki, "district-ca.pem"), os.path.join(pki, "staff.pem"),
                      os.path.join(pki, "staff.key"))
    print("starting PostgreSQL ...")
    db_url = hublib.start_postgres(procs, os.path.join(work, "pg"))
    print("starting the district Prometheus and Alertmanager ...")
    prometheus, alertmanager = desklib.start_district(procs, work, pki, receiver.port)
    config = hublib.write_hub_config(hub_dir, pki, db_url, f"127.0.0.1:{port}")
    desk = desklib.desk_supported(bin_dir)
    if desk:
        desklib.desk_section(hub_dir, pki, prometheus, alertmanager)
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
    admin = ("admin", secrets.token_urlsafe(12))
    if desk:
        desklib.add_user(hub, admin[0], "admin", admin[1])
    stations = []
    for i, sid in enumerate(sids, 1):
        print(f"starting station {sid} ...")
        # Its kiosk (waystation-web) runs as the caller, who reaches the daemon's kiosk methods; its agent
        # sends every 5 s, so the desk has data within a minute.
        stations.append(desklib.start_station(procs, hub, bin_dir, work, pki, sid, i, alertmanager, prometheus,
                                              "hanyang", sync_interval="10s"))

    # The desk's charts show a day: a made-up one, up to 10 minutes ago, once the stations' series arrive.
    have = lambda sid: dl.prom_query(prometheus, f'waystation_point_value{{station="{sid}",point="room_temp"}}')  # noqa: E731
    if dl.wait_until(lambda: all(have(sid) for sid in sids), 90, 1):
        print(f"a made-up day of history for {desklib.backfill_history(procs, work, prometheus, sids)} chart series ...")

    print("\n== the district hub: " + hub.url + "   (Open311: " + hub.url + "/open311/v2/requests.json)")
    print("   its CA (for curl --cacert): " + os.path.join(hub_dir, "district-ca.pem"))
    print("   hub CLI: " + f"{hub.binary} --config {config} reports list")
    print(f"   district Prometheus {prometheus}, Alertmanager {alertmanager} (client certificate: "
          f"{pki}/staff.pem, staff.key)")
    for s in stations:
        print(f"== kiosk of {s['id']}: {s['kiosk']}")
    bar = "#" * 78
    if desk:
        print(f"\n{bar}\n#\n#   THE DISTRICT DESK   {hub.url}/desk/\n#\n#   name      {admin[0]}\n"
              f"#   password  {admin[1]}\n#\n#   (the hub's certificate is of this demo's throwaway CA: let the "
              f"browser go on,\n#    or trust {os.path.join(hub_dir, 'district-ca.pem')})\n#\n{bar}")
    else:
        print(f"\n{bar}\n#   this waystation-district has no desk yet (no `users` command)\n{bar}")
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
        print(f"   hub reports: {len(hub.reports())}")
        if desk:
            print(f"   the desk: {hub.url}/desk/  ({admin[0]} / {admin[1]})")
        print()
        for _ in range(10):
            if stop or (seconds > 0 and time.time() - start >= seconds):
                break
            time.sleep(1)


if __name__ == "__main__":
    main()
