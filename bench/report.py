#!/usr/bin/env python3
"""Helpers for bench/run.sh.

  report.py fio JSON METRIC   print one number from a fio --output-format=json
                              file; METRIC is read_mbps, write_mbps,
                              read_iops or write_iops. Exits 1 (with a
                              message) if fio reported an error or did no I/O.
  report.py dd STDERR_FILE... print MB/s (1e6 bytes/s) from dd's summary
                              lines: total bytes / total seconds.
  report.py table TSV [--passthrough]
                              print the results table: medians of tmpfs,
                              shmfs page, shmfs direct (and passthrough_ll),
                              then each mode's per-round ratio to tmpfs
                              (median, min, max). TSV lines:
                              round<TAB>target<TAB>item<TAB>value
                              target: tmpfs, page, direct or pll
"""
import json
import re
import statistics
import sys

ITEMS = [
    ("seqread", "seq read 1M (MB/s)"),
    ("seqwrite", "seq write 1M (MB/s)"),
    ("randread1", "rand read 4K, 1 proc (IOPS)"),
    ("randread2", "rand read 4K, 2 procs (IOPS)"),
    ("randwrite1", "rand write 4K, 1 proc (IOPS)"),
    ("randwrite2", "rand write 4K, 2 procs (IOPS)"),
    ("ddin", "dd bs=1M in, 64 MiB (MB/s)"),
    ("ddout", "dd bs=1M out, 64 MiB (MB/s)"),
    ("openrc", "open+read 4K+close (ops/s)"),
]


def fio(path, metric):
    text = open(path).read()
    # fio may print warnings before the JSON document
    start = text.find("{")
    if start < 0:
        sys.exit(f"report.py: no JSON in {path}")
    doc = json.loads(text[start:])
    jobs = doc.get("jobs", [])
    if not jobs:
        sys.exit(f"report.py: no jobs in {path}")
    for j in jobs:
        if j.get("error", 0):
            sys.exit(f"report.py: fio job {j.get('jobname')} error {j['error']}")
    direction, kind = metric.split("_")
    total = 0.0
    ios = 0
    for j in jobs:
        d = j[direction]
        ios += d.get("total_ios", 0)
        total += d["bw_bytes"] / 1e6 if kind == "mbps" else d["iops"]
        if d.get("short_ios", 0) or d.get("drop_ios", 0):
            print(f"report.py: warning: {path}: short_ios={d.get('short_ios')} "
                  f"drop_ios={d.get('drop_ios')}", file=sys.stderr)
    if ios == 0:
        sys.exit(f"report.py: fio did no {direction} I/O in {path}")
    print(f"{total:.1f}")


def dd(paths):
    pat = re.compile(r"^(\d+) bytes .* copied, ([0-9.eE+-]+) s,")
    nbytes = 0
    secs = 0.0
    for p in paths:
        found = False
        for line in open(p):
            m = pat.match(line.strip())
            if m:
                nbytes += int(m.group(1))
                secs += float(m.group(2))
                found = True
        if not found:
            sys.exit(f"report.py: no dd summary in {p}")
    if secs <= 0:
        sys.exit("report.py: dd reported 0 s")
    print(f"{nbytes / secs / 1e6:.1f}")


def fmt(v):
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.1f}"


MODES = [("page", "page"), ("direct", "direct"), ("kpt", "kernel pt")]


def table(path, passthrough):
    data = {}  # (target, item) -> {round: value}
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        rnd, target, item, value = line.split("\t")
        data.setdefault((target, item), {})[int(rnd)] = float(value)

    def med(target, item):
        vals = list(data.get((target, item), {}).values())
        return statistics.median(vals) if vals else None

    def ratios(num, den, item):
        a = data.get((num, item), {})
        b = data.get((den, item), {})
        return [a[r] / b[r] for r in sorted(a) if r in b and b[r] > 0]

    def rstats(r):
        if not r:
            return ["-", "-", "-"]
        return [f"{statistics.median(r):.2f}", f"{min(r):.2f}",
                f"{max(r):.2f}"]

    head = ["work", "tmpfs", "shmfs page", "shmfs direct", "shmfs kernel pt"]
    if passthrough:
        head += ["passthrough_ll"]
    for _, name in MODES:
        head += [f"{name}/tmpfs med", "min", "max"]
    if passthrough:
        head += ["direct/pll med"]
    rows = []
    for key, label in ITEMS:
        row = [label, fmt(med("tmpfs", key)), fmt(med("page", key)),
               fmt(med("direct", key)), fmt(med("kpt", key))]
        if passthrough:
            row += [fmt(med("pll", key))]
        for target, _ in MODES:
            row += rstats(ratios(target, "tmpfs", key))
        if passthrough:
            rp = ratios("direct", "pll", key)
            row += [f"{statistics.median(rp):.2f}" if rp else "-"]
        rows.append(row)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]

    def line(cells):
        out = []
        for i, (c, w) in enumerate(zip(cells, widths)):
            out.append(c.ljust(w) if i == 0 else c.rjust(w))
        return "| " + " | ".join(out) + " |"

    print(line(head))
    print("|" + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":"
                         for i, w in enumerate(widths)) + "|")
    for row in rows:
        print(line(row))


def main(argv):
    if len(argv) >= 3 and argv[1] == "fio" and len(argv) == 4:
        fio(argv[2], argv[3])
    elif len(argv) >= 3 and argv[1] == "dd":
        dd(argv[2:])
    elif len(argv) >= 3 and argv[1] == "table":
        table(argv[2], "--passthrough" in argv[3:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
