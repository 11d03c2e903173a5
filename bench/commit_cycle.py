#!/usr/bin/env python3
"""Where a stored submission waits inside formrelay, from /formrelay/metrics
read before and after each measured formrelay round of bench/run.sh
(WRK_OUTPUT.metrics.before and .after beside each wrk output given).

Prints, over the measured runs: group commits a second, submissions per
commit, and the quantiles of the wait for the spool's write lock and of
the fsync of each commit.  A quantile is the upper bound of the histogram
bucket it falls in ("<= 2 ms"), as Prometheus's buckets allow.
"""

import os
import re
import sys

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')
SYNC = "formrelay_spool_sync_seconds"
LOCK = "formrelay_spool_lock_wait_seconds"
SUBMISSIONS = "formrelay_spool_commit_submissions_total"


def parse(path):
    out = {}
    with open(path) as f:
        for line in f:
            m = SAMPLE.match(line.strip())
            if m:
                out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def delta(before, after):
    return {k: after[k] - before.get(k, 0.0) for k in after}


def buckets(m, name):
    prefix = name + '_bucket{le="'
    return sorted((float(k[len(prefix):-2]), v) for k, v in m.items()
                  if k.startswith(prefix))


def quantile(m, name, q):
    """Upper bound of the bucket holding quantile q, in ms; None if
    no samples."""
    total = m.get(name + "_count", 0)
    if total <= 0:
        return None
    for le, n in buckets(m, name):
        if n >= q * total:
            return le * 1000.0
    return None


def show(ms):
    if ms is None:
        return "-"
    if ms == float("inf"):
        return "> 1 s"
    return "<= %g ms" % ms


def main(outputs):
    total, seconds = {}, 0.0
    for out in outputs:
        before, after = out + ".metrics.before", out + ".metrics.after"
        if not (os.path.exists(before) and os.path.exists(after)):
            continue
        d = delta(parse(before), parse(after))
        for k, v in d.items():
            total[k] = total.get(k, 0.0) + v
        m = re.search(r"duration_us=(\d+)", open(out).read())
        seconds += int(m.group(1)) / 1e6 if m else 0.0
    commits = total.get(SYNC + "_count", 0)
    if commits <= 0 or seconds <= 0:
        print("\nformrelay commit cycle: no /metrics figures")
        return
    print()
    print("formrelay commit cycle (from /formrelay/metrics, measured runs):")
    print("  group commits %.0f/s, %.1f submissions each" % (
        commits / seconds, total.get(SUBMISSIONS, 0) / commits))
    for label, name in (("wait for the write lock", LOCK),
                        ("fsync of the WAL", SYNC)):
        print("  %-24s mean %.2f ms, p50 %s, p90 %s, p99 %s" % (
            label, total.get(name + "_sum", 0) / commits * 1000,
            show(quantile(total, name, 0.5)),
            show(quantile(total, name, 0.9)),
            show(quantile(total, name, 0.99))))


if __name__ == "__main__":
    main(sys.argv[1:])
