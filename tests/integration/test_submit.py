"""End to end: forms and JSON through lighttpd to the stand-in.

A plain HTML form post and a fetch-style JSON post reach the stand-in as
identify calls keyed by entryId, with the normalised email, Basic auth
and the strict-mode header; replies are what SPEC "Replies" promises.
"""

import json
import os
import re
import sqlite3
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import API_KEY, Env, Tap, basic_auth, wait_until  # noqa: E402

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}"
                   r"-[0-9a-f]{12}$")
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def delivered(standin, n):
    return wait_until(lambda: len(standin.messages()) >= n and
                      standin.messages(), 15, "%d delivered events" % n)


def check_form_post(t, env):
    r = env.relay.post_form(
        {"entryId": "entry-123", "email": "  Jane.Doe@Example.COM ",
         "name": "Jane Doe", "plan": "pro"},
        {"User-Agent": "it-browser/1.0",
         "Referer": "http://127.0.0.1/landing?x=1"})
    t.eq(r.status, 202, "HTML form post without _next: 202 thank-you page")
    t.ok("text/html" in (r.header("content-type") or ""), "reply is HTML")
    t.ok("Thank you" in r.body, "thank-you page says thank you")
    t.eq(r.reason, "Accepted", "status line: 202 Accepted")
    t.eq(r.header("x-content-type-options"), "nosniff", "nosniff header")
    t.eq(r.header("cache-control"), "no-store", "no-store header")
    t.eq(r.header("referrer-policy"), "no-referrer", "no-referrer header")
    t.ok("default-src 'none'" in (r.header("content-security-policy") or ""),
         "HTML reply has a strict CSP")
    msgs = delivered(env.standin, 1)
    ev = msgs[0]
    t.eq(sorted(ev.keys()),
         ["context", "messageId", "timestamp", "traits", "type", "userId"],
         "identify has exactly the documented keys")
    t.eq(ev["type"], "identify", "type identify")
    t.eq(ev["userId"], "entry-123", "userId is the entryId")
    t.eq(ev["traits"].get("email"), "jane.doe@example.com",
         "email trimmed and lower-cased")
    t.eq(ev["traits"].get("plan"), "pro", "other fields kept as traits")
    t.eq(ev["traits"].get("entry_id"), "entry-123",
         "the id stays a snake_case trait (re-normalising gives the same id)")
    t.eq((ev["traits"].get("first_name"), ev["traits"].get("last_name")),
         ("Jane", "Doe"), "name split into first_name and last_name")
    t.ok(UUID4.match(ev["messageId"]) is not None, "messageId is a UUID v4")
    t.ok(TS.match(ev["timestamp"]) is not None,
         "timestamp is RFC 3339 UTC with milliseconds")
    ctx = ev["context"]
    t.eq(ctx.get("ip"), "127.0.0.1", "context.ip from REMOTE_ADDR")
    t.eq(ctx.get("userAgent"), "it-browser/1.0", "context.userAgent")
    t.eq(ctx.get("page", {}).get("url"), "http://127.0.0.1/landing?x=1",
         "context.page.url from the Referer")
    t.eq(ctx.get("library", {}).get("name"), "formrelay",
         "context.library.name")
    req = [q for q in env.standin.requests() if q["path"] == "/v1/batch"][0]
    h = req["headers"]
    t.eq(h.get("authorization"), basic_auth(API_KEY),
         "Basic auth with the key and an empty password")
    t.eq(h.get("x-strict-mode"), "1", "X-Strict-Mode: 1")
    t.eq(h.get("content-type"), "application/json", "JSON content type")
    t.ok(h.get("user-agent", "").startswith("formrelay/"),
         "User-Agent names formrelay")
    t.ok(isinstance(req["json"].get("batch"), list),
         "posted to /v1/batch as {\"batch\": [...]}")


