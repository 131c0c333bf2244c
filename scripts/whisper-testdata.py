#!/usr/bin/env python3
"""Writes testdata/whisper/<case>.wsp with Python's whisper module for every case of
testdata/whisper/cases.txt (format described at the top of that file).

Usage: scripts/setup.sh test && python3 scripts/whisper-testdata.py

The whisper module comes from target/test-peers/whisper (where `scripts/setup.sh test` installs the
pinned version) unless PYTHONPATH already provides one. Archive lists are used as written:
whisper.validateArchiveList is skipped, because it refuses Heka's default list (its retentions
do not increase) and would sort the others. The files were made with whisper 1.1.10 on
CPython 3.11; CPython 3.12 and later sum floats with compensation, which changes the last bits
of some sums and averages.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "target", "test-peers", "whisper"))

import whisper  # noqa: E402

DATA = os.path.join(ROOT, "testdata", "whisper")


def cases():
    case = None
    now = 0
    with open(os.path.join(DATA, "cases.txt")) as f:
        for line in f:
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            key, args = words[0], words[1:]
            if key == "case":
                if case:
                    yield case
                case = {"name": args[0], "updates": []}
            elif key == "archives":
                case["archives"] = [tuple(int(x) for x in a.split(":")) for a in args]
            elif key == "aggregation":
                case["aggregation"] = args[0]
            elif key == "xff":
                case["xff"] = float(args[0])
            elif key == "now":
                now = int(args[0])
            elif key == "update":
                refused = args[2:] == ["refused"]
                case["updates"].append((now, int(args[0]), args[1], refused))
            else:
                raise SystemExit("bad line in cases.txt: " + line)
    if case:
        yield case


def main():
    try:
        from importlib.metadata import version
        v = version("whisper")
    except Exception:
        v = "?"
    print("whisper %s from %s, Python %s" % (v, whisper.__file__, sys.version.split()[0]))
    whisper.validateArchiveList = lambda archives: None
    for case in cases():
        path = os.path.join(DATA, case["name"] + ".wsp")
        if os.path.exists(path):
            os.unlink(path)
        whisper.create(path, list(case["archives"]), xFilesFactor=case["xff"],
                       aggregationMethod=case["aggregation"])
        for now, timestamp, value, refused in case["updates"]:
            try:
                whisper.update(path, value, timestamp, now=now)
                ok = True
            except whisper.TimestampNotCovered:
                ok = False
            if ok == refused:
                raise SystemExit("%s: update %s %s at %s: %s" % (
                    case["name"], timestamp, value, now,
                    "accepted, but marked refused" if ok else "refused"))
        print("%s: %d updates, %d bytes" % (
            case["name"], len(case["updates"]), os.path.getsize(path)))


if __name__ == "__main__":
    main()
