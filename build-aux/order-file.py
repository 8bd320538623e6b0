#!/usr/bin/env python3
"""`make order-file`: the functions waystationd runs, hottest first, for the linker's symbol ordering.

The release link (the Makefile's RELEASE_FLAGS) passes build-aux/waystationd.order to lld as
`--symbol-ordering-file`, with every Swift function in a section of its own (`-function-sections`):
the code the daemon runs then sits together at the front of .text, so the pages the kernel maps in
(64 KiB at a time around each fault) hold that code and not cold neighbours. Measured on the demo
station: the binary's resident text went from ~11 MiB to ~2 MiB. A stale file only costs that
saving for the functions renamed since; nothing breaks (`--no-warn-symbol-ordering`).

How: the demo station's simulator, then the release daemon (a copy without debug sections: Debian
bookworm's valgrind 3.19 cannot read the toolchain's DWARF 5) under `valgrind --tool=callgrind` for
--seconds, with waystation-web reading it, waystationctl calls, a slot interlock tripped and
re-enabled (the safety path must be in the hot set) and a fridge alert raised; then each function of
the daemon's own binary that ran, by instructions executed, hottest first.

    build-aux/order-file.py --bin .build/release --out build-aux/waystationd.order
"""
import argparse
import bisect
import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(what, deadline, check):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.2)
    sys.exit(f"order-file: {what} did not happen within {deadline} s")


def sim(sock, line):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(sock)
        s.sendall((line + "\n").encode())
        try:
            s.recv(4096)
        except OSError:
            pass


def parse_callgrind(path, binary_name):
    """Self cost (instructions) per function of `binary_name`'s object."""
    cost = collections.Counter()
    ob = fn = None
    in_call = False
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("ob="):
                ob = line[3:].strip()
            elif line.startswith("fn="):
                fn = line[3:].strip()
                in_call = False
                if ob and ob.endswith(binary_name):
                    cost[fn] += 0
            elif line.startswith("calls="):
                in_call = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                if in_call:
                    in_call = False  # the line after calls= is the call's inclusive cost
                    continue
                parts = line.split()
                if fn and ob and ob.endswith(binary_name) and len(parts) >= 2:
                    cost[fn] += int(parts[1])
    return cost


def drop_ambiguous(names, binary, map_path, big=32 * 1024):
    """`names` without those that would pull a big cold section to the front.

    lld orders by name, local symbols included, and moves every section that defines the name. The
    toolchain's static libraries are built without per-function sections, and several of them define
    the same local helpers (`$sSqwxx`, Optional's outlined destroy, is local to the standard library,
    the regex parser and _StringProcessing): ordering it moved the regex parser's whole 475 KiB of
    code next to the daemon's hot code, though the daemon never runs it. A name defined more than
    once is left out when one of its copies sits in a section of >= `big` bytes that no name defined
    once needs (the copy that ran is then placed as if unordered)."""
    rx = re.compile(r"^\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s+\S+:\((\.text[^)]*)\)")
    sections = []
    with open(map_path, errors="replace") as f:
        for line in f:
            m = rx.match(line)
            if m:
                sections.append((int(m.group(1), 16), int(m.group(2), 16)))
    sections.sort()
    starts = [s[0] for s in sections]
    defs = collections.defaultdict(list)
    nm = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    for line in nm.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in "tTwW":
            i = bisect.bisect_right(starts, int(f[0], 16)) - 1
            if i >= 0:
                defs[f[2]].append(i)
    needed = {defs[n][0] for n in names if len(defs.get(n, [])) == 1}
    kept = [n for n in names
            if len(defs.get(n, [])) <= 1 or not any(sections[i][1] >= big and i not in needed for i in defs[n])]
    print(f"order-file: {len(names) - len(kept)} names left out (local to several objects, one in a big cold section)")
    return kept, [n for n in names if n not in set(kept)]