def check_json_post(t, env):
    env.standin.reset()
    r = env.relay.post_json({"entryId": "e-json", "email": "a@b.example",
                             "zip": "02134", "vip": True})
    t.eq(r.status, 202, "JSON post: 202")
    body = r.json()
    t.eq(body.get("ok"), True, "JSON reply ok:true")
    t.ok(UUID4.match(body.get("id", "")) is not None, "JSON reply carries id")
    t.eq(r.body, '{"ok":true,"id":"%s"}' % body.get("id"),
         "JSON reply is exactly {ok, id}")
    t.eq(r.header("content-type"), "application/json", "JSON reply type")
    t.eq(r.header("referrer-policy"), "no-referrer", "and its headers")
    ev = delivered(env.standin, 1)[0]
    t.eq(ev["messageId"], body.get("id"),
         "the acknowledged messageId is the delivered one")
    t.eq(ev["traits"].get("postal_code"), "02134",
         "zip becomes postal_code and stays a string")
    t.eq(ev["traits"].get("vip"), True, "JSON values keep their types")


def check_redirects(t, env):
    r = env.relay.post_form({"entryId": "e-next", "email": "n@x.example",
                             "_next": "https://www.example.com/thanks"})
    t.eq(r.status, 303, "_next under redirect_allow: 303")
    t.eq(r.header("location"), "https://www.example.com/thanks",
         "Location is _next")
    r = env.relay.post_form({"entryId": "e-evil", "email": "n@x.example",
                             "_next": "https://www.example.com.evil.test/"})
    t.eq(r.status, 400, "_next outside redirect_allow: 400")
    t.ok(r.header("location") is None, "no Location for a refused _next")


def check_concurrent_ids(t, env):
    """Submissions from many connections at once, answered by the spool
    writer: each row keeps its own messageId, the one in its body and in
    its 202.  (The writer stores the ids after the submitting thread has
    moved on to other requests.)  Delivery is held off with 503s so that
    every row is still there to read."""
    env.standin.script({"default": {"status": 503}})
    replies, lock = [], threading.Lock()

    def poster(k):
        for i in range(8):
            r = env.relay.post_json({"entryId": "conc-%d-%d" % (k, i),
                                     "email": "c%d.%d@example.com" % (k, i)})
            with lock:
                replies.append(r)

    threads = [threading.Thread(target=poster, args=(k,)) for k in range(16)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.eq(sorted({r.status for r in replies}), [202],
         "128 concurrent submissions: all 202")
    acked = {r.json().get("id") for r in replies if r.status == 202}
    db = sqlite3.connect("file:%s?mode=ro" % env.relay.spool, uri=True)
    try:
        rows = db.execute(
            "SELECT e.message_id, json_extract(b.body, '$.messageId')"
            " FROM events e JOIN bodies b ON b.id = e.id"
            " WHERE json_extract(b.body, '$.userId') LIKE 'conc-%'").fetchall()
    finally:
        db.close()
    t.eq(len(rows), 128, "128 rows in the spool")
    wrong = [r for r in rows if r[0] != r[1]]
    t.ok(not wrong, "each row's message_id is its body's messageId",
         "%d differ, e.g. %r" % (len(wrong), wrong[:2]))
    t.eq(len({r[0] for r in rows} ^ acked), 0,
         "and the ids the 202s carried")
    env.standin.script({"default": {"status": 200}})


def main():
    t = Tap()
    if not os.path.exists("/usr/sbin/lighttpd") and not os.environ.get("LIGHTTPD"):
        t.skip_all("lighttpd not installed")
    env = Env(t, conf_extra={"http": {
        "redirect_allow": "https://www.example.com/"}})
    try:
        check_form_post(t, env)
        check_json_post(t, env)
        check_redirects(t, env)
        check_concurrent_ids(t, env)
        log = env.relay.log()
        t.ok(API_KEY not in log, "the API key is not in the server log")
        t.ok("jane.doe@example.com" not in log, "emails are masked in logs")
    finally:
        env.close()
    t.done()


main()
