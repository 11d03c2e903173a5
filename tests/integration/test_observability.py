"""/healthz, /metrics and the logs, as an operator reads them (issue 6).

/healthz is JSON with the spool's depth and the delivery state; /metrics
is Prometheus text whose counters move with real traffic; the error log
has one logfmt line per request and per delivery batch, emails masked.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Tap, wait_until  # noqa: E402

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def parse_metrics(text):
    """Prometheus text format 0.0.4 -> {"name{labels}": float}."""
    out, bad = {}, []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            bad.append(line)
            continue
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out, bad


def metrics(env):
    r = env.relay.request("GET", "/formrelay/metrics")
    return r, parse_metrics(r.body)


def logfmt(line):
    return dict(re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', line))


def check_health(t, env):
    r = env.relay.request("GET", "/formrelay/healthz")
    t.eq(r.status, 200, "healthz: 200")
    t.eq(r.header("content-type"), "application/json", "healthz is JSON")
    h = r.json()
    t.eq(h.get("status"), "ok", "healthz status ok")
    t.eq(sorted(h.get("spool", {}).keys()),
         ["dead", "inflight", "oldest_pending_age_s", "pending",
          "previewed"],
         "healthz reports the spool by state and the oldest pending age")
    t.eq(h.get("paused_for_auth"), False, "not paused")


def check_metrics(t, env):
    r, (before, bad) = metrics(env)
    t.eq(r.status, 200, "metrics: 200 to loopback")
    t.ok(r.header("content-type", ).startswith("text/plain; version=0.0.4"),
         "metrics content type is the Prometheus text format")
    t.eq(bad, [], "every metrics line parses")
    # A reverse proxy on loopback that is not among trusted_proxies,
    # relaying for an internet client: refused all the same.
    r = env.relay.request("GET", "/formrelay/metrics",
                          headers={"X-Forwarded-For": "203.0.113.9"})
    t.eq(r.status, 403, "metrics: 403 to an internet client relayed by "
                        "an untrusted proxy on loopback")
    for name in ("formrelay_events_stored_total",
                 "formrelay_events_delivered_total",
                 'formrelay_spool_events{state="pending"}',
                 "formrelay_upstream_seconds_count"):
        t.ok(name in before, "metrics has " + name)
    ids = [env.relay.post_json({"entryId": "m%d" % i,
                                "email": "m%d@x.example" % i}).json()["id"]
           for i in range(3)]
    wait_until(lambda: set(ids) <= {m["messageId"]
                                    for m in env.standin.messages()},
               20, "delivery")
    after = wait_until(lambda: (lambda m: m if m.get(
        "formrelay_events_delivered_total", 0) -
        before.get("formrelay_events_delivered_total", 0) >= 3 else None)(
        metrics(env)[1][0]), 10, "delivered counter")
    t.eq(after["formrelay_events_stored_total"] -
         before["formrelay_events_stored_total"], 3, "stored counter +3")
    t.eq(after['formrelay_requests_total{status="202"}'] -
         before['formrelay_requests_total{status="202"}'], 3,
         "requests_total{status=202} +3")
    t.ok(after["formrelay_upstream_seconds_count"] >
         before["formrelay_upstream_seconds_count"],
         "upstream latency histogram counted the batch")
    check_commit_metrics(t, before, after)


def histogram(m, name):
    """[(le, cumulative count)], in the order of the text, +Inf last."""
    prefix = name + '_bucket{le="'
    return [(float(k[len(prefix):-2]), v) for k, v in m.items()
            if k.startswith(prefix)]


def check_commit_metrics(t, before, after):
    """The group-commit histograms: one sample per commit, buckets
    cumulative, and the three posts stored by one to three commits (the
    stand-in test posts one at a time, so usually three)."""
    commits = (after["formrelay_spool_sync_seconds_count"] -
               before["formrelay_spool_sync_seconds_count"])
    t.ok(1 <= commits <= 3, "sync histogram: one sample a commit (%d for "
         "3 posts)" % commits)
    t.eq(after["formrelay_spool_commit_submissions_total"] -
         before["formrelay_spool_commit_submissions_total"], 3,
         "commit_submissions_total +3")
    for name in ("formrelay_spool_sync_seconds",
                 "formrelay_spool_lock_wait_seconds"):
        h = histogram(after, name)
        counts = [v for _, v in h]
        t.ok(len(h) >= 2 and h[-1][0] == float("inf") and
             counts == sorted(counts), name + ": buckets cumulative, +Inf "
             "last", h)
        t.eq(h[-1][1], after[name + "_count"], name + ": +Inf == _count")
        t.eq(after[name + "_count"],
             after["formrelay_spool_sync_seconds_count"],
             name + ": as many samples as commits")
    # Each sample falls in the bucket its time says: the sum lies between
    # the lower and the upper bounds of the buckets the new samples are in.
    lo = hi = 0.0
    prev_le, prev_after, prev_before = 0.0, 0, 0
    for (le, n_after), (_, n_before) in zip(
            histogram(after, "formrelay_spool_sync_seconds"),
            histogram(before, "formrelay_spool_sync_seconds")):
        n = (n_after - prev_after) - (n_before - prev_before)
        if n:
            lo += n * prev_le
            hi += n * le
        prev_le, prev_after, prev_before = le, n_after, n_before
    spent = (after["formrelay_spool_sync_seconds_sum"] -
             before["formrelay_spool_sync_seconds_sum"])
    t.ok(lo <= spent + 1e-6 and spent <= hi + 1e-6,
         "sync seconds agree with the buckets of the new samples",
         "sum +%g, buckets say %g..%g" % (spent, lo, hi))


def check_logs(t, env):
    env.relay.post_form({"entryId": "log-1", "email": "Visible.Person@x.example"})
    wait_until(lambda: "log-1" in [m["userId"] for m in env.standin.messages()],
               15, "delivery")
    lines = [logfmt(x) for x in env.relay.log().splitlines()
             if "prog=formrelay" in x]
    reqs = [x for x in lines if x.get("method") == "POST"]
    t.ok(reqs and all(k in reqs[-1] for k in
                      ("status", "duration_ms", "message_id", "outcome")),
         "one logfmt line per request with status, duration, messageId and "
         "outcome", reqs[-1:] if reqs else lines[-5:])
    batches = [x for x in lines if x.get("msg") == "deliver"]
    t.ok(batches and all(k in batches[-1] for k in
                         ("events", "status", "outcome", "elapsed_ms")),
         "one logfmt line per delivery batch", batches[-1:])
    log = env.relay.log()
    t.ok("visible.person@x.example" not in log.lower(),
         "emails are masked in the log")
    t.ok(re.search(r'email=v\*\*\*@x\.example', log) is not None,
         "the masked form keeps the first letter and the domain")


def main():
    t = Tap()
    env = Env(t)
    try:
        check_health(t, env)
        check_metrics(t, env)
        check_logs(t, env)
    finally:
        env.close()
    t.done()


main()
