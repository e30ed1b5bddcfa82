#!/usr/bin/env python3
"""Measures the detection engine on the shipped scenarios, for docs/DETECTION.md.

For each sensitivity it runs `seismo detect` on scenarios/normal-traffic.toml (no outage:
every incident after the first week is a false alarm) and on every outage scenario (the
lag from each outage's onset to its detection).

Usage: cargo build --release -p seismo && python3 scripts/evaluate-detection.py [SENSITIVITY ...]
"""
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from datetime import datetime, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEISMO = os.path.join(ROOT, "target", "release", "seismo")
OUTAGE_SCENARIOS = ["mail-outage", "isp-city-outage", "blip", "low-volume"]


def when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def detect(reports, sensitivity, workdir):
    engine = os.path.join(workdir, f"engine-{sensitivity}.toml")
    with open(engine, "w") as f:
        f.write(f"sensitivity = {sensitivity}\n")
    out = subprocess.run([SEISMO, "detect", "--format", "json", "--engine", engine, "--reports", reports],
                         check=True, capture_output=True).stdout
    return json.loads(out)


def main():
    sensitivities = [float(s) for s in sys.argv[1:]] or [5.0, 6.0, 7.0, 8.0]
    with tempfile.TemporaryDirectory() as workdir:
        files = {}
        for name in ["normal-traffic"] + OUTAGE_SCENARIOS:
            path = os.path.join(workdir, name + ".ndjson")
            with open(path, "wb") as f:
                subprocess.run([SEISMO, "simulate", os.path.join(ROOT, "scenarios", name + ".toml")],
                               check=True, stdout=f, stderr=subprocess.DEVNULL)
            files[name] = path
        normal = tomllib.load(open(os.path.join(ROOT, "scenarios", "normal-traffic.toml"), "rb"))
        start, end = when(normal["start"]), when(normal["end"])
        settled = start + timedelta(days=7)
        weeks = (end - settled).days / 7
        services = len(normal["service"])
        print("| sensitivity | false alarms (after week 1) | per service per week | median lag, sudden outages (min) | outages found |")
        print("|---:|---:|---:|---:|---:|")
        for s in sensitivities:
            alarms = [i for i in detect(files["normal-traffic"], s, workdir) if when(i["detected_at"]) >= settled]
            lags, found, total = [], 0, 0
            for name in OUTAGE_SCENARIOS:
                scenario = tomllib.load(open(os.path.join(ROOT, "scenarios", name + ".toml"), "rb"))
                incidents = detect(files[name], s, workdir)
                for outage in scenario.get("outage", []):
                    total += 1
                    onset = when(outage["onset"])
                    hit = [i for i in incidents if i["service"] == outage["service"]
                           and timedelta(0) <= when(i["detected_at"]) - onset <= timedelta(hours=1)]
                    if hit:
                        found += 1
                        if outage.get("ramp_minutes", 1) <= 3:
                            lags.append((when(hit[0]["detected_at"]) - onset).total_seconds() / 60)
            lags.sort()
            median = lags[len(lags) // 2] if lags else float("nan")
            print(f"| {s:g} | {len(alarms)} in {weeks:.0f} weeks × {services} services | {len(alarms) / weeks / services:.3f} | {median:.0f} | {found}/{total} |")


if __name__ == "__main__":
    main()
