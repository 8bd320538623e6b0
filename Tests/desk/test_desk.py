#!/usr/bin/env python3
"""Browser tests of the district desk (issue 23): the real desk of `waystation-district` in headless
Chromium, driven by Selenium, against a real stack (Tests/desk/run.py brings it up and sets these):

  DESK_URL                the desk, https://127.0.0.1:PORT/desk/ (its certificate: DESK_CA)
  DESK_CA                 the district CA (PEM) the hub's certificate chains to
  DESK_ADMIN, DESK_STAFF, DESK_VIEWER (+ _PASSWORD)  staff with the roles admin, desk and viewer
  DESK_STATION_A, DESK_STATION_B   the two stations' ids
  DESK_KIOSK_A, DESK_KIOSK_B       their kiosks (waystation-web), http://127.0.0.1:PORT/
  DESK_SIM_A, DESK_SIM_B           their simulators' control sockets
  DESK_CTL_A, DESK_CTL_B           waystationctl command prefixes for them (`... --socket PATH`)
  DESK_AM_URL, DESK_AM_CA, DESK_AM_CERT, DESK_AM_KEY  the district Alertmanager and a client certificate
  DESK_PROMETHEUS         the district Prometheus (same client certificate; for failure messages)
  DESK_SCREENSHOTS        a directory for desk-{fleet,station,reports}-{zh,en}-{laptop,phone}.png
  DESK_DEADLINE           seconds to wait for something the stack carries (default 90)
  CHROMIUM, CHROMEDRIVER  binaries (default Debian's /usr/bin/chromium, /usr/bin/chromedriver)

What a district would notice if it broke: staff log in; the fleet shows station A's warm fridge and its
slots cut for smoke (the simulator's doing); a hazard reported at A's kiosk shows in the queue, the desk
verifies it and the rider's district balance shows at B's kiosk; a notice published at the desk shows on
A's kiosk page; a silence made at the desk is in the real Alertmanager, and expired from the desk it is
expired there; a viewer sees the queue but cannot verify (no form, and a forged POST is 403); the
language toggle gives English; report notes with markup show as text. One browser for the whole run; the
tests run in name order. No fixed sleeps: every wait has a deadline.
"""
import datetime
import json
import os
import random
import shlex
import socket
import ssl
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import zoneinfo

from selenium import webdriver
from selenium.common.exceptions import (NoAlertPresentException, NoSuchElementException,
                                        StaleElementReferenceException, TimeoutException, WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait


def env(name, default=None):
    v = os.environ.get(name, "").strip()
    if not v and default is None:
        raise SystemExit(f"test_desk.py: {name} is not set (Tests/desk/run.py sets it)")
    return v or default


DESK = env("DESK_URL")
if not DESK.endswith("/"):
    DESK += "/"
CA = env("DESK_CA")
STAFF = {role: (env(f"DESK_{role.upper()}"), env(f"DESK_{role.upper()}_PASSWORD"))
         for role in ("admin", "staff", "viewer")}
A, B = env("DESK_STATION_A"), env("DESK_STATION_B")
KIOSK_A, KIOSK_B = env("DESK_KIOSK_A"), env("DESK_KIOSK_B")
SIM_A = env("DESK_SIM_A")
CTL_A = env("DESK_CTL_A")
AM = env("DESK_AM_URL").rstrip("/")
PROMETHEUS = env("DESK_PROMETHEUS", "-")
SHOTS = env("DESK_SCREENSHOTS", "-")
SHOTS = "" if SHOTS == "-" else SHOTS
DEADLINE = float(env("DESK_DEADLINE", "90"))
CHROMIUM = env("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = env("CHROMEDRIVER", "/usr/bin/chromedriver")
ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")  # the district's zone (hublib's hub.toml)

LAPTOP, PHONE = (1440, 900), (390, 844)
TAG = "%06d" % random.SystemRandom().randrange(10**6)  # this run's reports, notice and silence
PLACE = f"汉阳大道 {TAG} 号 公交站"  # the report the desk verifies
XSS_NOTES = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]
XSS_PLACE = f"Test corner {TAG}"


def rider_id():
    n = random.SystemRandom().randrange(10**8)
    return f"139 {n // 10**4:04d} {n % 10**4:04d}"


RIDER = rider_id()  # reports at A, is verified, shows the balance at B
XSS_RIDER = rider_id()

_tls = ssl.create_default_context(cafile=CA)
_am_tls = ssl.create_default_context(cafile=env("DESK_AM_CA"))
_am_tls.load_cert_chain(env("DESK_AM_CERT"), env("DESK_AM_KEY"))


def wait_for(predicate, timeout, what, interval=0.5):
    """Polls predicate until it returns something truthy or the deadline passes (then fails, with the last
    value seen)."""
    end = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = predicate()
        except (OSError, ValueError, KeyError, urllib.error.URLError) as e:
            last = f"{type(e).__name__}: {e}"
        else:
            if last:
                return last
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")
        time.sleep(interval)


# ---- the world outside the browser ------------------------------------------------------------------
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kw):
        return None


