"""[antispam] end to end through lighttpd: junk addresses, double
submits and CAPTCHA outcomes; only what passes reaches the stand-in
Customer.io, each refusal has its status and its counter in /metrics."""

import base64
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
import sign_webhook  # noqa: E402
from harness import (SRCDIR, Env, Tap, http_request,  # noqa: E402
                     ok_when, wait_until)

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
    st = env.relay.status() or {}
    t.eq(st.get("spam", {}).get("disposable_email"), 3,
         "formrelay status --json shows the count by reason")
    rc, out = env.relay.admin("status")
    t.ok(re.search(r"^spam +3 \(disposable_email 3\)$", out, re.M)
         is not None, "formrelay status shows it too", out)
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


def check_double_submit_pipelines(t, env):
    """The Embeddables recipe's call (no messageId) posted twice: the
    double-submit window covers it as it covers forms."""
    env.standin.reset()
    before = spam_count(env, "double_submit")
    recipe = {"type": "identify", "userId": "pl-1",
              "traits": {"email": "pl@example.com", "name": "Pat"},
              "context": {"page": {"url": "https://www.example.com/q"},
                          "channel": "browser"}}
    first = env.relay.post_json(recipe, path="/formrelay/v1/track")
    again = env.relay.post_json(recipe, path="/formrelay/v1/track")
    t.eq((first.status, again.status), (202, 202),
         "the recipe's identify posted twice: 202 both times")
    t.eq(again.json().get("id"), first.json().get("id"),
         "the second answered with the first's id")
    batch = {"batch": [{"type": "track", "userId": "pl-2", "event": "Quiz",
                        "properties": {"score": 3}},
                       {"type": "page", "userId": "pl-2", "name": "Done"}]}
    b1 = env.relay.post_json(batch, path="/formrelay/v1/batch")
    b2 = env.relay.post_json(batch, path="/formrelay/v1/batch")
    t.eq((b1.status, b2.status), (202, 202), "a batch posted twice: 202")
    named = [dict(recipe, userId="pl-3", messageId="sdk-msg-%d" % i)
             for i in (1, 2)]
    for call in named:
        env.relay.post_json(call, path="/formrelay/v1/i")
    msgs = wait_until(lambda: len(env.standin.messages()) >= 5 and
                      env.standin.messages(), 20, "5 delivered")
    got = sorted((m["userId"], m["type"]) for m in msgs)
    t.eq(got, [("pl-1", "identify"), ("pl-2", "page"), ("pl-2", "track"),
               ("pl-3", "identify"), ("pl-3", "identify")],
         "the recipe's call and the batch reach Customer.io once; two "
         "calls the client named apart (messageIds) are two")
    t.eq([m["messageId"] for m in msgs if m["userId"] == "pl-1"],
         [first.json()["id"]], "under the first's messageId")
    t.eq(spam_count(env, "double_submit") - (before or 0), 2,
         "both repeats counted as double_submit")


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


SECRET = "0x4AAAAAAAtest-secret_Key"
ORIGIN = "https://www.example.com"


