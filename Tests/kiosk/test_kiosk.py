#!/usr/bin/env python3
"""Browser tests of the kiosk page (issues 14 and 24): the real page in headless Chromium, driven by Selenium.

Run against a running waystation-web (and, for the full set, the daemon and the simulator behind it):

    KIOSK_URL=http://127.0.0.1:8480/ \
    WAYSTATIONCTL="waystationctl --socket state/control.sock" \
    SIM_SOCKET=state/sim.sock \
    KIOSK_STATE_DIRS=state:state/logs \
    KIOSK_SCREENSHOTS=docs \
    python3 Tests/kiosk/test_kiosk.py -v

Environment:
  KIOSK_URL          base URL of waystation-web (default http://127.0.0.1:8480/)
  WAYSTATIONCTL      command prefix for waystationctl; the test appends the subcommand, its arguments and
                     `--json` (`{}` in the prefix, if present, is replaced by them instead, for a CLI that
                     wants options after the subcommand, e.g. "waystationctl {} --socket /path/control.sock")
  SIM_SOCKET         the simulator's control socket (lines like `hold cabinet slot1_temp 75`)
  KIOSK_STATE_DIRS   colon-separated directories (daemon state dir, log files) searched for a leaked id
  KIOSK_SCREENSHOTS  directory for kiosk-portrait.png and kiosk-landscape.png (and a few more)
  KIOSK_CARD         the card number to use (default: a random 16-digit number, new each run)
  KIOSK_SLOT         the slot to trip (default slot-1); KIOSK_SLOT_FAULT / KIOSK_SLOT_CLEAR the simulator
                     lines that trip it and let go (default `hold cabinet slot1_temp 75` / `release ...`)
  KIOSK_RECOVERED    1 when the daemon was started on a damaged database (run.sh does): every slot is then
                     held off as a storage-recovery latch, which the first test checks and re-enables
  KIOSK_DAEMON_PIDFILE, KIOSK_DAEMON_START  the daemon's pid file and a shell command that starts it again
                     (with the pid file), for the "daemon away" test
  KIOSK_DEADLINE     seconds to wait for anything the page should show (default 15)
  CHROMIUM, CHROMEDRIVER  binaries (default /usr/bin/chromium, /usr/bin/chromedriver: Debian's)

Tests that need WAYSTATIONCTL, SIM_SOCKET or KIOSK_STATE_DIRS are skipped, with a loud SKIP line on
stderr, when those are absent; everything else runs against any server that implements the API.
There are no fixed sleeps: every wait is a WebDriverWait (or a polling loop) with a deadline.
"""
import base64
import json
import os
import random
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import unittest
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

KIOSK_URL = os.environ.get("KIOSK_URL", "http://127.0.0.1:8480/")
if not KIOSK_URL.endswith("/"):
    KIOSK_URL += "/"
CTL = os.environ.get("WAYSTATIONCTL", "").strip()
SIM_SOCKET = os.environ.get("SIM_SOCKET", "").strip()
STATE_DIRS = [d for d in os.environ.get("KIOSK_STATE_DIRS", "").split(":") if d]
SHOTS = os.environ.get("KIOSK_SCREENSHOTS", "").strip()
CARD = os.environ.get("KIOSK_CARD") or str(random.SystemRandom().randrange(10**15, 10**16))
SLOT = os.environ.get("KIOSK_SLOT", "slot-1")
SLOT_FAULT = os.environ.get("KIOSK_SLOT_FAULT", "hold cabinet slot1_temp 75")
SLOT_CLEAR = os.environ.get("KIOSK_SLOT_CLEAR", "release cabinet slot1_temp")
DEADLINE = float(os.environ.get("KIOSK_DEADLINE", "15"))
DAEMON_PIDFILE = os.environ.get("KIOSK_DAEMON_PIDFILE", "").strip()
DAEMON_START = os.environ.get("KIOSK_DAEMON_START", "").strip()
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")

PORTRAIT, LANDSCAPE = (1080, 1920), (1920, 1080)
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
MIN_TARGET = 64  # px: smallest touch target allowed

# Every reply the test saw (HTTP bodies through the browser, its own fetches, waystationctl and simulator
# output): none may contain the raw card number.
SEEN_REPLIES = []


def loud_skip(test, why):
    bar = "!" * 78
    sys.stderr.write(f"\n{bar}\nSKIP {test.id()}: {why}\n{bar}\n")
    sys.stderr.flush()
    raise unittest.SkipTest(why)


def wait_for(predicate, timeout, what, interval=0.2):
    """Polls predicate until it returns a truthy value or the deadline passes (no fixed sleep)."""
    end = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")
        time.sleep(interval)



def varlink(method, parameters=None):
    """Calls io.waystation.Station.METHOD on the daemon's socket ($WAYSTATION_SOCKET) as the uplink
    would (this test runs as root: admin may call the district link's methods too). Returns the reply
    parameters; raises on an error reply."""
    path = os.environ.get("WAYSTATION_SOCKET", "").strip()
    if not path:
        raise unittest.SkipTest("WAYSTATION_SOCKET not set")
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(path)
    s.sendall(json.dumps({"method": "io.waystation.Station." + method, "parameters": parameters or {}}).encode() + b"\0")
    buf = b""
    while not buf.endswith(b"\0"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    reply = json.loads(buf.rstrip(b"\0").decode())
    SEEN_REPLIES.append(json.dumps(reply))
    if reply.get("error"):
        raise AssertionError(f"{method}: {reply['error']} {reply.get('parameters')}")
    return reply.get("parameters", {})


def rfc3339(offset_seconds=0):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset_seconds))


# ---- the outside world: waystationctl, the simulator, plain HTTP -----------------------------------
def ctl(*args, check=True, input=None, raw=False):
    """Runs waystationctl with --json; returns the parsed reply (or the raw text when it is not JSON).
    `input` goes to its stdin (a rider id for checkin/checkout); `raw` returns (status, output)."""
    prefix = CTL
    words = list(args) + ["--json"]
    if "{}" in prefix:
        argv = shlex.split(prefix.replace("{}", " ".join(shlex.quote(w) for w in words)))
    else:
        argv = shlex.split(prefix) + words
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30, input=input)
    if raw:
        return p.returncode, p.stdout + p.stderr
    SEEN_REPLIES.append(p.stdout + p.stderr)
    if check and p.returncode != 0:
        raise AssertionError(f"{argv} exited {p.returncode}: {p.stderr.strip() or p.stdout.strip()}")
    try:
        return json.loads(p.stdout)
    except ValueError:
        return p.stdout


def find_key(obj, key):
    """The first value of `key` in a JSON tree, breadth first (tolerates a wrapped reply)."""
    queue = [obj]
    while queue:
        o = queue.pop(0)
        if isinstance(o, dict):
            if key in o:
                return o[key]
            queue.extend(o.values())
        elif isinstance(o, list):
            queue.extend(o)
    return None


def find_reports(obj):
    """Every dict in a JSON tree that looks like a hazard report (has an id and a location)."""
    out = []
    if isinstance(obj, dict):
        if "id" in obj and "location" in obj:
            out.append(obj)
        for v in obj.values():
            out.extend(find_reports(v))
    elif isinstance(obj, list):
        for v in obj:
            out.extend(find_reports(v))
    return out