def http(method, url, body=None, headers=None, context=None, redirect=True):
    """(status, headers, body text) of one request; an HTTP error status is returned, not raised."""
    data = None
    hdrs = dict(headers or {})
    if isinstance(body, dict) and hdrs.get("Content-Type") == "application/x-www-form-urlencoded":
        data = urllib.parse.urlencode(body).encode()
    elif body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    handlers = [urllib.request.HTTPSHandler(context=context)] if context else []
    if not redirect:
        handlers.append(NoRedirect())
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, r.headers, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode(errors="replace")


def kiosk(base, method, path, body=None):
    status, _, text = http(method, base + path, body)
    try:
        return status, json.loads(text)
    except ValueError:
        return status, {"raw": text}


def scan(base, rider):
    """A rider's scan at a kiosk (POST /api/scan, as the kiosk page sends it); returns the session. Waits
    out a rate limit."""
    def once():
        status, r = kiosk(base, "POST", "api/scan", {"id": rider, "category": "food_delivery"})
        if status == 200 and r.get("session"):
            return r["session"]
        if status == 429:
            return None
        raise AssertionError(f"scan at {base} refused: HTTP {status} {r}")
    return wait_for(once, 60, f"a scan at {base} (rate limit)", interval=1)


def report(base, rider, category, location, note):
    session = scan(base, rider)
    status, r = kiosk(base, "POST", "api/report", {"session": session, "category": category,
                                                  "location": location, "note": note})
    assert status == 200, f"report at {base} refused: HTTP {status} {r}"
    return r


def sim(sock, line):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(sock)
        s.sendall(line.encode() + b"\n")
        s.shutdown(socket.SHUT_WR)
        reply = s.recv(4096).decode(errors="replace").strip()
    assert not reply.startswith("error"), f"simulator: {line}: {reply}"
    return reply


def ctl(prefix, *argv):
    p = subprocess.run(shlex.split(prefix) + list(argv) + ["--json"], capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise AssertionError(f"waystationctl {' '.join(argv)}: {p.stderr.strip() or p.stdout.strip()}")
    return json.loads(p.stdout)


def am_silences():
    status, _, text = http("GET", AM + "/api/v2/silences", context=_am_tls)
    assert status == 200, f"Alertmanager /api/v2/silences: HTTP {status}"
    return json.loads(text)


def prom(expr):
    """What the district Prometheus says (for failure messages)."""
    if PROMETHEUS == "-":
        return "?"
    try:
        status, _, text = http("GET", PROMETHEUS + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}),
                               context=_am_tls)
        return [(r["metric"].get("station"), r["metric"].get("slot"), r["metric"].get("reason"), r["value"][1])
                for r in json.loads(text)["data"]["result"]]
    except (OSError, ValueError, KeyError) as e:
        return f"{type(e).__name__}: {e}"


# ---- the browser ------------------------------------------------------------------------------------
def make_driver():
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ["--headless=new", "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1",
              "--disable-dev-shm-usage", f"--window-size={LAPTOP[0]},{LAPTOP[1]}", "--no-first-run",
              "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--disable-default-apps", "--disable-extensions", "--lang=zh-CN",
              "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication"]:
        o.add_argument(a)
    if os.geteuid() == 0:
        o.add_argument("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    # The hub's certificate is of the throwaway district CA, which this browser does not know.
    o.accept_insecure_certs = True
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=o)


