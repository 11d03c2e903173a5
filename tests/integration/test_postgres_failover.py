"""Failover (issue 22): a primary and a streaming standby on this
machine (tests/pgcluster.py), with synchronous replication; formrelay is
given both in its URL with target_session_attrs=read-write.  Mid-load
the primary is stopped (-m immediate, as a crash) and the standby
promoted: formrelay goes on against the new primary (503 meanwhile), and
every submission acknowledged before, during and after is delivered
with the messageId its 202 named."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import pgcluster  # noqa: E402
from harness import Relay, Standin, Tap, ok_when, wait_until  # noqa: E402
from test_postgres_fronts import Load, delivered  # noqa: E402

BEFORE = 100
AFTER = 100


def main():
    t = Tap()
    if not pgcluster.available():
        t.skip_all("no PostgreSQL server (initdb): install postgresql")
    primary = pgcluster.Cluster()
    standby = None
    standin = None
    relay = None
    load = None
    try:
        standby = pgcluster.Cluster(top=primary.top, name="standby",
                                    standby_of=primary)
        primary.psql("ALTER SYSTEM SET synchronous_standby_names"
                     " = 'standby'", db="postgres")
        primary.psql("SELECT pg_reload_conf()", db="postgres")
        ok_when(t, lambda: primary.psql(
            "SELECT sync_state FROM pg_stat_replication",
            db="postgres") == [["sync"]], 120,
            "a streaming standby, synchronous")
        url = ("postgresql://formrelay@127.0.0.1:%d,127.0.0.1:%d/formrelay"
               "?target_session_attrs=read-write" %
               (primary.port, standby.port))
        standin = Standin(primary.top)
        d = os.path.join(primary.top, "front")
        os.mkdir(d)
        relay = Relay(d, standin, conf_extra={
            "spool": {"backend": "postgresql", "url": url,
                      "password_file": primary.password_file(),
                      "lease": "5s", "retry_min": "100ms",
                      "retry_max": "1s"},
            "http": {"rate_limit": "100000/min"},
            # the lease must outlast a request (spool.lease)
            "customerio": {"timeout_ms": "3000"}})
        load = Load([relay])
        load.start()
        load.wait_acked(BEFORE, "acknowledgements before the failover")
        primary.stop("immediate")
        standby.promote()
        t.eq(standby.psql("SELECT pg_is_in_recovery()", db="postgres"),
             [["f"]], "primary stopped (-m immediate), standby promoted "
             "mid-load")
        n = load.count()
        load.wait_acked(n + AFTER, "acknowledgements on the new primary")
        t.ok(load.count() >= n + AFTER,
             "formrelay went on against the new primary (%d more 202s)"
             % (load.count() - n))
        load.finish()
        print("# answers during the run: %r" %
              sorted(load.statuses.items()))
        acked = dict(load.acked)
        try:
            wait_until(lambda: all(m in delivered(standin) for m in acked),
                       600, "every acknowledged delivered")
        except TimeoutError:
            pass
        got = delivered(standin)
        missing = [m for m in acked if m not in got]
        t.eq(missing, [], "every one of the %d acknowledged submissions "
             "was delivered: nothing lost in the failover" % len(acked))
        wrong = [m for m in acked if m in got and
                 any(u != acked[m] for u in got[m])]
        t.eq(wrong, [], "each with the messageId its 202 named")
        bad = [ln for ln in relay.log().splitlines()
               if "Sanitizer" in ln or "runtime error:" in ln]
        t.eq(bad, [], "no sanitizer report in the server log")
    finally:
        if load:
            load.finish()
        if relay:
            relay.stop()
        if standin:
            standin.stop()
        if standby:
            standby.stop("immediate")
        primary.close()
    t.done()


if __name__ == "__main__":
    main()
