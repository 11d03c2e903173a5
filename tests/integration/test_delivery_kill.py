"""formrelay-deliver SIGKILLed mid-batch under load (SPEC "Guarantees",
issue 20): every acknowledged event is delivered with its messageId,
and the duplicates are exactly the events of the batches in flight at
the kills.
"""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Tap, wait_until  # noqa: E402
from delivery import (  # noqa: E402
    FAST_RETRY, delivered_ids, deliver_pids, load_threads, running,
    wait_delivered, wait_drained)


def check_deliver_sigkill(t):
    """formrelay-deliver SIGKILLed (by pid) while Customer.io is answering
    a batch, three times under load: every acknowledged event is
    delivered with its messageId, and the only duplicates are the events
    of the batches in flight at the kills, each once per kill."""
    env = Env(t, conf_extra={"spool": dict(FAST_RETRY, lease="30s"),
                             "customerio": {"timeout_ms": "20000"}})
    try:
        # every batch waits for the test's release: in flight on demand
        env.standin.script({"default": {"status": 200, "hold": True}})
        acked, finish = load_threads(env, "dk")
        killed, last = [], -1
        try:
            for rnd in range(3):
                wait_until(lambda: len(acked) >= 10 * (rnd + 1), 60, "load")
                # one delivery process, one batch at a time: the request
                # held is the one it waits for
                [index] = wait_until(lambda: [
                    i for i in env.standin.held_requests() if i > last],
                    60, "a batch in flight")
                batch = env.standin.requests()[index]["json"]["batch"]
                [pid] = deliver_pids(env)
                os.kill(pid, signal.SIGKILL)
                wait_until(lambda: not running(pid), 30, "its death")
                killed.append([e["messageId"] for e in batch])
                last = index
                env.standin.release()  # answered to a closed connection
        finally:
            finish()
        env.standin.script({"default": {"status": 200}})
        env.standin.release()
        t.ok(len(killed) == 3 and all(killed),
             "formrelay-deliver SIGKILLed 3 times with a batch in flight "
             "(%s events)" % [len(b) for b in killed])
        missing = wait_delivered(env, acked, 60)
        t.eq(sorted(missing), [], "all %d acknowledged submissions "
             "delivered" % len(acked))
        t.ok(wait_drained(env), "then the spool drains")
        got = {}
        for m in delivered_ids(env):
            got[m] = got.get(m, 0) + 1
        kills = {}
        for b in killed:
            for m in b:
                kills[m] = kills.get(m, 0) + 1
        wrong = {m: n for m, n in got.items() if n != 1 + kills.get(m, 0)}
        t.eq(wrong, {}, "each event delivered once, and once more for "
             "each killed batch it was in")
        dup = sum(got.values()) - len(got)
        t.eq(dup, sum(len(b) for b in killed), "duplicates: exactly the "
             "events of the killed batches (%d), at most one batch a kill"
             % dup)
    finally:
        env.close()


def main():
    t = Tap()
    check_deliver_sigkill(t)
    t.done()


main()
