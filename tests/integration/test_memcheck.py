"""Memory safety over a long run (issue 5 item 9).  Slow: `make valgrind`
runs it, `make check` does not.

1. Soak under valgrind: lighttpd's bin-path points at a wrapper that
   execs valgrind memcheck around the binary; thousands of varied
   requests (every body type, every builder fixture, signed and forged
   webhooks, bad input of every kind, healthz, metrics, CORS, rate
   limiting) go through lighttpd while the stand-in fails now and then,
   so that retries and dead letters happen too.  lighttpd is stopped with
   SIGTERM, which takes formrelay down its clean shutdown path; a few CGI
   requests and admin commands run under valgrind as well.  Every
   valgrind log must report 0 errors and nothing definitely or
   indirectly lost.
2. Resident memory without valgrind: the same mix, 20,000 requests,
   VmRSS of the FastCGI process sampled at each quarter.  Per-request
   leaks show as steady growth; the second half must stay flat.

MEMCHECK_SOAK_REQUESTS and MEMCHECK_RSS_REQUESTS change the counts;
VALGRIND names the valgrind program.
"""

import base64
import concurrent.futures
import glob
import hashlib
import hmac
import json
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import SRCDIR, Env, Tap, wait_until  # noqa: E402

SOAK_REQUESTS = int(os.environ.get("MEMCHECK_SOAK_REQUESTS", "6000"))
RSS_REQUESTS = int(os.environ.get("MEMCHECK_RSS_REQUESTS", "20000"))
VALGRIND = os.environ.get("VALGRIND") or "valgrind"
CLIENTS = 4
# Resident growth allowed per request once warm (over the second half
# and over the last quarter of the RSS run).  The SQLite page caches
# and malloc's arenas grow in steps while the spool finds its size (up
# to ~2 MB here, mostly in the first half); a leak of 100 bytes a
# request would add 1 MB per 10,000 requests and fail this.
RSS_BYTES_PER_REQUEST = 100

SECRET = "whsec_" + base64.b64encode(
    b"memcheck-soak-secret-32-bytes!!!").decode()
ORIGIN = "https://www.example.com"
FORM = "application/x-www-form-urlencoded"
JSONT = "application/json"
OK = {202, 303}
# With [http] webhook_secret_file set (as here), a webhook-shaped body
# without its signature is refused on the mount: test_hooks.py and
# test_security.py assert which shapes; this soak only bounds the status.
UNSIGNED_HOOK = OK | {403}
CONF = {
    "identity": {"event": "Form Submitted"},
    "spool": {"retry_min": "100ms", "retry_max": "1s", "max_age": "5s"},
    "http": {"allowed_origins": ORIGIN,
             "redirect_allow": ORIGIN + "/",
             "trusted_proxies": "127.0.0.1, ::1",
             "rate_limit": "60/min"},
}


