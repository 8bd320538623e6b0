#!/usr/bin/env python3
"""The district link end to end, with the real things (issue 22): PostgreSQL 15 started here, the hub
(waystation-district serve), and two simulated stations, each with waystation-sim, waystationd and
waystation-uplink. The hub and each uplink sit in network namespaces of their own, joined by the links
of linkfault.py: a poor 4G link (delay, jitter, loss), then an outage of both, then the links back.

What a district would notice if it broke:
  - the district's hazard categories reach every kiosk;
  - a report filed at station A's kiosk reaches the hub once; its verdict, given while the links are
    down, reaches station A once they are back, with the district's points (not the station's table);
  - the same rider, scanned at station B during the outage, sees their district balance there once the
    link is back; the hub credited the report once, through kills of an uplink and a daemon and a
    restart of the hub;
  - a gift redeemed at a station (waystationctl riders redeem) is spent at the hub once per key, never
    below zero, refused with the reason when the rider is unknown or the link is down;
  - a revoked station's uplink is refused and says so; the hub's log holds no raw rider id, no pseudonym.

Needs root (namespaces; PostgreSQL runs as the postgres user). Run: test-link.py [--bin .build/debug]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import districtlib as dl  # noqa: E402
import hublib  # noqa: E402
from hublib import varlink  # noqa: E402
from linkfault import LinkLab  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
RIDER = "139 0000 2222"
FAILURES = []


def check(name, ok, detail=""):
    print(("ok    " if ok else "FAIL  ") + name + ("" if ok or not detail else f"\n      {detail}"), flush=True)
    if not ok:
        FAILURES.append(name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(REPO, ".build/debug"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("test-link: skipped (needs root: network namespaces, PostgreSQL as postgres)")
        return 0
    bin_dir = os.path.abspath(args.bin)
    work = tempfile.mkdtemp(prefix="ws-link-")
    os.chmod(work, 0o755)
    procs = dl.Procs()
    try:
        with LinkLab(stations=2, prefix="wsl") as lab:
            scenario(lab, procs, work, bin_dir)
    except Exception as e:  # a step that could not run is a failure, with its reason
        check(f"the scenario ran to its end ({type(e).__name__})", False, str(e))
    finally:
        procs.stop_all()
    if FAILURES:
        print(f"\nFAILED: {len(FAILURES)}; logs kept in {work}")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print("\nall passed")
    return 0


def scenario(lab, procs, work, bin_dir):
    hub_dir = os.path.join(work, "hub")
    os.makedirs(hub_dir)
    pki = dl.make_pki(os.path.join(work, "pki"), server_san=f"IP:{lab.hub_addr},IP:127.0.0.1,DNS:localhost")
    db_url = hublib.start_postgres(procs, os.path.join(work, "pg"))
    config = hublib.write_hub_config(hub_dir, pki, db_url, f"{lab.hub_addr}:8443")
    hub = hublib.Hub(bin_dir, config, f"https://{lab.hub_addr}:8443",
                     spawn=lambda argv, **kw: lab.popen(lab.hub, argv, **kw), probe=["ip", "netns", "exec", lab.hub])
    hub.cli("keys", "init")
    hub.start()
    stations = {}
    for i, sid in ((1, "st-a"), (2, "st-b")):
        d = os.path.join(work, sid)
        os.makedirs(d)
        os.chmod(d, 0o755)
        conf = hub.enrol(sid, d, i, sync_interval="3s")
        _, daemon = dl.start_sim_and_daemon(procs, d, bin_dir, conf)
        stations[sid] = {"dir": d, "conf": conf, "sock": os.path.join(d, "control.sock"), "ns": lab.station(i),
                         "daemon": daemon}

    def start_uplink(sid):
        s = stations[sid]
        out = open(os.path.join(s["dir"], "uplink.log"), "ab")
        s["uplink"] = lab.popen(s["ns"], [os.path.join(bin_dir, "waystation-uplink"), "--config", s["conf"]],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()

    for sid in stations:
        start_uplink(sid)
    a, b = stations["st-a"], stations["st-b"]
    for i in (1, 2):
        lab.impair(i, delay_ms=150, jitter_ms=50, loss=0.03)

    def categories(s):
        return [c["id"] for c in varlink(s["sock"], "GetKioskStatus")["kiosk"].get("hazard_categories", [])]
    want = ["fallen_cable", "manhole_cover"]
    ok = dl.wait_until(lambda: sorted(categories(a)) == want and sorted(categories(b)) == want, 90, 1)
    check("the district's hazard categories reach both kiosks", ok, f"{categories(a)} / {categories(b)}")

    # A rider checks in at A and reports an open manhole.
    scan = varlink(a["sock"], "KioskScan", {"worker": RIDER, "category": "food_delivery"})
    rep = varlink(a["sock"], "SubmitReport", {"session": scan["session"], "category": "manhole_cover",
                                               "location": "Hanyang Rd 12, by the bus stop", "note": "lid gone"})
    local_id = rep["report"]["id"]
    mine = lambda: [r for r in hub.reports() if "Hanyang Rd 12" in r[5]]  # noqa: E731
    ok = dl.wait_until(lambda: len(mine()) >= 1, 90, 1)
    check("the report reaches the hub, across a lossy link", ok and len(mine()) == 1, f"{mine()}")
    hub_id = mine()[0][0] if mine() else "0"

    # Both links go down. The district verifies the report meanwhile; the rider turns up at B.
    lab.outage(1)
    lab.outage(2)
    print("      " + hub.cli("reports", "verify", hub_id, "--note", "crew sent", "--by", "desk-test").strip())
    scan_b = varlink(b["sock"], "KioskScan", {"worker": RIDER, "category": "food_delivery"})
    rider_b = varlink(b["sock"], "GetRider", {"session": scan_b["session"]})["rider"]
    check("during the outage B has no district balance for the rider yet", rider_b.get("district") is None,
          f"{rider_b}")
    # An uplink and a daemon killed (SIGKILL) while the link is down lose nothing: the daemon's
    # database keeps the queue and the cursor.
    a["uplink"].kill()
    a["uplink"].wait()
    a["daemon"].kill()
    a["daemon"].wait()
    os.unlink(a["sock"])
    a["daemon"] = procs.start("daemon-st-a-again", [os.path.join(bin_dir, "waystationd"), "--config", a["conf"]],
                              os.path.join(a["dir"], "daemon.log"))
    if not dl.wait_until(lambda: os.path.exists(a["sock"]), 30, 0.2):
        raise RuntimeError("station A's daemon did not start again:\n" + dl.tail(os.path.join(a["dir"], "daemon.log")))
    start_uplink("st-a")
    dl.wait_until(lambda: "district sync failed" in open(os.path.join(b["dir"], "uplink.log")).read(), 60, 1)
    lab.restore(1)
    lab.restore(2)

    def report_at_a():
        rows = [r for r in varlink(a["sock"], "ListReports", {})["reports"] if r["id"] == local_id]
        return rows[0] if rows else {}
    ok = dl.wait_until(lambda: report_at_a().get("status") == "verified", 120, 1)
    check("the verdict reaches station A after the outage, with the district's points (7)",
          ok and report_at_a().get("points") == 7, f"{report_at_a()}")

    def balance_b():
        try:
            return varlink(b["sock"], "GetRider", {"session": scan_b["session"]})["rider"].get("district")
        except RuntimeError as e:  # the kiosk session ended: the rider scans again (out, then in)
            if "SessionExpired" not in str(e):
                raise
            scan_b.update(varlink(b["sock"], "KioskScan", {"worker": RIDER, "category": "food_delivery"}))
            return None
    ok = dl.wait_until(lambda: (balance_b() or {}).get("balance") == 7, 120, 1)
    check("the rider's district balance (7) shows at station B once the link is back", ok, f"{balance_b()}")

    # Credited once, through a hub restart and more rounds of both uplinks.
    hub.stop()
    hub.start()
    time.sleep(8)  # a few more 3-s rounds; nothing below may change because of them
    check("the report's points were applied once at A", report_at_a().get("points") == 7, f"{report_at_a()}")
    check("one report at the hub", len(mine()) == 1, f"{mine()}")
    check("the balance at B is still 7", (balance_b() or {}).get("balance") == 7, f"{balance_b()}")

    # Gifts: redeemed at the hub through the uplink (waystationctl runs waystation-uplink redeem, in the
    # station's namespace, the only one with a route to the hub), once per key, never below zero.
    ctl = os.path.join(bin_dir, "waystationctl")

    def redeem(s, points, gift, key, rider=RIDER):
        p = lab.run(s["ns"], [ctl, "--socket", s["sock"], "riders", "redeem", str(points), gift, "--key", key],
                    input=rider + "\n", capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout + p.stderr
    rc, out = redeem(b, 5, "water bottle", "gift-1")
    check("redeeming 5 points at B leaves 2", rc == 0 and "now 2" in out, f"rc {rc}: {out}")
    rc, out = redeem(b, 5, "water bottle", "gift-1")
    check("the same key again redeems once (still 2)", rc == 0 and "now 2" in out, f"rc {rc}: {out}")
    rc, out = redeem(a, 5, "umbrella", "gift-2")
    check("5 more at A are refused: not enough points (2)", rc == 1 and "balance is 2" in out, f"rc {rc}: {out}")
    rc, out = redeem(a, 1, "umbrella", "gift-3", rider="139 0000 9999")
    check("a rider the district does not know yet is refused with the reason", rc == 1 and "does not know" in out,
          f"rc {rc}: {out}")
    lab.outage(2, mode="down")
    rc, out = redeem(b, 1, "sticker", "gift-4")
    check("with the link down, nothing is redeemed and waystationctl says why (exit 69)",
          rc == 69 and "not reachable" in out, f"rc {rc}: {out}")
    lab.restore(2)
    ok = dl.wait_until(lambda: (balance_b() or {}).get("balance") == 2, 60, 1)
    check("B's kiosk shows the balance after the gift (2)", ok, f"{balance_b()}")

    # A revoked station is refused at once and says so.
    hub.cli("stations", "revoke", "st-b")
    log_b = lambda: open(os.path.join(b["dir"], "uplink.log"), errors="replace").read()  # noqa: E731
    ok = dl.wait_until(lambda: "revoked" in log_b(), 60, 1)
    check("a revoked station's uplink is refused and says so", ok, dl.tail(os.path.join(b["dir"], "uplink.log")))

    log = open(hub.log, encoding="utf-8", errors="replace").read()
    pseudonym = varlink(a["sock"], "DistrictRider", {"worker": RIDER}).get("district") or "?"
    check("the hub's log holds no raw rider id and no pseudonym",
          RIDER.replace(" ", "") not in log and RIDER not in log and pseudonym not in log and len(pseudonym) == 32,
          f"pseudonym {pseudonym}")
    hub.stop()


if __name__ == "__main__":
    sys.exit(main())
