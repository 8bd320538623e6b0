#!/usr/bin/env python3
"""The waystation Debian package under a real systemd.

Installs the .deb into a fresh Debian bookworm root the way station images are built (`chroot ROOT
dpkg -i`, no /proc mounted) and checks it is configured fully, then boots that root (systemd 252 as
PID 1) in systemd-nspawn, runs waystation-sim inside, and checks the units through systemctl, journalctl and waystationctl:
install, socket activation, READY and STATUS, devices online over Modbus TCP and over an RTU
line through a pty owned root:dialout 0660, reload good and bad, a ttyUSB node made after the
service started, the socket alive after stop and restart, the watchdog replacing a SIGSTOPped
daemon, a broken config failing with status 78 and not restarted, the log's fields in the journal
(DEVICE=, MESSAGE_ID=), systemd-analyze security, upgrade in place, reboot, and purge with and
without the database, and an install on the running system; and waystation-web.service (a dynamic user in the kiosk group): the kiosk page, /metrics
and a check-in and a hazard report through its API, on loopback inside the container.

    Tests/system/systemtest.py --deb build/waystation_0.1.0-1_amd64.deb

Needs root, systemd-nspawn (systemd-container), debootstrap and nsenter (util-linux). The root
file system is made once with debootstrap --variant=minbase and kept in
$WAYSTATION_SYSTEMTEST_CACHE (default /var/cache/waystation-systemtest) and never changed; every
run installs into and boots a fresh copy of it (an overlay whose upper layer is the run's own). The host needs no systemd or D-Bus: nspawn runs with --register=no --keep-unit in
a cgroup of its own. The container gets the unified cgroup hierarchy
(SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1) and the bpf() system call (--system-call-filter=bpf), without
which systemd cannot enforce DeviceAllow= and every device rule silently allows everything.

Prints PASS or FAIL per check and "N passed, M failed"; exits 1 on any failure.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CACHE = os.environ.get("WAYSTATION_SYSTEMTEST_CACHE", "/var/cache/waystation-systemtest")
MIRROR = os.environ.get("WAYSTATION_SYSTEMTEST_MIRROR", "http://deb.debian.org/debian")
SUITE = "bookworm"
# What the checks use inside the container, besides the package's own dependencies.
BASE_PACKAGES = ["systemd", "systemd-sysv", "dbus", "libmodbus5", "libsqlite3-0", "socat", "procps", "python3"]
MACHINE = "ws-systemtest"
CONTAINER_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
DEBS_INSIDE = "/srv/waystation-debs"
WATCHDOG_SEC = 5
SIM_PORT = 1502
WEB_PORT = 8480
RIDER = "SYSTEMTEST-RIDER-0001"
# What a card reader types at the kiosk (letters and digits only).
WEB_RIDER = "SYSTEMTESTWEB0002"
# The daemon's journal MESSAGE_IDs (Sources/WaystationCore/JournalMessageID.swift, README).
MESSAGE_ID_DEVICE_STATE = "d15fa1fafe684c5eb95ff58512d6ae65"
# sysexits.h's EX_CONFIG: waystationd's exit status on a config it cannot use.
EX_CONFIG = 78
# systemd's range for DynamicUser= uids.
DYNAMIC_UIDS = range(61184, 65520)


def log(text):
    print(text, flush=True)


def host(cmd, timeout=600, check=True, **kw):
    return subprocess.run(cmd, text=True, capture_output=True, timeout=timeout, check=check, **kw)


# ---------------------------------------------------------------------------------------------
# Results


class Results:
    def __init__(self):
        self.passed = []
        self.failed = []

    def check(self, name, ok, detail=""):
        (self.passed if ok else self.failed).append(name)
        log(f"{'PASS' if ok else 'FAIL'}  {name}" + (f" — {detail}" if detail else ""))
        return ok

    def summary(self):
        log("")
        if self.failed:
            log("failed: " + "; ".join(self.failed))
        log(f"{len(self.passed)} passed, {len(self.failed)} failed")
        return 0 if not self.failed else 1


# ---------------------------------------------------------------------------------------------
# The cached root and the container


def package_depends(deb):
    """Package names of a .deb's Depends (alternatives: the first)."""
    field = host(["dpkg-deb", "--field", deb, "Depends"]).stdout
    names = []
    for item in field.split(","):
        name = item.split("|")[0].strip().split(" ")[0].split(":")[0]
        if name:
            names.append(name)
    return names


def ensure_root(debs):
    """The debootstrapped root, made once; packages the .deb needs are added to it when missing."""
    root = os.path.join(CACHE, SUITE)
    stamp = root + ".stamp"
    wanted = " ".join(BASE_PACKAGES)
    if not (os.path.isdir(root) and os.path.exists(stamp) and open(stamp).read().strip() == wanted):
        log(f"making the {SUITE} root in {root} with debootstrap (once; a few minutes)")
        os.makedirs(CACHE, exist_ok=True)
        tmp = root + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
        started = time.monotonic()
        host(
            ["debootstrap", "--variant=minbase", "--include=" + ",".join(BASE_PACKAGES), SUITE, tmp, MIRROR],
            timeout=1800,
        )
        os.rename(tmp, root)
        with open(stamp, "w") as f:
            f.write(wanted + "\n")
        log(f"debootstrap took {time.monotonic() - started:.0f} s")
    needed = sorted({name for deb in debs for name in package_depends(deb)})
    missing = [
        n
        for n in needed
        if "install ok installed"
        not in host(["dpkg-query", "--admindir", root + "/var/lib/dpkg", "-W", "-f=${Status}", n], check=False).stdout
    ]
    if missing:
        log(f"adding to the cached root: {' '.join(missing)}")
        nspawn = [
            "systemd-nspawn",
            "--quiet",
            "--register=no",
            "--keep-unit",
            "-D",
            root,
            "--setenv=DEBIAN_FRONTEND=noninteractive",
        ]
        nspawn_run(nspawn + ["apt-get", "update", "-qq"], timeout=600)
        nspawn_run(nspawn + ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing, timeout=1200)
        nspawn_run(nspawn + ["apt-get", "clean"], timeout=120)
    return root


def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            fstype = parts[parts.index("-") + 1]
            if fstype == "cgroup2":
                return parts[4]
    return None


def host_cgroup_report():
    kind = host(["stat", "-fc", "%T", "/sys/fs/cgroup"]).stdout.strip()
    unified = cgroup2_mount()
    if kind == "cgroup2fs":
        mode = "unified (cgroup v2 only)"
    elif unified:
        mode = f"hybrid (cgroup v1 controllers, a cgroup2 hierarchy at {unified})"
    else:
        mode = "legacy (cgroup v1 only)"
    return kind, unified, mode


