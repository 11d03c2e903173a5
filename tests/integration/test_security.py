"""Hard to abuse (issue 5): signed webhooks, replays, floods, open
redirects, foreign origins, and the key kept out of every output."""

import base64
import hashlib
import hmac
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import API_KEY, SRCDIR, Env, Tap, wait_until  # noqa: E402

SECRET = "whsec_" + base64.b64encode(b"formrelay-test-secret-32-bytes!!").decode()
ORIGIN = "https://www.example.com"


def sign(msg_id, ts, body, secret=SECRET):
    key = base64.b64decode(secret[len("whsec_"):])
    mac = hmac.new(key, ("%s.%s." % (msg_id, ts)).encode() + body,
                   hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def webhook(env, msg_id, body, prefix="webhook", ts=None, sig=None):
    body = json.dumps(body).encode()
    ts = str(int(time.time()) if ts is None else ts)
    h = {"Content-Type": "application/json",
         prefix + "-id": msg_id, prefix + "-timestamp": ts,
         prefix + "-signature": sig or sign(msg_id, ts, body)}
    return env.relay.request("POST", "/formrelay", body, h)


def stored_user_ids(env, sentinel):
    """userIds delivered up to a sentinel posted now.  Delivery is oldest
    first and the stand-in answers 200, so anything stored before the
    sentinel has been delivered by the time it has."""
    r = env.relay.post_json({"entryId": sentinel,
                             "email": sentinel + "@x.example"},
                            {"X-Forwarded-For": "198.51.100.99"})
    wait_until(lambda: sentinel in [m.get("userId")
                                    for m in env.standin.messages()],
               20, "sentinel " + sentinel)

    def queued():
        st = env.relay.status() or {}
        return st.get("pending", 0) + st.get("inflight", 0)
    try:  # the sentinel's ack commits just after the stand-in saw it
        wait_until(lambda: queued() == 0, 10, "an empty spool")
    except TimeoutError:
        pass
    return queued(), [m.get("userId") for m in env.standin.messages()]


def delivered(env):
    return [m["messageId"] for m in env.standin.messages()]


def check_webhooks(t, env):
    userdata = {"userData": {"entryId": "emb-1", "email": "w@x.example"}}
    r = webhook(env, "msg_1", userdata)
    t.eq(r.status, 202, "signed webhook: 202")
    first = r.json().get("id")
    wait_until(lambda: first in delivered(env), 15, "webhook delivery")
    r = webhook(env, "msg_1", userdata)
    t.eq(r.status, 202, "replayed webhook-id: acknowledged 202")
    t.eq(r.json().get("duplicate"), True, "replay is marked duplicate")
    t.eq(sorted(r.json()), ["duplicate", "id", "ok"],
         "a replay's reply: ok, id, duplicate")
    t.eq(r.json().get("id"), first,
         "it carries the messageId the first delivery was stored with")
    r = webhook(env, "msg_2", userdata, prefix="svix")
    t.eq(r.status, 202, "svix- headers verify too")
    second = r.json().get("id")
    forged = {"userData": {"entryId": "forged", "email": "f@x.example"}}
    r = webhook(env, "msg_3", forged, sig="v1," + base64.b64encode(
        b"x" * 32).decode())
    t.eq(r.status, 403, "forged signature: 403")
    r = webhook(env, "msg_4", forged, ts=int(time.time()) - 3600)
    t.eq(r.status, 403, "stale timestamp: 403")
    r = webhook(env, "msg_5", forged,
                sig=sign("msg_5", str(int(time.time())), b"{}"))
    t.eq(r.status, 403, "signature over another body: 403")
    left, users = stored_user_ids(env, "sentinel-webhooks")
    t.ok("forged" not in users and left == 0,
         "refused webhooks stored nothing", users)
    wait_until(lambda: second in delivered(env), 15, "svix delivery")
    t.eq(delivered(env).count(first), 1, "the replay was not forwarded twice")


def check_flood(t, env):
    xff = {"X-Forwarded-For": "203.0.113.7", "Accept": "application/json"}
    statuses = [env.relay.post_form({"entryId": "f%d" % i,
                                     "email": "f%d@x.example" % i}, xff).status
                for i in range(7)]
    t.eq(statuses, [202] * 5 + [429] * 2,
         "rate_limit 5/min: the 6th post from one address is refused")
    r = env.relay.post_form({"entryId": "f9", "email": "f9@x.example"}, xff)
    t.ok((r.header("retry-after") or "0").isdigit() and
         int(r.header("retry-after")) >= 1, "429 carries Retry-After")
    r = env.relay.post_form({"entryId": "g", "email": "g@x.example"},
                            {"X-Forwarded-For": "198.51.100.2"})
    t.eq(r.status, 202, "another address is not affected")


def check_redirects_and_origin(t, env):
    attempts = ["https://www.example.com.evil.test/", "//evil.test/",
                "javascript:alert(1)", "https://evil.test/",
                "https://www.example.com@evil.test/",
                "https://www.example.com/\r\nSet-Cookie: a=b"]
    for i, url in enumerate(attempts):
        r = env.relay.post_form({"entryId": "redir", "email": "r@x.example",
                                 "_next": url},
                                {"X-Forwarded-For": "192.0.2.%d" % (50 + i)})
        t.eq(r.status, 400, "open redirect refused: %r" % url)
        t.ok(r.header("location") is None and r.header("set-cookie") is None,
             "no Location or injected header for %r" % url)
    r = env.relay.post_form({"entryId": "foreign", "email": "o@x.example"},
                            {"Origin": "https://evil.example"})
    t.eq(r.status, 403, "foreign Origin: 403")
    left, users = stored_user_ids(env, "sentinel-redirects")
    t.ok("redir" not in users and "foreign" not in users and left == 0,
         "refused posts stored nothing", users)
    r = env.relay.request("OPTIONS", "/formrelay", None,
                          {"Origin": ORIGIN,
                           "Access-Control-Request-Method": "POST"})
    t.eq(r.status, 204, "pre-flight from an allowed origin: 204")
    t.eq(r.header("access-control-allow-origin"), ORIGIN, "CORS echoes it")
    t.eq(r.header("vary"), "Origin", "Vary: Origin")
    r = env.relay.request("OPTIONS", "/formrelay", None,
                          {"Origin": "https://evil.example"})
    t.eq(r.status, 403, "pre-flight from a foreign origin: 403")
    r = env.relay.post_json({"entryId": "c", "email": "c@x.example"},
                            {"Origin": ORIGIN})
    t.eq(r.header("access-control-allow-origin"), ORIGIN,
         "an allowed origin's post gets CORS headers")


def check_metrics_access(t, env):
    out, _ = env.relay.cgi("GET", "/formrelay/metrics", remote="203.0.113.9")
    t.ok(out.startswith("Status: 403"), "/metrics refused to a remote peer",
         out[:200])
    out, _ = env.relay.cgi("GET", "/formrelay/metrics")
    t.ok(out.startswith("Status: 200") and "formrelay_requests_total" in out,
         "/metrics served to loopback", out[:200])
    # Behind a reverse proxy on loopback: the proxy is the peer, the
    # client is in X-Forwarded-For (here trusted_proxies = 127.0.0.1).
    r = env.relay.request("GET", "/formrelay/metrics",
                          headers={"X-Forwarded-For": "203.0.113.9"})
    t.eq(r.status, 403, "/metrics for an internet client of a reverse "
                        "proxy on loopback: 403")
    r = env.relay.request("GET", "/formrelay/metrics",
                          headers={"X-Forwarded-For": "127.0.0.1"})
    t.eq(r.status, 200, "/metrics for a loopback client of that proxy: 200")
    # An explicit allow list: loopback is no longer in it.
    conf = os.path.join(env.tmp, "metrics-allow.conf")
    with open(env.relay.conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text.replace("[http]\n", "[http]\nmetrics_allow = "
                             "198.51.100.0/24, 2001:db8::/32\n"))
    allow = {"FORMRELAY_CONFIG": conf}
    out, _ = env.relay.cgi("GET", "/formrelay/metrics", extra=dict(
        allow, HTTP_X_FORWARDED_FOR="198.51.100.7"))
    t.ok(out.startswith("Status: 200"), "metrics_allow: a listed client "
         "behind the trusted proxy: 200", out[:200])
    out, _ = env.relay.cgi("GET", "/formrelay/metrics",
                           remote="2001:db8::7", extra=allow)
    t.ok(out.startswith("Status: 200"), "metrics_allow: a listed peer: 200",
         out[:200])
    out, _ = env.relay.cgi("GET", "/formrelay/metrics", extra=allow)
    t.ok(out.startswith("Status: 403"), "metrics_allow without loopback: "
         "loopback refused", out[:200])


def check_key_secret(t, env):
    outputs = [env.relay.log()]
    for method, path, body in [("GET", "/formrelay/healthz", None),
                               ("GET", "/formrelay/metrics", None),
                               ("GET", "/formrelay", None),
                               ("POST", "/formrelay", "x=1"),
                               ("POST", "/formrelay", "{bad json")]:
        r = env.relay.request(method, path, body,
                              {"Content-Type": "application/json"})
        outputs.append(json.dumps(r.headers) + r.body)
    for args in (["--check-config"], ["status", "--json"], ["dead"]):
        outputs.append(env.relay.admin(*args)[1])
    outputs.append(env.relay.cgi("POST", "/formrelay", body=b"{")[0])
    for root, _, files in os.walk(os.path.join(SRCDIR, "www")):
        for f in files:
            with open(os.path.join(root, f), errors="replace") as fh:
                outputs.append(fh.read())
    outputs.append(env.relay.log())
    leaks = [o[:80] for o in outputs if API_KEY in o]
    t.eq(leaks, [], "the API key is in no reply, log, admin output or www/")
    t.ok(not any(SECRET in o for o in outputs),
         "the webhook secret is in no output either")


def main():
    t = Tap()
    env = Env(t, conf_extra={
        "http": {"allowed_origins": ORIGIN,
                 "redirect_allow": "https://www.example.com/",
                 "rate_limit": "5/min",
                 "trusted_proxies": "127.0.0.1"}},
        secret=SECRET)
    try:
        check_webhooks(t, env)
        check_flood(t, env)
        check_redirects_and_origin(t, env)
        check_metrics_access(t, env)
        check_key_secret(t, env)
    finally:
        env.close()
    t.done()


main()
