#!/usr/bin/env python3
"""Summarises an A/B run of `tools/bench --compare REV`.

    tools/bench-compare.py DIR

DIR (written by tools/bench, under .build-compare/results/) holds meta.txt,
scenarios.txt (the scenarios in the order run) and, per scenario, SCENARIO/<side>-<round>-<n>.json: chatbench's JSON report
of the n-th chatbench run of that scenario, side A (REV) or B (working tree),
in the given round. For every chatbench run and every metric in its reports
this prints the median of each side, the ratio B/A of the medians and each
side's spread (min-max). A '*' marks a metric whose A and B ranges do not
overlap (only meaningful with two or more rounds). Standard library only.
"""
import json
import os
import re
import statistics
import sys

NAME = re.compile(r"^([AB])-(\d+)-(\d+)\.json$")


def metrics(report):
    """(name, value) for every number in a chatbench report, in display order."""
    out = []
    for k, v in sorted(report.get("rates", {}).items()):
        out.append((k, v))
    for k, lat in sorted(report.get("latency", {}).items()):
        for field, label in (("p50Ms", "p50"), ("p99Ms", "p99"), ("p999Ms", "p99.9"), ("maxMs", "max")):
            if field in lat:
                out.append((f"{k} latency {label} ms", lat[field]))
    for k, v in sorted(report.get("server", {}).items()):
        out.append((f"server {k}", v))
    for k, v in sorted(report.get("counts", {}).items()):
        out.append((k, v))
    out.append(("errors", report.get("errors", 0)))
    return out


def fmt(x):
    if x is None:
        return "-"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    if a == 0:
        return "0"
    return f"{x:.3g}"


def spread(values):
    return f"{fmt(min(values))}–{fmt(max(values))}" if values else "-"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    meta = os.path.join(root, "meta.txt")
    if os.path.exists(meta):
        with open(meta) as f:
            sys.stdout.write(f.read())
    print(f"reports: {root}")
    dirs = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    order_file = os.path.join(root, "scenarios.txt")
    scenarios = []
    if os.path.exists(order_file):
        with open(order_file) as f:
            scenarios = [s for s in f.read().split() if s in dirs]
    scenarios += [d for d in dirs if d not in scenarios]
    for scenario in scenarios:
        # runs[n][side] = list of reports, one per round
        runs = {}
        for name in os.listdir(os.path.join(root, scenario)):
            m = NAME.match(name)
            if not m:
                continue
            side, rnd, n = m.group(1), int(m.group(2)), int(m.group(3))
            with open(os.path.join(root, scenario, name)) as f:
                try:
                    report = json.load(f)
                except json.JSONDecodeError as e:
                    print(f"warning: {scenario}/{name}: {e}", file=sys.stderr)
                    continue
            runs.setdefault(n, {}).setdefault(side, []).append((rnd, report))
        for n in sorted(runs):
            sides = {s: [r for _, r in sorted(runs[n].get(s, []), key=lambda t: t[0])] for s in "AB"}
            first = (sides["A"] or sides["B"])[0]
            params = " ".join(f"{k}={v}" for k, v in sorted(first.get("parameters", {}).items()))
            print()
            print(f"== {scenario} #{n}: chatbench {first.get('scenario', '?')}  {params}")
            print(f"   rounds: A {len(sides['A'])}, B {len(sides['B'])}")
            values = {s: {} for s in "AB"}
            order = []
            for s in "AB":
                for report in sides[s]:
                    for k, v in metrics(report):
                        if k not in order:
                            order.append(k)
                        values[s].setdefault(k, []).append(float(v))
            width = max([len("metric")] + [len(k) for k in order])
            head = f"   {'metric':<{width}}  {'A median':>12}  {'B median':>12}  {'B/A':>7}    {'A min–max':<23}  {'B min–max':<23}"
            print(head.rstrip())
            for k in order:
                a, b = values["A"].get(k, []), values["B"].get(k, [])
                ma = statistics.median(a) if a else None
                mb = statistics.median(b) if b else None
                if ma is not None and mb is not None and ma != 0:
                    ratio = f"{mb / ma:.3f}"
                elif ma == 0 and mb == 0:
                    ratio = "="
                else:
                    ratio = "-"
                mark = " "
                if len(a) > 1 and len(b) > 1 and (max(a) < min(b) or max(b) < min(a)):
                    mark = "*"
                print(f"   {k:<{width}}  {fmt(ma):>12}  {fmt(mb):>12}  {ratio:>7} {mark}  {spread(a):<23}  {spread(b)}".rstrip())
            for s in "AB":
                for note in sorted({note for report in sides[s] for note in report.get("notes", [])}):
                    print(f"   note ({s}): {note}")
    print()
    print("B/A is the ratio of the medians; * marks a metric whose A and B ranges do not overlap.")


if __name__ == "__main__":
    main()