def write_local_sections(script, names):
    """Lists, in build-aux/release.ld's block for it, the one-function sections of `names`: the
    daemon's own copies of the helpers left out of the order go with the other unnamed helpers before
    .text, while the static libraries' copies (inside their one big .text) stay where they are."""
    begin, end = "    /* BEGIN make order-file */\n", "    /* END make order-file */\n"
    text = open(script).read()
    if begin not in text or end not in text:
        sys.exit(f"order-file: {script} has no '{begin.strip()}' ... '{end.strip()}' block")
    lines = "".join(f'    *(".text.{n}")\n' for n in sorted(names) if '"' not in n)
    head, rest = text.split(begin, 1)
    with open(script, "w") as f:
        f.write(head + begin + lines + end + rest.split(end, 1)[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, ".build/release"))
    ap.add_argument("--out", default=os.path.join(REPO, "build-aux/waystationd.order"))
    ap.add_argument("--seconds", type=int, default=120)
    ap.add_argument("--tools", help="where waystation-sim, waystation-web and waystationctl are (default: --bin)")
    ap.add_argument("--map", help="lld's link map of --bin's waystationd (-Map=): with it, a name several objects "
                    "define locally is left out when one of those copies sits in a big section nothing else needs")
    args = ap.parse_args()
    for tool in ("valgrind", "objcopy", "nm"):
        if not shutil.which(tool):
            sys.exit(f"order-file: {tool} is missing (apt-get install valgrind binutils)")
    daemon = os.path.join(args.bin, "waystationd")
    tools = args.tools or args.bin
    work = tempfile.mkdtemp(prefix="ws-order-")
    procs = []
    try:
        cabinet, web_port = free_port(), free_port()
        text = open(os.path.join(REPO, "examples/demo-station.toml")).read()
        text = (text.replace('"../state/station.db"', f'"{work}/station.db"')
                .replace('"../state/control.sock"', f'"{work}/control.sock"')
                .replace('["../devices"]', f'["{REPO}/devices"]')
                .replace('"../state/ttyWS0"', f'"{work}/ttyWS0"'))
        text = re.sub(r"(?m)^port = 15020$", f"port = {cabinet}", text)
        text = re.sub(r'(?m)^listen = "127.0.0.1:8480"$', f'listen = "127.0.0.1:{web_port}"', text)
        config = os.path.join(work, "station.toml")
        open(config, "w").write(text)
        log = open(os.path.join(work, "log"), "w")
        simsock = os.path.join(work, "sim.sock")
        procs.append(subprocess.Popen(
            [os.path.join(tools, "waystation-sim"), "--config", config, "--pty", "--no-stdin",
             "--control-socket", simsock], stdout=log, stderr=log, stdin=subprocess.DEVNULL))
        wait_for("the simulator's socket", 30, lambda: os.path.exists(simsock))
        stripped = os.path.join(work, "waystationd")
        subprocess.run(["objcopy", "--strip-debug", daemon, stripped], check=True)
        out = os.path.join(work, "callgrind.out")
        d = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--dump-instr=no", "--compress-strings=no", "--compress-pos=no",
             "--demangle=no", f"--callgrind-out-file={out}", stripped, "--config", config],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        control = os.path.join(work, "control.sock")
        wait_for("the daemon's control socket", 120, lambda: os.path.exists(control))
        w = subprocess.Popen([os.path.join(tools, "waystation-web"), "--config", config],
                             stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        procs.append(w)
        ctl = [os.path.join(tools, "waystationctl"), "--socket", control]
        end = time.monotonic() + args.seconds
        step = 0
        while time.monotonic() < end:
            for path in ("api/kiosk", "metrics"):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{web_port}/{path}", timeout=10).read()
                except OSError:
                    pass
            for argv in (["status"], ["alerts"], ["devices"]):
                subprocess.run(ctl + argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            if step == 3:
                sim(simsock, "hold cabinet slot1_temp 75")
                sim(simsock, "hold fridge cabinet_temp 15")
            if step == 8:
                sim(simsock, "release cabinet slot1_temp")
                sim(simsock, "release fridge cabinet_temp")
            if step == 10:
                subprocess.run(ctl + ["enable-slot", "slot-1"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=60)
            step += 1
            time.sleep(2)
        d.send_signal(signal.SIGTERM)
        d.wait(timeout=120)
        cost = parse_callgrind(out, "waystationd")
        known = set()
        nm = subprocess.run(["nm", "--defined-only", daemon], capture_output=True, text=True, check=True).stdout
        for line in nm.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "tTwW":
                known.add(f[2])
        names = [n for n, _ in cost.most_common() if n in known]
        if args.map:
            names, left_out = drop_ambiguous(names, daemon, args.map)
            write_local_sections(os.path.join(REPO, "build-aux/release.ld"), left_out)
        with open(args.out, "w") as f:
            f.write("\n".join(names) + "\n")
        print(f"order-file: {len(names)} functions ran ({len(cost) - len(names)} not in the symbol table) "
              f"-> {os.path.relpath(args.out)}")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
