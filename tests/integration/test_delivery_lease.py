"""Leases are renewed while a refused batch is split (issue 20): another
deliverer never takes the events over and sends them twice.
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Tap, wait_until  # noqa: E402
from delivery import (  # noqa: E402
    FAST_RETRY, delivered_ids, post, wait_drained)


def check_lease_renewed(t):
    """A batch refused with 400 is split until the refused event is
    alone: with Customer.io slow, that takes longer than the lease, which
    is renewed before each request; so another deliverer (here `formrelay
    flush`, run over and over meanwhile) never claims the events and
    sends them a second time."""
    env = Env(t, conf_extra={"spool": dict(FAST_RETRY, lease="6s"),
                             "customerio": {"timeout_ms": "5000"}})
    try:
        env.standin.script({"responses": [{"status": 200, "hold": True}]})
        _, first = post(env, 0, "lease-first")
        wait_until(lambda: env.standin.held() == 1, 30, "a batch in flight")
        # 32 events wait meanwhile, then go in one batch: split, that is
        # 11 requests of 0.7 s against a lease of 6 s
        ids = [None] * 32

        def post_some(k):
            for i in range(k, 32, 4):
                ids[i] = post(env, i, "lease")[1]
        posters = [threading.Thread(target=post_some, args=(k,))
                   for k in range(4)]
        for th in posters:
            th.start()
        for th in posters:
            th.join()
        poison = ids[20]
        env.standin.script({"reject_message_ids": [poison],
                            "delay_ms": 700})
        env.standin.release()
        flushes = [0]

        def flush_until_dead():
            env.relay.admin("flush")
            flushes[0] += 1
            return (env.relay.status() or {}).get("dead", 0) > 0
        wait_until(flush_until_dead, 120, "the refused event's dead letter")
        t.ok(wait_drained(env), "the split batch is settled")
        got = delivered_ids(env)
        splits = sum(1 for q in env.standin.requests() if q["status"] == 400)
        t.ok(splits >= 3, "the batch was split (%d requests refused, %d "
             "flushes meanwhile)" % (splits, flushes[0]))
        good = [i for i in ids if i != poison] + [first]
        t.eq(sorted(got), sorted(good), "each good event delivered once, "
             "the refused one never")
        t.ok("claimed by another holder" not in env.relay.log(),
             "no claim was taken over by another deliverer")
    finally:
        env.close()


def main():
    t = Tap()
    check_lease_renewed(t)
    t.done()


main()
