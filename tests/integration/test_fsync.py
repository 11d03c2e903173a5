"""A failed fsync is fatal for the spool handle (README "Durability",
docs/admin.md "When an fsync fails"): the submission whose commit could
not be fsync'd gets 503 and is undone, so a client's retry makes no
duplicate; no 2xx while fsync keeps failing; the handle is reopened and
the write-ahead log checkpointed into the spool file before anything is
acknowledged again; what was acknowledged before is kept and delivered
once, with its messageId.  The same holds for formrelay-deliver, whose
handle checkpoints the write-ahead log: when the checkpoint's fsync
fails, the handle is reopened before it claims anything more, and what
was stored is delivered once.

The fault is injected for real: tests/shim/failsync.so (LD_PRELOAD)
makes fsync/fdatasync of the spool's -wal fail with EIO while a control
file exists, in the FastCGI process lighttpd runs and in a CGI run.
"""

import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Tap, wait_until  # noqa: E402

SHIM = os.path.join(os.environ.get("FORMRELAY_SHIMDIR", "tests/shim"),
                    "failsync.so")


def shim_env(ctl, log, prog=None):
    env = {"LD_PRELOAD": SHIM, "FAILSYNC_FILE": ctl,
           "FAILSYNC_MATCH": "spool.db-wal", "FAILSYNC_LOG": log,
           # the shim comes before the sanitizer's runtime
           "ASAN_OPTIONS": "verify_asan_link_order=0"}
    if prog:
        env["FAILSYNC_PROG"] = prog
    return env


def failures(log):
    try:
        with open(log) as f:
            return len(f.read().splitlines())
    except OSError:
        return 0


def touch(path):
    with open(path, "w"):
        pass


def post(env, name):
    return env.relay.post_json({"entryId": name,
                                "email": "%s@x.example" % name})


def stored(st):
    """Events still to deliver: a 503 from the stand-in moves them between
    pending and inflight (retry_min is 50 ms), so count both."""
    return st and st["pending"] + st["inflight"]


def drained(env):
    st = env.relay.status()
    return st is not None and st["pending"] == 0 and \
        st["inflight"] == 0


def fastcgi(t, ctl, log):
    env = Env(t, env=shim_env(ctl, log), conf_extra={"spool": {
        "retry_min": "50ms", "retry_max": "200ms"}})
    try:
        # Customer.io answers 503 for now: what is stored stays pending
        env.standin.script({"default": {"status": 503}})
        kept = []
        for name in ("before-1", "before-2"):
            r = post(env, name)
            t.eq(r.status, 202, "%s: 202 while fsync works" % name)
            kept.append(r.json().get("id"))
        touch(ctl)
        statuses = [post(env, "during").status,
                    post(env, "during-2").status]
        t.ok(failures(log) >= 2, "the shim failed the -wal's fsync "
             "(%d times)" % failures(log))
        t.eq(statuses, [503, 503], "every submission while fsync fails "
             "gets 503, none a 2xx")
        r = post(env, "during-3")
        t.eq((r.status, r.json().get("error")), (503, "cannot_store"),
             "the 503 names the cause: cannot_store")
        st = env.relay.status()
        t.eq(stored(st), 2, "the submissions whose "
             "fsync failed were undone: only the 2 acknowledged are pending")
        log_text = env.relay.log()
        t.ok("fsync" in log_text and "undone" in log_text,
             "the log says an fsync failed and the commit was undone",
             log_text[-2000:])
        os.unlink(ctl)
        r = post(env, "during")
        t.eq(r.status, 202, "fsync works again: the client's retry gets 202")
        retried = r.json().get("id")
        r = post(env, "after")
        t.eq(r.status, 202, "and so does the next submission")
        acked = set(kept + [retried, r.json().get("id")])
        env.standin.script({"default": {"status": 200}})
        wait_until(lambda: drained(env), 60, "the spool to drain")
        msgs = env.standin.messages()
        got = sorted(m["messageId"] for m in msgs)
        t.eq(got, sorted(acked), "exactly the acknowledged events were "
             "delivered, once each, with the messageIds of their 202s")
        emails = sorted(m["traits"]["email"] for m in msgs)
        t.eq(emails, sorted(["before-1@x.example", "before-2@x.example",
                             "during@x.example", "after@x.example"]),
             "no duplicate of the retried submission, nothing of the "
             "failed ones")
    finally:
        if os.path.exists(ctl):
            os.unlink(ctl)
        env.close()


def cgi(t, ctl, log):
    env = Env(t)
    try:
        env.standin.script({"default": {"status": 503}})  # keep it pending
        body = b'{"entryId":"cgi","email":"cgi@x.example"}'
        out, err = env.relay.cgi("POST", "/formrelay", body)
        t.ok(out.startswith("Status: 202"), "CGI: 202 while fsync works",
             out + err)
        touch(ctl)
        before = failures(log)
        out, err = env.relay.cgi("POST", "/formrelay", body,
                                 extra=shim_env(ctl, log))
        t.ok(out.startswith("Status: 503"), "CGI: 503 when the fsync "
             "fails", out + err)
        t.ok(failures(log) > before, "CGI: the shim failed its fsync")
        st = env.relay.status()
        t.eq(stored(st), 1, "CGI: the failed "
             "submission was undone")
    finally:
        if os.path.exists(ctl):
            os.unlink(ctl)
        env.close()


def delivery_checkpoint(t, ctl, log):
    """formrelay-deliver's checkpoint fsync fails: its handle is
    reopened, and every acknowledged event is delivered once."""
    env = Env(t, env=shim_env(ctl, log, "formrelay-deliver"),
              conf_extra={"http": {"rate_limit": "1000000/min"},
                          "spool": {"retry_min": "50ms",
                                    "retry_max": "200ms"}})
    try:
        touch(ctl)
        acked, statuses = [], set()
        # Each submission's commit adds a few pages to the write-ahead
        # log; once it passes the delivery handle's checkpoint size
        # (4000 pages) formrelay-deliver checkpoints, and fails.
        for i in range(20000):
            r = post(env, "ckpt-%05d" % i)
            statuses.add(r.status)
            if r.status == 202:
                acked.append(r.json().get("id"))
            if i % 100 == 99 and failures(log) > 0:
                break
        t.ok(failures(log) > 0, "the shim failed formrelay-deliver's "
             "checkpoint fsync (after %d submissions)" % len(acked))
        t.eq(statuses, {202}, "submissions meanwhile: every one 202 (the "
             "serving process's own fsyncs work)")
        os.unlink(ctl)
        wait_until(lambda: "reopened after a failed fsync" in
                   env.relay.log(), 60, "the delivery handle reopened")
        wait_until(lambda: drained(env), 120, "the spool to drain")
        got = [m["messageId"] for m in env.standin.messages()]
        t.eq(len(got), len(set(got)), "no event delivered twice")
        t.eq(sorted(set(got)), sorted(acked), "every acknowledged event "
             "delivered, with the messageId of its 202")
        t.ok("the spool was reopened after a failed fsync" in
             env.relay.log(), "the log says formrelay-deliver reopened "
             "its handle")
    finally:
        if os.path.exists(ctl):
            os.unlink(ctl)
        env.close()


def main():
    t = Tap()
    if not os.path.exists(SHIM):
        t.skip_all("tests/shim/failsync.so not built (make check builds it)")
    tmp = tempfile.mkdtemp(prefix="formrelay-fsync-")
    ctl, log = os.path.join(tmp, "fail"), os.path.join(tmp, "failures")
    try:
        fastcgi(t, ctl, log)
        cgi(t, ctl, log)
        delivery_checkpoint(t, ctl, log + "-deliver")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