class Siteverify:
    """tests/siteverify.py, the stand-in CAPTCHA vendor."""

    def __init__(self, tmp):
        self.port_file = os.path.join(tmp, "siteverify.port")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(SRCDIR, "tests", "siteverify.py"),
             "--port-file", self.port_file, "--secret", SECRET])
        wait_until(lambda: os.path.exists(self.port_file), 10, "siteverify")
        with open(self.port_file) as f:
            self.port = int(f.read())
        self.url = "http://127.0.0.1:%d/siteverify" % self.port

    def control(self, what, body=None):
        r = http_request(self.port, "POST" if body is not None else "GET",
                         "/_control/" + what,
                         json.dumps(body) if body is not None else None)
        return json.loads(r.body)

    def tokens(self, answers):
        self.control("tokens", answers)

    def status(self, status):
        self.control("status", {"status": status})

    def requests(self):
        return self.control("requests")

    def hold(self, on):
        self.control("hold", {"hold": on})

    def release(self):
        self.control("release", {})

    def held(self):
        return self.control("held")["held"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


WHSEC = "whsec_" + base64.b64encode(b"antispam-test-secret-32-bytes!!!").decode()


def secret_file(tmp, name, value):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(value + "\n")
    os.chmod(path, 0o600)
    return path


def captcha_env(t, sv, tmp, webhooks=True, dry_run=False, customerio=None,
                **antispam):
    conf = {"captcha": "turnstile",
            "captcha_secret_file": secret_file(tmp, "captcha_secret", SECRET),
            "captcha_verify_url": sv.url}
    conf.update(antispam)
    hook = {"platform": "standard",
            "secret_file": secret_file(tmp, "hook_secret", WHSEC)}
    extra = {"antispam": conf, "http": {"allowed_origins": ORIGIN},
             "customerio": customerio or {}}
    if not webhooks:
        return Env(t, conf_extra=extra, dry_run=dry_run)
    extra["webhook.emb"] = hook
    return Env(t, conf_extra=extra, secret=WHSEC, dry_run=dry_run)


def check_webhooks_exempt(t, env):
    """Signed webhooks carry no widget token; a body merely shaped like a
    platform's is no webhook."""
    body = json.dumps({"entryId": "w-signed", "email": "ws@example.com"})
    r = env.relay.post_json(body, sign_webhook.headers(WHSEC, body))
    t.eq(r.status, 202, "a signed webhook needs no CAPTCHA token")
    body = json.dumps({"entryId": "w-hook", "email": "wh@example.com"})
    r = env.relay.post_json(body, sign_webhook.headers(WHSEC, body),
                            path="/formrelay/hooks/emb")
    t.eq(r.status, 202, "nor does a hooks route's proven post")
    r = env.relay.post_json({"userData": {"entryId": "w-shaped",
                                          "email": "x@example.com"}})
    t.eq(r.status, 403, "an unsigned envelope is refused here (signatures "
         "are required)")
    t.eq(sorted(delivered_ids(env, 2)), ["w-hook", "w-signed"],
         "the two webhooks are delivered without a verification")
    env.standin.reset()


def post_token(env, entry, token, field="cf-turnstile-response"):
    form = {"entryId": entry, "email": entry + "@example.com"}
    if token is not None:
        form[field] = token
    return env.relay.post_json(form)


def settled(env, reason, n):
    return wait_until(lambda: (spam_count(env, reason) or 0) >= n, 20,
                      "%d %s" % (n, reason))


def check_turnstile(t, sv, tmp):
    sv.tokens({"tok-ok": {"hostname": "www.example.com"},
               "tok-ok2": {"hostname": "www.example.com"},
               "tok-expired": {"expired": True},
               "tok-evil": {"hostname": "evil.example"},
               "tok-later": {"hostname": "www.example.com"}})
    env = captcha_env(t, sv, tmp)
    try:
        check_webhooks_exempt(t, env)
        r = post_token(env, "c-none", None)
        t.eq((r.status, r.json().get("error")), (422, "captcha_missing"),
             "no token: 422 captcha_missing")
        t.ok("cf-turnstile-response" in r.json().get("fields", {}),
             "the reply names the widget's field", r.body)
        r = env.relay.post_form({"entryId": "c-html",
                                 "email": "h@example.com"})
        t.ok(r.status == 422 and "CAPTCHA" in r.body,
             "an HTML form without the token: a 422 page saying so")
        r = post_token(env, "c-ok", "tok-ok")
        t.eq(r.status, 202, "a valid token: 202 at once")
        t.eq(delivered_ids(env, 1), ["c-ok"], "and it is delivered")
        req = sv.requests()[0]
        t.eq((req["secret"], req["response"], req["remoteip"]),
             (SECRET, "tok-ok", "127.0.0.1"),
             "siteverify got the secret, the token and the visitor's IP")
        t.eq(req["content_type"], "application/x-www-form-urlencoded",
             "as a form-urlencoded POST")
        ev = env.standin.messages()[0]
        t.ok("tok-ok" not in json.dumps(ev),
             "the token is not forwarded to Customer.io")
        for entry, token in (("c-bad", "tok-unknown"),
                             ("c-reused", "tok-ok"),
                             ("c-expired", "tok-expired")):
            r = post_token(env, entry, token)
            t.eq(r.status, 202, "%s: 202 (verified after the reply)" % entry)
        ok_when(t, lambda: spam_count(env, "captcha_invalid") == 3, 20,
                "invalid, reused and expired tokens are refused: "
                "formrelay_spam_total{reason=\"captcha_invalid\"} 3")
        post_token(env, "c-evil", "tok-evil")
        ok_when(t, lambda: spam_count(env, "captcha_hostname") == 1, 20,
                "a token solved on another site is refused "
                "(captcha_hostname)")
        sv.status(503)
        post_token(env, "c-later", "tok-later")
        wait_until(lambda: any(q["response"] == "tok-later"
                               for q in sv.requests()), 20, "a first ask")
        t.eq(spam_count(env, "captcha_unreachable"), 0,
             "vendor down: held, not refused")
        sv.status(200)
        post_token(env, "c-ok2", "tok-ok2")
        ids = delivered_ids(env, 3)
        t.eq(sorted(ids), ["c-later", "c-ok", "c-ok2"],
             "once the vendor answers again the held one is delivered; "
             "nothing refused reached Customer.io")
        log = env.relay.log()
        t.ok(not any(tok in log for tok in ("tok-ok", "tok-unknown",
                                            "tok-evil", "tok-later")),
             "no token in the log")
        t.ok("captcha=turnstile outcome=refused spam=captcha_hostname" in log,
             "refusals are logged with the reason")
        st = env.relay.status()
        t.eq((st or {}).get("pending", -1), 0, "nothing left in the spool")
    finally:
        env.close()


def check_unreachable(t, sv, tmp):
    sv.status(503)
    sv.tokens({"tok-open": {"hostname": "www.example.com"},
               "tok-closed": {"hostname": "www.example.com"}})
    env = captcha_env(t, sv, tmp, captcha_retry_for="1s",
                      captcha_unreachable="closed")
    try:
        post_token(env, "u-closed", "tok-closed")
        ok_when(t, lambda: spam_count(env, "captcha_unreachable") == 1, 20,
                "vendor down past captcha_retry_for, closed: dropped "
                "and counted as captcha_unreachable")
        t.eq(env.standin.messages(), [], "nothing delivered")
    finally:
        env.close()
    env = captcha_env(t, sv, tmp, captcha_retry_for="1s",
                      captcha_unreachable="open")
    try:
        post_token(env, "u-open", "tok-open")
        t.eq(delivered_ids(env, 1), ["u-open"],
             "vendor down past captcha_retry_for, open: forwarded")
        t.ok("outcome=unverified_forwarded" in env.relay.log(),
             "and the log says it went unverified")
    finally:
        env.close()
    sv.status(200)


def verify_rows(env):
    """The spool's held tokens: [(first_event, sent), ...]."""
    db = sqlite3.connect("file:%s?mode=ro" % env.relay.spool, uri=True)
    try:
        return db.execute("SELECT first_event, sent FROM verify").fetchall()
    finally:
        db.close()


def gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def check_killed_mid_verify(t, sv, tmp, policy):
    """formrelay-deliver SIGKILLed after the vendor judged (and used) the
    token, before the verdict was recorded: the next ask is told
    "already used", which is no verdict on the visitor."""
    token = "tok-kill-" + policy
    sv.tokens({token: {"hostname": "www.example.com"}})
    sv.hold(True)
    # an ask may take 4 s: formrelay-deliver is killed well within it
    env = captcha_env(t, sv, tmp, webhooks=False,
                      customerio={"timeout_ms": "4000"},
                      captcha_unreachable=policy)
    try:
        r = post_token(env, "k-" + policy, token)
        t.eq(r.status, 202, "%s: the submission is acknowledged 202" % policy)
        mid = r.json()["id"]
        wait_until(lambda: sv.held() == 1, 20, "the ask to be held")
        sv.hold(False)
        pids = env.relay.deliver_pids()
        t.eq(len(pids), 1, "one formrelay-deliver")
        t.eq([sent for _, sent in verify_rows(env)], [1],
             "before the ask, its sending was recorded in the spool")
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: all(gone(p) for p in pids), 20, "the kill")
        sv.release()  # the vendor's answer goes nowhere; the token is used
        t.eq([q["response"] for q in sv.requests()].count(token), 1,
             "the vendor was asked once before the kill")
        t.eq((env.relay.status() or {}).get("pending"), 1,
             "the held submission is still in the spool after the kill")
        wait_until(lambda: spam_count(env, "captcha_unknown") == 1, 60,
                   "the restarted formrelay-deliver to ask again")
        t.eq([q["response"] for q in sv.requests()].count(token), 2,
             "the restarted formrelay-deliver asked again")
        log = env.relay.log()
        if policy == "open":
            msgs = wait_until(lambda: env.standin.messages(), 20,
                              "the delivery")
            t.eq([(m["userId"], m["messageId"]) for m in msgs],
                 [("k-open", mid)],
                 "open: \"already used\" after a lost answer forwards it "
                 "once, under its original messageId")
            t.ok("outcome=unverified_forwarded spam=captcha_unknown" in log,
                 "and logs it as unverified (captcha_unknown)")
        else:
            wait_until(lambda: verify_rows(env) == [], 20, "the verdict")
            t.eq(env.standin.messages(), [], "closed: it is not forwarded")
            t.ok("outcome=refused spam=captcha_unknown" in log,
                 "and is logged as refused (captcha_unknown)")
        t.eq(spam_count(env, "captcha_invalid"), 0,
             "it is not counted as an invalid token")
        t.eq(verify_rows(env), [], "the token is gone from the spool")
        st = env.relay.status() or {}
        t.eq((st.get("pending"), st.get("inflight")), (0, 0),
             "nothing left in the spool")
        t.ok(token not in log, "no token in the log")
    finally:
        sv.hold(False)
        sv.release()
        env.close()


