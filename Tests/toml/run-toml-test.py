#!/usr/bin/env python3
"""Runs toml-test's TOML 1.0 cases (Tests/toml-test) through toml-test-decoder.

Every valid document must decode to its expected tagged JSON (floats and date-times compared by
value), every invalid one must be refused (non-zero exit, no crash). Exits 1 on any miss.
Usage: run-toml-test.py [--decoder .build/debug/toml-test-decoder] [--suite Tests/toml-test]
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# Cases a decoder may miss on purpose, with the reason (none today: dates and times decode; only the
# config loaders refuse them).
KNOWN_MISSES = {}

DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})?[T ]?(\d{2}:\d{2}(?::\d{2})?)?(\.\d+)?(Z|[+-]\d{2}:\d{2})?$", re.I)


def normal_datetime(text):
    m = DATETIME.match(text.strip())
    if not m:
        return text
    date, time, fraction, offset = m.groups()
    if time and len(time) == 5:
        time += ":00"
    fraction = (fraction or "").rstrip("0").rstrip(".")
    offset = (offset or "").upper()
    if offset in ("+00:00", "-00:00"):
        offset = "Z"
    return (date or "", time or "", fraction, offset)


def same_scalar(kind, got, want):
    if kind == "float":
        g, w = float(got), float(want)
        if math.isnan(w):
            return math.isnan(g)
        return g == w
    if kind == "integer":
        return int(got) == int(want)
    if kind in ("datetime", "datetime-local", "date-local", "time-local"):
        return normal_datetime(got) == normal_datetime(want)
    return got == want


def same(got, want, path="$"):
    """None when equal, else where they differ."""
    if isinstance(want, dict) and set(want.keys()) == {"type", "value"} and isinstance(want["type"], str):
        if not (isinstance(got, dict) and set(got.keys()) == {"type", "value"}):
            return f"{path}: expected a {want['type']}, got {json.dumps(got)[:80]}"
        if got["type"] != want["type"] or not same_scalar(want["type"], got["value"], want["value"]):
            return f"{path}: expected {want}, got {got}"
        return None
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got.keys()) != set(want.keys()):
            return f"{path}: expected keys {sorted(want.keys())}, got {json.dumps(got)[:120]}"
        for k in want:
            d = same(got[k], want[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return f"{path}: expected an array of {len(want)}, got {json.dumps(got)[:120]}"
        for i, (g, w) in enumerate(zip(got, want)):
            d = same(g, w, f"{path}[{i}]")
            if d:
                return d
        return None
    return f"{path}: unexpected {want!r}"


def run(decoder, path):
    with open(path, "rb") as f:
        data = f.read()
    p = subprocess.run([decoder], input=data, capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--decoder", default=os.path.join(REPO, ".build/debug/toml-test-decoder"))
    ap.add_argument("--suite", default=os.path.join(REPO, "Tests/toml-test"))
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    with open(os.path.join(args.suite, "files-toml-1.0.0")) as f:
        files = [line.strip() for line in f if line.strip().endswith(".toml")]
    misses, passed, known = [], 0, 0
    for name in files:
        status, out, err = run(args.decoder, os.path.join(args.suite, name))
        problem = None
        if status < 0:
            problem = f"crashed with signal {-status}"
        elif name.startswith("valid/"):
            with open(os.path.join(args.suite, name[:-5] + ".json"), "rb") as f:
                want = json.loads(f.read())
            if status != 0:
                problem = f"refused: {err.strip()}"
            else:
                try:
                    problem = same(json.loads(out), want)
                except json.JSONDecodeError as e:
                    problem = f"printed no JSON ({e}): {out[:120]}"
        elif status == 0:
            problem = "accepted"
        if problem is None:
            passed += 1
            if args.verbose and name.startswith("invalid/"):
                print(f"ok {name}: {err.strip()}")
        elif name in KNOWN_MISSES and status >= 0:
            known += 1
        else:
            misses.append(f"{name}: {problem}")
    valid = sum(1 for n in files if n.startswith("valid/"))
    print(f"toml-test 1.0: {passed}/{len(files)} passed ({valid} valid, {len(files) - valid} invalid), "
          f"{known} known misses, {len(misses)} misses")
    for m in misses:
        print("  MISS " + m)
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
