"""Bad input gets a clear error and loses nothing.

The stand-in answers 503 throughout the bad-input phase so that a good
submission made first stays in the spool; every malformed, oversize or
hostile post then gets its exact status; afterwards the spool still holds
exactly that one event, and once the stand-in recovers it is delivered
with the messageId it was acknowledged with, and nothing else is.
"""

import json
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Tap, wait_until  # noqa: E402

FORM = "application/x-www-form-urlencoded"
JSONT = "application/json"


def post(env, body, ctype, extra=None):
    h = {"Content-Type": ctype} if ctype else {}
    h.update(extra or {})
    return env.relay.request("POST", "/formrelay", body, h)


def bad_bodies():
    """(description, body, content type, extra headers, status, code)."""
    deep = "[" * 200 + "]" * 200
    many = "&".join("f%d=v" % i for i in range(300)) + "&email=a@b.example"
    yield ("body over max_body", "email=a@b.example&x=" + "a" * 5000, FORM,
           None, 413, None)
    yield ("text/xml is not accepted", "<a/>", "text/xml", None, 415, None)
    yield ("no content type", "email=a@b.example", None, None, 415, None)
    yield ("invalid UTF-8 after %-decoding", "email=a@b.example&n=%C3%28",
           FORM, None, 400, None)
    yield ("NUL byte via %00", "email=a@b.example&n=a%00b", FORM, None,
           400, None)
    yield ("invalid UTF-8 in JSON", b'{"email":"a@b.example","n":"\xc3\x28"}',
           JSONT, None, 400, None)
    yield ("malformed JSON", '{"email": "a@b.example",', JSONT, None, 400,
           None)
    yield ("JSON array at the top", '[{"email":"a@b.example"}]', JSONT, None,
           400, None)
    yield ("deeply nested JSON", '{"email":"a@b.example","x":%s}' % deep,
           JSONT, None, 400, None)
    yield ("multipart without boundary", "x", "multipart/form-data", None,
           400, None)
    yield ("unterminated multipart",
           '--XyZ\r\nContent-Disposition: form-data; name="email"\r\n\r\n'
           'a@b.example\r\n', "multipart/form-data; boundary=XyZ", None, 400,
           None)
    yield ("too many fields", many, FORM, None, 413, None)
    yield ("huge field name", "email=a@b.example&" + "n" * 1000 + "=v", FORM,
           None, 413, None)
    yield ("invalid email", '{"entryId":"e1","email":"not-an-email"}', JSONT,
           None, 422, "invalid_email")
    yield ("nothing to send", '{"_form":"x","_gotcha":""}', JSONT, None, 422,
           None)
    yield ("foreign Origin", "email=a@b.example", FORM,
           {"Origin": "https://evil.example"}, 403, "origin_not_allowed")
    yield ("_next outside redirect_allow",
           "email=a@b.example&_next=https%3A%2F%2Fevil.example%2F", FORM,
           None, 400, "redirect_not_allowed")


def check_bad_inputs(t, env):
    for desc, body, ctype, extra, status, code in bad_bodies():
        h = {"Accept": "application/json"}
        h.update(extra or {})
        r = post(env, body, ctype, h)
        t.eq(r.status, status, "%s: %d" % (desc, status))
        try:
            j = r.json()
        except ValueError:
            j = {}
        t.ok(j.get("ok") is False and j.get("message"),
             "%s: JSON error names the cause" % desc, r.body[:300])
        if code:
            t.eq(j.get("error"), code, "%s: error code %s" % (desc, code))
    r = post(env, '{"entryId":"e1","email":"bad"}', JSONT,
             {"Accept": "application/json"})
    t.ok("email" in r.json().get("fields", {}),
         "field errors name the field: fields.email")


def check_html_errors(t, env):
    r = post(env, "entryId=e&email=%3Cscript%3Ealert(1)%3C%2Fscript%3E", FORM)
    t.eq(r.status, 422, "HTML form with a bad email: 422")
    t.ok("text/html" in r.header("content-type"), "error page is HTML")
    t.ok("<script>" not in r.body, "markup in input is never echoed raw")
    r = env.relay.request("GET", "/formrelay")
    t.eq(r.status, 405, "GET on the mount point: 405")


def check_truncated(t, env):
    """A client gone mid-body: CGI gets fewer bytes than announced."""
    out, _ = env.relay.cgi("POST", "/formrelay",
                           body=b'{"entryId":"cut","email":"c@x.example"}',
                           extra={"CONTENT_LENGTH": "400"})
    t.ok(out.startswith("Status: 400") and "body_truncated" in out,
         "body shorter than CONTENT_LENGTH: 400 body_truncated", out[:300])


def check_honeypot(t, env):
    r = post(env, '{"entryId":"bot","email":"bot@x.example","_gotcha":"yes"}',
             JSONT)
    t.eq(r.status, 202, "filled honeypot: answered as success")
    t.eq(r.json().get("ok"), True, "bots are told ok:true")


def check_locked_spool(t, env):
    """A spool locked beyond the bound: 503, never a 2xx."""
    db = sqlite3.connect(env.relay.spool, timeout=1, isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    try:
        r = post(env, '{"entryId":"e-locked","email":"l@x.example"}', JSONT)
        t.eq(r.status, 503, "spool locked by another writer: 503")
        t.eq(r.json().get("ok"), False, "503 reply says ok:false")
    finally:
        db.execute("ROLLBACK")
        db.close()


def main():
    t = Tap()
    env = Env(t, conf_extra={"spool": {"retry_min": "100ms",
                                    "retry_max": "500ms"},
                          "http": {
        "allowed_origins": "https://www.example.com",
        "redirect_allow": "https://www.example.com/",
        "max_body": "4k"}})
    try:
        env.standin.script({"default": {"status": 503}})
        r = post(env, '{"entryId":"keep-1","email":"keep@x.example"}', JSONT)
        t.eq(r.status, 202, "a good submission first: 202")
        kept_id = r.json().get("id")
        check_bad_inputs(t, env)
        check_html_errors(t, env)
        check_honeypot(t, env)
        check_truncated(t, env)
        check_locked_spool(t, env)
        st = env.relay.status()
        t.ok(st is not None, "formrelay status --json answers")
        pending = (st or {}).get("pending", 0) + (st or {}).get("inflight", 0)
        t.eq(pending, 1, "the spool holds exactly the one good event")
        env.standin.script({"default": {"status": 200}})
        rc, out = env.relay.admin("flush")
        msgs = wait_until(lambda: env.standin.messages(), 20, "delivery")
        t.eq([m["messageId"] for m in msgs], [kept_id],
             "only the good event reached the stand-in, with its messageId")
    finally:
        env.close()
    t.done()


main()
