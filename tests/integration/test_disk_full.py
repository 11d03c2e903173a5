"""A full disk under the spool: 503, never a 2xx for what was not
stored, and nothing stored before is lost (SPEC "Guarantees").

Needs root to mount a small tmpfs for the spool; skipped otherwise.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Env, Tap, fill, mount_tmpfs, unmount_tmpfs,  # noqa: E402
                     wait_until)


def main():
    t = Tap()
    mnt = mount_tmpfs(t, "3m")
    env = None
    try:
        env = Env(t, conf_extra={"customerio": {"timeout_ms": "1000"},
                                 "spool": {
            "path": os.path.join(mnt, "spool.db"),
            "retry_min": "50ms", "retry_max": "300ms",
            # A retry or ack the full disk refused leaves its claims
            # in flight until the lease ends: keep the wait short.
            "lease": "2s"}})
        env.relay.spool = os.path.join(mnt, "spool.db")
        env.standin.script({"default": {"status": 503}})
        r = env.relay.post_json({"entryId": "before", "email": "b@x.example"})
        t.eq(r.status, 202, "before the disk fills: 202")
        kept = r.json()["id"]
        fill(os.path.join(mnt, "filler"))
        big = "x" * 8000
        answers = []
        for i in range(40):
            r = env.relay.post_json({"entryId": "full-%d" % i,
                                     "email": "f%d@x.example" % i,
                                     "notes": big})
            answers.append((r.status, r.json().get("id"), "full-%d" % i))
        statuses = sorted({s for s, _, _ in answers})
        t.ok(503 in statuses, "disk full: 503 (statuses seen %s)" % statuses)
        t.ok(set(statuses) <= {202, 503}, "only 202 or 503, nothing else")
        r = env.relay.post_json({"entryId": "x", "email": "x@x.example"})
        t.eq(r.json().get("error"), "cannot_store",
             "the 503 names the cause: cannot_store")
        os.unlink(os.path.join(mnt, "filler"))
        r = env.relay.post_json({"entryId": "after", "email": "a@x.example"})
        t.eq(r.status, 202, "space again: 202")
        after = r.json()["id"]
        acked = [kept, after] + [i for s, i, _ in answers if s == 202]
        env.standin.script({"default": {"status": 200}})
        want = set(acked)
        try:
            wait_until(lambda: want <= {m["messageId"]
                                        for m in env.standin.messages()},
                       30, "delivery")
        except TimeoutError:
            pass
        got = {m["messageId"] for m in env.standin.messages()}
        t.eq(sorted(want - got), [], "every 202 was delivered, the first too")
        refused = {u for s, _, u in answers if s == 503}
        users = {m["userId"] for m in env.standin.messages()}
        t.ok(refused and not refused & users,
             "nothing answered 503 was delivered (%d refused)" % len(refused))
    finally:
        if env:
            env.close()
        unmount_tmpfs(mnt)
    t.done()


main()
