"""Pipelines-shaped calls through lighttpd (issue 18): the Embeddables
recipe's exact body, unchanged but for its URL, at the mount and at
/v1/track; a track, a page and a batch; and the stand-in receives what
Customer.io would have received from the recipe: traits as traits
(normalised), the page as context, a track as a track, context.ip the
client's, integrations dropped, and the recipe's Authorization
placeholder nowhere (spool, logs, upstream).  Batches are all or
nothing within Customer.io's limits; a client messageId is stored once;
unsupported types are 400 unsupported_type."""

import glob
import json
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Tap, wait_until  # noqa: E402

PLACEHOLDER = "{{YOUR_COMPANY_NAME---customerio---api_key}}"
REAL_LOOKING = "b3f1c9a0d2e84f6a9c7e"  # a fake key shaped like a real one

# The recipe's customerData, as its action builds it in a browser.
RECIPE = {
    "type": "identify",
    "userId": "entry-0042",
    "traits": {
        "email": "  Jane.Doe@Example.COM ",
        "name": "Jane Doe",
        "first_name": None,
        "last_name": None,
    },
    "context": {
        "page": {
            "url": "https://forms.example/quiz?utm_source=ads&utm_medium=cpc",
            "title": "The Quiz",
            "referrer": "https://search.example/",
        },
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Recipe/1.0",
        "channel": "browser",
    },
}
RECIPE_HEADERS = {"Authorization": PLACEHOLDER,
                  "Content-Type": "application/json"}


def post(env, path, body, headers=None, raw=False):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    data = body if raw else json.dumps(body)
    return env.relay.request("POST", "/formrelay" + path, data, h)


def spool_rows(env):
    with sqlite3.connect(env.relay.spool) as db:
        return db.execute("SELECT count(*) FROM events").fetchone()[0]


def delivered(env, n, what):
    return wait_until(lambda: len(env.standin.messages()) >= n and
                      env.standin.messages(), 20, what)


def of_user(env, prefix):
    return [m for m in env.standin.messages()
            if str(m.get("userId", "")).startswith(prefix)]


def message(env, mid, what):
    found = wait_until(lambda: [m for m in env.standin.messages()
                                if m.get("messageId") == mid], 20, what)
    return found[0]


def everything_written(env):
    """The spool's files, the server's logs and every upstream request,
    as one text to search."""
    text = env.relay.log()
    for path in glob.glob(env.relay.spool + "*"):
        with open(path, "rb") as f:
            text += f.read().decode("latin-1")
    for r in env.standin.requests():
        text += json.dumps(r)
    return text


def check_recipe(t, env):
    for path in ("", "/v1/track"):
        r = post(env, path, RECIPE, RECIPE_HEADERS)
        t.eq(r.status, 202,
             "the recipe's body at %s: 202" % (path or "the mount"))
        mid = r.json().get("id")
        m = message(env, mid, "the recipe's identify")
        t.eq(m.get("type"), "identify",
             "%s: an identify reaches Customer.io" % (path or "mount"))
        t.eq(m.get("userId"), "entry-0042", "keyed by the entryId")
        t.eq(m.get("traits"), {"email": "jane.doe@example.com",
                               "name": "Jane Doe", "first_name": "Jane",
                               "last_name": "Doe"},
             "traits as traits, normalised (nothing of the envelope)")
        ctx = m.get("context", {})
        t.eq(ctx.get("page"), {
            "url": "https://forms.example/quiz?utm_source=ads&utm_medium=cpc",
            "path": "/quiz", "search": "?utm_source=ads&utm_medium=cpc",
            "referrer": "https://search.example/", "title": "The Quiz"},
            "the page as context.page")
        t.eq(ctx.get("campaign"), {"source": "ads", "medium": "cpc"},
             "campaign from the page's utm parameters")
        t.eq(ctx.get("userAgent"),
             "Mozilla/5.0 (X11; Linux x86_64) Recipe/1.0",
             "the browser's userAgent")
        t.eq(ctx.get("channel"), "browser", "channel kept")
        t.eq(ctx.get("ip"), "127.0.0.1", "context.ip is the client's")