def sign(msg_id, ts, body):
    key = base64.b64decode(SECRET[len("whsec_"):])
    mac = hmac.new(key, ("%s.%s." % (msg_id, ts)).encode() + body,
                   hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def client_addr(i):
    """X-Forwarded-For from a pool wide enough to stay under rate_limit."""
    if i % 3 == 0:  # a /64 apiece: IPv6 clients are limited per /64
        return "2001:db8:%x:%x::1" % (i % 7, i % 1500)
    return "198.51.%d.%d" % (100 + (i // 250) % 8, i % 250)


def req(body, ctype, allowed, extra=None, method="POST", path="/formrelay"):
    h = {"Content-Type": ctype} if ctype else {}
    h.update(extra or {})
    if isinstance(body, str):
        body = body.encode()
    return (method, path, body, h, allowed)


def fixtures():
    """(content type, body) of every builder and webhook fixture."""
    out = []
    for path in sorted(glob.glob(os.path.join(
            SRCDIR, "tests", "fixtures", "*", "*.expect.json"))):
        stem = path[:-len(".expect.json")]
        with open(path) as f:
            want = json.load(f)
        for ext in (".json", ".txt", ".multipart"):
            if os.path.exists(stem + ext):
                with open(stem + ext, "rb") as f:
                    hook = os.sep + "webhooks" + os.sep in path
                    out.append((want["content_type"], f.read(),
                                want.get("config_aliases") or {},
                                UNSIGNED_HOOK if hook else OK))
    return out


def fixture_aliases(fx):
    merged = {}
    for _, _, aliases, _ in fx:
        for trait, name in aliases.items():
            merged.setdefault(trait, []).append(name)
    return {"alias." + k: ", ".join(v) for k, v in merged.items()}


# ---- the request mix: each generator returns a list of requests, sent
# ---- in order by one client (a webhook and its replay stay together).

def gen_form(i):
    body = ("entryId=e%d&email=++User%d%%40Example.COM+&name=Jane+Doe"
            "&plan=pro&interests=a&interests=b&newsletter=on"
            "&traits%%5Bsource%%5D=lp&password=hunter2&_form=signup" % (i, i))
    if i % 4 == 0:
        body += "&_next=" + ORIGIN.replace(":", "%3A") + "%2Fthanks"
    if i % 5 == 0:
        body += "&_event=Demo+Requested"
    return [req(body, FORM, OK, {"Referer": ORIGIN + "/lp?utm_source=x",
                                 "User-Agent": "soak/%d" % i})]


def gen_multipart(i):
    b = "----soak%d" % i
    parts = [("entryId", "m%d" % i), ("email", "m%d@example.org" % i),
             ("first-name", "Ana"), ("Last Name", "Lima"),
             ("message", "line one\r\nline two \u00e9")]
    body = "".join('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n'
                   '%s\r\n' % (b, k, v) for k, v in parts)
    body += ('--%s\r\nContent-Disposition: form-data; name="cv"; '
             'filename="cv.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
             '%%PDF-1.4 \x00\x01\x02\r\n--%s--\r\n' % (b, b))
    return [req(body, "multipart/form-data; boundary=" + b, OK)]


def gen_json(i):
    doc = {"entryId": "j%d" % i, "email": "J%d@Example.net" % i,
           "zip": "02134", "vip": True, "score": i, "ratio": 0.5,
           "tags": ["a", "b"], "nothing": None, "empty": "",
           "address": {"city": "Lisbon", "geo": [1, 2]}}
    want = OK
    if i % 2:
        doc = {"userData": doc, "context": {"pageUrl": ORIGIN + "/p"}}
        want = {403}
    return [req(json.dumps(doc), JSONT, want,
                {"Accept": JSONT, "Origin": ORIGIN})]


def gen_beacon(i):
    doc = {"entryId": "b%d" % i, "email": "b%d@example.com" % i,
           "step": "3"}
    return [req(json.dumps(doc), "text/plain;charset=UTF-8", OK)]


def gen_fixture(fx):
    def gen(i):
        ctype, body, _, want = fx[i % len(fx)]
        return [req(body, ctype, want, {"Accept": JSONT})]
    return gen


def gen_webhook(i):
    doc = {"userData": {"entryId": "w%d" % i, "email": "w%d@x.example" % i}}
    body = json.dumps(doc).encode()
    ts = str(int(time.time()))
    mid = "msg_%d_%d" % (os.getpid(), i)
    prefix = "svix" if i % 2 else "webhook"
    h = {prefix + "-id": mid, prefix + "-timestamp": ts,
         prefix + "-signature": "v1,bogus " + sign(mid, ts, body)}
    forged = dict(h)
    forged[prefix + "-signature"] = sign(mid, ts, b"{}")
    stale = dict(h)
    stale[prefix + "-timestamp"] = str(int(time.time()) - 3600)
    return [req(body, JSONT, OK, h), req(body, JSONT, OK, h),
            req(body, JSONT, {403}, forged), req(body, JSONT, {403}, stale),
            req(body, JSONT, {400, 403}, {prefix + "-id": mid})]


def bad_bodies():
    """(body, content type, allowed statuses): malformed, oversize,
    hostile and pointless input of every kind."""
    deep = "[" * 300 + "]" * 300
    yield "entryId=x&email=a@b.example&x=" + "a" * 70000, FORM, {413}
    yield "<a/>", "text/xml", {415}
    yield "email=a@b.example", None, {415}
    yield "email=a@b.example&n=%C3%28", FORM, {400}
    yield b"email=a@b.example&n=\xff\xfe", FORM, {400}
    yield "email=a@b.example&n=a%00b", FORM, {400}
    yield "email=%ZZ&x=%4&=&&==&%", FORM, {400, 422}
    yield b'{"email":"a@b.example","n":"\xc3\x28"}', JSONT, {400}
    yield '{"email": "a@b.example",', JSONT, {400}
    yield '[{"email":"a@b.example"}]', JSONT, {400}
    yield '"a string"', JSONT, {400}
    yield '{"email":"a@b.example","x":%s}' % deep, JSONT, {400}
    yield '{"email":"a@b.example","email":"c@d.example"}', JSONT, OK | {400}
    yield "{not json", "text/plain", {400, 415}
    yield "x", "multipart/form-data", {400}
    yield ('--XyZ\r\nContent-Disposition: form-data; name="email"\r\n\r\n'
           'a@b.example\r\n', "multipart/form-data; boundary=XyZ", {400})
    yield ("--XyZ\r\ngarbage\r\n\r\n--XyZ--\r\n",
           "multipart/form-data; boundary=XyZ", {400, 422})
    yield ("--" + "B" * 80 + "\r\n\r\n", "multipart/form-data; boundary=" +
           "B" * 80, {400})
    yield "&".join("f%d=v" % k for k in range(300)) + "&email=a@b.example", \
        FORM, {413}
    yield "email=a@b.example&" + "n" * 1000 + "=v", FORM, {413}
    yield "entryId=x&email=a@b.example&note=" + "v" * 20000, FORM, {413}
    yield json.dumps({"entryId": "big", "email": "a@b.example",
                      **{"k%d" % k: "v" * 400 for k in range(100)}}), \
        JSONT, {413}
    yield '{"entryId":"e1","email":"not-an-email"}', JSONT, {422}
    yield '{"_form":"x","_gotcha":""}', JSONT, {422}
    yield "plan=pro", FORM, {422}
    yield "password=x&card_number=4111111111111111&cvv=123", FORM, {422}
    yield "", FORM, {400, 422}
    yield '{"form_response":{"answers":"nope","hidden":[1]}}', JSONT, \
        {400, 422}
    yield '{"data":{"fields":[1,null,{"label":2,"value":{}}]}}', JSONT, \
        {400, 422}
    yield '{"payload":{"data":null},"triggerType":"form_submission"}', \
        JSONT, {400, 422}
    yield '{"fields":[{"name":1},{"value":"x"},"s"]}', JSONT, {400, 422}
    yield "rawRequest=%7Bnot+json&formID=1", FORM, {400, 422}
    yield "data.json=%5B1%2C2&data.xml=", FORM, {400, 422}
    yield '{"userData":[],"context":7}', JSONT, {400, 422}


def gen_bad(bad):
    def gen(i):
        body, ctype, allowed = bad[i % len(bad)]
        accept = {"Accept": JSONT} if i % 2 else {}
        return [req(body, ctype, allowed, accept)]
    return gen


def gen_policy(i):
    """Origins, redirects, honeypots, methods, paths, CORS."""
    good = "entryId=p%d&email=p%d%%40x.example" % (i, i)
    return [
        req(good, FORM, {403}, {"Origin": "https://evil.example"}),
        req(good + "&_next=https%3A%2F%2Fevil.test%2F", FORM, {400}),
        req(good + "&_gotcha=spam", FORM, OK),
        req(good + "&bot-field=1", FORM, OK, {"Accept": JSONT}),
        req(None, None, {204}, {"Origin": ORIGIN,
                                "Access-Control-Request-Method": "POST",
                                "Access-Control-Request-Headers":
                                "content-type"}, "OPTIONS"),
        req(None, None, {403}, {"Origin": "https://evil.example"},
            "OPTIONS"),
        req(None, None, {405}, None, "GET"),
        req(good, FORM, {405}, None, "PUT"),
        req(None, None, {404, 405}, None, "GET", "/formrelay/nope"),
    ]


def gen_observe(i):
    return [req(None, None, {200}, None, "GET", "/formrelay/healthz"),
            # a scraper on loopback (metrics_allow's default)
            req(None, None, {200}, {"X-Forwarded-For": "127.0.0.1"}, "GET",
                "/formrelay/metrics")]


def gen_flood(i):
    """One hot address past its budget: 429s with Retry-After."""
    return [req("entryId=h%d&email=h%d%%40x.example" % (i, i), FORM,
                OK | {429}, {"X-Forwarded-For": "203.0.113.7"})]


def mix():
    fx = fixtures()
    bad = list(bad_bodies())
    gens = [("form", gen_form, 6), ("multipart", gen_multipart, 2),
            ("json", gen_json, 4), ("beacon", gen_beacon, 1),
            ("fixture", gen_fixture(fx), 4), ("webhook", gen_webhook, 1),
            ("bad", gen_bad(bad), 6), ("policy", gen_policy, 1),
            ("observe", gen_observe, 1), ("flood", gen_flood, 1)]
    table = [(name, g) for name, g, weight in gens for _ in range(weight)]
    return table, fixture_aliases(fx)


class Driver:
    """Sends the mix through lighttpd from a few client threads and
    counts what came back; unexpected statuses are kept for the report."""

    def __init__(self, relay, table):
        self.relay = relay
        self.table = table
        self.sent = 0
        self.counts = {}
        self.unexpected = []

    def one(self, i):
        name, gen = self.table[i % len(self.table)]
        results = []
        for method, path, body, headers, allowed in gen(i):
            h = {"X-Forwarded-For": client_addr(i)}
            h.update(headers)
            try:
                status = self.relay.request(method, path, body, h).status
            except OSError as e:
                status = "error %s" % e
            results.append((name, method, path, body, status, allowed))
        return results

    def run(self, n):
        """Send at least n requests (whole groups); returns the count."""
        start = self.sent
        i = self.sent
        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            while self.sent - start < n:
                batch = range(i, i + 64)
                i += 64
                for results in pool.map(self.one, batch):
                    for name, method, path, body, status, allowed in results:
                        self.sent += 1
                        key = "%s %s" % (name, status)
                        self.counts[key] = self.counts.get(key, 0) + 1
                        if status not in allowed and len(self.unexpected) < 20:
                            self.unexpected.append(
                                "%s %s %s -> %s (want %s): %r" %
                                (name, method, path, status, sorted(allowed),
                                 (body or b"")[:80]))
        return self.sent - start


def flaky_upstream(standin, round_no):
    """Now and then the stand-in fails: 5xx and 429 are retried, a long
    outage outlives max_age and makes dead letters, 400, 413 and 422
    split the batch, a slow answer overlaps with new posts.  (Not 401:
    that pauses delivery for a minute, by design.)"""
    script = [
        {"responses": [{"status": 503, "count": 2},
                       {"status": 429, "headers": {"Retry-After": "1"}}]},
        {"responses": [{"status": 503, "count": 40}]},
        {"responses": [{"status": 500}, {"status": 400, "body": "bad"}]},
        {"responses": [{"status": 200, "delay_ms": 300},
                       {"status": 422}, {"status": 413}]},
        {},
    ][round_no % 5]
    standin.reset()
    standin.script(script)


def check_statuses(t, driver, what):
    summary = ", ".join("%s: %d" % kv for kv in sorted(driver.counts.items()))
    print("# %s statuses: %s" % (what, summary))
    t.eq(driver.unexpected, [], "%s: every reply had the expected status"
         % what)


# ---- 1. valgrind ----

def write_wrapper(tmp, real_bin):
    """A script for bin-path: formrelay under valgrind, and with it the
    formrelay-deliver it spawns (--trace-children), one log per process."""
    logdir = os.path.join(tmp, "valgrind")
    os.mkdir(logdir)
    path = os.path.join(tmp, "formrelay-valgrind")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexec %s --leak-check=full "
                "--errors-for-leak-kinds=definite,indirect "
                "--trace-children=yes --num-callers=30 "
                "--log-file=%s/%%p.log %s \"$@\"\n"
                % (VALGRIND, logdir, real_bin))
    os.chmod(path, 0o755)
    return path, logdir


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def valgrind_verdict(text):
    """(errors, definitely lost bytes, indirectly lost bytes); errors is
    None when valgrind wrote no summary (the process never ended)."""
    m = re.search(r"ERROR SUMMARY: ([\d,]+) errors", text)
    errors = int(m.group(1).replace(",", "")) if m else None

    def lost(kind):
        m = re.search(kind + r" lost: ([\d,]+) bytes", text)
        return int(m.group(1).replace(",", "")) if m else 0
    return errors, lost("definitely"), lost("indirectly")


def command(text):
    """The command a valgrind log is about, without paths or -c FILE."""
    m = re.search(r"Command: (.*)", text)
    words = m.group(1).split() if m else ["?"]
    out = []
    for w in words:
        if out and out[-1] == "-c":
            out.pop()
        else:
            out.append(os.path.basename(w))
    return " ".join(out)


def check_valgrind_logs(t, logdir, what):
    """Each process's log, once it has ended: 0 errors, nothing lost."""
    logs = sorted(glob.glob(os.path.join(logdir, "*.log")))
    t.ok(logs, "%s: valgrind logs written" % what)
    seen = []
    for log in logs:
        pid = int(os.path.basename(log)[:-len(".log")])
        try:
            wait_until(lambda: "ERROR SUMMARY:" in read(log) or
                       not alive(pid), 120, "pid %d to end" % pid)
        except TimeoutError:
            pass
        text = read(log)
        errors, definite, indirect = valgrind_verdict(text)
        name = "%s: pid %d (%s)" % (what, pid, command(text))
        problems = "\n".join(line for line in text.splitlines()
                             if "==" in line)[-3000:]
        t.ok(errors == 0, name + ": 0 errors (valgrind says %s)" % errors,
             problems)
        t.ok(definite == 0 and indirect == 0,
             name + ": nothing definitely or indirectly lost (%d, %d bytes)"
             % (definite, indirect), problems)
        t.ok("terminating with default action" not in text,
             name + ": ended by itself, not killed by a signal", problems)
        seen.append(command(text))
    for log in logs:
        os.rename(log, log + ".checked")
    return seen


def healthy(relay):
    try:
        return relay.request("GET", "/formrelay/healthz").status == 200
    except OSError:
        return False


def soak_valgrind(t):
    if shutil.which(VALGRIND) is None:
        t.ok(False, "valgrind not found (apt-get install valgrind)")
        return
    table, aliases = mix()
    real_bin = harness.BIN
    vgtmp = tempfile.mkdtemp(prefix="formrelay-vg-")
    wrapper, logdir = write_wrapper(vgtmp, real_bin)
    harness.BIN = wrapper  # lighttpd's bin-path, CGI and admin runs
    env = None
    try:
        env = Env(t, conf_extra=dict(CONF, fields=aliases), secret=SECRET)
        try:
            wait_until(lambda: healthy(env.relay), 120, "formrelay")
        except TimeoutError:
            t.ok(False, "formrelay under valgrind answers /healthz",
                 env.relay.log()[-3000:])
            return
        driver = Driver(env.relay, table)
        started = time.monotonic()
        rounds = 6
        for r in range(rounds):
            flaky_upstream(env.standin, r)
            driver.run(SOAK_REQUESTS // rounds)
        print("# valgrind soak: %d requests in %.0f s" %
              (driver.sent, time.monotonic() - started))
        check_statuses(t, driver, "valgrind soak")
        env.standin.reset()
        r = env.relay.post_json({"entryId": "last", "email": "l@x.example"})
        t.eq(r.status, 202, "a last post once the stand-in is healthy")
        wait_until(lambda: "last" in [m.get("userId") for m in
                                      env.standin.messages()],
                   60, "the last post's delivery")
        env.relay.stop()  # SIGTERM: lighttpd stops formrelay the same way
        seen = check_valgrind_logs(t, logdir, "FastCGI under valgrind")
        t.eq(sorted(c.split()[0] for c in seen),
             ["formrelay", "formrelay-deliver"],
             "one FastCGI process and its formrelay-deliver, both checked")
        print("# valgrind soak stopped and checked at %.0f s" %
              (time.monotonic() - started))
        # CGI and the admin commands, each a process of its own.
        out, _ = env.relay.cgi("POST", "/formrelay",
                               b'{"entryId":"cgi","email":"c@x.example"}')
        t.ok(out.startswith("Status: 202"), "CGI post: 202", out[:200])
        out, _ = env.relay.cgi("POST", "/formrelay", b'{"entryId":')
        t.ok(out.startswith("Status: 400"), "CGI bad post: 400", out[:200])
        out, _ = env.relay.cgi("GET", "/formrelay/metrics")
        t.ok(out.startswith("Status: 200"), "CGI metrics: 200", out[:200])
        for args in (["--check-config"], ["status", "--json"], ["dead"],
                     ["requeue", "all"], ["flush"], ["purge", "all"]):
            step = time.monotonic()
            rc, out = env.relay.admin(*args)
            t.ok(rc in (0, 3), "admin %s runs (%.1f s)" % (
                " ".join(args), time.monotonic() - step), out[-500:])
        check_valgrind_logs(t, logdir, "CGI and admin under valgrind")
        print("# CGI and admin checked at %.0f s" %
              (time.monotonic() - started))
    finally:
        harness.BIN = real_bin
        if env is not None:
            env.close()
        if not os.environ.get("FORMRELAY_KEEP_TMP"):
            shutil.rmtree(vgtmp, ignore_errors=True)


# ---- 2. resident memory ----

def child_pid(parent):
    """The first process whose parent is parent, or None."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2:].split()[1]) == parent:
            return int(d)
    return None


def vm_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, TypeError):
        pass
    return -1


def check_plateau(t, name, samples):
    """Growth per request over the second half and the last quarter."""
    print("# VmRSS of %s: %s" % (name, ", ".join(
        "%d requests: %d kB" % s for s in samples)))
    for a, b in ((samples[2], samples[4]), (samples[3], samples[4])):
        grew = (b[1] - a[1]) * 1024 / (b[0] - a[0])
        t.ok(a[1] > 0 and grew <= RSS_BYTES_PER_REQUEST,
             "%s VmRSS plateaus from %d to %d requests: %+d kB, %.1f bytes"
             " a request (at most %d)" % (name, a[0], b[0], b[1] - a[1],
                                          grew, RSS_BYTES_PER_REQUEST),
             samples)


def rss_plateau(t):
    """lighttpd's only child is the FastCGI process; its only child is
    formrelay-deliver.  Both must stay the same processes throughout."""
    table, aliases = mix()
    env = Env(t, conf_extra=dict(CONF, fields=aliases), secret=SECRET)
    try:
        driver = Driver(env.relay, table)
        driver.run(200)  # spawns the backend, warms the caches
        fcgi = child_pid(env.relay.proc.pid)
        deliver = child_pid(fcgi) if fcgi else None
        if not t.ok(fcgi is not None, "found the FastCGI process"):
            return
        pids = [p for p in (fcgi, deliver) if p is not None]
        samples = [[(driver.sent, vm_rss_kb(p))] for p in pids]
        quarter = RSS_REQUESTS // 4
        started = time.monotonic()
        for r in range(4):
            flaky_upstream(env.standin, r)
            driver.run(quarter)
            for p, s in zip(pids, samples):
                s.append((driver.sent, vm_rss_kb(p)))
        print("# RSS run: %d requests in %.0f s" %
              (driver.sent, time.monotonic() - started))
        check_statuses(t, driver, "RSS run")
        t.eq(child_pid(env.relay.proc.pid), fcgi,
             "the same FastCGI process served every request")
        check_plateau(t, "the FastCGI process", samples[0])
        if deliver is not None:
            t.eq(child_pid(fcgi), deliver,
                 "the same formrelay-deliver process throughout")
            check_plateau(t, "formrelay-deliver", samples[1])
    finally:
        env.close()


def main():
    t = Tap()
    if os.environ.get("MEMCHECK_SKIP_VALGRIND") != "1":
        soak_valgrind(t)
    if RSS_REQUESTS > 0:
        rss_plateau(t)
    t.done()


if __name__ == "__main__":
    main()
