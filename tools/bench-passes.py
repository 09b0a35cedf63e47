#!/usr/bin/env python3
"""Summarises several passes of `JSON=1 tools/bench ...` for the results table.

    for i in 1 2 3; do JSON=1 tools/bench direct fanout100 > pass$i.json; done
    tools/bench-passes.py pass1.json pass2.json pass3.json

Each FILE is one pass: tools/bench's "== SCENARIO (...)" headers, each
followed by the JSON reports of that scenario's chatbench runs. For the n-th
run of every scenario and every metric in its reports (the metrics of
tools/bench-compare.py) this prints the median over the passes and the
range (min-max), then the runs' notes. Standard library only.
"""
import importlib.util
import json
import os
import re
import statistics
import sys

HEADER = re.compile(r"^== (\S+) \(.*\)\s*$", re.M)


def load_metrics():
    """tools/bench-compare.py's metrics(), so both tools read reports alike."""
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("bench_compare", os.path.join(here, "bench-compare.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.metrics


def reports(text):
    """(scenario, [report, ...]) for each header of one pass, in order."""
    parts = HEADER.split(text)
    decoder = json.JSONDecoder()
    for i in range(1, len(parts), 2):
        body, found, end = parts[i + 1], [], 0
        # chatbench pretty-prints each report from a "{" in column 0
        for start in (m.start() for m in re.finditer(r"^\{", body, re.M)):
            if start >= end:
                report, end = decoder.raw_decode(body, start)
                found.append(report)
        yield parts[i], found


def main(paths):
    if not paths:
        sys.exit(__doc__)
    metrics = load_metrics()
    runs, order = {}, []
    for path in paths:
        with open(path) as f:
            for scenario, found in reports(f.read()):
                for n, report in enumerate(found, 1):
                    key = (scenario, n)
                    if key not in runs:
                        runs[key] = []
                        order.append(key)
                    runs[key].append(report)
    for key in order:
        passes = runs[key]
        params = " ".join(f"{k}={v}" for k, v in sorted(passes[0].get("parameters", {}).items()))
        print(f"== {key[0]} #{key[1]}: {params}  ({len(passes)} passes)")
        values = [dict(metrics(r)) for r in passes]
        for name, _ in metrics(passes[0]):
            xs = [v[name] for v in values if isinstance(v.get(name), (int, float))]
            if xs:
                print(f"   {name:44s} {statistics.median(xs):>14,.2f}   {min(xs):,.2f}–{max(xs):,.2f}")
        for r in passes:
            for note in r.get("notes", []):
                print(f"   note: {note}")
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