def check_recaptcha_v3(t, sv, tmp):
    sv.tokens({"v3-good": {"hostname": "www.example.com", "score": 0.9,
                           "action": "signup"},
               "v3-low": {"hostname": "www.example.com", "score": 0.1,
                          "action": "signup"},
               "v3-action": {"hostname": "www.example.com", "score": 0.9,
                             "action": "login"}})
    env = captcha_env(t, sv, tmp, webhooks=False, captcha="recaptcha",
                      recaptcha_min_score="0.5", recaptcha_action="signup")
    try:
        r = env.relay.post_json({"userData": {"entryId": "r-shaped",
                                              "email": "x@example.com"}})
        t.eq((r.status, r.json().get("error")), (422, "captcha_missing"),
             "an unsigned body shaped like Embeddables' needs the token "
             "as any other")
        for entry, token in (("r-low", "v3-low"), ("r-act", "v3-action"),
                             ("r-good", "v3-good")):
            post_token(env, entry, token, "g-recaptcha-response")
        t.eq(delivered_ids(env, 1), ["r-good"],
             "reCAPTCHA v3: the good score and action is delivered")
        ok_when(t, lambda: (spam_count(env, "captcha_score"),
                            spam_count(env, "captcha_action")) == (1, 1),
                20, "a low score and a wrong action are refused, "
                "each counted")
        t.eq([m["userId"] for m in env.standin.messages()], ["r-good"],
             "only that one")
    finally:
        env.close()