def make_cgroup(name):
    """A cgroup of its own on the cgroup2 hierarchy, below this process's: systemd-nspawn with
    --keep-unit uses the cgroup it is started in for the container (and makes supervisor/ and
    payload/ in it), so nothing else must live there."""
    base = cgroup2_mount()
    if not base:
        return None
    own = "/"
    with open("/proc/self/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                own = line[3:].strip()
    path = os.path.normpath(f"{base}/{own}/{name}")
    os.makedirs(path, exist_ok=True)
    return path


def remove_cgroup(path):
    if not path:
        return
    for _ in range(50):
        try:
            for d, _subdirs, _files in sorted(os.walk(path), key=lambda t: -len(t[0])):
                os.rmdir(d)
            return
        except OSError:
            time.sleep(0.1)


def enter(cgroup):
    """A preexec_fn that moves the child into cgroup."""

    def move():
        if cgroup:
            with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

    return move


def nspawn_run(cmd, timeout):
    """systemd-nspawn (not booted) in a cgroup of its own, removed afterwards."""
    cgroup = make_cgroup(f"{MACHINE}-setup-{os.getpid()}")
    try:
        return subprocess.run(
            cmd, text=True, capture_output=True, timeout=timeout, check=True, preexec_fn=enter(cgroup)
        )
    finally:
        remove_cgroup(cgroup)


class Container:
    """A bookworm root booted with systemd-nspawn on an overlay of the cached root."""

    def __init__(self, lower, rundir, debdir):
        self.rundir = rundir
        self.root = os.path.join(rundir, "root")
        self.debdir = debdir
        self.proc = None
        self.leader = None
        self.cgroup = None
        self.boots = 0
        for d in ("upper", "work", "root"):
            os.makedirs(os.path.join(rundir, d), exist_ok=True)
        host(
            [
                "mount",
                "-t",
                "overlay",
                "overlay",
                "-o",
                f"lowerdir={lower},upperdir={rundir}/upper,workdir={rundir}/work",
                self.root,
            ]
        )

    def chroot_install(self, deb):
        """`chroot ROOT dpkg -i` before the first boot, as station images are built: no /proc, no
        systemd running. Returns (dpkg's result, the package's status, whether /proc was empty)."""
        proc_empty = not os.path.ismount(os.path.join(self.root, "proc")) and not os.listdir(
            os.path.join(self.root, "proc")
        )
        inside = "/var/cache/ws-systemtest-" + os.path.basename(deb)
        shutil.copy(deb, self.root + inside)
        env = {"PATH": CONTAINER_PATH, "LANG": "C.UTF-8", "HOME": "/root", "DEBIAN_FRONTEND": "noninteractive"}
        try:
            r = subprocess.run(
                ["chroot", self.root, "dpkg", "-i", inside], text=True, capture_output=True, timeout=300, env=env
            )
        finally:
            os.remove(self.root + inside)
        status = host(
            ["chroot", self.root, "dpkg-query", "-W", "-f=${Status}", "waystation"], check=False, env=env
        ).stdout.strip()
        return r, status, proc_empty

    def boot(self, timeout=60):
        self.boots += 1
        self.cgroup = make_cgroup(f"{MACHINE}-{os.getpid()}-{self.boots}")

        env = dict(os.environ, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY="1")
        console = open(os.path.join(self.rundir, f"console-{self.boots}.log"), "w")
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [
                "systemd-nspawn",
                "--quiet",
                "-D",
                self.root,
                "-M",
                MACHINE,
                "--boot",
                "--register=no",
                "--keep-unit",
                "--private-network",
                "--system-call-filter=bpf",
                "--link-journal=no",
                "--console=read-only",
                f"--bind-ro={self.debdir}:{DEBS_INSIDE}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=enter(self.cgroup),
        )
        self.leader = self._find_leader(timeout)
        state = ""
        while time.monotonic() - started < timeout:
            state = self.run(["systemctl", "is-system-running", "--wait"], timeout=timeout).stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(0.2)
        return time.monotonic() - started, state

    def _find_leader(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"systemd-nspawn exited with {self.proc.returncode}; see {self.rundir}")
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{pid}/status") as f:
                        status = f.read()
                except OSError:
                    continue
                if re.search(r"^NSpid:\s+\d+\s+1$", status, re.M) and self._descends(int(pid)):
                    return int(pid)
            time.sleep(0.05)
        raise RuntimeError("the container's PID 1 did not appear")

    def _descends(self, pid):
        while pid > 1:
            if pid == self.proc.pid:
                return True
            try:
                with open(f"/proc/{pid}/status") as f:
                    pid = int(re.search(r"^PPid:\s+(\d+)", f.read(), re.M).group(1))
            except (OSError, AttributeError):
                return False
        return False

    def run(self, cmd, timeout=60, env=None, input=None):
        """Runs a command inside the container (all of PID 1's namespaces), as root."""
        environment = ["PATH=" + CONTAINER_PATH, "LANG=C.UTF-8", "HOME=/root", "SYSTEMD_PAGER=", "TERM=dumb"]
        environment += [f"{k}={v}" for k, v in (env or {}).items()]
        try:
            return subprocess.run(
                ["nsenter", "-t", str(self.leader), "-a", "env", "-i"] + environment + cmd,
                text=True,
                capture_output=True,
                timeout=timeout,
                input=input,
            )
        except subprocess.TimeoutExpired as e:
            return subprocess.CompletedProcess(cmd, 124, e.stdout or "", f"timed out after {timeout} s")

    def sh(self, script, timeout=60, env=None):
        return self.run(["sh", "-c", script], timeout=timeout, env=env)

    def write(self, path, text):
        """Writes a file inside the container (an existing file keeps its owner and mode). Through
        the container, not the overlay directory: /run and /dev are the container's own tmpfs."""
        r = self.run(["sh", "-c", 'mkdir -p "$(dirname "$1")" && cat > "$1"', "sh", path], input=text)
        if r.returncode != 0:
            raise RuntimeError(f"cannot write {path} in the container: {r.stderr.strip()}")

    def poweroff(self, timeout=60):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.run(["systemctl", "poweroff"], timeout=10)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None
        self.leader = None
        remove_cgroup(self.cgroup)
        self.cgroup = None

    def destroy(self, keep=False):
        self.poweroff()
        host(["umount", self.root], check=False)
        if not keep:
            shutil.rmtree(self.rundir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The station the tests run: a TCP gateway with the cabinet and the meter on 127.0.0.1, and an
# RS-485 line (a socat pty pair) with the fridge and the AC. The reload adds a USB adapter.

STATION = """\
# waystation system test
[station]
id = "st-test"
name = "{name}"
capacity = 8

[storage]
path = "/var/lib/waystation/station.db"

[control]
socket = "/run/waystation/control.sock"
admin_group = "waystation-admin"

[web]
listen = "127.0.0.1:{web_port}"

[[bus]]
name = "gw"
transport = "tcp"
host = "127.0.0.1"
port = {port}
timeout = "1s"

[[bus]]
name = "rs485"
transport = "rtu"
serial = "{serial}"
baud = 9600
parity = "none"
data_bits = 8
stop_bits = 1
timeout = "500ms"

[[device]]
id = "cabinet"
profile = "charger-cabinet-4slot"
bus = "gw"
unit = 1
interval = "1s"

[[device]]
id = "meter"
profile = "meter-sdm120"
bus = "gw"
unit = 2
interval = "2s"

[[device]]
id = "fridge"
profile = "fridge-carel-ir33"
bus = "rs485"
unit = 3
interval = "1s"

[[device]]
id = "ac"
profile = "ac-intesis-midea"
bus = "rs485"
unit = 1
interval = "2s"
"""

USB_BUS = """
[[bus]]
name = "usb"
transport = "rtu"
serial = "/dev/ttyUSB0"
baud = 9600
timeout = "300ms"
reconnect_min = "200ms"
reconnect_max = "1s"

[[device]]
id = "usbmeter"
profile = "meter-sdm120"
bus = "usb"
unit = 5
interval = "1s"
"""

BAD_STATION_LINE = '\n[[device]]\nid = "broken"\nprofile = "no-such-profile"\nbus = "gw"\nunit = 9\ninterval = "soon"\n'

GOOD_NAME = "System test station"
RELOADED_NAME = "System test station (reloaded)"


def station(name=GOOD_NAME, usb=False):
    text = STATION.format(name=name, port=SIM_PORT, serial="/dev/ttyWS0", web_port=WEB_PORT)
    return text + (USB_BUS if usb else "")


def sim_station():
    return STATION.format(name="sim", port=SIM_PORT, serial="/run/ws-test/ttyWS0.sim", web_port=WEB_PORT + 1)


# ---------------------------------------------------------------------------------------------
# Helpers over systemctl and waystationctl


class Station:
    def __init__(self, c):
        self.c = c

    def show(self, unit, *props):
        out = self.c.run(["systemctl", "show", unit, "-p", ",".join(props)]).stdout
        values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        return values

    def active(self, unit):
        return self.c.run(["systemctl", "is-active", unit]).stdout.strip()

    def ctl(self, *args, timeout=30, input=None):
        return self.c.run(["waystationctl"] + list(args), timeout=timeout, input=input)

    def ctl_json(self, *args, timeout=30, input=None):
        r = self.ctl(*args, "--json", timeout=timeout, input=input)
        if r.returncode != 0:
            return None
        try:
            return json.loads(r.stdout)
        except ValueError:
            return None

    def devices(self):
        reply = self.ctl_json("devices")
        if reply is None:
            return None
        if isinstance(reply, dict):
            for value in reply.values():
                if isinstance(value, list):
                    return value
        return reply if isinstance(reply, list) else None

    def journal(self, unit="waystation.service", since=None):
        cmd = ["journalctl", "--no-pager", "-o", "short-monotonic", "-u", unit]
        if since:
            cmd += ["--after-cursor", since]
        return self.c.run(cmd).stdout

    def cursor(self):
        out = self.c.run(["journalctl", "--no-pager", "-n", "0", "--show-cursor"]).stdout
        m = re.search(r"-- cursor: (\S+)", out)
        return m.group(1) if m else None

    def socket_state(self):
        s = self.show("waystation.socket", "ActiveState", "SubState", "Result")
        return f"{s.get('ActiveState')}/{s.get('SubState')} (result {s.get('Result')})"

    def socket_listening(self):
        # "listening" while the daemon is stopped, "running" while it has the socket.
        s = self.show("waystation.socket", "ActiveState", "SubState")
        return s.get("ActiveState") == "active" and s.get("SubState") in ("listening", "running")

    def heal_socket(self):
        """What a technician had to do by hand after the socket died with the service."""
        self.c.run(["systemctl", "stop", "waystation.service"], timeout=90)
        self.reset()
        self.c.run(["systemctl", "start", "waystation.socket"])
        self.ctl("status", timeout=60)

    def main_pid(self):
        return int(self.show("waystation.service", "MainPID").get("MainPID", "0") or 0)

    def reset(self):
        # Manual starts count toward StartLimitBurst=; the test starts the daemon many times.
        self.c.run(["systemctl", "reset-failed", "waystation.service", "waystation.socket"])

    def visits(self):
        return self.listed(self.ctl_json("visits", "list"))

    def reports(self):
        return self.listed(self.ctl_json("reports", "list"))

    @staticmethod
    def listed(reply):
        if isinstance(reply, dict):
            for value in reply.values():
                if isinstance(value, list):
                    return value
        return reply if isinstance(reply, list) else []

    def http(self, path, body=None, timeout=20):
        """An HTTP request to waystation-web on loopback inside the container (python3 urllib):
        (status, content type, body text); status 0 when nothing answered."""
        r = self.c.run(["python3", "-c", HTTP_CLIENT, f"http://127.0.0.1:{WEB_PORT}{path}"], timeout=timeout,
                       input=json.dumps(body) if body is not None else "")
        try:
            reply = json.loads(r.stdout)
        except ValueError:
            return 0, "", (r.stdout + r.stderr).strip()
        return reply["status"], reply["type"], reply["body"]

    def http_json(self, path, body=None):
        status, _, text = self.http(path, body)
        try:
            return status, json.loads(text)
        except ValueError:
            return status, None

    def web_pid(self):
        return int(self.show("waystation-web.service", "MainPID").get("MainPID", "0") or 0)

    def web_daemon_ok(self):
        status, reply = self.http_json("/api/kiosk")
        return status == 200 and isinstance(reply, dict) and reply.get("daemon_ok") is True


# Runs inside the container: GET the URL, or POST stdin as JSON when there is any; prints the reply.
HTTP_CLIENT = """
import json, sys, urllib.request, urllib.error
data = sys.stdin.read().encode() or None
req = urllib.request.Request(sys.argv[1], data=data, headers={"Content-Type": "application/json"} if data else {})
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        out = {"status": r.status, "type": r.headers.get("Content-Type", ""), "body": r.read().decode()}
except urllib.error.HTTPError as e:
    out = {"status": e.code, "type": e.headers.get("Content-Type", ""), "body": e.read().decode()}
except OSError as e:
    out = {"status": 0, "type": "", "body": str(e)}
print(json.dumps(out))
"""


def wait_for(predicate, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


def tail(text, n=6):
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return " | ".join(lines[-n:])


# ---------------------------------------------------------------------------------------------
# The checks


def start_simulator(c, st, results):
    c.write("/etc/waystation-test/sim.toml", sim_station())
    c.run(["mkdir", "-p", "/run/ws-test"])
    # The daemon's end of the RS-485 line is owned root:dialout 0660, as udev makes a ttyUSB.
    c.run(
        [
            "systemd-run",
            "--unit=ws-test-pty",
            "--quiet",
            "socat",
            "pty,raw,echo=0,link=/dev/ttyWS0,user=root,group=dialout,perm=0660",
            "pty,raw,echo=0,link=/run/ws-test/ttyWS0.sim",
        ]
    )
    wait_for(lambda: c.run(["test", "-e", "/run/ws-test/ttyWS0.sim"]).returncode == 0, 10)
    owner = c.run(["stat", "-L", "-c", "%U:%G %a %t", "/dev/ttyWS0"]).stdout.strip()
    results.check("RTU line: pty /dev/ttyWS0 owned root:dialout 0660", owner.startswith("root:dialout 660"), owner)
    r = c.run(
        [
            "systemd-run",
            "--unit=ws-test-sim",
            "--quiet",
            "--property=StandardOutput=journal",
            "waystation-sim",
            "--config",
            "/etc/waystation-test/sim.toml",
            "--no-stdin",
            "--control-socket",
            "/run/ws-test/sim.sock",
        ]
    )
    up = wait_for(
        lambda: c.run(["sh", "-c", f"grep -qi ':{SIM_PORT:04X} 00000000:0000 0A' /proc/net/tcp"]).returncode == 0, 20
    )
    results.check(
        "simulator runs inside the container (TCP gateway and RTU line)",
        bool(up) and r.returncode == 0,
        tail(r.stderr) or f"listening on 127.0.0.1:{SIM_PORT}",
    )


def check_chroot_install(c, results, deb):
    """Before the first boot: the package into the image root with chroot, without /proc."""
    r, status, proc_empty = c.chroot_install(deb)
    results.check(
        "image install: chroot ROOT dpkg -i (no /proc mounted) succeeds and leaves the package "
        "configured (install ok installed)",
        proc_empty and r.returncode == 0 and status == "install ok installed",
        f"/proc {'empty' if proc_empty else 'mounted or not empty'}; exit {r.returncode}; status {status!r} "
        f"{tail(r.stdout + r.stderr, 3)}",
    )


def check_install(c, st, results):
    """After the first boot of the image: what postinst and the boot made, the units enabled and
    started at boot. The daemon and waystation-web are then stopped, for the checks that follow
    (socket activation first)."""
    user = c.run(["id", "waystation"]).stdout.strip()
    results.check("install: user waystation exists, in group dialout", "dialout" in user, user)
    groups = c.run(["sh", "-c", "getent group waystation-admin waystation-kiosk"]).stdout.split()
    results.check(
        "install: groups waystation-admin and waystation-kiosk exist",
        len(groups) == 2 and groups[1].startswith("waystation-kiosk:"),
        " ".join(groups),
    )
    state = c.run(["stat", "-c", "%U:%G %a", "/var/lib/waystation"]).stdout.strip()
    results.check(
        "install: /var/lib/waystation waystation:waystation 0750", state == "waystation:waystation 750", state
    )
    conf = c.run(["stat", "-c", "%U:%G %a", "/etc/waystation/station.toml"]).stdout.strip()
    results.check(
        "install: /etc/waystation/station.toml root:waystation 0640 (conffile)",
        conf == "root:waystation 640"
        and "/etc/waystation/station.toml" in c.run(["dpkg-query", "-W", "-f=${Conffiles}", "waystation"]).stdout,
        conf,
    )
    enabled = {
        u: c.run(["systemctl", "is-enabled", u]).stdout.strip()
        for u in ("waystation.socket", "waystation.service", "waystation-web.service", "waystation-uplink.service")
    }
    results.check(
        "install: waystation.socket, waystation.service, waystation-web.service and waystation-uplink.service enabled",
        all(v == "enabled" for v in enabled.values()),
        str(enabled),
    )
    daemon = wait_for(lambda: st.active("waystation.service") == "active", 30)
    web = wait_for(lambda: st.active("waystation-web.service") == "active", 30)
    uplink = wait_for(lambda: st.active("waystation-uplink.service") == "active", 30)
    results.check(
        "first boot of the image: socket listening, daemon, waystation-web and waystation-uplink started at boot "
        "(enabled)",
        st.socket_listening() and bool(daemon) and bool(web) and bool(uplink),
        f"socket {st.socket_state()}, service {st.active('waystation.service')}, "
        f"web {st.active('waystation-web.service')}, uplink {st.active('waystation-uplink.service')}"
        + ("" if uplink else " | uplink's journal: " + tail(st.journal("waystation-uplink.service"))),
    )
    # The uplink and the web face are clients of the socket: stopped first, or they start the daemon again.
    c.run(
        ["systemctl", "stop", "waystation-web.service", "waystation-uplink.service", "waystation.service"], timeout=90
    )
    where = c.run(["sh", "-c", "command -v waystationd"]).stdout.strip()
    results.check("install: the daemon is /usr/sbin/waystationd", where == "/usr/sbin/waystationd", where or "missing")
    check = c.run(["waystationd", "--check-config"])
    results.check(
        "install: the shipped example config passes --check-config",
        check.returncode == 0,
        tail(check.stdout + check.stderr, 2),
    )
    man = c.run(
        [
            "sh",
            "-c",
            "ls /usr/share/man/man8/waystationd.8.gz /usr/share/man/man1/waystationctl.1.gz "
            "/usr/share/man/man1/waystation-sim.1.gz /usr/share/man/man8/waystation-web.8.gz "
            "/usr/share/man/man8/waystation-uplink.8.gz "
            "/usr/share/bash-completion/completions/waystationctl "
            "/usr/share/zsh/vendor-completions/_waystationctl /usr/share/waystation/io.waystation.Station.varlink",
        ]
    )
    results.check(
        "install: man pages (waystationd, waystationctl, waystation-sim, waystation-web), completions and the "
        "varlink interface are installed",
        man.returncode == 0,
        " ".join(os.path.basename(p) for p in man.stdout.split()) + tail(man.stderr, 2),
    )


def check_security(c, st, results):
    verify = c.run(
        [
            "systemd-analyze",
            "verify",
            # The image has no man(1); the pages themselves are checked by check_install.
            "--man=no",
            "waystation.service",
            "waystation.socket",
            "waystation-devices.service",
            "waystation-web.service",
            "waystation-uplink.service",
        ]
    )
    results.check(
        "systemd-analyze verify of the installed units",
        verify.returncode == 0 and not verify.stderr.strip(),
        tail(verify.stderr, 3) or "clean",
    )
    out = c.run(["systemd-analyze", "security", "--no-pager", "waystation.service"]).stdout
    m = re.search(r"Overall exposure level for waystation\.service: ([0-9.]+)", out)
    score = float(m.group(1)) if m else 99.0
    results.check(
        "systemd-analyze security waystation.service (online) is 1.5 or lower",
        score <= 1.5,
        f"{score}" if m else tail(out),
    )
    out = c.run(["systemd-analyze", "security", "--no-pager", "waystation-web.service"]).stdout
    m = re.search(r"Overall exposure level for waystation-web\.service: ([0-9.]+)", out)
    web_score = float(m.group(1)) if m else 99.0
    results.check(
        "systemd-analyze security waystation-web.service (online) is 2.0 or lower",
        web_score <= 2.0,
        f"{web_score}" if m else tail(out),
    )
    out = c.run(["systemd-analyze", "security", "--no-pager", "waystation-uplink.service"]).stdout
    m = re.search(r"Overall exposure level for waystation-uplink\.service: ([0-9.]+)", out)
    uplink_score = float(m.group(1)) if m else 99.0
    results.check(
        "systemd-analyze security waystation-uplink.service (online) is 1.5 or lower",
        uplink_score <= 1.5,
        f"{uplink_score}" if m else tail(out),
    )
    return score, web_score


def check_limits(c, st, results):
    """The unit's ceilings (MemoryMax=, MemoryHigh=, TasksMax=) as systemd reads them, and, where the
    container's cgroup v2 has the memory and pids controllers, the daemon running well inside them.
    On a host with a hybrid hierarchy (memory and pids on cgroup v1) they cannot be enforced in the
    container; that is said, and only the settings are checked."""
    unit = c.run(["systemctl", "cat", "waystation.service"]).stdout
    want = {k: re.search(rf"^{k}=(\S+)", unit, re.M) for k in ("MemoryMax", "MemoryHigh", "TasksMax")}
    s = st.show("waystation.service", "MemoryMax", "MemoryHigh", "TasksMax", "MemoryCurrent", "TasksCurrent")

    def size(text):
        m = re.fullmatch(r"(\d+)([KMG]?)", text or "")
        return int(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m.group(2)] if m else None

    read = all(w and size(w.group(1)) == size(s.get(k)) for k, w in want.items())
    results.check(
        "waystation.service limits read by systemd (MemoryMax, MemoryHigh, TasksMax)",
        read,
        ", ".join(f"{k}={w.group(1) if w else None} -> {s.get(k)}" for k, w in want.items()),
    )
    controllers = c.run(["cat", "/sys/fs/cgroup/cgroup.controllers"]).stdout.split()
    if not {"memory", "pids"} <= set(controllers):
        log(
            "      limits not enforceable in this container: its cgroup v2 has the controllers "
            f"{controllers or 'none'} (the host's memory and pids controllers are on cgroup v1)"
        )
        return
    mem, tasks = size(s.get("MemoryCurrent")), size(s.get("TasksCurrent"))
    results.check(
        "waystation.service runs well inside its limits (memory below MemoryHigh, tasks below TasksMax)",
        mem is not None and tasks is not None and mem < size(s.get("MemoryHigh")) and tasks < size(s.get("TasksMax")),
        f"MemoryCurrent={s.get('MemoryCurrent')} TasksCurrent={s.get('TasksCurrent')}",
    )


def check_activation_and_ready(c, st, results):
    before = st.active("waystation.service")
    t0 = time.monotonic()
    r = st.ctl("status", timeout=60)
    elapsed = time.monotonic() - t0
    results.check(
        "socket activation: the first connection starts the daemon and is answered",
        before == "inactive" and r.returncode == 0 and st.active("waystation.service") == "active",
        f"service was {before}; waystationctl status exit {r.returncode} after {elapsed:.1f} s " f"{tail(r.stderr, 2)}",
    )
    s = st.show("waystation.service", "Type", "ActiveState", "SubState", "StatusText", "TriggeredBy", "NRestarts")
    results.check(
        "Type=notify: active (running) after READY=1",
        s.get("Type") == "notify" and s.get("ActiveState") == "active" and s.get("SubState") == "running",
        f"{s.get('ActiveState')}/{s.get('SubState')}, triggered by {s.get('TriggeredBy')}",
    )
    results.check("STATUS= text shown by systemctl", bool(s.get("StatusText")), repr(s.get("StatusText")))
    results.check(
        "journal: the daemon's log reaches the journal",
        bool(re.search(r"waystationd\[\d+\]", st.journal())),
        tail(st.journal(), 2),
    )


def check_devices_online(c, st, results):
    def all_online():
        devices = st.devices()
        if devices and all(d.get("state") == "online" for d in devices):
            return devices
        return None

    t0 = time.monotonic()
    devices = wait_for(all_online, 30, 0.5)
    last = st.devices() or []
    text = ", ".join(f"{d.get('id')}@{d.get('bus')}={d.get('state')}" for d in last)
    rtu = [d for d in last if d.get("bus") == "rs485"]
    results.check(
        "all devices online, including the RTU line through the dialout pty",
        bool(devices) and len(rtu) == 2 and len(last) == 4,
        f"{text} after {time.monotonic() - t0:.1f} s"
        + ("" if devices else " | " + "; ".join(f"{d.get('id')}: {d.get('last_error')}" for d in last)),
    )


def check_journal_fields(c, st, results):
    """The daemon's log fields are journal fields (native protocol): a device's lines are found by
    DEVICE=, a device that does not exist finds none, the state change by its MESSAGE_ID=."""

    def entries(*matches):
        out = c.run(
            ["journalctl", "--no-pager", "-q", "-o", "json", "-u", "waystation.service"] + list(matches), timeout=60
        ).stdout
        found = []
        for line in out.splitlines():
            try:
                found.append(json.loads(line))
            except ValueError:
                pass
        return found

    fridge = wait_for(lambda: entries("DEVICE=fridge"), 15, 0.5) or []
    messages = [e.get("MESSAGE", "") for e in fridge]
    results.check(
        "journal: journalctl -u waystation DEVICE=fridge finds the fridge's lines (and only those)",
        bool(fridge) and all(e.get("DEVICE") == "fridge" for e in fridge),
        f"{len(fridge)} entries; {messages[-1] if messages else 'none'!r}",
    )
    none = entries("DEVICE=no-such-device")
    results.check(
        "journal: a filter on a device that does not exist finds nothing", not none, f"{len(none)} entries"
    )
    changes = entries(f"MESSAGE_ID={MESSAGE_ID_DEVICE_STATE}")
    online = [e for e in changes if e.get("DEVICE") == "fridge" and "online" in e.get("MESSAGE", "")]
    sample = online[0] if online else {}
    results.check(
        "journal: MESSAGE_ID= of 'device state changed' finds the fridge going online, with its priority, "
        "identifier and source location",
        bool(online)
        and sample.get("SYSLOG_IDENTIFIER") == "waystationd"
        and sample.get("PRIORITY") == "6"
        and bool(sample.get("CODE_FILE")),
        f"{len(changes)} state changes; {sample.get('MESSAGE')!r} CAUSE={sample.get('CAUSE')!r} "
        f"PRIORITY={sample.get('PRIORITY')} CODE_FILE={sample.get('CODE_FILE')}",
    )


def check_config_error(c, st, results):
    """A broken config at start: the daemon exits 78 (EX_CONFIG), the unit fails and is not
    restarted (RestartPreventExitStatus=78). waystation-web is stopped meanwhile: its calls would
    start the daemon again through the socket."""
    conf = "/etc/waystation/station.toml"
    good = c.run(["cat", conf]).stdout
    c.run(["systemctl", "stop", "waystation-web.service", "waystation-uplink.service"], timeout=60)
    c.write(conf, good + BAD_STATION_LINE)
    st.reset()
    cursor = st.cursor()
    r = c.run(["systemctl", "restart", "waystation.service"], timeout=90)
    failed = wait_for(lambda: st.active("waystation.service") == "failed", 30)
    s = st.show("waystation.service", "Result", "ExecMainStatus", "NRestarts", "RestartUSec")
    m = re.fullmatch(r"(\d+)s", s.get("RestartUSec", ""))
    restart_sec = int(m.group(1)) if m else 5

    def restarted():
        now = st.show("waystation.service", "NRestarts", "ActiveState")
        return now.get("NRestarts") != "0" or now.get("ActiveState") != "failed"

    # Waits past twice RestartSec= for a restart that must not come.
    again = wait_for(restarted, 2 * restart_sec + 2, 0.5)
    after = st.show("waystation.service", "NRestarts", "ActiveState")
    logged = "config error" in st.journal(since=cursor)
    results.check(
        f"broken config: the daemon exits {EX_CONFIG} (EX_CONFIG), the unit fails and is not restarted "
        f"(NRestarts stays 0 past 2 x RestartSec={restart_sec}s)",
        r.returncode != 0
        and bool(failed)
        and s.get("Result") == "exit-code"
        and s.get("ExecMainStatus") == str(EX_CONFIG)
        and not again
        and after.get("NRestarts") == "0"
        and logged,
        f"systemctl restart exit {r.returncode}; Result={s.get('Result')} ExecMainStatus={s.get('ExecMainStatus')} "
        f"NRestarts={after.get('NRestarts')} {after.get('ActiveState')}; 'config error' logged: {logged}",
    )
    c.write(conf, good)
    st.reset()
    r = c.run(
        ["systemctl", "start", "waystation.service", "waystation-web.service", "waystation-uplink.service"], timeout=90
    )
    ok = wait_for(st.web_daemon_ok, 30, 0.5)
    results.check(
        "broken config fixed: systemctl start brings the daemon and waystation-web back",
        r.returncode == 0 and st.active("waystation.service") == "active" and bool(ok),
        f"exit {r.returncode}; service {st.active('waystation.service')}; web daemon_ok {bool(ok)}",
    )


def check_reload(c, st, results):
    pid = st.main_pid()
    c.write("/etc/waystation/station.toml", station(RELOADED_NAME, usb=True))
    cursor = st.cursor()
    r = c.run(["systemctl", "reload", "waystation.service"])
    reloaded = wait_for(lambda: any(d.get("id") == "usbmeter" for d in (st.devices() or [])), 15)
    renamed = RELOADED_NAME in json.dumps(st.ctl_json("status") or {}, ensure_ascii=False)
    results.check(
        "reload good: systemctl reload applies the new config, same process",
        r.returncode == 0
        and bool(reloaded)
        and renamed
        and st.main_pid() == pid
        and st.active("waystation.service") == "active",
        f"exit {r.returncode}, usbmeter {'listed' if reloaded else 'missing'}, station renamed: {renamed}, "
        f"MainPID {pid} -> {st.main_pid()}, "
        f"STATUS {st.show('waystation.service', 'StatusText').get('StatusText')!r}",
    )

    good = station(RELOADED_NAME, usb=True)
    c.write("/etc/waystation/station.toml", good + BAD_STATION_LINE)
    cursor = st.cursor()
    r = c.run(["systemctl", "reload", "waystation.service"])
    refused = wait_for(lambda: "refused" in st.journal(since=cursor), 10)
    text = st.show("waystation.service", "StatusText").get("StatusText", "")
    devices = st.devices() or []
    kept = RELOADED_NAME in json.dumps(st.ctl_json("status") or {}, ensure_ascii=False)
    results.check(
        "reload bad: refused and logged, the service stays active with the old config",
        bool(refused)
        and st.active("waystation.service") == "active"
        and st.main_pid() == pid
        and kept
        and not any(d.get("id") == "broken" for d in devices),
        f"STATUS {text!r} | journal: {tail(st.journal(since=cursor), 2)}",
    )
    c.write("/etc/waystation/station.toml", good)
    c.run(["systemctl", "reload", "waystation.service"])
    wait_for(lambda: "refused" not in st.show("waystation.service", "StatusText").get("StatusText", ""), 10)


def check_late_ttyusb(c, st, results):
    """A USB serial adapter whose driver loads after the unit started: the node appears later."""
    c.sh("rm -f /dev/ttyUSB0; mknod -m 0660 /dev/ttyUSB0 c 188 0; chgrp dialout /dev/ttyUSB0")
    node = c.run(["stat", "-c", "%U:%G %a %t:%T", "/dev/ttyUSB0"]).stdout.strip()

    def usb_error():
        for d in st.devices() or []:
            if d.get("id") == "usbmeter":
                err = d.get("last_error") or ""
                if "ENOENT" not in err and err:
                    return err
        return None

    err = wait_for(usb_error, 20, 0.5) or ""
    denied = (
        "errno 1)" in err
        or "errno 1 " in err
        or err.rstrip().endswith("errno 1")
        or "EPERM" in err
        or "Operation not permitted" in err
    )
    reached = "ENXIO" in err or "errno 6" in err or "errno 19" in err or "ENODEV" in err
    results.check(
        "ttyUSB made after the service started (major 188): the daemon may open it "
        "(ENXIO/ENODEV = no hardware behind it, EPERM = denied by the device cgroup)",
        reached and not denied,
        f"node {node}; usbmeter: {err or 'no error seen'}",
    )
    c.run(["rm", "-f", "/dev/ttyUSB0"])


def check_device_refresh(c, st, results):
    """60-waystation.rules starts waystation-devices.service when a ttySC port (dynamic major)
    appears: it re-applies the unit's device list, looking char-ttySC up again, without a restart."""
    pid = st.main_pid()
    r = c.run(["systemctl", "start", "waystation-devices.service"])
    results.check(
        "waystation-devices.service re-applies the device list to the running daemon (no restart)",
        r.returncode == 0 and st.main_pid() == pid and st.active("waystation.service") == "active",
        f"exit {r.returncode}, MainPID {pid} -> {st.main_pid()} {tail(r.stderr, 2)}",
    )


def check_socket_survives(c, st, results):
    st.reset()
    cursor = st.cursor()
    c.run(["systemctl", "stop", "waystation.service"])
    time.sleep(1)
    after_stop = st.socket_state()
    listening = st.socket_listening()
    pollhup = "POLLHUP" in st.journal("waystation.socket", since=cursor)
    r = st.ctl("status", timeout=60)
    results.check(
        "socket alive after systemctl stop waystation.service, and a client starts it again",
        listening and not pollhup and r.returncode == 0 and st.active("waystation.service") == "active",
        f"socket {after_stop} after stop; waystationctl exit {r.returncode}"
        + (" | journal: " + tail(st.journal("waystation.socket", since=cursor), 2) if pollhup or not listening else ""),
    )
    if not listening or r.returncode != 0:
        st.heal_socket()  # for the checks that follow

    st.reset()
    cursor = st.cursor()
    pid = st.main_pid()
    r0 = c.run(["systemctl", "restart", "waystation.service"], timeout=90)
    time.sleep(1)
    after_restart = st.socket_state()
    listening = st.socket_listening()
    pollhup = "POLLHUP" in st.journal("waystation.socket", since=cursor)
    r = st.ctl("status", timeout=60)
    results.check(
        "socket alive after systemctl restart waystation.service, and clients are answered",
        r0.returncode == 0 and listening and not pollhup and r.returncode == 0 and st.main_pid() != pid,
        f"socket {after_restart} after restart; waystationctl exit {r.returncode}"
        + (" | journal: " + tail(st.journal("waystation.socket", since=cursor), 2) if pollhup or not listening else ""),
    )
    if not listening or r.returncode != 0:
        st.heal_socket()


def check_checkin(c, st, results):
    before = len(st.visits())
    r = st.ctl("checkin", "--category", "courier", "--json", input=RIDER + "\n")
    visits = st.visits()
    results.check(
        "check-in through waystationctl (rider id on stdin) is stored",
        r.returncode == 0 and len(visits) == before + 1,
        f"exit {r.returncode}; {before} -> {len(visits)} visit(s) {tail(r.stderr, 2)}",
    )
    return len(visits)


def check_web(c, st, results):
    """waystation-web.service: a dynamic user in the kiosk group, the kiosk page and /metrics on
    loopback, and a rider's check-in and hazard report through the kiosk API."""
    r = c.run(["systemctl", "start", "waystation-web.service"], timeout=60)
    up = wait_for(st.web_daemon_ok, 30, 0.5)
    s = st.show("waystation-web.service", "ActiveState", "SubState", "DynamicUser", "MainPID", "User")
    pid = st.web_pid()
    status = c.run(["cat", f"/proc/{pid}/status"]).stdout if pid else ""
    uid = re.search(r"^Uid:\s+(\d+)", status, re.M)
    uid = int(uid.group(1)) if uid else -1
    groups = re.search(r"^Groups:\s*(.*)$", status, re.M)
    proc_groups = set(groups.group(1).split()) if groups else set()
    gids = {
        name: c.run(["getent", "group", name]).stdout.split(":")[2:3] for name in ("waystation", "waystation-kiosk")
    }
    in_groups = all(g and g[0] in proc_groups for g in gids.values())
    user = c.run(["getent", "passwd", str(uid)]).stdout.strip()
    results.check(
        "waystation-web.service starts: active, a dynamic user in the groups waystation and waystation-kiosk",
        r.returncode == 0
        and s.get("ActiveState") == "active"
        and s.get("DynamicUser") == "yes"
        and uid in DYNAMIC_UIDS
        and in_groups,
        f"{s.get('ActiveState')}/{s.get('SubState')}; uid {uid} ({user or '?'}); groups {sorted(proc_groups)} "
        f"(waystation, waystation-kiosk = {[g[0] if g else '-' for g in gids.values()]}) {tail(r.stderr, 2)}"
        + ("" if up else " | journal: " + tail(st.journal("waystation-web.service"), 3)),
    )
    tcp = c.run(["cat", "/proc/net/tcp", "/proc/net/tcp6"]).stdout
    port = f":{WEB_PORT:04X} "
    listening = [line.split()[1] for line in tcp.splitlines()[1:] if len(line.split()) > 3 and line.split()[3] == "0A"]
    on_port = [a for a in listening if a.endswith(port.strip())]
    results.check(
        f"waystation-web listens on 127.0.0.1:{WEB_PORT} only (loopback)",
        on_port == ["0100007F" + port.strip()],
        f"listening on {on_port or 'nothing'}",
    )
    status, ctype, body = st.http("/")
    results.check(
        "waystation-web serves the kiosk page at /",
        status == 200 and ctype.startswith("text/html") and "<html" in body.lower(),
        f"HTTP {status} {ctype}, {len(body)} bytes" + ("" if status else f": {body[:200]}"),
    )
    status, ctype, body = st.http("/metrics")
    up_line = re.search(r"^waystation_daemon_up(\{[^}]*\})? (\S+)$", body, re.M)
    fridge = re.search(r'^waystation_device_state\{[^}]*device="fridge"', body, re.M)
    results.check(
        "waystation-web serves /metrics (Prometheus text; the daemon up, its devices listed)",
        status == 200
        and ctype.startswith("text/plain")
        and up_line is not None
        and up_line.group(2) in ("1", "1.0")
        and fridge is not None,
        f"HTTP {status} {ctype}; {up_line.group(0) if up_line else 'no waystation_daemon_up'}; "
        f"{len(body.splitlines())} lines",
    )

    visits_before = len(st.visits())
    reports_before = len(st.reports())
    status, scan = st.http_json("/api/scan", {"id": WEB_RIDER, "category": "courier"})
    session = scan.get("session", "") if isinstance(scan, dict) else ""
    visits = st.visits()
    results.check(
        "kiosk check-in through waystation-web (KioskScan in the kiosk role) is stored",
        status == 200 and re.fullmatch(r"[0-9a-f]{32}", session or "") is not None and len(visits) == visits_before + 1,
        f"HTTP {status}, action {scan.get('action') if isinstance(scan, dict) else scan!r}; "
        f"{visits_before} -> {len(visits)} visit(s)",
    )
    status, report = st.http_json(
        "/api/report",
        {"session": session, "category": "manhole_cover", "location": "South gate", "note": "system test"},
    )
    reports = st.reports()
    results.check(
        "hazard report through waystation-web is filed (listed by waystationctl reports)",
        status == 200 and len(reports) == reports_before + 1,
        f"HTTP {status}; {reports_before} -> {len(reports)} report(s)",
    )
    st.http_json("/api/logout", {"session": session})
    return len(visits)


def check_no_raw_id(c, st, results):
    """Rider ids are pseudonymised: neither raw id is in the journal (any unit)."""
    journal = c.run(["journalctl", "--no-pager", "-o", "cat"], timeout=60).stdout
    found = [rid for rid in (RIDER, WEB_RIDER) if rid in journal]
    results.check(
        "no raw rider id in the journal", not found and len(journal) > 0, f"found {found}" if found else "none"
    )


def check_web_reconnects(c, st, results):
    """After the daemon was stopped and restarted, waystation-web answers from the daemon again."""
    ok = wait_for(st.web_daemon_ok, 30, 0.5)
    results.check(
        "waystation-web reaches the daemon again after its stop and restart",
        bool(ok) and st.active("waystation-web.service") == "active",
        f"web {st.active('waystation-web.service')}; /api/kiosk daemon_ok {bool(ok)}",
    )


def host_backtracer():
    """The Swift toolchain's backtracer (the static one runs anywhere), if this host has it."""
    swift = shutil.which("swift")
    if not swift:
        return None
    linux = os.path.join(os.path.dirname(os.path.realpath(swift)), "..", "libexec", "swift", "linux")
    for name in ("swift-backtrace-static", "swift-backtrace"):
        path = os.path.normpath(os.path.join(linux, name))
        if os.access(path, os.X_OK):
            return path
    return None


def check_watchdog(c, st, results):
    # The Swift runtime of a statically linked /usr/sbin/waystationd looks for its backtracer in
    # /usr/libexec/swift/linux/, which exists where a Swift toolchain is installed under /usr. There
    # its crash handler catches the watchdog's SIGABRT and the process lives on; so put one there.
    backtracer = host_backtracer()
    if backtracer:
        inside = c.root + "/usr/libexec/swift/linux/swift-backtrace"
        os.makedirs(os.path.dirname(inside), exist_ok=True)
        shutil.copy(backtracer, inside)
    log(
        f"      Swift backtracer in the container: "
        f"{'/usr/libexec/swift/linux/swift-backtrace (from ' + backtracer + ')' if backtracer else 'none on this host'}"
    )
    dropin = "/run/systemd/system/waystation.service.d/50-systemtest-watchdog.conf"
    c.write(dropin, f"[Service]\nWatchdogSec={WATCHDOG_SEC}s\n")
    c.run(["systemctl", "daemon-reload"])
    st.reset()
    c.run(["systemctl", "restart", "waystation.service"], timeout=90)
    wait_for(lambda: st.active("waystation.service") == "active", 30)
    s = st.show("waystation.service", "RestartUSec")
    pid = st.main_pid()
    cursor = st.cursor()
    c.run(["kill", "-STOP", str(pid)])
    t0 = time.monotonic()
    killed_at = replaced_at = None
    deadline = t0 + 120
    while time.monotonic() < deadline:
        alive = c.run(["test", "-d", f"/proc/{pid}"]).returncode == 0
        now = time.monotonic() - t0
        if killed_at is None and not alive:
            killed_at = now
        new = st.main_pid()
        if killed_at is not None and new and new != pid and st.active("waystation.service") == "active":
            replaced_at = now
            break
        time.sleep(0.2)
    journal = st.journal(since=cursor)
    m = re.fullmatch(r"(\d+)s", s.get("RestartUSec", ""))  # the unit's RestartSec=, shown as e.g. "5s"
    restart_sec = int(m.group(1)) if m else 5
    trace = "Watchdog timeout" in journal
    results.check(
        f"watchdog: a SIGSTOPped daemon is killed within WatchdogSec={WATCHDOG_SEC}s + 3 s",
        killed_at is not None and killed_at <= WATCHDOG_SEC + 3,
        f"killed after {killed_at:.1f} s" if killed_at is not None else "not killed within 120 s",
    )
    limit = WATCHDOG_SEC + restart_sec + 5
    results.check(
        f"watchdog: replaced by a new daemon within WatchdogSec + RestartSec={restart_sec}s + 5 s",
        replaced_at is not None and replaced_at <= limit,
        f"replaced after {replaced_at:.1f} s" if replaced_at is not None else "not replaced within 120 s",
    )
    lines = [l for l in journal.splitlines() if re.search(r"[Ww]atchdog|SIGABRT|status=6|dumped", l)]
    results.check("watchdog: the hang leaves a trace in the journal", trace, " | ".join(lines[:3]))
    c.run(["rm", "-f", dropin, "/usr/libexec/swift/linux/swift-backtrace"])
    c.run(["systemctl", "daemon-reload"])
    st.reset()
    c.run(["systemctl", "restart", "waystation.service"], timeout=90)
    return killed_at, replaced_at


def make_upgrade_deb(deb, outdir):
    """The same package with a higher version (uncompressed: it only has to install)."""
    work = tempfile.mkdtemp(prefix="ws-upgrade-")
    try:
        host(["dpkg-deb", "-R", deb, work + "/pkg"])
        control = open(work + "/pkg/DEBIAN/control").read()
        version = re.search(r"^Version: (.*)$", control, re.M).group(1)
        new_version = version + "+systemtest1"
        with open(work + "/pkg/DEBIAN/control", "w") as f:
            f.write(control.replace(f"Version: {version}", f"Version: {new_version}"))
        out = os.path.join(outdir, f"waystation_{new_version}_upgrade.deb")
        host(["dpkg-deb", "--root-owner-group", "-Znone", "--build", work + "/pkg", out])
        return out, new_version
    finally:
        shutil.rmtree(work, ignore_errors=True)


def without_unit_sections(script, unit):
    """A maintainer script without debhelper's sections for `unit` (each "# Automatically added by"
    section of dh_installsystemd names the units of one invocation)."""
    parts = re.split(r"(# Automatically added by [^\n]*\n.*?# End automatically added section\n)", script, flags=re.S)
    return "".join(p for p in parts if not (p.startswith("# Automatically added by") and unit in p))


def make_preweb_deb(deb, outdir):
    """The package as it was before waystation-web (0.1.0-1): no waystation-web binary, unit or man
    page, no waystation-kiosk group, maintainer scripts without the unit. For the upgrade that
    brings the new unit and group to a running station."""
    work = tempfile.mkdtemp(prefix="ws-preweb-")
    try:
        pkg = work + "/pkg"
        host(["dpkg-deb", "-R", deb, pkg])
        for path in (
            "usr/bin/waystation-web",
            "lib/systemd/system/waystation-web.service",
            "usr/share/man/man8/waystation-web.8.gz",
        ):
            os.remove(os.path.join(pkg, path))
        sysusers = os.path.join(pkg, "usr/lib/sysusers.d/waystation.conf")
        text = open(sysusers).read()
        with open(sysusers, "w") as f:
            f.write("".join(l for l in text.splitlines(True) if "waystation-kiosk" not in l))
        for script in ("postinst", "prerm", "postrm"):
            path = os.path.join(pkg, "DEBIAN", script)
            text = without_unit_sections(open(path).read(), "waystation-web.service")
            text = text.replace("waystation-web.service ", "").replace(" waystation-kiosk; do", "; do")
            with open(path, "w") as f:
                f.write(text)
        with open(os.path.join(pkg, "DEBIAN/md5sums")) as f:
            sums = [l for l in f if "waystation-web" not in l and "sysusers.d" not in l]
        with open(os.path.join(pkg, "DEBIAN/md5sums"), "w") as f:
            f.writelines(sums)
        control = open(pkg + "/DEBIAN/control").read()
        control = re.sub(r"^Version: .*$", "Version: 0.1.0-1", control, flags=re.M)
        with open(pkg + "/DEBIAN/control", "w") as f:
            f.write(control)
        out = os.path.join(outdir, "waystation_0.1.0-1_preweb.deb")
        host(["dpkg-deb", "--root-owner-group", "-Znone", "--build", pkg, out])
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_upgrade_from_preweb(c, st, results, preweb_deb, deb):
    """A running station on the package before waystation-web upgrades to this one: the kiosk group
    is made, waystation-web.service is enabled and started, the daemon keeps its state."""
    r = c.run(["dpkg", "-i", f"{DEBS_INSIDE}/{os.path.basename(preweb_deb)}"], timeout=300)
    c.write("/etc/waystation/station.toml", station())
    st.reset()
    st.ctl("status", timeout=60)
    st.ctl("checkin", "--category", "courier", input=RIDER + "\n")
    before = len(st.visits())
    had = {
        "group": bool(c.run(["getent", "group", "waystation-kiosk"]).stdout.strip()),
        "unit": c.run(["test", "-e", "/lib/systemd/system/waystation-web.service"]).returncode == 0,
    }
    pid = st.main_pid()
    up = c.run(["dpkg", "-i", f"{DEBS_INSIDE}/{os.path.basename(deb)}"], timeout=300)
    kiosk = c.run(["getent", "group", "waystation-kiosk"]).stdout.strip()
    enabled = c.run(["systemctl", "is-enabled", "waystation-web.service"]).stdout.strip()
    ok = wait_for(st.web_daemon_ok, 30, 0.5)
    visits = st.visits()
    results.check(
        "upgrade from the package before waystation-web: kiosk group made, waystation-web.service enabled "
        "and started, the daemon restarted with its state",
        r.returncode == 0
        and before >= 1
        and not any(had.values())
        and up.returncode == 0
        and bool(kiosk)
        and enabled == "enabled"
        and bool(ok)
        and st.main_pid() not in (0, pid)
        and len(visits) >= before,
        f"old package: exit {r.returncode}, kiosk group/web unit before {had}; upgrade: exit {up.returncode}, "
        f"group {kiosk or '-'}, web {enabled}/{st.active('waystation-web.service')}, daemon_ok {bool(ok)}, "
        f"MainPID {pid} -> {st.main_pid()}, visits {before} -> {len(visits)} {tail(up.stderr, 2)}",
    )
    r = c.run(["dpkg", "--purge", "waystation"], timeout=120, env={"WAYSTATION_PURGE_DATABASE": "1"})
    groups = c.run(["sh", "-c", "getent group waystation waystation-admin waystation-kiosk"]).stdout.strip()
    results.check(
        "purge after that upgrade removes all three groups", r.returncode == 0 and not groups, groups or "none left"
    )


def check_upgrade(c, st, results, upgrade_deb, new_version, visits_before):
    pid = st.main_pid()
    web_pid = st.web_pid()
    r = c.run(["dpkg", "-i", "--force-confold", f"{DEBS_INSIDE}/{os.path.basename(upgrade_deb)}"], timeout=300)
    version = c.run(["dpkg-query", "-W", "-f=${Version}", "waystation"]).stdout.strip()
    wait_for(lambda: st.active("waystation.service") == "active", 30)
    conf = c.run(["grep", "-c", RELOADED_NAME, "/etc/waystation/station.toml"]).stdout.strip()
    results.check(
        "upgrade in place: dpkg -i of a newer version succeeds, the daemon is restarted on it",
        r.returncode == 0
        and version == new_version
        and st.main_pid() not in (0, pid)
        and st.active("waystation.service") == "active",
        f"version {version}, MainPID {pid} -> {st.main_pid()} {tail(r.stderr, 2)}",
    )
    results.check(
        "upgrade in place: the socket stays listening and the edited config is kept",
        st.socket_listening() and conf == "1",
        f"socket {st.socket_state()}, config kept: {conf == '1'}",
    )
    visits = st.visits()
    results.check(
        "upgrade in place: state kept (the check-ins made before are still listed)",
        len(visits) >= visits_before >= 1,
        f"{len(visits)} visit(s) after, {visits_before} before",
    )
    ok = wait_for(st.web_daemon_ok, 30, 0.5)
    results.check(
        "upgrade in place: waystation-web restarted on the new binary and serving",
        web_pid != 0 and st.web_pid() not in (0, web_pid) and bool(ok),
        f"MainPID {web_pid} -> {st.web_pid()}; /api/kiosk daemon_ok {bool(ok)}",
    )


def check_reboot(c, st, results, visits_before):
    c.poweroff()
    took, state = c.boot()
    socket_at_boot = st.socket_listening()
    ok = wait_for(lambda: st.active("waystation.service") == "active", 30)
    s = st.show("waystation.service", "TriggeredBy", "StatusText")
    r = st.ctl("status")
    run_dir = c.run(["stat", "-c", "%U:%G %a", "/run/waystation"]).stdout.strip()
    results.check(
        "reboot: socket listening from boot, daemon started at boot (enabled) and answering",
        socket_at_boot and bool(ok) and r.returncode == 0 and "waystation.socket" in s.get("TriggeredBy", ""),
        f"booted in {took:.1f} s ({state}); socket {st.socket_state()}; /run/waystation {run_dir}; "
        f"STATUS {s.get('StatusText')!r}",
    )
    visits = st.visits()
    results.check("reboot: the check-ins are still there", len(visits) >= visits_before >= 1, f"{len(visits)} visit(s)")
    ok = wait_for(st.web_daemon_ok, 30, 0.5)
    status, _, _ = st.http("/")
    results.check(
        "reboot: waystation-web started at boot (enabled) and serving",
        bool(ok) and status == 200,
        f"web {st.active('waystation-web.service')}; / HTTP {status}",
    )


def check_running_install(c, st, results, r):
    """dpkg -i on the running system (here after a purge): the socket is started, the daemon and
    waystation-web are not (they wait for a connection or the next boot)."""
    status = c.run(["dpkg-query", "-W", "-f=${Status}", "waystation"]).stdout.strip()
    results.check(
        "install on the running system: dpkg -i succeeds, the package is configured",
        r.returncode == 0 and status == "install ok installed",
        f"exit {r.returncode}; status {status!r} {tail(r.stdout + r.stderr, 3)}",
    )
    enabled = {
        u: c.run(["systemctl", "is-enabled", u]).stdout.strip()
        for u in ("waystation.socket", "waystation.service", "waystation-web.service")
    }
    time.sleep(1)  # a unit postinst started by mistake would be activating by now
    results.check(
        "install on the running system: units enabled, socket started, daemon and waystation-web not yet "
        "(they wait for a connection or the next boot)",
        all(v == "enabled" for v in enabled.values())
        and st.socket_listening()
        and st.active("waystation.service") == "inactive"
        and st.active("waystation-web.service") == "inactive",
        f"{enabled}; socket {st.socket_state()}, service {st.active('waystation.service')}, "
        f"web {st.active('waystation-web.service')}",
    )


def check_purge(c, st, results, deb, visits_before):
    r = c.run(["dpkg", "--purge", "waystation"], timeout=120)
    user = c.run(["getent", "passwd", "waystation"]).stdout.strip()
    groups = c.run(["sh", "-c", "getent group waystation waystation-admin waystation-kiosk"]).stdout.strip()
    etc = c.run(["test", "-e", "/etc/waystation"]).returncode != 0
    run = c.run(["test", "-e", "/run/waystation"]).returncode != 0
    db = c.run(["stat", "-c", "%U:%G %a", "/var/lib/waystation", "/var/lib/waystation/station.db"]).stdout.split("\n")
    units = c.run(["systemctl", "list-unit-files", "--no-legend", "waystation*"]).stdout.strip()
    results.check(
        "purge: user, groups (waystation, waystation-admin, waystation-kiosk), /etc/waystation, "
        "/run/waystation and the units are gone",
        r.returncode == 0 and not user and not groups and etc and run and not units,
        f"exit {r.returncode}; user {user or '-'}; groups {groups or '-'}; units {units or '-'} {tail(r.stderr, 2)}",
    )
    results.check(
        "purge: the database is kept (directory root-only)",
        len(db) >= 2 and db[0] == "root:root 700" and db[1] != "",
        f"/var/lib/waystation {db[0] if db else '-'}; station.db {'present' if len(db) > 1 and db[1] else 'missing'}",
    )

    r = c.run(["dpkg", "-i", f"{DEBS_INSIDE}/{os.path.basename(deb)}"], timeout=300)
    check_running_install(c, st, results, r)
    st.reset()
    st.ctl("status", timeout=60)
    visits = st.visits()
    state = c.run(["stat", "-c", "%U:%G %a", "/var/lib/waystation"]).stdout.strip()
    results.check(
        "reinstall after purge takes the kept database over (the check-in is listed)",
        r.returncode == 0 and len(visits) >= visits_before >= 1,
        f"{len(visits)} visit(s); /var/lib/waystation {state}",
    )

    r = c.run(["dpkg", "--purge", "waystation"], timeout=120, env={"WAYSTATION_PURGE_DATABASE": "1"})
    gone = c.run(["test", "-e", "/var/lib/waystation"]).returncode != 0
    results.check(
        "purge with WAYSTATION_PURGE_DATABASE=1 removes the database",
        r.returncode == 0 and gone,
        f"exit {r.returncode}; /var/lib/waystation {'gone' if gone else 'still there'}",
    )

    c.run(["dpkg", "-i", f"{DEBS_INSIDE}/{os.path.basename(deb)}"], timeout=300)
    c.run(["touch", "/var/lib/waystation/.purge-database"])
    r = c.run(["dpkg", "--purge", "waystation"], timeout=120)
    gone = c.run(["test", "-e", "/var/lib/waystation"]).returncode != 0
    results.check(
        "purge with /var/lib/waystation/.purge-database removes the database",
        r.returncode == 0 and gone,
        f"exit {r.returncode}; /var/lib/waystation {'gone' if gone else 'still there'}",
    )


# ---------------------------------------------------------------------------------------------


def check_hub(c, results, deb, hub_deb):
    """The district hub's package (waystation-district) installed beside the station's on the running
    system, without PostgreSQL (a Recommends): its user, config and state folder, the unit neither
    enabled nor started, systemd-analyze verify and security, `keys init` as its user; then purge."""
    # The station's package again (the checks before purged it), so the hub's purge can leave it be.
    c.run(["dpkg", "-i", f"{DEBS_INSIDE}/{os.path.basename(deb)}"], timeout=300)
    r = c.run(["dpkg", "-i", f"{DEBS_INSIDE}/{os.path.basename(hub_deb)}"], timeout=300)
    status = c.run(["dpkg-query", "-W", "-f=${Status}", "waystation-district"]).stdout.strip()
    results.check(
        "hub: dpkg -i waystation-district on the running system, without PostgreSQL, leaves it configured",
        r.returncode == 0 and status == "install ok installed",
        f"exit {r.returncode}; status {status!r} {tail(r.stdout + r.stderr, 3)}",
    )
    user = c.run(["getent", "passwd", "waystation-district"]).stdout.strip()
    conf = c.run(["stat", "-c", "%U:%G %a", "/etc/waystation/hub.toml"]).stdout.strip()
    conffiles = c.run(["dpkg-query", "-W", "-f=${Conffiles}", "waystation-district"]).stdout
    state = c.run(["stat", "-c", "%U:%G %a", "/var/lib/waystation-district"]).stdout.strip()
    tls = c.run(["stat", "-c", "%U:%G %a", "/etc/waystation/hub"]).stdout.strip()
    results.check(
        "hub: system user waystation-district; /etc/waystation/hub.toml root:waystation-district 0640 "
        "(conffile); /var/lib/waystation-district 0700 and /etc/waystation/hub 0750",
        user.startswith("waystation-district:")
        and conf == "root:waystation-district 640"
        and "/etc/waystation/hub.toml" in conffiles
        and state == "waystation-district:waystation-district 700"
        and tls == "root:waystation-district 750",
        f"user {user or 'missing'}; hub.toml {conf}; state {state}; hub/ {tls}",
    )
    enabled = c.run(["systemctl", "is-enabled", "waystation-district.service"]).stdout.strip()
    active = c.run(["systemctl", "is-active", "waystation-district.service"]).stdout.strip()
    results.check(
        "hub: waystation-district.service neither enabled nor started by the install",
        enabled == "disabled" and active == "inactive",
        f"{enabled}, {active}",
    )
    cat = c.run(["systemctl", "cat", "waystation-district.service"]).stdout
    results.check(
        "hub: systemctl cat shows the unit: /usr/sbin/waystation-district serve as its own user, after PostgreSQL",
        "ExecStart=/usr/sbin/waystation-district --config /etc/waystation/hub.toml serve" in cat
        and "User=waystation-district" in cat
        and re.search(r"^After=.*postgresql\.service", cat, re.M) is not None,
        tail(cat, 3),
    )
    verify = c.run(["systemd-analyze", "verify", "--man=no", "waystation-district.service"])
    results.check(
        "hub: systemd-analyze verify waystation-district.service",
        verify.returncode == 0 and not verify.stderr.strip(),
        tail(verify.stderr, 3) or "clean",
    )
    out = c.run(["systemd-analyze", "security", "--no-pager", "waystation-district.service"]).stdout
    m = re.search(r"Overall exposure level for waystation-district\.service: ([0-9.]+)", out)
    score = float(m.group(1)) if m else 99.0
    results.check(
        "hub: systemd-analyze security waystation-district.service (online) is 1.5 or lower",
        score <= 1.5,
        f"{score}" if m else tail(out),
    )
    man = c.run(["ls", "/usr/share/man/man8/waystation-district.8.gz", "/usr/share/doc/waystation-district/README.md"])
    results.check("hub: man page waystation-district(8) and the README installed", man.returncode == 0, tail(man.stderr))
    keys = c.run(
        ["runuser", "-u", "waystation-district", "--", "waystation-district", "keys", "init"], timeout=30
    )
    modes = c.sh("stat -c '%U %a' /var/lib/waystation-district/rider.key /var/lib/waystation-district/hpke.key")
    results.check(
        "hub: `keys init` as the hub's user on the shipped hub.toml makes rider.key and hpke.key, 0600, its own",
        keys.returncode == 0 and modes.stdout.split("\n")[:2] == ["waystation-district 600"] * 2,
        tail(keys.stdout + keys.stderr, 2) + " " + " ".join(modes.stdout.split()),
    )
    r = c.run(["dpkg", "--purge", "waystation-district"], timeout=300)
    gone = c.run(["getent", "passwd", "waystation-district"]).returncode != 0
    kept = c.run(["stat", "-c", "%U %a", "/var/lib/waystation-district"]).stdout.strip()
    station = c.run(["test", "-e", "/etc/waystation/station.toml"]).returncode == 0
    results.check(
        "hub: purge removes its user and hub.toml, keeps the keys (root 0700) and leaves the station's config",
        r.returncode == 0
        and gone
        and c.run(["test", "-e", "/etc/waystation/hub.toml"]).returncode != 0
        and kept == "root 700"
        and station,
        f"exit {r.returncode}; user {'gone' if gone else 'still there'}; state {kept}; station.toml "
        f"{'kept' if station else 'gone'} {tail(r.stderr, 2)}",
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deb", required=True, help="the waystation .deb to test")
    parser.add_argument("--hub-deb", help="the waystation-district .deb, installed beside it (optional)")
    parser.add_argument("--keep", action="store_true", help="keep the run directory (overlay, console logs)")
    args = parser.parse_args()

    if os.geteuid() != 0:
        sys.exit("systemtest: needs root (debootstrap, mount, systemd-nspawn)")
    for tool in ("systemd-nspawn", "debootstrap", "nsenter", "dpkg-deb"):
        if not shutil.which(tool):
            sys.exit(f"systemtest: {tool} is missing (apt-get install systemd-container debootstrap util-linux dpkg)")
    deb = os.path.abspath(args.deb)
    hub_deb = os.path.abspath(args.hub_deb) if args.hub_deb else None
    total = time.monotonic()
    results = Results()

    kind, _, mode = host_cgroup_report()
    log(
        f"host: /sys/fs/cgroup is {kind}: {mode}; systemd on the host: "
        f"{'yes' if os.path.isdir('/run/systemd/system') else 'no'}"
    )

    t = time.monotonic()
    root = ensure_root([deb] + ([hub_deb] if hub_deb else []))
    rundir = tempfile.mkdtemp(prefix="run-", dir=CACHE)
    debdir = os.path.join(rundir, "debs")
    os.makedirs(debdir)
    shutil.copy(deb, debdir)
    if hub_deb:
        shutil.copy(hub_deb, debdir)
    upgrade_deb, new_version = make_upgrade_deb(deb, debdir)
    preweb_deb = make_preweb_deb(deb, debdir)
    log(f"root ready in {time.monotonic() - t:.1f} s; testing {os.path.basename(deb)}, upgrade to {new_version}")

    c = Container(root, rundir, debdir)
    st = Station(c)
    try:
        check_chroot_install(c, results, deb)
        took, state = c.boot()
        cg = c.run(["stat", "-fc", "%T", "/sys/fs/cgroup"]).stdout.strip()
        results.check(
            "container boots systemd as PID 1 (cgroup v2 inside, for DeviceAllow=)",
            state in ("running", "degraded") and cg == "cgroup2fs",
            f"{state} in {took:.1f} s; /sys/fs/cgroup in the container: {cg}; "
            f"{c.run(['systemctl', '--version']).stdout.splitlines()[0]}",
        )
        if state == "degraded":
            log("      failed units: " + tail(c.run(["systemctl", "--failed", "--no-legend"]).stdout))

        check_install(c, st, results)
        check_security(c, st, results)
        c.write("/etc/waystation/station.toml", station())
        start_simulator(c, st, results)
        check_activation_and_ready(c, st, results)
        check_devices_online(c, st, results)
        check_journal_fields(c, st, results)
        check_limits(c, st, results)
        check_web(c, st, results)
        check_reload(c, st, results)
        check_late_ttyusb(c, st, results)
        check_device_refresh(c, st, results)
        check_socket_survives(c, st, results)
        check_web_reconnects(c, st, results)
        check_config_error(c, st, results)
        visits = check_checkin(c, st, results)
        check_no_raw_id(c, st, results)
        check_watchdog(c, st, results)
        check_upgrade(c, st, results, upgrade_deb, new_version, visits)
        check_reboot(c, st, results, visits)
        check_purge(c, st, results, deb, visits)
        check_upgrade_from_preweb(c, st, results, preweb_deb, deb)
        if hub_deb:
            check_hub(c, results, deb, hub_deb)
    except Exception as e:  # a broken container ends the run; what ran so far is reported
        results.check("the run completes", False, f"{type(e).__name__}: {e}")
        if c.leader:
            log("journal: " + tail(c.run(["journalctl", "--no-pager", "-n", "30"]).stdout, 30))
    finally:
        c.destroy(keep=args.keep)
        if args.keep:
            log(f"kept {rundir}")
    log(f"system test took {time.monotonic() - total:.1f} s")
    return results.summary()


if __name__ == "__main__":
    sys.exit(main())