def sim(line):
    """Sends one command line to the simulator's control socket; returns its first reply line."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(SIM_SOCKET)
        s.sendall(line.encode() + b"\n")
        s.shutdown(socket.SHUT_WR)
        data = b""
        try:
            while b"\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
    text = data.decode(errors="replace")
    SEEN_REPLIES.append(text)
    return text.strip()


def http_text(path):
    with urllib.request.urlopen(urllib.parse.urljoin(KIOSK_URL, path), timeout=10) as r:
        body = r.read().decode()
    SEEN_REPLIES.append(body)
    return body


def http_json(path):
    with urllib.request.urlopen(urllib.parse.urljoin(KIOSK_URL, path), timeout=10) as r:
        body = r.read().decode()
    SEEN_REPLIES.append(body)
    return json.loads(body)


def occupancy():
    """Occupancy as the daemon sees it (waystationctl status); the web API only without WAYSTATIONCTL."""
    if CTL:
        v = find_key(ctl("status"), "occupancy")
        assert isinstance(v, (int, float)), "no occupancy in `waystationctl --json status`"
        return int(v)
    if not _noted:
        _noted.append(1)
        sys.stderr.write("\n  NOTE: WAYSTATIONCTL not set: occupancy read from /api/kiosk, not from the daemon\n")
    return int(http_json("api/kiosk")["occupancy"])


_noted = []


# ---- the browser ------------------------------------------------------------------------------------
class Network:
    """Every request the page made and every reply body it received, from Chrome's performance log."""

    def __init__(self, driver):
        self.driver = driver
        self.requests = []  # (method, url)
        self.bodies = []

    def drain(self):
        try:
            entries = self.driver.get_log("performance")
        except WebDriverException:
            return
        for entry in entries:
            msg = json.loads(entry["message"])["message"]
            method, p = msg.get("method"), msg.get("params", {})
            if method == "Network.requestWillBeSent":
                self.requests.append((p["request"]["method"], p["request"]["url"]))
            elif method == "Network.loadingFinished":
                try:
                    b = self.driver.execute_cdp_cmd("Network.getResponseBody", {"requestId": p["requestId"]})
                except WebDriverException:
                    continue  # evicted or never had a body
                body = b.get("body", "")
                if b.get("base64Encoded"):
                    body = base64.b64decode(body).decode("utf-8", "replace")
                self.bodies.append(body)
                SEEN_REPLIES.append(body)
            elif method == "Network.eventSourceMessageReceived":
                self.bodies.append(p.get("data", ""))
                SEEN_REPLIES.append(p.get("data", ""))

    def count(self, method, path):
        self.drain()
        return sum(1 for m, u in self.requests if m == method and urllib.parse.urlsplit(u).path == path)


def make_driver():
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    args = [
        "--headless=new", "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1",
        "--disable-dev-shm-usage", "--window-size=1920,1080",
        # Keep the browser itself quiet, so that the network check below sees the page's requests only
        # (a kiosk deployment wants these flags too).
        "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
        "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    for a in args:
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=o)