def check_dry_run(t, sv, tmp):
    """A dry run checks everything as live and says what it refused."""
    sv.tokens({"dry-ok": {"hostname": "www.example.com"}})
    env = captcha_env(t, sv, tmp, webhooks=False, dry_run=True)
    try:
        post_token(env, "d-bad", "dry-unknown")
        post_token(env, "d-ok", "dry-ok")
        settled(env, "captcha_invalid", 1)
        wait_until(lambda: "d-ok" in env.relay.log() and
                   "outcome=pass" in env.relay.log(), 20, "the pass")
        log = env.relay.log()
        t.ok("captcha=turnstile outcome=refused spam=captcha_invalid" in log,
             "dry run: the log shows the submission that would have been "
             "refused")
        t.eq(env.standin.messages(), [], "and nothing is sent")
    finally:
        env.close()


def check_captcha(t):
    tmp = tempfile.mkdtemp(prefix="formrelay-sv-")
    sv = Siteverify(tmp)
    try:
        check_turnstile(t, sv, tmp)
        check_unreachable(t, sv, tmp)
        check_killed_mid_verify(t, sv, tmp, "open")
        check_killed_mid_verify(t, sv, tmp, "closed")
        check_recaptcha_v3(t, sv, tmp)
        check_dry_run(t, sv, tmp)
    finally:
        sv.stop()


