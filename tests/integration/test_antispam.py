"""[antispam] end to end through lighttpd: junk addresses, double
submits and CAPTCHA outcomes; only what passes reaches the stand-in
Customer.io, each refusal has its status and its counter in /metrics."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SRCDIR, Env, Tap, wait_until  # noqa: E402

LIST = os.path.join(SRCDIR, "data", "disposable_domains.txt")
JSON = {"Accept": "application/json"}


def spam_count(env, reason):
    body = env.relay.request("GET", "/formrelay/metrics").body
    m = re.search(r'^formrelay_spam_total\{reason="%s"\} (\d+)$' % reason,
                  body, re.M)
    return int(m.group(1)) if m else None


def delivered_ids(env, n):
    msgs = wait_until(lambda: len(env.standin.messages()) >= n and
                      env.standin.messages(), 20, "%d delivered" % n)
    return [m["userId"] for m in msgs]


def check_disposable_refused(t, env):
    r = env.relay.post_json({"entryId": "d-1", "email": "x@mailinator.com"})
    t.eq(r.status, 422, "disposable address (JSON): 422")
    body = r.json()
    t.eq(body.get("error"), "disposable_email", "error code disposable_email")
    t.ok("email" in body.get("fields", {}),
         "the reply names the field email", body)
    r = env.relay.post_form({"entryId": "d-2", "email": "me@box.33mail.com"})
    t.eq(r.status, 422, "a subdomain of a listed domain (HTML form): 422")
    t.ok("disposable" in r.body and "text/html" in r.header("content-type"),
         "the HTML page says why")
    r = env.relay.post_json({"type": "identify", "userId": "d-3",
                             "traits": {"email": "x@mailinator.com"}})
    t.eq((r.status, r.json().get("error")), (422, "disposable_email"),
         "a Pipelines identify with a disposable address: 422 too")
    r = env.relay.post_json({"entryId": "d-ok", "email": "jane@example.com"})
    t.eq(r.status, 202, "an ordinary address is stored")
    t.eq(delivered_ids(env, 1), ["d-ok"],
         "only the ordinary address reached Customer.io")
    t.eq(spam_count(env, "disposable_email"), 3,
         "formrelay_spam_total{reason=\"disposable_email\"} counts all three")
    log = env.relay.log()
    t.ok(re.search(r"status=422 .*outcome=spam spam=disposable_email", log)
         is not None, "the log line names the outcome and the reason")


def check_disposable_dropped(t):
    env = Env(t, conf_extra={"antispam": {
        "disposable_domains": "yes", "disposable_domains_file": LIST,
        "junk": "drop"}})
    try:
        r = env.relay.post_json({"entryId": "d-3",
                                 "email": "x@mailinator.com"})
        t.eq(r.status, 202, "junk = drop: a disposable address gets 202")
        t.eq(r.json().get("ok"), True, "and ok:true, like a person")
        st = env.relay.status()
        t.eq((st or {}).get("pending", -1) + (st or {}).get("inflight", 0),
             0, "nothing was stored for it")
        t.eq(spam_count(env, "disposable_email"), 1, "it is counted")
        t.ok("outcome=spam_dropped spam=disposable_email" in env.relay.log(),
             "the log says it was dropped")
    finally:
        env.close()


def check_double_submit(t, env):
    env.standin.reset()
    form = {"entryId": "ds-1", "email": "ann@example.com", "name": "Ann"}
    first = env.relay.post_json(form)
    again = env.relay.post_json(form)
    t.eq((first.status, again.status), (202, 202),
         "a double submit: both answered 202")
    t.eq(again.body, first.body,
         "the second is answered as the first was (same id, same body)")
    changed = env.relay.post_json(dict(form, name="Ann Lee"))
    t.ok(changed.status == 202 and
         changed.json().get("id") != first.json().get("id"),
         "a changed field is a new submission with its own id")
    html = {"entryId": "ds-2", "email": "bo@example.com",
            "_next": "http://127.0.0.1/thanks"}
    r1 = env.relay.post_form(html)
    r2 = env.relay.post_form(html)
    t.eq((r1.status, r2.status, r2.header("location")),
         (303, 303, "http://127.0.0.1/thanks"),
         "an HTML form sent twice: redirected both times")
    ids = sorted(delivered_ids(env, 3))
    t.eq(ids, ["ds-1", "ds-1", "ds-2"],
         "each distinct submission reached Customer.io once")
    msgs = {m["messageId"] for m in env.standin.messages()
            if m["userId"] == "ds-1" and m["traits"].get("name") == "Ann"}
    t.eq(msgs, {first.json()["id"]},
         "the double-submitted one under the first's messageId")
    t.eq(spam_count(env, "double_submit"), 2,
         "formrelay_spam_total{reason=\"double_submit\"} counts both")
    t.ok("outcome=double_submit spam=double_submit" in env.relay.log(),
         "the log line says double_submit")


def check_window_ends(t):
    env = Env(t, conf_extra={"antispam": {"double_submit_window": "300ms"}})
    try:
        form = {"entryId": "ds-3", "email": "cy@example.com"}
        first = env.relay.post_json(form).json()["id"]
        later = wait_until(
            lambda: (lambda i: i != first and i)(
                env.relay.post_json(form).json()["id"]),
            15, "the window to end")
        t.ok(later != first, "once the window has passed, the same content "
             "is stored again under a new id")
    finally:
        env.close()
    env = Env(t, conf_extra={"antispam": {"double_submit_window": "off"}})
    try:
        form = {"entryId": "ds-4", "email": "di@example.com"}
        a = env.relay.post_json(form).json()["id"]
        b = env.relay.post_json(form).json()["id"]
        t.ok(a != b, "double_submit_window = off: each post is stored")
    finally:
        env.close()


def main():
    t = Tap()
    env = Env(t, conf_extra={
        "antispam": {"disposable_domains": "yes",
                     "disposable_domains_file": LIST},
        "http": {"redirect_allow": "http://127.0.0.1/"}})
    try:
        check_disposable_refused(t, env)
        check_double_submit(t, env)
    finally:
        env.close()
    check_disposable_dropped(t)
    check_window_ends(t)
    t.done()


if __name__ == "__main__":
    main()
