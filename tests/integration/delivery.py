"""What the delivery tests share: posting submissions, reading what the
stand-in Customer.io received, waiting for the spool to drain, and the
FastCGI and delivery processes of a relay."""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import wait_until  # noqa: E402

FAST_RETRY = {"retry_min": "50ms", "retry_max": "300ms"}


def post(env, i, tag):
    r = env.relay.post_json({"entryId": "%s-%d" % (tag, i),
                             "email": "u%d@%s.example" % (i, tag)})
    return r.status, (r.json().get("id") if r.status == 202 else None)


def delivered_ids(env):
    return [m["messageId"] for m in env.standin.messages()]


def wait_delivered(env, ids, timeout=30):
    """Wait until ids were all delivered; returns those that were not."""
    want = set(ids)
    try:
        wait_until(lambda: want <= set(delivered_ids(env)), timeout,
                   "%d events delivered" % len(want))
    except TimeoutError:
        pass
    return want - set(delivered_ids(env))


def drained(env):
    """Nothing pending or in flight: every stored event was delivered and
    acknowledged in the spool (the stand-in sees an event before the
    delivery process acks it)."""
    st = env.relay.status()
    return st is not None and (st.get("pending"), st.get("inflight")) == (0, 0)


def wait_drained(env, timeout=60):
    try:
        wait_until(lambda: drained(env), timeout, "the spool to drain")
        return True
    except TimeoutError:
        return False


def running(pid):
    """pid runs (a zombie waits for its parent's reaping, not for us)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def fastcgi_pids(env):
    return env.relay.fastcgi_pids()


def deliver_pids(env):
    """The formrelay-deliver processes started by the FastCGI processes."""
    return env.relay.deliver_pids()


def maps_libcurl(pid):
    try:
        with open("/proc/%d/maps" % pid) as f:
            return "libcurl" in f.read()
    except OSError:
        return False


def load_threads(env, tag, n=3):
    """Threads posting submissions until stop is set; acked gets the
    messageId of each 202."""
    acked, lock, stop = [], threading.Lock(), threading.Event()

    def load(k):
        i = 0
        while not stop.is_set():
            try:
                status, mid = post(env, i, "%s%d" % (tag, k))
            except OSError:
                status, mid = 0, None
            if status == 202:
                with lock:
                    acked.append(mid)
            i += 1
    threads = [threading.Thread(target=load, args=(k,), daemon=True)
               for k in range(n)]
    for th in threads:
        th.start()

    def finish():
        stop.set()
        for th in threads:
            th.join()
    return acked, finish