class KioskTest(unittest.TestCase):
    """One browser for the whole run; the tests run in name order and each leaves occupancy as it was."""

    @classmethod
    def setUpClass(cls):
        cls.driver = make_driver()
        cls.net = Network(cls.driver)
        cls.orientation(LANDSCAPE)
        cls.open_page()
        cls.scans = 0

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()

    # -- helpers -------------------------------------------------------------------------------------
    @classmethod
    def orientation(cls, size):
        w, h = size
        cls.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": False})

    @classmethod
    def open_page(cls, query=""):
        cls.driver.get(KIOSK_URL + query)
        WebDriverWait(cls.driver, DEADLINE).until(
            lambda d: d.find_element(By.ID, "seats-free").text.strip() not in ("", "–"),
            "the page never showed the station's status")

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def view(self):
        return self.js("return document.getElementById('app').dataset.view")

    def wait(self, cond, what, timeout=DEADLINE):
        def poll(d):
            self.net.drain()
            return cond(d)
        # The page re-renders its tiles on every update: an element found by one poll can be gone by
        # the time its attribute is read (stale); that poll simply did not see the condition yet.
        return WebDriverWait(self.driver, timeout, poll_frequency=0.2,
                             ignored_exceptions=(StaleElementReferenceException,)).until(poll, what)

    def shot(self, name):
        if SHOTS:
            os.makedirs(SHOTS, exist_ok=True)
            self.driver.save_screenshot(os.path.join(SHOTS, name))

    def type_on_body(self, text):
        """Keystrokes as a USB card reader sends them: at the page, with no field focused."""
        body = self.driver.find_element(By.TAG_NAME, "body")
        try:
            body.send_keys(text)
        except WebDriverException:
            ActionChains(self.driver).send_keys(text).perform()

    def scan(self, category=None, timeout=75, prepare=None, card=None):
        """Scans CARD (typed + Enter) and returns (action, line). Waits out a rate limit (and "already
        checked in", the same rider within the rate window), up to `timeout`; `prepare` runs before
        each attempt (the page may have reset itself while we waited)."""
        card = card or CARD
        end = time.monotonic() + timeout
        while True:
            if prepare:
                prepare()
            if category:
                self.driver.find_element(By.CSS_SELECTOR, f'#visit-cats [data-category="{category}"]').click()
                self.assertEqual(self.driver.find_element(By.CSS_SELECTOR, f'[data-category="{category}"]')
                                 .get_attribute("aria-pressed"), "true")
            seq = self.js("return document.getElementById('result').dataset.seq || '0'")
            self.type_on_body(card + Keys.ENTER)
            type(self).scans += 1

            def answered(d):
                r = d.find_element(By.ID, "result")
                return (r.get_attribute("data-seq") != seq and r.get_attribute("data-kind") != "busy"
                        and r.get_attribute("data-kind"))
            kind = self.wait(answered, "an answer to the scan")
            line = self.driver.find_element(By.ID, "result-line").text
            error = self.driver.find_element(By.ID, "result").get_attribute("data-error")
            if kind == "error" and error == "rate_limited" and time.monotonic() < end:
                # The page says "please wait a moment"; wait until it is back home, then scan again.
                self.wait(lambda d: self.view() != "result", "the rate-limit message to go", timeout=20)
                continue
            if kind == "already" and time.monotonic() < end:
                # Same rider within the rate window: nothing changed (no visit, no limit used); again.
                self.wait(lambda d: self.view() in ("rider", "home"), "the rider panel after 'already checked in'")
                continue
            self.assertNotEqual(kind, "error", f"scan refused: {error}: {line}")
            # the visit category selection resets after every scan: none chosen (no default)
            self.assertEqual(self.pressed_categories(), [])
            return kind, line

    def pressed_categories(self):
        return [b.get_attribute("data-category") for b in
                self.driver.find_elements(By.CSS_SELECTOR, '#visit-cats [data-category][aria-pressed="true"]')]

    def record_views(self):
        """From now on, window.__views lists every view the page shows, in order."""
        self.js("""window.__views = [];
            if (!window.__viewObs) {
              window.__viewObs = new MutationObserver(() => window.__views.push(document.getElementById('app').dataset.view));
              window.__viewObs.observe(document.getElementById('app'), {attributes: true, attributeFilter: ['data-view']});
            }""")

    def views(self):
        return self.js("return window.__views || []")

    def wait_rider_panel(self):
        self.wait(lambda d: self.view() == "rider", "the rider panel (after ~5 s)", timeout=DEADLINE + 5)
        return self.rider_points()

    def rider_points(self):
        return int(self.wait(lambda d: re.fullmatch(r"-?\d+", d.find_element(By.ID, "rider-points").text.strip())
                             and d.find_element(By.ID, "rider-points").text.strip(), "the rider's points"))

    def done(self):
        before = self.net.count("POST", "/api/logout")
        self.driver.find_element(By.ID, "btn-done").click()
        self.wait(lambda d: self.view() == "home", "the home screen after Done")
        self.wait(lambda d: self.net.count("POST", "/api/logout") > before, "POST /api/logout after Done")

    def layout_checks(self, label):
        w, h = self.js("return [innerWidth, innerHeight]")
        self.assertLessEqual(self.js("return document.documentElement.scrollWidth"), w, f"{label}: horizontal overflow")
        for sel in ["#lang-toggle", "#btn-checkin", "#card-seats", "#card-room", "#card-water", "#card-microwave",
                    "#card-slots", "#card-services", "#visit-cats"]:
            r = self.js("const r = document.querySelector(arguments[0]).getBoundingClientRect();"
                        "return [r.left, r.top, r.right, r.bottom]", sel)
            self.assertTrue(r[0] >= 0 and r[1] >= 0 and r[2] <= w + 0.5 and r[3] <= h + 0.5,
                            f"{label}: {sel} is not fully on screen: {r}")
        small = self.js("""return [...document.querySelectorAll('button')].filter(b => b.offsetParent !== null)
              .map(b => [b.id || b.dataset.category || b.textContent.trim(), b.getBoundingClientRect()])
              .filter(([n, r]) => r.width < arguments[0] || r.height < arguments[0])
              .map(([n, r]) => n + ' ' + Math.round(r.width) + 'x' + Math.round(r.height));""", MIN_TARGET)
        self.assertEqual(small, [], f"{label}: touch targets below {MIN_TARGET} px")

    # -- the tests -------------------------------------------------------------------------------------
    # Named to run before test_00: it clears the recovery latches the others would find.
    def test_000_storage_recovery_latch_shows_as_such(self):
        d = self.driver
        if os.environ.get("KIOSK_RECOVERED") != "1" or not CTL:
            loud_skip(self, "KIOSK_RECOVERED=1 and WAYSTATIONCTL are needed (a daemon started on a damaged database)")
        slots = [s["id"] for s in http_json("api/kiosk")["slots"]]
        self.assertTrue(slots, "the station lists no slots")
        # The kind is a value end to end: the API, the CLI and the metrics all say storage_recovered.
        for s in http_json("api/kiosk")["slots"]:
            self.assertEqual((s["state"], s.get("interlock")), ("off", "storage_recovered"), f"{s}")
        latched = find_key(ctl("alerts"), "latched_slots") or []
        self.assertEqual(sorted((x["slot"], x.get("kind")) for x in latched),
                         sorted((s, "storage_recovered") for s in slots))
        metrics = http_text("metrics")
        lines = [line for line in metrics.splitlines() if line.startswith("waystation_slot_interlocked{")]
        series = {frozenset(line[line.index("{") + 1:line.rindex("}")].split(",")): float(line.rsplit(" ", 1)[1])
                  for line in lines}
        for s in slots:
            self.assertEqual(series.get(frozenset({f'slot="{s}"', 'reason="storage_recovered"'})), 1.0,
                             f"no interlock metric of kind storage_recovered for {s}: {lines}")
        words = {"zh-CN": "数据恢复，待检查", "en": "Held off after data recovery"}
        for lang in ["zh-CN", "en"]:
            if self.js("return document.documentElement.lang") != lang:
                d.find_element(By.ID, "lang-toggle").click()
            self.wait(lambda d: self.js("return document.documentElement.lang") == lang, lang)

            def shown(d):
                tiles = d.find_elements(By.CSS_SELECTOR, "#slots .slot[data-slot-id]")
                return len(tiles) == len(slots) and all(
                    t.get_attribute("data-state") == "off" and t.get_attribute("data-reason") == "storage_recovered"
                    and t.find_element(By.CSS_SELECTOR, ".reason").text.strip() == words[lang] for t in tiles)
            self.wait(shown, f"every slot shown as held off after data recovery ({lang})")
            self.shot(f"kiosk-recovered-{lang}.png")
        if self.js("return document.documentElement.lang") != "zh-CN":
            d.find_element(By.ID, "lang-toggle").click()
        # An admin checks each slot and switches it back on; the page follows without a reload.
        for s in slots:
            wait_for(lambda: ctl("enable-slot", s, check=False) is not None and
                     not any(x["slot"] == s for x in (find_key(ctl("alerts"), "latched_slots") or [])),
                     DEADLINE, f"enable-slot {s}")
        self.wait(lambda d: all(t.get_attribute("data-state") != "off"
                                for t in d.find_elements(By.CSS_SELECTOR, "#slots .slot[data-slot-id]")),
                  "every slot back on after enable-slot")

    def test_00_status_layout_language_and_screenshots(self):
        d = self.driver
        kiosk = http_json("api/kiosk")
        for size, name in [(PORTRAIT, "portrait"), (LANDSCAPE, "landscape")]:
            self.orientation(size)
            self.wait(lambda d: self.js("return innerWidth") == size[0], f"the {name} viewport")
            self.layout_checks(name)
            self.shot(f"kiosk-{name}.png")
        # What a rider wants to know on arrival, from the API the page is fed by.
        cap = kiosk["station"]["capacity"]
        self.wait(lambda d: f"/ {cap}" in d.find_element(By.ID, "occupancy-line").text, "occupancy of capacity")
        tiles = d.find_elements(By.CSS_SELECTOR, "#slots .slot[data-slot-id]")
        self.assertEqual(sorted(t.get_attribute("data-slot-id") for t in tiles), sorted(s["id"] for s in kiosk["slots"]))
        for t in tiles:
            self.assertIn(t.get_attribute("data-state"), ("free", "charging", "off", "unknown"))
        self.assertEqual(len(d.find_elements(By.CSS_SELECTOR, "#services li.svc")), len(kiosk["services"]))
        cats = [b.get_attribute("data-category") for b in d.find_elements(By.CSS_SELECTOR, "#visit-cats [data-category]")]
        self.assertEqual(cats, kiosk["visit_categories"])
        # no category is chosen for the rider (issue 24: never a silent "courier")
        self.assertEqual(self.pressed_categories(), [])
        # Chinese by default; the big toggle switches to English and back.
        self.assertEqual(self.js("return document.documentElement.lang"), "zh-CN")
        self.assertEqual(d.find_element(By.CSS_SELECTOR, "#card-seats h2").text, "空余座位")
        d.find_element(By.ID, "lang-toggle").click()
        self.wait(lambda d: d.find_element(By.CSS_SELECTOR, "#card-seats h2").text == "Seats free", "English")
        self.orientation(PORTRAIT)
        self.shot("kiosk-portrait-en.png")
        self.orientation(LANDSCAPE)
        d.find_element(By.ID, "lang-toggle").click()
        self.wait(lambda d: d.find_element(By.CSS_SELECTOR, "#card-seats h2").text == "空余座位", "Chinese again")
        # the on-screen keypad shows dots, never digits, and Cancel forgets what was typed
        d.find_element(By.ID, "btn-checkin").click()
        self.wait(lambda d: self.view() == "keypad", "the keypad")
        for k in "4711":
            d.find_element(By.CSS_SELECTOR, f'#keys [data-key="{k}"]').click()
        self.assertNotIn("4711", d.find_element(By.ID, "keypad").text)
        self.assertNotIn("4711", d.page_source)
        self.layout_checks("keypad")
        d.find_element(By.ID, "keypad-cancel").click()
        self.wait(lambda d: self.view() == "home", "home after Cancel")

    def test_10_scan_checks_in_then_out(self):
        d = self.driver
        occ0 = occupancy()
        action, line = self.scan(category="food_delivery")
        self.assertEqual(action, "checked_in", line)
        occ1 = wait_for(lambda: occupancy() == occ0 + 1 and occ0 + 1, DEADLINE, "occupancy + 1 (waystationctl status)")
        cap = http_json("api/kiosk")["station"]["capacity"]
        self.assertIn("欢迎", line)
        self.assertIn(f"{occ1} / {cap}", line)
        self.shot("kiosk-welcome.png")
        self.wait_rider_panel()
        self.layout_checks_overlay("rider")
        # the second scan of a rider inside checks them out
        logouts = self.net.count("POST", "/api/logout")
        self.record_views()
        action, line = self.scan()
        self.assertEqual(action, "checked_out", line)
        self.assertIn("再见", line)
        wait_for(lambda: occupancy() == occ0, DEADLINE, "occupancy back (waystationctl status)")
        # the status on the page follows, live
        self.wait(lambda d: f"{occ0} / {cap}" in d.find_element(By.ID, "occupancy-line").text, "the page's occupancy")
        # check-out closes the rider's panel at once (issue 24): the session is given up with the answer,
        # and after "再见" the page goes home, never back to the panel with the rider's points
        self.wait(lambda d: self.net.count("POST", "/api/logout") > logouts, "POST /api/logout on check-out")
        self.wait(lambda d: self.view() == "home", "home after the goodbye", timeout=DEADLINE + 5)
        self.assertNotIn("rider", self.views(), f"the rider panel was shown after check-out: {self.views()}")
        self.assertEqual(d.find_element(By.ID, "rider-points").get_attribute("textContent").strip(), "–")

    def test_15_double_scan_says_already_checked_in_and_keeps_panel(self):
        d = self.driver
        occ0 = occupancy()
        action, _ = self.scan()
        self.assertEqual(action, "checked_in")
        d.find_element(By.ID, "result").click()  # a tap skips the wait
        self.wait(lambda d: self.view() == "rider", "the rider panel")
        # the same card again at once (within the 5 s rate window): "already checked in", panel kept
        seq = self.js("return document.getElementById('result').dataset.seq")
        self.type_on_body(CARD + Keys.ENTER)
        type(self).scans += 1
        self.wait(lambda d: self.js("return document.getElementById('result').dataset.seq") != seq
                  and self.js("return document.getElementById('result').dataset.kind") != "busy", "an answer")
        kind = self.js("return document.getElementById('result').dataset.kind")
        self.assertEqual(kind, "already", "the double scan was not answered with 'already checked in'")
        self.wait(lambda d: self.view() == "rider", "the rider panel kept")
        msg = d.find_element(By.ID, "rider-msg").text
        self.assertIn("已签到", msg)
        self.assertNotIn("稍后", msg)
        self.assertEqual(occupancy(), occ0 + 1, "the double scan changed the occupancy")
        self.rider_points()
        action, _ = self.scan()  # waits out the window, then checks out
        self.assertEqual(action, "checked_out")
        wait_for(lambda: occupancy() == occ0, DEADLINE, "occupancy back")
        self.wait(lambda d: self.view() == "home", "home after check-out", timeout=DEADLINE + 5)

    def layout_checks_overlay(self, label):
        w, h = self.js("return [innerWidth, innerHeight]")
        small = self.js("""return [...document.querySelectorAll('.overlay:not([hidden]) button')].filter(b => b.offsetParent !== null)
              .map(b => [b.id || b.textContent.trim(), b.getBoundingClientRect()])
              .filter(([n, r]) => r.width < arguments[0] || r.height < arguments[0] || r.bottom > arguments[1] || r.right > arguments[2])
              .map(([n, r]) => n);""", MIN_TARGET, h + 0.5, w + 0.5)
        self.assertEqual(small, [], f"{label}: buttons too small or off screen")

    def submit_why(self):
        return self.driver.find_element(By.ID, "submit-why").text.strip()

    def submit_enabled(self):
        return self.driver.find_element(By.ID, "btn-submit").is_enabled()

    def osk_type(self, text):
        """Taps keys of the on-screen keyboard (a space is the wide Space key)."""
        for ch in text:
            self.driver.find_element(By.CSS_SELECTOR, f'#osk-keys [data-osk="{ch}"]').click()

    def test_20_hazard_report_by_touch_alone_is_verified_and_balance_rises(self):
        d = self.driver
        if not CTL:
            loud_skip(self, "WAYSTATIONCTL is not set: cannot list and verify the report with waystationctl")
        occ0 = occupancy()
        action, line = self.scan()
        self.assertEqual(action, "checked_in", line)
        points0 = self.wait_rider_panel()
        kiosk = http_json("api/kiosk")
        hazard = kiosk["hazard_categories"][0]
        digits = f"{random.randrange(10**6):06d}"
        d.find_element(By.ID, "btn-report").click()
        self.wait(lambda d: self.view() == "report", "the report form")
        # Nothing chosen: Submit is disabled and says what is missing (a category and a place).
        self.assertFalse(self.submit_enabled())
        self.assertIn("类别", self.submit_why())
        self.assertIn("地点", self.submit_why())
        btn = d.find_element(By.CSS_SELECTOR, f'#hazard-cats [data-hazard="{hazard["id"]}"]')
        self.assertIn(str(hazard["points"]), btn.text)  # each category shows its points
        btn.click()
        self.assertFalse(self.submit_enabled())
        self.assertNotIn("类别", self.submit_why())
        self.assertIn("地点", self.submit_why())
        # The fields take no typing from a system keyboard (there is none): taps only.
        for f in ("loc-input", "note-input"):
            self.assertEqual(d.find_element(By.ID, f).get_attribute("readonly"), "true", f"{f} is not touch-only")
        # "Near this station" is always offered, beside the presets.
        near = d.find_element(By.CSS_SELECTOR, "#loc-presets .chip.near")
        self.assertIn("本站附近", near.text)
        near.click()
        self.assertIn(kiosk["station"]["name"][:20], d.find_element(By.ID, "loc-input").get_attribute("value"))
        self.assertTrue(self.submit_enabled())
        self.assertEqual(self.submit_why(), "")
        if kiosk.get("location_presets"):
            d.find_element(By.CSS_SELECTOR, "#loc-presets .chip:not(.near)").click()
            self.assertEqual(d.find_element(By.ID, "loc-input").get_attribute("value"), kiosk["location_presets"][0][:80])
        # More detail from the on-screen keyboard: "<preset> 3号楼 <digits>"
        d.find_element(By.ID, "loc-kb").click()
        self.wait(lambda d: self.view() == "osk", "the on-screen keyboard")
        self.layout_checks_overlay("keyboard")
        self.osk_type(" 3号楼 " + digits)
        d.find_element(By.ID, "osk-ok").click()
        self.wait(lambda d: self.view() == "report", "the form again")
        place = d.find_element(By.ID, "loc-input").get_attribute("value")
        self.assertTrue(place.endswith(" 3号楼 " + digits), place)
        # A note from the keyboard and common phrases
        d.find_element(By.ID, "note-kb").click()
        self.wait(lambda d: self.view() == "osk", "the keyboard for the note")
        self.osk_type("2")
        d.find_element(By.CSS_SELECTOR, '#osk-keys [data-osk="del"]').click()
        self.osk_type("3号楼")
        d.find_element(By.ID, "osk-ok").click()
        self.wait(lambda d: self.view() == "report", "the form again")
        phrases = d.find_elements(By.CSS_SELECTOR, "#note-phrases .chip")
        self.assertGreaterEqual(len(phrases), 3)
        phrases[0].click()
        d.find_element(By.CSS_SELECTOR, "#note-phrases .chip:nth-child(3)").click()
        note = d.find_element(By.ID, "note-input").get_attribute("value")
        self.assertEqual(note, "3号楼，很危险，晚上看不清", note)
        self.assertEqual(len(d.find_elements(By.CSS_SELECTOR, '#note-phrases .chip[aria-pressed="true"]')), 2)
        for size, name in [(PORTRAIT, "portrait"), (LANDSCAPE, "landscape")]:
            self.orientation(size)
            self.wait(lambda d: self.js("return innerWidth") == size[0], f"the {name} viewport")
            self.layout_checks_overlay(f"report form {name}")
            self.shot(f"kiosk-report-{name}.png")
        self.shot("kiosk-report.png")
        d.find_element(By.ID, "btn-submit").click()
        self.wait(lambda d: d.find_element(By.ID, "report-done").is_displayed(), "the report's result")
        self.assertIn(str(points0), d.find_element(By.ID, "report-balance").text)
        # it is in `waystationctl reports`, pending, with the place and note as tapped
        def listed():
            return [r for r in find_reports(ctl("reports")) if r.get("location") == place]
        rep = wait_for(listed, DEADLINE, "the report in `waystationctl reports`")[0]
        self.assertEqual(rep.get("category"), hazard["id"])
        self.assertEqual(rep.get("note"), note)
        ctl("report", "verify", str(rep["id"]))
        # the rider panel (refreshed while open) shows the new balance and the verified report
        d.find_element(By.ID, "btn-report-ok").click()
        self.wait(lambda d: self.view() == "rider", "the rider panel again")
        expected = points0 + int(hazard["points"])
        self.wait(lambda d: d.find_element(By.ID, "rider-points").text.strip() == str(expected),
                  f"the balance to rise to {expected}")
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, f'#rider-reports [data-report-id="{rep["id"]}"][data-status="verified"]'),
                  "the report shown as verified")
        for size, name in [(PORTRAIT, "portrait"), (LANDSCAPE, "landscape")]:
            self.orientation(size)
            self.shot(f"kiosk-rider-{name}.png")
        # check out (the panel closes), and identified again later the rider still sees the new balance
        action, _ = self.scan()
        self.assertEqual(action, "checked_out")
        action, _ = self.scan()
        self.assertEqual(action, "checked_in")
        self.wait_rider_panel()
        self.assertEqual(self.rider_points(), expected)
        action, _ = self.scan()
        self.assertEqual(action, "checked_out")
        wait_for(lambda: occupancy() == occ0, DEADLINE, "occupancy back")
        self.wait(lambda d: self.view() == "home", "home after check-out", timeout=DEADLINE + 5)

    def test_25_reader_scan_without_a_tap_stores_unknown_not_courier(self):
        d = self.driver
        if not CTL:
            loud_skip(self, "WAYSTATIONCTL is not set: cannot read the stored visit")
        self.assertEqual(self.pressed_categories(), [], "a category is preselected")
        card = str(random.SystemRandom().randrange(10**15, 10**16))
        action, _ = self.scan(card=card)  # keystrokes + Enter, no tap
        self.assertEqual(action, "checked_in")
        visits = find_key(ctl("visits", "--active"), "visits") or []
        newest = max(visits, key=lambda v: v["id"])
        self.assertEqual(newest["category"], "unknown", "the kiosk guessed a category")
        self.assertEqual(newest.get("source"), "kiosk")
        action, _ = self.scan(card=card)
        self.assertEqual(action, "checked_out")
        self.wait(lambda d: self.view() == "home", "home after check-out", timeout=DEADLINE + 5)

    def test_30_slot_cut_by_interlock_shows_off_without_reload(self):
        d = self.driver
        if not SIM_SOCKET:
            loud_skip(self, "SIM_SOCKET is not set: cannot trip a slot in the simulator")
        sel = f'#slots .slot[data-slot-id="{SLOT}"]'
        tile = d.find_element(By.CSS_SELECTOR, sel)
        if tile.get_attribute("data-state") == "off":
            self.fail(f"{SLOT} is already off before the test: pick another KIOSK_SLOT")
        self.js("window.__kioskNoReload = 'still here'")
        started = time.monotonic()
        reply = sim(SLOT_FAULT)
        self.assertNotIn("error", reply.lower(), f"simulator refused {SLOT_FAULT!r}: {reply}")
        try:
            self.wait(lambda d: d.find_element(By.CSS_SELECTOR, sel).get_attribute("data-state") == "off",
                      f"{SLOT} to show as switched off")
            took = time.monotonic() - started
            sys.stderr.write(f"\n  {SLOT} shown off {took:.1f} s after `{SLOT_FAULT}`\n")
            self.assertEqual(self.js("return window.__kioskNoReload"), "still here", "the page was reloaded")
            tile = d.find_element(By.CSS_SELECTOR, sel)
            self.assertTrue(tile.find_element(By.CSS_SELECTOR, ".reason").text.strip(), "no reason shown for the cut")
            # an overheated slot: a full-width band for the room with its own instruction, both languages
            self.wait(lambda d: self.js("return document.getElementById('alarm').dataset.level") == "hot"
                      and d.find_element(By.ID, "alarm").is_displayed(), "the overheated-slot alarm band")
            line = d.find_element(By.CSS_SELECTOR, f'#alarm-slots [data-slot-id="{SLOT}"]').text
            self.assertIn("不要触碰", line)
            self.assertIn("Do not touch", line)
            band = self.js("const r = document.getElementById('alarm').getBoundingClientRect(); return [r.width, innerWidth]")
            self.assertGreater(band[0], band[1] * 0.9, "the alarm band is not full-width")
            self.shot("kiosk-slot-off.png")
        finally:
            if SLOT_CLEAR:
                try:
                    sim(SLOT_CLEAR)  # the interlock stays latched until an admin runs enable-slot
                except OSError:
                    pass

    def test_31_warming_slot_gets_its_own_instruction(self):
        d = self.driver
        if not SIM_SOCKET:
            loud_skip(self, "SIM_SOCKET is not set: cannot warm a slot in the simulator")
        slot = "slot-2"
        reply = sim("hold cabinet slot2_temp 57")  # within 5 °C of its 60 °C limit
        self.assertNotIn("error", reply.lower(), reply)
        try:
            sel = f'#alarm-slots [data-slot-id="{slot}"][data-kind="temperature_rising"]'
            self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, sel) and d.find_element(By.ID, "alarm").is_displayed(),
                      f"the instruction for warming {slot}")
            line = d.find_element(By.CSS_SELECTOR, sel).text
            self.assertIn("温度升高", line)
            self.assertIn("2号", line)
            self.assertIn("getting hot", line)
            self.assertNotEqual(self.js("return document.getElementById('alarm').dataset.level"), "smoke")
        finally:
            sim("release cabinet slot2_temp")

    def slot_tile(self, slot):
        return self.driver.find_element(By.CSS_SELECTOR, f'#slots .slot[data-slot-id="{slot}"]')

    def test_32_slot_switched_off_by_hand_reads_off_for_maintenance(self):
        d = self.driver
        if not CTL:
            loud_skip(self, "WAYSTATIONCTL is not set: cannot switch a relay off by hand")
        slot, relay = "slot-3", "slot3_relay"
        self.assertNotEqual(self.slot_tile(slot).get_attribute("data-state"), "off", f"{slot} is off before the test")
        ctl("write", "cabinet", relay, "0")
        try:
            self.wait(lambda d: self.slot_tile(slot).get_attribute("data-state") == "off", f"{slot} off")
            tile = self.slot_tile(slot)
            self.assertEqual(tile.get_attribute("data-reason"), "maintenance")
            reason = tile.find_element(By.CSS_SELECTOR, ".reason").text
            self.assertIn("维护", reason)
            self.assertNotIn("安全", reason)
            self.assertNotEqual(self.js("return document.getElementById('app').dataset.alarm"), "smoke")
        finally:
            ctl("write", "cabinet", relay, "1", check=False)
        self.wait(lambda d: self.slot_tile(slot).get_attribute("data-state") != "off", f"{slot} back on")

    def test_35_smoke_alarm_for_the_room_and_check_in_paused(self):
        d = self.driver
        if not SIM_SOCKET or not CTL:
            loud_skip(self, "SIM_SOCKET or WAYSTATIONCTL is not set: cannot trip the smoke input")
        kiosk = http_json("api/kiosk")
        self.assertFalse(kiosk.get("smoke"), "smoke before the test")
        occ0 = occupancy()
        self.orientation(LANDSCAPE)
        reply = sim("hold cabinet smoke 1")
        self.assertNotIn("error", reply.lower(), reply)
        try:
            self.wait(lambda d: self.js("return document.getElementById('alarm').dataset.level") == "smoke"
                      and d.find_element(By.ID, "alarm").is_displayed(), "the smoke alarm")
            alarm = d.find_element(By.ID, "alarm")
            text = alarm.text
            # what to do, Chinese first then English, and the numbers to call
            for words in ["检测到烟雾", "离开充电区", "不要触碰电池", "Leave the charging area", "Do not touch the batteries",
                          "暂停签到", "Check-in paused"]:
                self.assertIn(words, text)
            self.assertLess(text.index("离开充电区"), text.index("Leave the charging area"))
            phones = http_json("api/kiosk")
            self.assertEqual(phones.get("emergency_phone"), "119")
            for key in ("emergency_phone", "staff_phone"):
                if phones.get(key):
                    self.assertIn(phones[key], text)
            self.assertTrue(phones.get("smoke"))
            # it fills the whole screen, over everything, in both orientations
            for size, name in [(PORTRAIT, "portrait"), (LANDSCAPE, "landscape")]:
                self.orientation(size)
                self.wait(lambda d: self.js("return innerWidth") == size[0], f"the {name} viewport")
                r = self.js("const r = document.getElementById('alarm').getBoundingClientRect();"
                            "return [r.left, r.top, r.width, r.height, innerWidth, innerHeight,"
                            "document.getElementById('alarm').scrollHeight - document.getElementById('alarm').clientHeight]")
                self.assertEqual(r[:4], [0, 0, r[4], r[5]], f"{name}: the alarm does not cover the screen")
                self.assertLessEqual(r[6], 0, f"{name}: the alarm's text overflows")
                top = self.js("const e = document.elementFromPoint(innerWidth / 2, innerHeight / 2); return e && e.closest('#alarm') !== null")
                self.assertTrue(top, f"{name}: something covers the alarm")
                self.shot(f"kiosk-smoke-alarm-{name}.png")
            self.shot("kiosk-smoke-alarm.png")
            # check-in paused: the button says why, a scan is refused with that reason, and the daemon refuses too
            self.assertFalse(d.find_element(By.ID, "btn-checkin").is_enabled())
            self.assertIn("烟雾", d.find_element(By.ID, "checkin-why").get_attribute("textContent"))
            seq = self.js("return document.getElementById('result').dataset.seq || '0'")
            self.type_on_body(CARD + Keys.ENTER)
            type(self).scans += 1
            self.wait(lambda d: d.find_element(By.ID, "result").get_attribute("data-seq") != seq
                      and d.find_element(By.ID, "result").get_attribute("data-kind") == "error", "the scan refused")
            self.assertEqual(d.find_element(By.ID, "result").get_attribute("data-error"), "check_in_paused")
            self.assertIn("烟雾", d.find_element(By.ID, "result-line").text)
            status, out = ctl("checkin", "--category", "courier", input="SMOKE-TEST-1\n", raw=True)
            self.assertNotEqual(status, 0, out)
            self.assertIn("paused", out)
            self.assertEqual(occupancy(), occ0)
        finally:
            sim("release cabinet smoke")
            sim("set cabinet smoke 0")
        self.wait(lambda d: self.js("return document.getElementById('alarm').dataset.level") != "smoke", "the alarm to end")
        self.wait(lambda d: d.find_element(By.ID, "btn-checkin").is_enabled(), "check-in open again")

    def test_40_idle_closes_rider_panel_with_countdown_and_resets_language(self):
        d = self.driver
        occ0 = occupancy()
        self.open_page("?idle=8")  # the page's inactivity limits (60 s, the panel 20 s), shortened for the test
        try:
            def english():
                if self.js("return document.documentElement.lang") != "en":
                    d.find_element(By.ID, "lang-toggle").click()
                self.wait(lambda d: self.js("return document.documentElement.lang") == "en", "English")
            logouts = self.net.count("POST", "/api/logout")
            action, line = self.scan(prepare=english)
            self.assertEqual(action, "checked_in")
            self.assertIn("Welcome", line)
            d.find_element(By.ID, "result").click()  # the rider looks at the panel, then walks away
            self.wait(lambda d: self.view() == "rider", "the rider panel")
            # a visible countdown, going down
            cd = d.find_element(By.ID, "rider-idle")
            self.assertTrue(cd.is_displayed())
            first = int(cd.find_element(By.TAG_NAME, "b").text)
            self.assertLessEqual(first, 8)
            self.wait(lambda d: self.view() != "rider" or int(d.find_element(By.CSS_SELECTOR, "#rider-idle b").text or 99) < first,
                      "the countdown to go down")
            # no touch: the panel closes by itself, the session is given up, and the page is Chinese again
            self.wait(lambda d: self.view() == "home" and self.js("return document.documentElement.lang") == "zh-CN",
                      "the idle timeout to close the panel", timeout=DEADLINE + 10)
            self.wait(lambda d: self.net.count("POST", "/api/logout") > logouts, "POST /api/logout on idle")
            action, _ = self.scan()
            self.assertEqual(action, "checked_out")
        finally:
            self.open_page()
        wait_for(lambda: occupancy() == occ0, DEADLINE, "occupancy back")

    def test_45_daemon_away_disables_check_in_before_typing(self):
        d = self.driver
        if not (DAEMON_PIDFILE and DAEMON_START and CTL):
            loud_skip(self, "KIOSK_DAEMON_PIDFILE / KIOSK_DAEMON_START / WAYSTATIONCTL not set: cannot stop the daemon")
        self.wait(lambda d: d.find_element(By.ID, "btn-checkin").is_enabled(), "check-in open before the test")
        with open(DAEMON_PIDFILE) as f:
            pid = int(f.read().strip())
        os.kill(pid, signal.SIGTERM)
        def gone():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    return f.read().split()[2] == "Z"
            except OSError:
                return True
        wait_for(gone, DEADLINE, "the daemon to stop")
        try:
            # the Check-in button is disabled, with the reason, before anyone types a digit
            self.wait(lambda d: not d.find_element(By.ID, "btn-checkin").is_enabled(), "the check-in button disabled",
                      timeout=DEADLINE + 15)
            self.shot("kiosk-daemon-away.png")
            why = d.find_element(By.ID, "checkin-why")
            self.assertIn("维护", why.get_attribute("textContent"))
            self.assertTrue(why.is_displayed(), "the reason is not on screen")
            r = self.js("const r = arguments[0].getBoundingClientRect(); return [r.bottom, innerHeight]", why)
            self.assertLessEqual(r[0], r[1], "the reason is below the screen")
            d.find_element(By.ID, "btn-checkin").click()
            self.assertEqual(self.view(), "home", "the keypad opened while the daemon is away")
            # the footer says nothing a rider cannot understand ("定时刷新" went)
            self.assertNotIn("定时刷新", d.find_element(By.TAG_NAME, "footer").text)
            self.assertNotIn("定时刷新", d.page_source)
            for sel in ("#btn-checkin", "#checkin-why"):
                r = self.js("const r = document.querySelector(arguments[0]).getBoundingClientRect();"
                            "return [r.bottom, innerHeight]", sel)
                self.assertLessEqual(r[0], r[1] + 0.5, f"{sel} is below the screen")
        finally:
            subprocess.run(["/bin/sh", "-c", DAEMON_START], check=True, timeout=30)

            def online():
                st = ctl("status", check=False)
                devs = find_key(st, "devices") if isinstance(st, dict) else None
                return bool(devs) and all(x.get("state") == "online" for x in devs)
            wait_for(online, DEADLINE + 30, "the daemon and its devices back")
        self.wait(lambda d: d.find_element(By.ID, "btn-checkin").is_enabled(), "check-in back", timeout=DEADLINE + 30)
        self.assertEqual(d.find_element(By.ID, "checkin-why").get_attribute("textContent"), "")

    def test_50_over_capacity_says_full_and_welcome_keeps_numbers_whole(self):
        d = self.driver
        if not CTL:
            loud_skip(self, "WAYSTATIONCTL is not set: cannot fill the station")
        kiosk = http_json("api/kiosk")
        cap = kiosk["station"]["capacity"]
        occ0 = occupancy()
        # Portrait, where the welcome line wraps: a number group ("5 / 12") is never split.
        self.orientation(PORTRAIT)
        action, line = self.scan()
        self.assertEqual(action, "checked_in")
        groups = self.js("""return [...document.querySelectorAll('#result-line .nb')].map(e => [e.textContent, e.getClientRects().length]);""")
        self.assertTrue(groups, "the welcome line has no unbreakable number group")
        for text, rects in groups:
            self.assertEqual(rects, 1, f"{text!r} is broken across lines")
        action, _ = self.scan()
        self.assertEqual(action, "checked_out")
        self.wait(lambda d: self.view() == "home", "home", timeout=DEADLINE + 5)
        self.orientation(LANDSCAPE)
        fillers = [f"FULL{i}{random.randrange(10**8)}" for i in range(cap - occ0 + 2)]
        try:
            for f in fillers:
                ctl("checkin", "--category", "other", input=f + "\n")
            self.wait(lambda d: "已满" in d.find_element(By.ID, "occupancy-line").text, "the occupancy line to say full")
            self.assertNotIn(f"/ {cap}", d.find_element(By.ID, "occupancy-line").text)
            action, line = self.scan()
            self.assertEqual(action, "checked_in")
            self.assertIn("已满", line)
            self.assertNotIn(f"/ {cap}", line)
            action, _ = self.scan()
            self.assertEqual(action, "checked_out")
        finally:
            for f in fillers:
                ctl("checkout", input=f + "\n", check=False)
        wait_for(lambda: occupancy() == occ0, DEADLINE, "occupancy back")
        self.wait(lambda d: self.view() == "home", "home", timeout=DEADLINE + 5)

    def test_55_english_words_not_clipped_in_landscape(self):
        d = self.driver
        self.orientation(LANDSCAPE)
        self.open_page()  # home, whatever an earlier test left on screen
        if self.js("return document.documentElement.lang") != "en":
            d.find_element(By.ID, "lang-toggle").click()
        self.wait(lambda d: self.js("return document.documentElement.lang") == "en", "English")
        try:
            # Each state word a card can show, at its widest, must fit its card.
            clipped = self.js("""const out = [];
                const words = ['Unknown', 'Not cold', 'In use', 'Cold', 'Free'];
                for (const id of ['water-state', 'microwave-state']) {
                  const e = document.getElementById(id), keep = e.textContent;
                  for (const w of words) {
                    e.textContent = w;
                    const card = e.closest('.card').getBoundingClientRect(), r = e.getBoundingClientRect();
                    if (e.scrollWidth > e.clientWidth + 1 || r.right > card.right - 2 || e.getClientRects().length > 1 && !w.includes(' '))
                      out.push(id + ': ' + w);
                  }
                  e.textContent = keep;
                }
                for (const e of document.querySelectorAll('#slots .slot .state, #ac-state')) {
                  if (e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > e.closest('.card').getBoundingClientRect().right)
                    out.push(e.textContent);
                }
                return out;""")
            self.assertEqual(clipped, [], "words clipped in landscape English")
        finally:
            d.find_element(By.ID, "lang-toggle").click()
            self.wait(lambda d: self.js("return document.documentElement.lang") == "zh-CN", "Chinese again")

    def test_60_district_notice_and_balance(self):
        """An enrolled station (run.sh adds [district]): a notice the hub sends (applied through
        DistrictApply, as the uplink will) shows on the kiosk, Chinese first and English with the toggle,
        as text; after a scan, the rider panel shows the district balance the hub sent for that rider."""
        if not varlink("DistrictStatus").get("enrolled"):
            loud_skip(self, "the station is not enrolled ([district] missing from its config)")
        d = self.driver
        title_zh = "本周六免费体检<img src=x onerror=alert(1)>"
        notice = {"id": 901, "title": "Free health check this Saturday", "title_zh": title_zh,
                  "body": "09:00-12:00 at the station", "body_zh": "上午9点到12点，在本站",
                  "from": rfc3339(-3600), "until": rfc3339(86400), "withdrawn": False}
        varlink("DistrictApply", {"changes": {"notices": [notice]}, "cursor": "kiosk-test-1"})
        self.wait(lambda d: d.find_element(By.ID, "card-notices").is_displayed()
                  and title_zh in d.find_element(By.ID, "notices").text,
                  "the district's notice on the kiosk", timeout=DEADLINE + 20)
        self.assertEqual(self.js("return document.querySelectorAll('#notices img, #notices script').length"), 0,
                         "the notice's text became markup")
        self.assertIn("上午9点到12点", d.find_element(By.ID, "notices").text)
        self.layout_checks("with a notice")
        self.orientation(PORTRAIT)
        try:
            self.wait(lambda d: d.find_element(By.ID, "card-notices").is_displayed(), "the notice in portrait")
            self.layout_checks("portrait, with a notice")
            self.shot("kiosk-notice-portrait.png")
        finally:
            self.orientation(LANDSCAPE)
        d.find_element(By.ID, "lang-toggle").click()
        self.wait(lambda d: "Free health check this Saturday" in d.find_element(By.ID, "notices").text,
                  "the notice in English after the toggle")
        d.find_element(By.ID, "lang-toggle").click()
        self.wait(lambda d: title_zh in d.find_element(By.ID, "notices").text, "the notice in Chinese again")
        self.shot("kiosk-notice.png")

        # A scan queues the rider's sealed id; the hub (the test) answers every look-up waiting and
        # sends a balance for each; the open rider panel shows it.
        occ0 = occupancy()
        action, line = self.scan(category="courier")
        self.assertEqual(action, "checked_in", line)
        self.wait_rider_panel()
        out = varlink("DistrictOutgoing")
        self.assertTrue(out["lookups"], "no sealed id waiting after the scan")
        self.assertNotIn(CARD, json.dumps(out), "the raw id went to the uplink")
        riders = [{"ref": x["ref"], "district": "%032x" % (i + 1)} for i, x in enumerate(out["lookups"])]
        varlink("DistrictAccepted", {"riders": riders})
        balances = [{"rider": r["district"], "balance": 42,
                     "recent": [{"at": rfc3339(), "points": 5, "why": "上报核实"}]} for r in riders]
        varlink("DistrictApply", {"changes": {"balances": balances}, "cursor": "kiosk-test-2"})
        self.wait(lambda d: d.find_element(By.ID, "rider-points").get_attribute("data-source") == "district"
                  and d.find_element(By.ID, "rider-points").text.strip() == "42",
                  "the district balance on the rider panel", timeout=DEADLINE + 10)
        self.assertIn("上报核实", d.find_element(By.ID, "rider-dentries").text)
        self.assertFalse(d.find_element(By.ID, "rider-lastknown").is_displayed(), "a fresh balance marked last known")
        self.shot("kiosk-district-balance.png")
        self.done()
        action, line = self.scan()
        self.assertEqual(action, "checked_out", line)
        wait_for(lambda: occupancy() == occ0, DEADLINE, "occupancy back (waystationctl status)")
        self.wait(lambda d: self.view() == "home", "home after the goodbye", timeout=DEADLINE + 5)

        # Withdrawn: gone from the kiosk.
        notice["withdrawn"] = True
        varlink("DistrictApply", {"changes": {"notices": [notice]}, "cursor": "kiosk-test-3"})
        self.wait(lambda d: not d.find_element(By.ID, "card-notices").is_displayed(),
                  "the withdrawn notice gone", timeout=DEADLINE + 20)

    def test_90_raw_id_not_in_page_storage_console_or_replies(self):
        d = self.driver
        if not self.scans:
            self.fail("no scan happened in this run: nothing to check")
        self.net.drain()
        self.assertNotIn(CARD, d.page_source)
        self.assertNotIn(CARD, d.current_url)
        stored = self.js("""const o = {cookie: document.cookie, local: {}, session: {}};
            for (let i = 0; i < localStorage.length; i++) { const k = localStorage.key(i); o.local[k] = localStorage.getItem(k); }
            for (let i = 0; i < sessionStorage.length; i++) { const k = sessionStorage.key(i); o.session[k] = sessionStorage.getItem(k); }
            return JSON.stringify(o);""")
        self.assertNotIn(CARD, stored)
        cookies = json.dumps(d.get_cookies())
        self.assertNotIn(CARD, cookies)
        console = json.dumps(d.get_log("browser"))
        self.assertNotIn(CARD, console, "the raw id was written to the console")
        self.assertGreater(len(self.net.bodies), 0, "no reply bodies were captured")
        leaked = [r[:200] for r in SEEN_REPLIES if CARD in r]
        self.assertEqual(leaked, [], "the raw id came back in a reply")

    def test_91_raw_id_not_in_state_or_logs(self):
        if not STATE_DIRS:
            loud_skip(self, "KIOSK_STATE_DIRS is not set: cannot search the daemon's files for the raw id")
        needles = [CARD.encode(), CARD.encode("utf-16-le")]
        searched, hits = 0, []
        for top in STATE_DIRS:
            self.assertTrue(os.path.exists(top), f"KIOSK_STATE_DIRS names a missing path: {top}")
            paths = [top] if os.path.isfile(top) else [os.path.join(r, f) for r, _, fs in os.walk(top) for f in fs]
            for path in paths:
                if not os.path.isfile(path):
                    continue  # sockets, fifos
                with open(path, "rb") as f:
                    data = f.read()
                searched += 1
                if any(n in data for n in needles):
                    hits.append(path)
        self.assertGreater(searched, 0, "no files found under KIOSK_STATE_DIRS")
        sys.stderr.write(f"\n  searched {searched} files under {':'.join(STATE_DIRS)} for the raw id\n")
        self.assertEqual(hits, [], "the raw id is stored in these files")

    def test_95_page_requests_only_loopback(self):
        # How: Chrome's DevTools performance log (goog:loggingPrefs performance=ALL) records every request
        # the page makes (Network.requestWillBeSent), whether it would succeed or not. We list them all
        # and require every http(s)/ws(s) host to be loopback; data:, blob: and about: URLs load nothing
        # from the network. The page's own CSP (connect-src 'self', default-src 'none') would also block
        # any other origin; this test checks the page asks for none in the first place.
        self.net.drain()
        urls = [u for _, u in self.net.requests]
        self.assertTrue(any(urllib.parse.urlsplit(u).path == "/api/kiosk" for u in urls), "no request seen at all?")
        outside = []
        for u in urls:
            parts = urllib.parse.urlsplit(u)
            if parts.scheme in ("data", "blob", "about"):
                continue
            host = parts.hostname or ""
            if parts.scheme not in ("http", "https", "ws", "wss") or not (host in LOOPBACK_HOSTS or host.startswith("127.")):
                outside.append(u)
        self.assertEqual(outside, [], "the page made requests outside loopback")
        # and nothing in the page refers to another origin for a later load
        src = self.driver.page_source
        refs = re.findall(r"""(?:src|href|action|poster)\s*=\s*["']?\s*(?:https?:)?//[^"'\s>]+|url\(\s*["']?(?:https?:)?//[^)]+|@import""", src)
        refs = [r for r in refs if not re.search(r"//(127\.|localhost|\[::1\])", r)]
        self.assertEqual(refs, [], "the page refers to other origins")
        sys.stderr.write(f"\n  {len(urls)} requests, all to loopback\n")


if __name__ == "__main__":
    missing = [n for n, v in [("WAYSTATIONCTL", CTL), ("SIM_SOCKET", SIM_SOCKET), ("KIOSK_STATE_DIRS", STATE_DIRS)] if not v]
    if missing:
        sys.stderr.write(f"NOTE: {', '.join(missing)} not set: the tests that need them will be SKIPPED\n")
    sys.stderr.write(f"kiosk tests against {KIOSK_URL}\n")
    prog = unittest.main(verbosity=2, exit=False)
    r = prog.result
    failed = len(r.failures) + len(r.errors) + len(r.unexpectedSuccesses)
    skipped = len(r.skipped)
    passed = r.testsRun - failed - skipped
    print(f"kiosk: {passed} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed or r.testsRun == 0 else 0)