class DeskTest(unittest.TestCase):
    """One browser for the whole run; the tests run in name order."""

    @classmethod
    def setUpClass(cls):
        # The station's side first, so that it travels (sync every 5 s, agent every 5 s) while we log in:
        # a rider reports an open manhole at A's kiosk, another one two notes with markup in them; then A's
        # fridge warms to 12 °C and its cabinet smells smoke (every slot latched off for smoke).
        report(KIOSK_A, RIDER, "manhole_cover", PLACE, "井盖不见了 lid gone")
        for note in XSS_NOTES:
            report(KIOSK_A, XSS_RIDER, "fallen_cable", XSS_PLACE, note)
        sim(SIM_A, "hold fridge cabinet_temp 12")
        sim(SIM_A, "hold cabinet smoke 1")
        cls.driver = make_driver()
        cls.user = None
        cls.size(LAPTOP)

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()

    # -- helpers -------------------------------------------------------------------------------------
    @classmethod
    def size(cls, wh, mobile=False):
        cls.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": wh[0], "height": wh[1], "deviceScaleFactor": 1, "mobile": mobile})

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def go(self, path):
        self.driver.get(urllib.parse.urljoin(DESK, path))
        self.no_alert()

    def path(self):
        return urllib.parse.urlsplit(self.driver.current_url).path

    def wait(self, cond, what, timeout=15):
        """Waits for cond(driver); on the deadline fails naming `what`, with the page's address and text."""
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.2,
                                 ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)
                                 ).until(cond, what)
        except TimeoutException:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; on {self.driver.current_url}:\n"
                                 + self.page_text()[:800]) from None

    def css(self, sel, within=None):
        return (within or self.driver).find_elements(By.CSS_SELECTOR, sel)

    def one(self, sel, within=None):
        found = self.css(sel, within)
        self.assertTrue(found, f"no {sel} on {self.driver.current_url}:\n{self.page_text()[:600]}")
        return found[0]

    def page_text(self):
        try:
            return self.driver.find_element(By.TAG_NAME, "body").text
        except WebDriverException:
            return ""

    def no_alert(self):
        try:
            text = self.driver.switch_to.alert.text
        except NoAlertPresentException:
            return
        self.driver.switch_to.alert.dismiss()
        self.fail(f"a JavaScript alert opened: {text!r} (markup from a report ran)")

    def reload_until(self, path, cond, what, timeout=DEADLINE):
        """Loads path again and again (the desk is server-rendered) until cond(driver) is truthy."""
        end = time.monotonic() + timeout
        while True:
            self.go(path)
            try:
                return self.wait(cond, what, timeout=3)
            except AssertionError:
                if time.monotonic() > end:
                    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} on {path}:\n"
                                         + self.page_text()[:800]) from None

    def submit(self, form, what):
        """Submits a form (its submit button) and waits for the page after the redirect; returns its
        flash text. Fails with the page's error when there is no `p.flash`."""
        button = self.css("[type=submit]", form)
        if button:
            button[0].click()
        else:
            self.js("arguments[0].requestSubmit()", form)
        self.wait(lambda d: self.is_stale(form), f"the page after {what}")
        self.no_alert()
        flash = self.css("p.flash")
        self.assertTrue(flash, f"{what}: no p.flash on {self.driver.current_url}:\n{self.page_text()[:800]}")
        return flash[0].text

    @staticmethod
    def is_stale(element):
        try:
            element.is_enabled()
            return False
        except StaleElementReferenceException:
            return True

    def fill(self, form, name, value):
        field = self.one(f"[name={name}]", form)
        if field.tag_name == "select":
            Select(field).select_by_value(value)
        elif field.get_attribute("type") in ("datetime-local", "date", "time", "hidden"):
            self.js("arguments[0].value = arguments[1]", field, value)
        else:
            field.clear()
            field.send_keys(value)

    def login(self, role):
        """Logs in as the staff member with that role (out first, when someone else is)."""
        name, password = STAFF[role]
        if type(self).user == name:
            return
        if type(self).user:
            self.logout()
        self.go("login")
        form = self.one("form#login")
        self.fill(form, "name", name)
        self.fill(form, "password", password)
        self.one("[type=submit]", form).click()
        self.wait(lambda d: self.css("span#whoami"), f"the desk after logging in as {name}")
        self.assertIn(name, self.one("span#whoami").text)
        type(self).user = name

    def logout(self):
        self.go("fleet")
        form = self.one("form#logout")
        button = self.css("[type=submit]", form)
        if button:
            button[0].click()
        else:
            self.js("arguments[0].requestSubmit()", form)
        self.wait(lambda d: self.css("form#login"), "the login page after logging out")
        type(self).user = None

    def csrf(self):
        fields = self.css("form#logout input[name=csrf]") or self.css("input[name=csrf]")
        self.assertTrue(fields, "no CSRF token (input[name=csrf]) on the page")
        return fields[0].get_attribute("value")

    def row(self, table, text):
        """The first `table tbody tr` whose text contains `text`, or None."""
        for tr in self.css(f"{table} tbody tr"):
            if text in tr.text:
                return tr
        return None

    def canvas_drawn(self, sel):
        return self.js("""const c = document.querySelector(arguments[0]);
            if (!c || !c.width || !c.height) return false;
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            for (let i = 3; i < d.length; i += 4 * 7) if (d[i] !== 0) return true;
            return false;""", sel)

    def shot(self, name):
        if SHOTS:
            os.makedirs(SHOTS, exist_ok=True)
            self.driver.save_screenshot(os.path.join(SHOTS, name))

    # -- the tests -----------------------------------------------------------------------------------
    def test_10_login(self):
        """Without a session the desk sends to its login page; a wrong password is refused with an error,
        the right one lands on the fleet with the name and role shown; an admin sees users and audit."""
        # Without a session: a page redirects to the log-in, the API and a change answer 401.
        status, headers, _ = http("GET", DESK + "fleet", context=_tls, redirect=False)
        self.assertEqual((status, urllib.parse.urlsplit(headers.get("Location", "")).path), (303, "/desk/login"))
        status, _, _ = http("GET", DESK + f"api/stations/{A}/series?chart=room&hours=24", context=_tls, redirect=False)
        self.assertEqual(status, 401, "the series API without a session")
        status, _, _ = http("POST", DESK + "reports/1/verify", {"note": "x"}, context=_tls, redirect=False,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 401, "a verify without a session")
        self.go("")
        self.wait(lambda d: self.css("form#login"), "the login form for /desk/ without a session")
        self.assertTrue(self.path().endswith("/desk/login"), self.driver.current_url)
        form = self.one("form#login")
        self.fill(form, "name", STAFF["admin"][0])
        self.fill(form, "password", "not the password")
        self.one("[type=submit]", form).click()
        self.wait(lambda d: self.css("p.error"), "an error for a wrong password")
        self.assertFalse(self.css("span#whoami"))
        self.login("admin")
        self.assertTrue(self.path().startswith("/desk/fleet"), self.driver.current_url)
        self.assertIn(self.js("return document.documentElement.lang"), ("zh-CN", "zh"))
        nav = {a.get_attribute("data-nav") for a in self.css("nav#nav a[data-nav]")}
        self.assertTrue({"fleet", "alerts", "reports", "notices", "users", "audit"} <= nav, nav)
        self.login("staff")
        nav = {a.get_attribute("data-nav") for a in self.css("nav#nav a[data-nav]")}
        self.assertNotIn("users", nav)
        self.assertNotIn("audit", nav)

    def test_20_fleet_warm_fridge_and_smoke(self):
        """Station A: fridge at 12 °C (data-warm=1) and its slots cut for smoke, its row marked bad;
        station B listed too, not warm."""
        self.login("staff")
        warm = f'tr[data-station="{A}"] td[data-col=fridge][data-warm="1"]'
        smoke = f'tr[data-station="{A}"] td[data-col=slots] span.slot[data-kind=smoke]'
        try:
            self.reload_until("fleet", lambda d: self.css(warm) and self.css(smoke),
                              f"{A}'s warm fridge and smoke-cut slots in table#fleet")
        except AssertionError as e:
            fridge = prom('waystation_point_value{point="cabinet_temp"}')
            slots = prom("waystation_slot_interlocked == 1")
            raise AssertionError(f"{e}\nPrometheus: fridge {fridge}, slots {slots}") from None
        row = self.one(f'table#fleet tbody tr[data-station="{A}"]')
        self.assertIn("bad", row.get_attribute("class").split())
        self.assertIn("12", self.one("td[data-col=fridge]", row).text)
        self.assertTrue(self.css("td[data-col=name] a", row), "the station's name links to its page")
        for col in ("name", "address", "online", "devices_offline", "fridge", "slots", "riders_today",
                    "pending_reports", "undelivered"):
            self.assertTrue(self.css(f"td[data-col={col}]", row), f"no td[data-col={col}] in {A}'s row")
        self.assertGreaterEqual(len(self.css("span.slot[data-kind=smoke]", row)), 1)
        b = self.one(f'table#fleet tbody tr[data-station="{B}"]')
        self.assertNotEqual(self.one("td[data-col=fridge]", b).get_attribute("data-warm"), "1")
        rows = [tr.get_attribute("data-station") for tr in self.css("table#fleet tbody tr[data-station]")]
        self.assertLess(rows.index(A), rows.index(B), f"the worst first: {rows}")

    def test_30_station_page(self):
        """A's page: its name, details and five charts drawn from Prometheus (the fridge at 12 °C in its
        series), and its active alerts."""
        self.login("staff")
        self.go("fleet")
        self.one(f'table#fleet tbody tr[data-station="{A}"] td[data-col=name] a').click()
        self.wait(lambda d: self.css("h1#station-name"), "the station page")
        self.assertTrue(self.path().endswith(f"/desk/stations/{A}"), self.driver.current_url)
        self.assertTrue(self.css("dl#station-details"))
        for c in ("room", "fridge", "slots", "occupancy", "power"):
            self.assertTrue(self.one(f"canvas#chart-{c}").get_attribute("data-series"), f"#chart-{c} data-series")
        url = self.one("canvas#chart-fridge").get_attribute("data-series")

        def fridge_series():
            return self.js("return fetch(arguments[0], {credentials: 'same-origin'})"
                           ".then(r => r.text().then(t => [r.status, t]))", url)

        def twelve():
            status, text = fridge_series()
            if status != 200:
                return None
            body = json.loads(text)
            return any(abs(float(p[1]) - 12) < 0.01 for s in body.get("series", []) for p in s.get("points", []))
        wait_for(twelve, DEADLINE, f"12 °C in the fridge chart's series ({url})", interval=2)
        body = json.loads(fridge_series()[1])
        self.assertEqual(body.get("unit"), "celsius", body)
        self.reload_until(f"stations/{A}", lambda d: all(self.canvas_drawn(f"#chart-{c}") for c in ("room", "fridge")),
                          "the room and fridge charts drawn", timeout=30)
        self.reload_until(f"stations/{A}", lambda d: self.css("ul#station-alerts li.alert"),
                          f"{A}'s alerts (its fridge, its smoke) from Alertmanager")

    def test_40_report_verified_balance_at_b(self):
        """The report made at A's kiosk is in the queue; the desk verifies it; the rider's district balance
        (7, the manhole category's points) shows at B's kiosk."""
        self.login("staff")
        self.reload_until("reports", lambda d: self.row("table#reports", PLACE), "the kiosk's report in table#reports")
        tr = self.row("table#reports", PLACE)
        rid = tr.get_attribute("data-report")
        self.assertTrue(rid, "the report's row has no data-report")
        self.assertIn(A, self.one("td.station", tr).text)
        self.assertTrue(self.one("td.category", tr).text.strip())
        form = self.one("form.verify", tr)
        self.fill(form, "note", "已派人 crew sent")
        self.submit(form, "verify")
        self.assertIsNone(self.row("table#reports", PLACE), "the verified report is still pending")
        self.go("reports?status=verified")
        self.assertTrue(self.css(f'table#reports tbody tr[data-report="{rid}"]'), "not among the verified")
        self.no_alert()

        session = {"s": scan(KIOSK_B, RIDER)}

        def balance_at_b():
            status, r = kiosk(KIOSK_B, "GET", "api/rider?session=" + session["s"])
            if status == 401:  # the kiosk session ended: the rider scans again
                session["s"] = scan(KIOSK_B, RIDER)
                return None
            return (r.get("district") or {}).get("balance") == 7 and r
        wait_for(balance_at_b, DEADLINE, "the rider's district balance 7 at station B's kiosk", interval=1)

    def test_50_notice_on_kiosk(self):
        """A notice published at the desk (all stations) shows on A's kiosk page."""
        self.login("staff")
        self.go("notices")
        form = self.one("form#notice-new")
        title_zh, title = f"社区义诊 {TAG}", f"Free clinic {TAG}"
        now = datetime.datetime.now(ZONE)
        for name, value in (("title_zh", title_zh), ("title", title), ("body_zh", "周六上午，社区卫生服务中心。"),
                            ("body", "Saturday morning, community health centre."),
                            ("valid_from", (now - datetime.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")),
                            ("valid_until", (now + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))):
            self.fill(form, name, value)
        self.submit(form, "publishing a notice")
        self.assertTrue(self.row("table#notices", title_zh) or self.row("table#notices", title),
                        "the notice is not in table#notices")
        self.driver.get(KIOSK_A)
        wait_for(lambda: any(title_zh in (li.get_attribute("textContent") or "")
                             for li in self.css("#notices li")),
                 DEADLINE, "the desk's notice in #notices li on A's kiosk page")

    def test_60_silence_in_alertmanager(self):
        """A silence made at the desk is in Alertmanager, by the staff member; expired at the desk, it is
        expired there."""
        self.login("staff")
        self.go("alerts")
        form = self.one("form#silence-new")
        comment = f"fridge repair visit {TAG}"
        self.fill(form, "station", A)
        self.fill(form, "alertname", "FridgeTooWarm")
        self.fill(form, "hours", "2")
        self.fill(form, "comment", comment)
        self.submit(form, "creating a silence")
        mine = wait_for(lambda: [s for s in am_silences() if s.get("comment") == comment], 15,
                        "the silence in Alertmanager's /api/v2/silences")
        self.assertEqual(len(mine), 1, mine)
        s = mine[0]
        self.assertEqual(s["status"]["state"], "active", s)
        self.assertEqual(s["createdBy"], STAFF["staff"][0])
        matchers = {m["name"]: m for m in s["matchers"]}
        self.assertEqual(matchers["station"]["value"], A)
        self.assertFalse(matchers["station"]["isRegex"])
        self.assertTrue(matchers["station"].get("isEqual", True))
        self.assertEqual(matchers["alertname"]["value"], "FridgeTooWarm")
        self.go("alerts")
        tr = self.one(f'table#silences tr[data-silence="{s["id"]}"]')
        self.assertIn(comment, tr.text)
        self.submit(self.one("form.expire", tr), "expiring the silence")
        wait_for(lambda: [x for x in am_silences() if x["id"] == s["id"] and x["status"]["state"] == "expired"],
                 15, "the silence expired in Alertmanager")
        self.assertFalse(self.css(f'table#silences tr[data-silence="{s["id"]}"]'), "the expired silence is listed")

    def test_70_viewer_cannot_verify(self):
        """A viewer sees the queue but no verify form, and a verify POST with the viewer's own session and
        CSRF token is refused (403); the report stays pending."""
        self.login("viewer")
        self.reload_until("reports", lambda d: self.row("table#reports", XSS_PLACE), "the pending reports, as a viewer")
        tr = self.row("table#reports", XSS_PLACE)
        rid = tr.get_attribute("data-report")
        self.assertFalse(self.css("form.verify, form.reject"), "a viewer has verify/reject forms")
        cookie = self.driver.get_cookie("desk_session")
        self.assertTrue(cookie and cookie.get("httpOnly") and cookie.get("secure"), f"desk_session cookie: {cookie}")
        status, _, text = http("POST", urllib.parse.urljoin(DESK, f"reports/{rid}/verify"),
                               {"csrf": self.csrf(), "note": "a viewer tries"}, context=_tls, redirect=False,
                               headers={"Content-Type": "application/x-www-form-urlencoded",
                                        "Cookie": f"desk_session={cookie['value']}"})
        self.assertEqual(status, 403, f"a viewer's verify: HTTP {status}: {text[:300]}")
        self.go("reports")
        self.assertTrue(self.css(f'table#reports tbody tr[data-report="{rid}"]'), "the report left the pending queue")
        self.go("users")
        self.assertTrue(self.css("p#forbidden"), "a viewer reached the users page")

    def test_80_markup_in_notes_is_text(self):
        """Report notes with markup show as their text on the queue: no script ran, no image made."""
        self.login("staff")
        self.reload_until("reports", lambda d: len([tr for tr in self.css("table#reports tbody tr")
                                                    if XSS_PLACE in tr.text]) >= 2, "both marked-up notes")
        self.no_alert()
        notes = [self.one("td.note", tr).text for tr in self.css("table#reports tbody tr") if XSS_PLACE in tr.text]
        for n in XSS_NOTES:
            self.assertIn(n, notes, "a note's markup is not shown as text")
        self.assertEqual(self.js("return document.querySelectorAll('#reports img, #reports td script').length"), 0)

    def test_85_audit(self):
        """The admin's audit log has the verdict with who gave it."""
        self.login("admin")
        self.go("audit")
        rows = [(self.one("td.staff", tr).text, self.one("td.action", tr).text)
                for tr in self.css("table#audit tbody tr")]
        self.assertIn((STAFF["staff"][0], "report.verify"), rows)
        self.assertIn((STAFF["staff"][0], "silence.add"), rows)

    def test_90_english_phone_and_screenshots(self):
        """The language toggle gives English (html[lang=en]) and back; the fleet, A's page and the reports
        fit a phone's width in both languages; screenshots of them at laptop and phone size
        (DESK_SCREENSHOTS)."""
        self.login("staff")
        self.go("fleet")
        self.screens("zh")
        self.one("a#lang-toggle").click()
        self.wait(lambda d: self.js("return document.documentElement.lang") == "en", "html[lang=en]")
        self.assertIn("Fleet", self.page_text() + self.one("nav#nav").text)
        self.screens("en")
        self.one("a#lang-toggle").click()
        self.wait(lambda d: self.js("return document.documentElement.lang").startswith("zh"), "Chinese again")

    def test_95_no_policy_violations(self):
        """Nothing the desk's pages did was refused by their Content-Security-Policy (an inline script or
        style would be: the charts would not draw, the layout would break)."""
        host = urllib.parse.urlsplit(DESK).netloc
        try:
            entries = self.driver.get_log("browser")
        except WebDriverException as e:
            self.skipTest(f"no browser log: {e}")
        bad = [x["message"] for x in entries if host in x.get("message", "")
               and ("Content Security Policy" in x["message"] or "Refused to" in x["message"])]
        self.assertEqual(bad, [], "CSP violations on the desk")

    def screens(self, lang):
        """The fleet, A's page and the reports at laptop and phone size: none scrolls sideways (a table may
        scroll inside its own box); screenshots when DESK_SCREENSHOTS is set."""
        for size, wh in (("laptop", LAPTOP), ("phone", PHONE)):
            self.size(wh, mobile=size == "phone")
            try:
                for name, page, ready, what in (
                        ("fleet", "fleet", lambda d: self.css(f'table#fleet tr[data-station="{A}"]'), "the fleet"),
                        ("station", f"stations/{A}",
                         lambda d: all(self.canvas_drawn(f"#chart-{c}") for c in ("room", "fridge", "slots")),
                         "the charts drawn"),
                        ("reports", "reports", lambda d: self.css("table#reports tbody tr"), "the reports")):
                    self.go(page)
                    self.wait(ready, f"{what} ({lang}, {size})", timeout=20)
                    width = self.js("return [document.documentElement.scrollWidth, innerWidth]")
                    self.assertLessEqual(width[0], width[1] + 1, f"/desk/{page} scrolls sideways at {size} size ({lang})")
                    if name == "station" and size == "phone":  # the charts, below the details and alerts
                        self.js("document.querySelector('#chart-room').scrollIntoView({block: 'start'})")
                    self.shot(f"desk-{name}-{lang}-{size}.png")
            finally:
                self.size(LAPTOP)

if __name__ == "__main__":
    unittest.main()
