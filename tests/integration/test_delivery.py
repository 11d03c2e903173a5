"""Nothing acknowledged is ever lost (SPEC "Guarantees", issue 4).

Under an upstream outage, a 429 with Retry-After, a poison event, a
wrong key, and SIGKILL of the FastCGI processes in the middle of load,
every submission answered 2xx reaches the stand-in with the messageId it
was acknowledged with.
"""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Tap, wait_until  # noqa: E402
from delivery import (  # noqa: E402
    FAST_RETRY, delivered_ids, deliver_pids, fastcgi_pids, load_threads,
    maps_libcurl, post, running, wait_delivered, wait_drained)


def check_outage(t, env):
    env.standin.reset()
    env.standin.script({"responses": [{"status": 503, "count": 4}]})
    ids = [post(env, i, "outage")[1] for i in range(5)]
    t.ok(all(ids), "submissions during an outage are acknowledged 202")
    wait_delivered(env, ids)
    got = delivered_ids(env)
    t.eq(sorted(got), sorted(ids),
         "after the outage each is delivered once, messageIds unchanged")
    statuses = [q["status"] for q in env.standin.requests()]
    t.ok(503 in statuses and statuses[-1] == 200,
         "the stand-in saw the 503s and then the 200", statuses)


def check_retry_after(t, env):
    env.standin.reset()
    env.standin.script({"responses": [
        {"status": 429, "headers": {"Retry-After": "2"}}]})
    _, mid = post(env, 0, "ra")
    wait_delivered(env, [mid])
    reqs = env.standin.requests()
    t.eq([q["status"] for q in reqs], [429, 200],
         "429 then one retry that succeeds")
    gap = reqs[1]["time"] - reqs[0]["time"]
    t.ok(gap >= 1.9, "Retry-After: 2 was waited out (%.2fs)" % gap)


def check_poison(t, env):
    env.standin.reset()
    env.standin.script({"default": {"status": 503}})
    ids = [post(env, i, "poison")[1] for i in range(6)]
    poison = ids[3]
    env.standin.script({"reject_message_ids": [poison]})
    good = [i for i in ids if i != poison]
    wait_delivered(env, good)
    t.ok(poison not in delivered_ids(env), "the poison event is not delivered")
    wait_until(lambda: (env.relay.status() or {}).get("dead", 0) >= 1, 20,
               "a dead letter")
    rc, out = env.relay.admin("dead")
    t.ok(poison in out and "400" in out,
         "`formrelay dead` lists the poison event with status 400", out)
    t.eq(sorted(set(delivered_ids(env))), sorted(good),
         "the five good events of the batch were delivered")
    env.relay.admin("purge", "all")


def check_auth_pause(t, env):
    env.standin.reset()
    env.standin.script({"default": {"status": 401}})
    _, mid = post(env, 0, "auth")
    wait_until(lambda: any(q["status"] == 401
                           for q in env.standin.requests()), 15, "a 401")
    h = env.relay.request("GET", "/formrelay/healthz").json()
    wait_until(lambda: env.relay.request(
        "GET", "/formrelay/healthz").json().get("paused_for_auth"), 10,
        "health to say paused")
    st = env.relay.status() or {}
    t.eq(st.get("dead", -1), 0, "401: nothing dead-lettered")
    t.eq(st.get("pending", 0) + st.get("inflight", 0), 1,
         "401: the event is still queued")
    t.ok(isinstance(h, dict), "healthz answers JSON")
    # A restarted delivery process keeps the pause (same key) ...
    refused = len(env.standin.requests())
    [pid] = wait_until(lambda: deliver_pids(env), 10, "the delivery process")
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not running(pid), 10, "the delivery process to die")
    env.relay.request("GET", "/formrelay/healthz")  # the parent restarts it
    wait_until(lambda: [p for p in deliver_pids(env) if p != pid], 30,
               "a new delivery process")
    # ... it says so in its first round, or (wrongly) posts again
    wait_until(lambda: "delivery paused for" in env.relay.log() or
               len(env.standin.requests()) > refused, 60,
               "the new delivery process's first round")
    t.eq(len(env.standin.requests()), refused,
         "401: a delivery process started again does not try the "
         "refused key again")
    t.ok(env.relay.request("GET", "/formrelay/healthz").json().get(
        "paused_for_auth"), "401: the pause survives the restart")
    # A changed key lifts it.
    with open(os.path.join(env.tmp, "api_key"), "w") as f:
        f.write("cio_test_Key_fixed_0123456789\n")
    env.standin.script({"default": {"status": 200}})
    env.relay.stop()
    env.relay.start()
    env.relay.request("GET", "/formrelay/healthz")  # spawns the backend
    t.eq(sorted(wait_delivered(env, [mid])), [],
         "401: with a new key the paused event is delivered at once")
    t.ok(not env.relay.request("GET", "/formrelay/healthz").json().get(
        "paused_for_auth"), "401: and the pause is lifted")


