#!/usr/bin/env python3
"""Measures the detection engine on the shipped scenarios, for docs/DETECTION.md.

For each sensitivity it runs `seismo detect` on scenarios/normal-traffic.toml (no outage:
every incident after the first week is a false alarm) and on every outage scenario (the
lag from each outage's onset to its detection).

With --cold-start it measures the first week instead: for each `learning_peak_ratio`,
the false alarms in the first 7 days of every shipped scenario (each starts on an empty
store) and whether the day-2 outage of scenarios/cold-start.toml is found.

Usage: cargo build --release -p seismo && python3 scripts/evaluate-detection.py [SENSITIVITY ...]
       python3 scripts/evaluate-detection.py --cold-start [RATIO ...]
"""
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from datetime import datetime, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEISMO = os.environ.get("SEISMO", os.path.join(ROOT, "target", "release", "seismo"))
OUTAGE_SCENARIOS = ["mail-outage", "isp-city-outage", "blip", "low-volume"]


def when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


COLD_START_SCENARIOS = ["normal-traffic", "monday-rush", "holiday", "cold-start"] + OUTAGE_SCENARIOS


def detect(reports, sensitivity, workdir, key="sensitivity"):
    config = os.path.join(workdir, f"seismo-{key}-{sensitivity}.toml")
    with open(config, "w") as f:
        f.write(f"[engine]\n{key} = {sensitivity}\n")
    out = subprocess.run([SEISMO, "detect", "--format", "json", "--config", config, "--reports", reports],
                         check=True, capture_output=True).stdout
    return json.loads(out)


def simulate(names, workdir):
    files = {}
    for name in names:
        path = os.path.join(workdir, name + ".ndjson")
        with open(path, "wb") as f:
            subprocess.run([SEISMO, "simulate", os.path.join(ROOT, "scenarios", name + ".toml")],
                           check=True, stdout=f, stderr=subprocess.DEVNULL)
        files[name] = path
    return files


def cold_start(ratios):
    with tempfile.TemporaryDirectory() as workdir:
        files = simulate(COLD_START_SCENARIOS, workdir)
        scenarios = {n: tomllib.load(open(os.path.join(ROOT, "scenarios", n + ".toml"), "rb"))
                     for n in COLD_START_SCENARIOS}
        service_weeks = sum(len(s["service"]) for s in scenarios.values())
        print("| learning_peak_ratio | false alarms in the first week | per service-week | day-2 outage (10× the busiest hour) |")
        print("|---:|---:|---:|---|")
        for ratio in ratios:
            alarms, day_two = 0, "missed"
            for name, scenario in scenarios.items():
                start = when(scenario["start"])
                onsets = [(o["service"], when(o["onset"])) for o in scenario.get("outage", [])]
                for i in detect(files[name], ratio, workdir, "learning_peak_ratio"):
                    detected = when(i["detected_at"])
                    if detected >= start + timedelta(days=7):
                        continue
                    outage = [t for s, t in onsets if s == i["service"] and timedelta(0) <= detected - t <= timedelta(hours=1)]
                    if outage:
                        day_two = f"found after {(detected - outage[0]).total_seconds() / 60:.0f} min"
                    else:
                        alarms += 1
            print(f"| {ratio:g} | {alarms} in {service_weeks} service-weeks | {alarms / service_weeks:.3f} | {day_two} |")


def main():
    if sys.argv[1:2] == ["--cold-start"]:
        cold_start([float(r) for r in sys.argv[2:]] or [1.0, 3.0, 5.0, 8.0, 10.0])
        return
    sensitivities = [float(s) for s in sys.argv[1:]] or [5.0, 6.0, 7.0, 8.0]
    with tempfile.TemporaryDirectory() as workdir:
        files = simulate(["normal-traffic"] + OUTAGE_SCENARIOS, workdir)
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