def check_track_page(t, env):
    r = post(env, "/v1/t", {
        "type": "track", "userId": "entry-0042", "event": "Quiz Finished",
        "properties": {"score": 7, "Email": "Jane.Doe@Example.com",
                       "password": "hunter2"},
        "integrations": {"All": False, "Webhooks": True},
        "context": {"ip": "192.0.2.66", "locale": "en-GB",
                    "library": {"name": "evil"}},
        "writeKey": "formrelay"}, {"Content-Type": "text/plain"})
    t.eq(r.status, 202, "a track at /v1/t as text/plain (the SDK's way)")
    m = message(env, r.json().get("id"), "the track")
    t.eq((m.get("type"), m.get("event")), ("track", "Quiz Finished"),
         "a track stays a track")
    t.eq(m.get("properties"), {"score": 7, "email": "jane.doe@example.com"},
         "properties normalised (aliases, email, deny list)")
    t.ok("integrations" not in m and "writeKey" not in m,
         "integrations and writeKey dropped", m)
    t.eq(m["context"].get("ip"), "127.0.0.1",
         "the body's context.ip is not taken")
    t.eq(m["context"].get("library", {}).get("name"), "formrelay",
         "nor its library")
    t.eq(m["context"].get("locale"), "en-GB", "locale kept")
    r = post(env, "/v1/page", {
        "type": "page", "anonymousId": "anon-7", "name": "Pricing",
        "properties": {"url": "https://forms.example/pricing",
                       "title": "Pricing"},
        "context": {"page": {"url": "https://forms.example/pricing",
                             "title": "Pricing"}}})
    t.eq(r.status, 202, "a page with only an anonymousId: 202")
    m = message(env, r.json().get("id"), "the page")
    t.eq((m.get("type"), m.get("name"), m.get("anonymousId")),
         ("page", "Pricing", "anon-7"), "forwarded as a page, anonymously")
    t.eq(m.get("properties"), {"url": "https://forms.example/pricing",
                               "title": "Pricing"},
         "page properties as they are")


def check_batch(t, env):
    calls = [{"type": "identify", "userId": "b-1",
              "traits": {"E-mail": "B1@X.example"}},
             {"type": "track", "userId": "b-1", "event": "Bought"},
             {"type": "page", "userId": "b-1", "name": "Thanks"}]
    r = post(env, "/v1/batch", {"batch": calls})
    t.eq(r.status, 202, "a batch of three: 202")
    got = wait_until(lambda: len(of_user(env, "b-1")) == 3 and
                     of_user(env, "b-1"), 20, "the batch")
    t.eq(sorted(m["type"] for m in got), ["identify", "page", "track"],
         "each call of the batch reached the stand-in")
    idn = [m for m in got if m["type"] == "identify"][0]
    t.eq(idn["traits"], {"email": "b1@x.example"},
         "a batch's traits are normalised too")
    wait_until(lambda: spool_rows(env) == 0, 20, "an empty spool")
    before = len(env.standin.messages())
    bad = {"batch": [{"type": "identify", "userId": "b-2",
                      "traits": {"email": "b2@x.example"}},
                     {"type": "track", "userId": "b-2"}]}
    r = post(env, "/v1/batch", bad)
    t.eq(r.status, 400, "a batch with a track without its event: 400")
    t.eq(r.json().get("error"), "missing_event", "missing_event")
    t.eq(spool_rows(env), 0, "all or nothing: none of it stored")
    r = post(env, "", {"batch": [{"type": "identify", "userId": "b-3"},
                                 {"type": "group", "groupId": "g"}]})
    t.eq(r.status, 400, "a batch with a group call: 400")
    t.eq(r.json().get("error"), "unsupported_type", "unsupported_type")
    t.eq(spool_rows(env), 0, "nothing of it stored")
    t.eq(len(env.standin.messages()), before, "nothing of them forwarded")


def check_limits(t, env):
    big = {"type": "identify", "userId": "big",
           "traits": {"t%d" % i: "x" * 6000 for i in range(6)}}
    r = post(env, "", big)
    t.eq(r.status, 413, "a call over 32 KB: 413")
    many = {"batch": [{"type": "track", "userId": "many-%d" % i,
                       "event": "Viewed", "properties": {"pad": "p" * 900}}
                      for i in range(300)]}
    body = json.dumps(many)
    t.ok(64 * 1024 < len(body) < 500 * 1000,
         "a batch of %d bytes: over max_body, within 500 KB" % len(body))
    r = post(env, "/v1/batch", body, raw=True)
    t.eq(r.status, 202, "is taken at /v1/batch")
    wait_until(lambda: len(of_user(env, "many-")) == 300, 30,
               "the 300 calls")
    r = post(env, "", body, raw=True)
    t.eq(r.status, 413, "at the mount max_body holds: 413")
    huge = {"batch": [{"type": "track", "userId": "huge-%d" % i,
                       "event": "Viewed", "properties": {"pad": "p" * 900}}
                      for i in range(600)]}
    r = post(env, "/v1/batch", huge)
    t.eq(r.status, 413, "a batch over 500 KB: 413")
    t.ok(not of_user(env, "huge-"), "nothing of it forwarded")