def check_sigkill(t, env):
    env.standin.reset()
    env.standin.script({"default": {"status": 503}})
    acked, finish = load_threads(env, "kill", 4)
    killed = set()
    try:
        for rnd in range(1, 4):
            wait_until(lambda: len(acked) >= 10 * rnd, 30, "load")
            # lighttpd starts a killed backend again at the next request.
            live = wait_until(lambda: [p for p in fastcgi_pids(env)
                                       if p not in killed], 30,
                              "a live FastCGI process")
            for pid in live:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
    finally:
        finish()
    kills = len(killed)
    t.ok(kills >= 3, "FastCGI processes SIGKILLed %d times under load" % kills)
    env.relay.stop()
    env.relay.start()
    env.standin.script({"default": {"status": 200}})
    env.relay.request("GET", "/formrelay/healthz")  # spawns the backend
    missing = wait_delivered(env, acked, 60)
    t.eq(sorted(missing), [], "all %d acknowledged submissions delivered "
         "after SIGKILL and restart" % len(acked))
    # Also those stored whose reply the kill cut off: then every id the
    # stand-in will ever see is in.
    t.ok(wait_drained(env), "then the spool drains")
    dup = len(delivered_ids(env)) - len(set(delivered_ids(env)))
    # Customer.io answered 503 until the restart: no batch was accepted
    # before a kill, and the delivery processes (stopped by the end of
    # their FastCGI process, not killed) finish what they hold.
    t.eq(dup, 0, "no event delivered twice")


def check_delivery_process_restart(t, env):
    """A delivery process that dies is started again; nothing is lost."""
    env.standin.reset()
    env.relay.request("GET", "/formrelay/healthz")
    # a killed delivery process's claims would wait out their lease
    t.ok(wait_drained(env), "nothing in flight before the kill")
    before = wait_until(lambda: deliver_pids(env), 10, "delivery processes")
    t.eq(len(before), len(fastcgi_pids(env)),
         "one delivery process per FastCGI process")
    t.eq([p for p in fastcgi_pids(env) if maps_libcurl(p)], [],
         "the FastCGI processes do not map libcurl")
    t.ok(all(maps_libcurl(p) for p in before),
         "the delivery processes do (so the check above can fail)")
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    _, mid = post(env, 0, "respawn")
    after = wait_until(lambda: (lambda p: p if p and not set(p) & set(before)
                                else None)(deliver_pids(env)), 15,
                       "new delivery processes")
    t.ok(after, "killed delivery processes are started again")
    t.eq(sorted(wait_delivered(env, [mid])), [],
         "a submission made meanwhile is delivered")


def check_graceful_stop(t, env):
    """SIGTERM with a batch in flight: it is finished and acked."""
    t.ok(wait_drained(env), "nothing in flight before the stop")
    env.standin.reset()
    env.standin.script({"responses": [{"status": 200, "delay_ms": 1500}]})
    _, mid = post(env, 0, "term")
    # The stand-in records a request before it sleeps on the answer.
    wait_until(lambda: any(q["path"] == "/v1/batch"
                           for q in env.standin.requests()), 10,
               "the batch to be in flight")
    pids = fastcgi_pids(env)
    env.relay.stop()  # SIGTERM to lighttpd, which stops its backends
    gone = wait_until(lambda: not any(os.path.exists("/proc/%d" % p)
                                      for p in pids) or None, 20,
                      "the FastCGI processes to exit")
    t.ok(gone, "FastCGI processes exit on SIGTERM")
    st = env.relay.status() or {}
    t.eq((st.get("pending"), st.get("inflight")), (0, 0),
         "the batch in hand was finished and acked; no claim left behind")
    t.eq(delivered_ids(env), [mid], "delivered exactly once")
    env.relay.start()


def main():
    t = Tap()
    env = Env(t, conf_extra={"spool": FAST_RETRY}, max_procs=2)
    try:
        check_outage(t, env)
        check_retry_after(t, env)
        check_poison(t, env)
        check_sigkill(t, env)
        check_delivery_process_restart(t, env)
        check_graceful_stop(t, env)
    finally:
        env.close()
    # A wrong key pauses delivery; its own relay, so the pause ends nothing.
    env = Env(t, conf_extra={"spool": FAST_RETRY})
    try:
        check_auth_pause(t, env)
    finally:
        env.close()
    t.done()


main()
