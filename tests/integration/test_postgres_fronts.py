"""Two fronts on one PostgreSQL spool (issue 22): two lighttpd +
formrelay stacks on different ports stand for two hosts and share one
database (tests/pgcluster.py).  Both take submissions under load; one
front and its delivery process are SIGKILLed mid-load; PostgreSQL is
restarted with `pg_ctl restart -m immediate` mid-load.  At the end every
acknowledged submission was delivered with the messageId its 202 named
and its own content, and the duplicates (deliveries whose ack was lost
in a kill or the crash) are counted and bounded.

The phases follow acknowledgements, not the clock: the kill comes after
KILL_AFTER acknowledged submissions, the restart after RESTART_AFTER
more, the end after AFTER_RESTART more."""

import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import pgcluster  # noqa: E402
from harness import (Relay, Standin, Tap, group_alive,  # noqa: E402
                     http_request, ok_when, wait_until)

CLIENTS_PER_FRONT = 3
KILL_AFTER = 120
RESTART_AFTER = 120
AFTER_RESTART = 120
# formrelay-deliver's largest batch (include/deliver.h)
DELIVER_MAX_EVENTS = 500


class Load:
    """Client threads posting to the fronts; every 202 is recorded with
    the messageId it named and the entry it was for."""

    def __init__(self, fronts):
        self.fronts = fronts
        self.lock = threading.Lock()
        self.acked = {}       # messageId -> entryId
        self.by_front = {}    # port -> 202s
        self.statuses = {}    # status -> count (0: no answer)
        self.stop = False
        self.threads = []
        self.serial = 0

    def next_entry(self):
        with self.lock:
            self.serial += 1
            return "e%06d" % self.serial

    def post(self, relay):
        entry = self.next_entry()
        body = '{"email":"%s@x.example","entryId":"%s"}' % (entry, entry)
        try:
            r = http_request(relay.port, "POST", "/formrelay", body,
                             {"Content-Type": "application/json",
                              "Accept": "application/json"}, timeout=20)
            status = r.status
        except OSError:
            status = 0
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == 202:
                self.acked[r.json()["id"]] = entry
                self.by_front[relay.port] = \
                    self.by_front.get(relay.port, 0) + 1
        return status

    def client(self, relay):
        while not self.stop and relay.proc is not None:
            if self.post(relay) != 202:
                time.sleep(0.05)  # pacing while a front or the db is down

    def start(self):
        for relay in self.fronts:
            for _ in range(CLIENTS_PER_FRONT):
                th = threading.Thread(target=self.client, args=(relay,),
                                      daemon=True)
                th.start()
                self.threads.append(th)

    def count(self):
        with self.lock:
            return len(self.acked)

    def wait_acked(self, n, what):
        wait_until(lambda: self.count() >= n, 600, what)

    def finish(self):
        self.stop = True
        for th in self.threads:
            th.join(60)


def kill_front(relay):
    """SIGKILL the front's whole process group: lighttpd, formrelay and
    its formrelay-deliver, at once (no release of claims)."""
    pgid = relay.proc.pid
    relay.proc = None  # its clients stop
    os.killpg(pgid, signal.SIGKILL)
    return pgid


def delivered(standin):
    """messageId -> list of the userIds it was delivered with."""
    out = {}
    for m in standin.messages():
        out.setdefault(m.get("messageId"), []).append(m.get("userId"))
    return out


def main():
    t = Tap()
    if not pgcluster.available():
        t.skip_all("no PostgreSQL server (initdb): install postgresql")
    cluster = pgcluster.Cluster()
    top = cluster.top
    standin = Standin(top)
    fronts = []
    load = None
    try:
        conf = {"spool": {"backend": "postgresql", "url": cluster.url(),
                          "password_file": cluster.password_file(),
                          "lease": "5s", "retry_min": "100ms",
                          "retry_max": "1s"},
                "http": {"rate_limit": "100000/min"},
                # the lease must outlast a request (spool.lease)
                "customerio": {"timeout_ms": "3000"}}
        for name in ("a", "b"):
            d = os.path.join(top, "front-" + name)
            os.mkdir(d)
            fronts.append(Relay(d, standin, conf_extra=conf))
        a, b = fronts
        t.ok(a.port != b.port, "two fronts on ports %d and %d" %
             (a.port, b.port))
        load = Load(fronts)
        load.start()
        load.wait_acked(KILL_AFTER, "acknowledgements before the kill")
        wait_until(lambda: all(load.by_front.get(f.port, 0) > 0
                               for f in fronts), 600, "a 202 from each")
        with load.lock:
            per_front = [load.by_front.get(f.port, 0) for f in fronts]
        t.ok(all(n > 0 for n in per_front), "both fronts take submissions "
             "under load (202s: a %d, b %d)" % tuple(per_front))
        pgid = kill_front(b)
        ok_when(t, lambda: not group_alive(pgid), 30,
                "front b and its delivery SIGKILLed mid-load: gone")
        n = load.count()
        load.wait_acked(n + RESTART_AFTER, "acknowledgements after the kill")
        cluster.restart("immediate")
        t.eq(cluster.psql("SELECT 1", db="postgres"), [["1"]],
             "PostgreSQL restarted with -m immediate mid-load, answering")
        n = load.count()
        load.wait_acked(n + AFTER_RESTART,
                        "acknowledgements after the restart")
        load.finish()
        print("# answers during the run: %r" % sorted(load.statuses.items()))
        bad = {s: c for s, c in load.statuses.items()
               if s not in (0, 202, 503)}
        t.eq(bad, {}, "every answer was 202, 503 or none (a killed front)")
        acked = dict(load.acked)

        def all_delivered():
            got = delivered(standin)
            return all(mid in got for mid in acked)
        try:
            wait_until(all_delivered, 600, "every acknowledged delivered")
        except TimeoutError:
            pass
        got = delivered(standin)
        missing = [mid for mid in acked if mid not in got]
        t.eq(missing, [], "every one of the %d acknowledged submissions "
             "was delivered" % len(acked))
        wrong = [mid for mid in acked if mid in got and
                 any(u != acked[mid] for u in got[mid])]
        t.eq(wrong, [], "each with the messageId its 202 named, and its "
             "own content")
        dups = sum(len(v) - 1 for v in got.values() if len(v) > 1)
        t.ok(dups <= 3 * DELIVER_MAX_EVENTS,
             "duplicates: %d deliveries of %d messageIds were repeats "
             "(bound %d: one batch lost with the kill, acks lost in the "
             "crash)" % (dups, len(got), 3 * DELIVER_MAX_EVENTS))
        print("# events left in the database: %r" % cluster.psql(
            "SELECT state, count(*) FROM events GROUP BY state"))
        log = a.log()
        bad = [ln for ln in log.splitlines()
               if "Sanitizer" in ln or "runtime error:" in ln]
        t.eq(bad, [], "no sanitizer report in the surviving front's log")
    finally:
        if load:
            load.finish()
        for relay in fronts:
            if relay.proc is not None:
                relay.stop()
        standin.stop()
        cluster.close()
    t.done()


if __name__ == "__main__":
    main()