ZONE = {"mail.test": {"MX": ["mx.mail.test"]},
        "web.test": {"A": ["192.0.2.1"]},
        "v6.test": {"AAAA": ["2001:db8::1"]},
        "nullmx.test": {"MX": ["."]},
        "empty.test": {},
        "slow.test": "timeout",
        "broken.test": "servfail"}


class DnsStub:
    """tests/dnsstub.py, a stand-in DNS server answering ZONE."""

    def __init__(self, tmp):
        zone = os.path.join(tmp, "zone.json")
        with open(zone, "w") as f:
            json.dump(ZONE, f)
        port_file = os.path.join(tmp, "dns.port")
        self.log = os.path.join(tmp, "dns.log")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(SRCDIR, "tests", "dnsstub.py"),
             "--port-file", port_file, "--zone", zone, "--log", self.log])
        wait_until(lambda: os.path.exists(port_file), 10, "dnsstub")
        with open(port_file) as f:
            self.port = int(f.read())

    def asked(self):
        try:
            with open(self.log) as f:
                return f.read().splitlines()
        except OSError:
            return []

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def check_mx(t):
    """mx_check: a domain that surely has no mail host is never
    forwarded; a resolver that fails or is slow forwards (fail open)."""
    tmp = tempfile.mkdtemp(prefix="formrelay-dns-")
    dns = DnsStub(tmp)
    env = Env(t, conf_extra={"antispam": {
        "mx_check": "yes", "mx_check_timeout": "500ms",
        "mx_check_servers": "127.0.0.1:%d" % dns.port}})
    try:
        ok_domains = ["mail.test", "web.test", "v6.test", "slow.test",
                      "broken.test"]
        dead = ["nullmx.test", "empty.test", "gone.test"]
        for dom in ok_domains + dead:
            r = env.relay.post_json({"entryId": "mx-" + dom,
                                     "email": "someone@" + dom})
            t.eq(r.status, 202, "someone@%s: 202 (checked after the "
                 "reply)" % dom)
        settled(env, "email_domain", 3)
        msgs = wait_until(lambda: len(env.standin.messages()) >= 5 and
                          env.standin.messages(), 30, "the deliveries")
        t.eq(sorted(m["userId"] for m in msgs),
             sorted("mx-" + d for d in ok_domains),
             "MX, A only, AAAA only are forwarded, and so are a domain "
             "whose lookup timed out or failed (SERVFAIL); null MX, "
             "NODATA and NXDOMAIN are not")
        t.eq(spam_count(env, "email_domain"), 3,
             "formrelay_spam_total{reason=\"email_domain\"} 3")
        st = env.relay.status() or {}
        t.eq((st.get("pending"), st.get("inflight"), st.get("dead")),
             (0, 0, 0), "the refused ones are gone from the spool")
        log = env.relay.log()
        t.ok(re.search(r"outcome=refused spam=email_domain .*email=s\*+@"
                       r"gone\.test detail=\"the domain receives no mail",
                       log) is not None,
             "each is logged with the email masked", log[-2000:])
        t.ok("someone@gone.test" not in log, "never the whole address")
        env.relay.post_json({"entryId": "mx-again", "email": "x@gone.test"})
        settled(env, "email_domain", 4)
        t.eq(dns.asked().count("gone.test MX"), 1,
             "the answer for a domain is cached (one question)")
        t.eq(dns.asked().count("mail.test A"), 0,
             "no A question once an MX answered")
    finally:
        env.close()
        dns.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    t = Tap()
    env = Env(t, conf_extra={
        "antispam": {"disposable_domains": "yes",
                     "disposable_domains_file": LIST},
        "http": {"redirect_allow": "http://127.0.0.1/"}})
    try:
        check_disposable_refused(t, env)
        check_double_submit(t, env)
        check_double_submit_pipelines(t, env)
    finally:
        env.close()
    check_disposable_dropped(t)
    check_window_ends(t)
    check_mx(t)
    check_captcha(t)
    t.done()


if __name__ == "__main__":
    main()