def check_retries(t, env):
    call = {"type": "track", "userId": "retry-1", "event": "Clicked",
            "messageId": "ajs-next-5d41402abc4b2a76b9719d911017c592",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.250Z",
                                       time.gmtime(time.time() - 3600))}
    r1 = post(env, "", call)
    r2 = post(env, "", call)
    t.eq((r1.status, r2.status), (202, 202), "a call and its retry: 202")
    t.eq(r1.json().get("id"), call["messageId"],
         "the client's messageId is the call's")
    t.eq((r2.json().get("id"), r2.json().get("duplicate")),
         (call["messageId"], True), "the retry: a duplicate, the same id")
    m = message(env, call["messageId"], "the retried call")
    t.eq(m.get("timestamp"), call["timestamp"],
         "a client timestamp an hour old is kept")
    batch = {"batch": [call, dict(call, messageId="retry-1-second")]}
    r = post(env, "/v1/b", batch)
    t.eq(r.status, 202, "a batch retried with one new call: 202")
    message(env, "retry-1-second", "the new call")
    wait_until(lambda: spool_rows(env) == 0, 20, "an empty spool")
    ids = [m.get("messageId") for m in env.standin.messages()]
    t.eq(ids.count(call["messageId"]), 1, "the retried call arrived once")
    old = dict(call, messageId="old-1",
               timestamp="2020-01-01T00:00:00.000Z")
    r = post(env, "", old)
    m = message(env, "old-1", "the old call")
    t.ok(m.get("timestamp", "").startswith(time.strftime("%Y-")),
         "a timestamp days off becomes receipt time", m.get("timestamp"))


def check_refused(t, env):
    for body, path in (({"type": "group", "userId": "u", "groupId": "g"}, ""),
                       ({"userId": "u", "previousId": "p"}, "/v1/alias"),
                       ({"type": "screen", "userId": "u"}, "/v1/track")):
        r = post(env, path, body)
        t.eq((r.status, r.json().get("error")), (400, "unsupported_type"),
             "%s at %s: 400 unsupported_type" % (body.get("type", "alias"),
                                                 path or "the mount"))
    r = post(env, "", {"type": "identify", "anonymousId": "a",
                       "traits": {"plan": "x"}})
    t.eq((r.status, r.json().get("error")), (422, "missing_id"),
         "an identify with neither id nor email: 422 missing_id")


def check_secrets(t, env):
    r = post(env, "", dict(RECIPE, userId="entry-key"),
             {"Authorization": "Basic " + REAL_LOOKING})
    t.eq(r.status, 202, "a real-looking key in Authorization: still 202")
    message(env, r.json().get("id"), "the call with a key")
    post(env, "", dict(RECIPE, userId="entry-key2"),
         {"Authorization": REAL_LOOKING})
    wait_until(lambda: spool_rows(env) == 0, 20, "an empty spool")
    log = env.relay.log()
    warnings = [ln for ln in log.splitlines()
                if "looks like a real API key" in ln]
    t.eq(len(warnings), 1, "one warning that a key is sent from browsers")
    text = everything_written(env)
    t.ok(PLACEHOLDER not in text and "YOUR_COMPANY_NAME" not in text,
         "the placeholder is nowhere: spool, logs, upstream")
    t.ok(REAL_LOOKING not in text, "nor the real-looking key")
    auths = {r["headers"].get("authorization")
             for r in env.standin.requests()}
    t.eq(len(auths), 1, "upstream sees only formrelay's own credentials")


def check_cgi(t, env):
    """The same through CGI (one process a request, no writer thread)."""
    calls = [{"type": "identify", "userId": "cgi-%d" % i,
              "messageId": "cgi-msg-%d" % i,
              "traits": {"email": "CGI%d@X.example" % i}} for i in range(3)]
    body = json.dumps({"batch": calls}).encode()
    out, _ = env.relay.cgi("POST", "/formrelay/v1/batch", body)
    t.ok(out.startswith("Status: 202"), "CGI: a batch of three: 202",
         out[:200])
    out, _ = env.relay.cgi("POST", "/formrelay/v1/batch", body)
    t.ok(out.startswith("Status: 202") and '"duplicate":true' in out and
         '"cgi-msg-0"' in out,
         "CGI: its retry is a duplicate, named by the first messageId",
         out[-200:])
    wait_until(lambda: len(of_user(env, "cgi-")) >= 3, 20, "the CGI batch")
    wait_until(lambda: spool_rows(env) == 0, 20, "an empty spool")
    t.eq(sorted(m["traits"]["email"] for m in of_user(env, "cgi-")),
         ["cgi0@x.example", "cgi1@x.example", "cgi2@x.example"],
         "CGI: each call delivered once, normalised")


def check_preflight(t, env):
    r = env.relay.request("OPTIONS", "/formrelay/v1/track", None, {
        "Origin": "https://forms.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    t.eq(r.status, 204, "the recipe's pre-flight: 204")
    allowed = (r.header("access-control-allow-headers") or "").lower()
    t.ok("authorization" in allowed and "content-type" in allowed,
         "it allows the recipe's headers", allowed)


def main():
    t = Tap()
    env = Env(t, conf_extra={"http": {
        "allowed_origins": "https://forms.example"}})
    try:
        check_preflight(t, env)
        check_recipe(t, env)
        check_track_page(t, env)
        check_batch(t, env)
        check_limits(t, env)
        check_retries(t, env)
        check_refused(t, env)
        check_secrets(t, env)
        check_cgi(t, env)
    finally:
        env.close()
    t.done()


main()
