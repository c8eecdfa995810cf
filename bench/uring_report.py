#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Helpers for bench/uring.sh.

  uring_report.py fio JSON read|write
      print "IOPS MB/s p50_us p99_us" of one fio --output-format=json file
      (group_reporting: the first job is the group; clat percentiles).
      Exits 1 (with a message) if fio reported an error or did no I/O.
  uring_report.py table TSV
      the results table. TSV lines: round, target, item, metric, value;
      targets tmpfs, devfuse, ring; metrics iops, mbps, p50, p99 (us),
      cpu_us, cs_vol, cs_invol, req_per_io (shmfs targets only); with
      --sched, idle, migr, ipi (per I/O, system-wide, every target).
"""
import json
import statistics
import sys

ITEMS = [
    # item, label, main metric, unit
    ("randread1", "4K rand read, direct zone, 1 job", "iops", "IOPS"),
    ("randread2", "4K rand read, direct zone, 2 jobs", "iops", "IOPS"),
    ("randwrite1", "4K rand write, page zone, 1 job", "iops", "IOPS"),
    ("randwrite2", "4K rand write, page zone, 2 jobs", "iops", "IOPS"),
    ("seqread", "1M seq read, direct zone, 1 job", "mbps", "MB/s"),
    ("seqwrite", "1M seq write, direct zone, 1 job", "mbps", "MB/s"),
]
TARGETS = ("tmpfs", "devfuse", "ring")
# (item, ratio, threshold, text): the targets, on the medians
GOALS = [
    ("randread2", ("ring", "devfuse"), 3.0, "ring >= 3x /dev/fuse, 4K rand read, 2 jobs"),
    ("randwrite2", ("ring", "devfuse"), 3.0, "ring >= 3x /dev/fuse, 4K rand write, 2 jobs"),
    ("randread2", ("ring", "tmpfs"), 0.12, "ring >= 0.12x tmpfs, 4K direct read, 2 jobs"),
    ("seqread", ("ring", "devfuse"), 1.0, "1M seq read no worse than /dev/fuse"),
    ("seqwrite", ("ring", "devfuse"), 1.0, "1M seq write no worse than /dev/fuse"),
]


def fio(path, direction):
    text = open(path).read()
    start = text.find("{")  # fio may print warnings before the JSON
    if start < 0:
        sys.exit(f"uring_report.py: no JSON in {path}")
    jobs = json.loads(text[start:]).get("jobs", [])
    if not jobs:
        sys.exit(f"uring_report.py: no jobs in {path}")
    for j in jobs:
        if j.get("error", 0):
            sys.exit(f"uring_report.py: fio job {j.get('jobname')} error {j['error']}")
    d = jobs[0][direction]
    if d.get("total_ios", 0) == 0:
        sys.exit(f"uring_report.py: fio did no {direction} I/O in {path}")
    if d.get("short_ios", 0) or d.get("drop_ios", 0):
        print(f"uring_report.py: warning: {path}: short_ios={d.get('short_ios')} "
              f"drop_ios={d.get('drop_ios')}", file=sys.stderr)
    pct = d["clat_ns"].get("percentile", {})
    p50 = pct.get("50.000000", 0) / 1000
    p99 = pct.get("99.000000", 0) / 1000
    print(f"{d['iops']:.1f} {d['bw_bytes'] / 1e6:.1f} {p50:.2f} {p99:.2f}")


def table(path):
    data = {}  # (item, target, metric) -> {round: value}
    for line in open(path):
        rnd, tgt, item, metric, value = line.rstrip("\n").split("\t")
        data.setdefault((item, tgt, metric), {})[int(rnd)] = float(value)

    def med(item, tgt, metric):
        v = data.get((item, tgt, metric))
        return statistics.median(v.values()) if v else None

    def ratio(item, a, b, metric):
        va, vb = data.get((item, a, metric), {}), data.get((item, b, metric), {})
        rs = [va[r] / vb[r] for r in va if r in vb and vb[r] > 0]
        if not rs:
            return None
        return statistics.median(rs), min(rs), max(rs)

    def fmt(v, digits=0):
        if v is None:
            return "-"
        return f"{v:,.{digits}f}"

    def fr(r):
        return "-" if r is None else f"{r[0]:.2f} ({r[1]:.2f}..{r[2]:.2f})"

    rounds = len({r for v in data.values() for r in v})
    print(f"Medians of {rounds} round(s); ratios per round: median (min..max).")
    print()
    print("| work | unit | tmpfs | devfuse | ring | ring/devfuse | ring/tmpfs | devfuse/tmpfs |")
    print("|---|---|---:|---:|---:|---|---|---|")
    for item, label, m, unit in ITEMS:
        if not any((item, t, m) in data for t in TARGETS):
            continue
        print(f"| {label} | {unit} | {fmt(med(item, 'tmpfs', m))} | "
              f"{fmt(med(item, 'devfuse', m))} | {fmt(med(item, 'ring', m))} | "
              f"{fr(ratio(item, 'ring', 'devfuse', m))} | "
              f"{fr(ratio(item, 'ring', 'tmpfs', m))} | "
              f"{fr(ratio(item, 'devfuse', 'tmpfs', m))} |")
    print()
    print("| work | clat p50 us tmpfs / devfuse / ring | clat p99 us tmpfs / devfuse / ring "
          "| CPU us/req devfuse / ring | cs/req (vol + invol) devfuse / ring | req/io devfuse / ring |")
    print("|---|---|---|---|---|---|")
    for item, label, m, unit in ITEMS:
        if not any((item, t, m) in data for t in TARGETS):
            continue
        cells = []
        for metric, digits, tg in (("p50", 1, TARGETS), ("p99", 1, TARGETS),
                                   ("cpu_us", 2, TARGETS[1:]), ("cs", 2, TARGETS[1:]),
                                   ("req_per_io", 2, TARGETS[1:])):
            if metric == "cs":
                cells.append(" / ".join(
                    f"{fmt(med(item, t, 'cs_vol'), digits)} + {fmt(med(item, t, 'cs_invol'), digits)}"
                    for t in tg))
                continue
            cells.append(" / ".join(fmt(med(item, t, metric), digits) for t in tg))
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    if any(k[2] == "migr" for k in data):
        print("System-wide per fio I/O (--sched, perf stat -a): idle periods / task migrations "
              "/ wake-up IPIs (call_function_single)")
        print()
        print("| work | tmpfs | devfuse | ring |")
        print("|---|---|---|---|")
        for item, label, m, unit in ITEMS:
            if not any((item, t, "migr") in data for t in TARGETS):
                continue
            cells = [" / ".join(fmt(med(item, t, k), 3) for k in ("idle", "migr", "ipi"))
                     for t in TARGETS]
            print(f"| {label} | " + " | ".join(cells) + " |")
        print()
    print("Targets (issue 17, on the medians):")
    for item, (a, b), thr, text in GOALS:
        r = ratio(item, a, b, "iops" if item.startswith("rand") else "mbps")
        if r is None:
            continue
        state = "met" if r[0] >= thr else "MISSED"
        print(f"  {text}: {r[0]:.2f} ({r[1]:.2f}..{r[2]:.2f}) -> {state}")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "fio":
        fio(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "table":
        table(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
