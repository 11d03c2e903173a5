"""Webhook sources (issue 19): [webhook.NAME] routes at /formrelay/hooks/NAME,
each platform's payload signed with that platform's own scheme (by its own
code where it publishes some: tests/webhooks/sign.mjs runs svix,
standardwebhooks and webflow-api) and posted through lighttpd.

Valid: delivered once, with the fixture's traits and none of the platform
servers' context.  Tampered, stale, unsigned, wrong token: 403 and nothing
forwarded.  A replayed delivery: acknowledged, not forwarded twice.  A
burst from one address spends the source's budget, not the address's.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SRCDIR, Env, Tap, wait_until  # noqa: E402

FIXTURES = os.path.join(SRCDIR, "tests", "fixtures", "webhooks")
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_WHSEC = "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXk="
SECRETS = {
    "emb": [WHSEC],
    "typeform": ["typeform-secret-new", "typeform-secret-old"],
    "tally": ["tally-signing-secret"],
    "webflow": ["0f1e2d3c4b5a69788796a5b4c3d2e1f0"],
    "github": ["gh-hook-secret"],
}
TOKENS = {"jotform": "jot-Token-3f9a", "unbounce": "ub-Token-77c1"}
# Where the platforms' servers post from, as a proxy would report it.
PLATFORM_UA = "Tally Webhooks"


def signer_deps():
    """The platforms' npm packages, installed once into the build tree."""
    dest = os.path.abspath("webhook-signers")
    if not os.path.isdir(os.path.join(dest, "node_modules", "svix")):
        os.makedirs(dest, exist_ok=True)
        for f in ("package.json", "package-lock.json"):
            shutil.copy(os.path.join(SRCDIR, "tests", "webhooks", f), dest)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"],
                       cwd=dest, check=True, timeout=300)
    shutil.copy(os.path.join(SRCDIR, "tests", "webhooks", "sign.mjs"), dest)
    return dest


class Signer:
    def __init__(self, deps):
        self.script = os.path.join(deps, "sign.mjs")

    def sign(self, reqs):
        p = subprocess.run(["node", self.script], input=json.dumps(reqs),
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("sign.mjs: " + p.stderr)
        return json.loads(p.stdout)

    def one(self, platform, secret, body, msg_id="", ts=None):
        ts = int(time.time()) if ts is None else ts
        return self.sign([{"platform": platform, "secret": secret,
                           "body": body, "id": msg_id, "timestamp": ts}])[0]


def hmac_github(secret, body):
    """GitHub's documented X-Hub-Signature-256: sha256=<hex>."""
    import hashlib
    import hmac
    return "sha256=" + hmac.new(secret.encode(), body.encode(),
                                hashlib.sha256).hexdigest()


def write_secrets(tmp):
    conf = {}
    for name, lines in SECRETS.items():
        path = os.path.join(tmp, name + ".secret")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(path, 0o600)
        conf[name] = path
    for name, token in TOKENS.items():
        path = os.path.join(tmp, name + ".token")
        with open(path, "w") as f:
            f.write(token + "\n")
        os.chmod(path, 0o600)
        conf[name + "_token"] = path
    return conf


def fixture_aliases():
    """[fields] alias.<trait> lines the fixtures ask for."""
    merged = {}
    for _, name, _ in CASES:
        _, want = fixture(name)
        for trait, alias in (want.get("config_aliases") or {}).items():
            merged.setdefault("alias." + trait, []).append(alias)
    return {k: ", ".join(v) for k, v in merged.items()}


def sections(paths):
    return {
        "http": {"rate_limit": "5/min"},
        "fields": fixture_aliases(),
        "webhook.emb": {"platform": "standard",
                        "secret_file": paths["emb"]},
        "webhook.typeform": {"platform": "typeform",
                             "secret_file": paths["typeform"]},
        "webhook.tally": {"platform": "tally",
                          "secret_file": paths["tally"]},
        "webhook.webflow": {"platform": "webflow",
                            "secret_file": paths["webflow"]},
        "webhook.jotform": {"platform": "jotform",
                            "token_file": paths["jotform_token"],
                            "id_fields": "submissionID"},
        "webhook.unbounce": {"platform": "unbounce",
                             "token_file": paths["unbounce_token"]},
        "webhook.github": {"platform": "hmac",
                           "secret_file": paths["github"],
                           "header": "X-Hub-Signature-256",
                           "algorithm": "sha256", "encoding": "hex",
                           "prefix": "sha256="},
        "webhook.small": {"platform": "tally",
                          "secret_file": paths["tally"],
                          "rate_limit": "3/min"},
    }


def fixture(name):
    stem = os.path.join(FIXTURES, name)
    with open(stem + ".expect.json") as f:
        want = json.load(f)
    for ext in (".json", ".txt", ".multipart"):
        if os.path.exists(stem + ext):
            with open(stem + ext, encoding="utf-8") as f:
                return f.read(), want
    raise FileNotFoundError(stem)


def post(env, hook, body, headers, ctype="application/json", query=""):
    h = {"Content-Type": ctype, "Accept": "application/json",
         "User-Agent": PLATFORM_UA, "X-Forwarded-For": "203.0.113.50"}
    h.update(headers)
    return env.relay.request("POST", "/formrelay/hooks/" + hook + query,
                             body.encode(), h)


def delivered(env, mid):
    return [m for m in env.standin.messages() if m["messageId"] == mid]


def signed_headers(signer, platform, body, msg_id="", ts=None):
    secret = {"standard": WHSEC, "svix": WHSEC,
              "typeform": SECRETS["typeform"][1],  # the old one: rotation
              "tally": SECRETS["tally"][0],
              "webflow": SECRETS["webflow"][0]}[platform]
    return signer.one(platform, secret, body, msg_id, ts)


# (hook, fixture, platform for sign.mjs or None for a token)
CASES = [
    ("emb", "embeddables", "svix"),
    ("emb", "embeddables_svix", "svix"),
    ("typeform", "typeform", "typeform"),
    ("typeform", "typeform_docs", "typeform"),
    ("typeform", "typeform_titles", "typeform"),
    ("tally", "tally", "tally"),
    ("tally", "tally_all", "tally"),
    ("tally", "tally_docs", "tally"),
    ("webflow", "webflow", "webflow"),
    ("jotform", "jotform", None),
    ("jotform", "jotform_json", None),
    ("unbounce", "unbounce", None),
    ("unbounce", "unbounce_docs", None),
]


def iso_ms(ms):
    t = time.gmtime(ms // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + ".%03dZ" % (ms % 1000)


def post_case(env, signer, hook, name, platform, msg_id):
    body, want = fixture(name)
    query = ""
    if platform is None:
        headers = {}
        query = "?token=" + TOKENS[hook]
    else:
        headers = signed_headers(signer, platform, body, msg_id)
    return post(env, hook, body, headers, want["content_type"], query), want


def check_context(t, name, ctx, want):
    """None of the platform servers' context; the visitor's where the
    payload reports it."""
    t.ok(ctx.get("ip") not in ("127.0.0.1", "203.0.113.50") and
         ctx.get("userAgent") != PLATFORM_UA,
         "%s: no platform-server address or user agent" % name, ctx)
    if want.get("ip"):
        t.eq(ctx.get("ip"), want["ip"], "%s: the visitor's address" % name)
    if want.get("user_agent"):
        t.eq(ctx.get("userAgent"), want["user_agent"],
             "%s: the visitor's user agent" % name)


def check_valid(t, env, signer):
    firsts = {}
    for hook, name, platform in CASES:
        r, want = post_case(env, signer, hook, name, platform,
                            "msg_valid_" + name)
        if not t.eq(r.status, 202, "%s: signed %s payload: 202" % (hook, name)):
            print("#   " + r.body[:300])
            continue
        mid = r.json()["id"]
        firsts[name] = mid
        ev = wait_until(lambda: delivered(env, mid), 20, name)[0]
        traits = dict(want["traits"])
        user = want["user_id"]
        if hook == "jotform":  # this source keys by submissionID
            user = want["event_id"]
        t.eq(ev["userId"], user, "%s: userId" % name)
        t.eq(ev["traits"], traits, "%s: the fixture's traits" % name)
        if want.get("submitted_ms"):
            t.eq(ev["timestamp"], iso_ms(want["submitted_ms"]),
                 "%s: the platform's submitted time is the timestamp" % name)
        check_context(t, name, ev.get("context", {}), want)
    log = env.relay.log()
    t.ok(TOKENS["jotform"] not in log and "token=********" in log,
         "the URL's token is masked in the log")
    return firsts


def check_event_ids(t, env, signer, firsts):
    """A platform's retry (the same event id, signed afresh) is answered
    with the first messageId and not forwarded again."""
    for hook, name, platform in CASES:
        _, want = fixture(name)
        if not want.get("event_id") or name not in firsts:
            continue
        r, _ = post_case(env, signer, hook, name, platform,
                         "msg_retry_" + name)
        t.eq((r.status, r.json().get("duplicate"), r.json().get("id")),
             (202, True, firsts[name]),
             "%s: its event id again: 202, duplicate, the first id" % name)


def check_refused(t, env, signer):
    body, _ = fixture("tally")
    forged = body.replace("soren@example.dk", "forged@evil.example")
    good = signed_headers(signer, "tally", body)
    cases = [
        ("tally", forged, good, "", "tampered Tally body"),
        ("tally", body, {}, "", "unsigned Tally post"),
        ("tally", body, {"Tally-Signature": "sha256=" +
                         good["Tally-Signature"]}, "", "mangled Tally header"),
    ]
    tf_body, _ = fixture("typeform")
    cases.append(("typeform", tf_body.replace("ent_7QyLp2", "forged"),
                  signed_headers(signer, "typeform", tf_body), "",
                  "tampered Typeform body"))
    wf_body, _ = fixture("webflow")
    cases.append(("webflow", wf_body,
                  signed_headers(signer, "webflow", wf_body,
                                 ts=int(time.time()) - 600), "",
                  "Webflow signed 10 minutes ago"))
    emb_body, _ = fixture("embeddables")
    cases.append(("emb", emb_body,
                  signed_headers(signer, "standard", emb_body, "msg_stale",
                                 ts=int(time.time()) - 3600), "",
                  "Standard Webhooks signed an hour ago"))
    cases.append(("emb", emb_body, {}, "", "unsigned Svix post"))
    jf_body, jf_want = fixture("jotform")
    cases.append(("jotform", jf_body, {}, "?token=guess", "wrong token"))
    cases.append(("jotform", jf_body, {}, "", "no token"))
    for hook, b, headers, query, what in cases:
        ctype = jf_want["content_type"] if hook == "jotform" else \
            "application/json"
        r = post(env, hook, b, headers, ctype, query)
        t.eq(r.status, 403, "%s: 403" % what)
        t.ok(r.json().get("error") in ("missing_signature", "bad_signature",
                                       "stale_timestamp", "bad_token",
                                       "missing_token"),
             "%s: a clear error code" % what, r.body)
    r = post(env, "nosuch", body, good)
    t.eq(r.status, 404, "an unknown hook name: 404")
    r = env.relay.request("GET", "/formrelay/hooks/tally")
    t.eq(r.status, 405, "GET on a hook: 405")
    r = post(env, "github", '{"email":"gh@x.example","entryId":"gh-1"}',
             {"X-Hub-Signature-256": hmac_github("wrong", "{}")})
    t.eq(r.status, 403, "hmac: a wrong signature: 403")
    return ["forged", "forged@evil.example"]


def check_wrong_platform(t, env, signer):
    """A route reads its platform's payload only: a Typeform body signed
    with the Tally route's secret is not read as Typeform."""
    body, _ = fixture("typeform")
    body = body.replace("ent_7QyLp2", "wrong-platform-1")
    r = post(env, "tally", body, signed_headers(signer, "tally", body))
    t.eq((r.status, r.json().get("error")), (422, "wrong_payload"),
         "Tally route, a Typeform body signed with its secret: 422 "
         "wrong_payload")
    t.ok("not a Tally webhook" in r.json().get("message", ""),
         "... the message names the route's platform", r.body)
    call = json.dumps({"type": "identify", "userId": "wrong-platform-2",
                       "traits": {"email": "wp2@x.example"}})
    r = post(env, "tally", call, signed_headers(signer, "tally", call))
    t.eq((r.status, r.json().get("error")), (422, "wrong_payload"),
         "Tally route, a Pipelines identify signed with its secret: 422 "
         "wrong_payload")
    return ["wrong-platform-1", "wrong-platform-2"]


def check_hmac(t, env):
    body = '{"entryId":"gh-1","email":"gh@x.example"}'
    r = post(env, "github", body,
             {"X-Hub-Signature-256": hmac_github(SECRETS["github"][0], body)})
    t.eq(r.status, 202, "hmac (GitHub-style configuration): 202")
    mid = r.json().get("id")
    ev = wait_until(lambda: delivered(env, mid), 20, "hmac delivery")[0]
    t.eq(ev["userId"], "gh-1", "hmac: delivered")


def check_replay(t, env, signer):
    body, _ = fixture("embeddables")
    h = signed_headers(signer, "standard", body, "msg_replay_1")
    r1 = post(env, "emb", body, h)
    t.eq(r1.status, 202, "Standard Webhooks delivery: 202")
    mid = r1.json()["id"]
    wait_until(lambda: delivered(env, mid), 20, "first delivery")
    r2 = post(env, "emb", body, h)
    t.eq(r2.status, 202, "the same webhook-id again: acknowledged")
    t.eq(r2.json().get("duplicate"), True, "... marked duplicate")
    t.eq(r2.json().get("id"), mid, "... with the original messageId")
    return mid


def check_burst(t, env, signer):
    body, _ = fixture("tally")
    reqs = [{"platform": "tally", "secret": SECRETS["tally"][0],
             "body": body.replace("ent_TLy9", "burst-%d" % i), "id": "",
             "timestamp": int(time.time())} for i in range(100)]
    signed = signer.sign(reqs)
    statuses = [post(env, "tally", q["body"], h).status
                for q, h in zip(reqs, signed)]
    t.eq(statuses.count(202), 100,
         "100 signed posts from one address within a minute: all 202 "
         "([http] rate_limit is 5/min)")
    statuses = [post(env, "small", reqs[i]["body"], signed[i]).status
                for i in range(5)]
    t.eq(statuses, [202, 202, 202, 429, 429],
         "a source's own rate_limit (3/min) applies to it")


def stored_user_ids(env, sentinel):
    r = env.relay.post_json({"entryId": sentinel,
                             "email": sentinel + "@x.example"},
                            {"X-Forwarded-For": "198.51.100.99"})
    assert r.status == 202, r.body
    wait_until(lambda: sentinel in [m.get("userId")
                                    for m in env.standin.messages()],
               20, "sentinel " + sentinel)
    return [m.get("userId") for m in env.standin.messages()]


def check_legacy(t, signer):
    """[http] webhook_secret_file: unsigned envelopes refused there."""
    env = Env(t, secret=WHSEC)
    try:
        body, _ = fixture("embeddables")
        r = env.relay.request("POST", "/formrelay", body.encode(),
                              {"Content-Type": "application/json",
                               "Accept": "application/json"})
        t.eq(r.status, 403, "legacy secret: an unsigned Embeddables body: "
             "403")
        t.eq(r.json().get("error"), "missing_signature",
             "... missing_signature")
        h = signed_headers(signer, "standard", body, "msg_legacy")
        h.update({"Content-Type": "application/json",
                  "Accept": "application/json"})
        r = env.relay.request("POST", "/formrelay", body.encode(), h)
        t.eq(r.status, 202, "legacy secret: the signed one: 202")
        r = env.relay.post_form({"entryId": "plain-1",
                                 "email": "plain@x.example"})
        t.eq(r.status, 202, "legacy secret: a plain form post still 202")
    finally:
        env.close()


def main():
    t = Tap()
    if not shutil.which("node") or not shutil.which("npm"):
        t.skip_all("needs node and npm for the platforms' signing code")
    signer = Signer(signer_deps())
    secrets_dir = tempfile.mkdtemp(prefix="formrelay-hooks-")
    env = Env(t, conf_extra=sections(write_secrets(secrets_dir)))
    try:
        firsts = check_valid(t, env, signer)
        check_event_ids(t, env, signer, firsts)
        forged = check_refused(t, env, signer)
        forged += check_wrong_platform(t, env, signer)
        check_hmac(t, env)
        first = check_replay(t, env, signer)
        users = stored_user_ids(env, "sentinel-hooks")
        t.ok(not any(u in users for u in forged),
             "refused webhooks forwarded nothing", users)
        sent = [m["messageId"] for m in env.standin.messages()]
        t.eq(sent.count(first), 1, "the replayed delivery was forwarded once")
        t.ok(all(sent.count(m) == 1 for m in firsts.values()),
             "each platform's retried event was forwarded once")
        check_burst(t, env, signer)
    finally:
        env.close()
        shutil.rmtree(secrets_dir, ignore_errors=True)
    check_legacy(t, signer)
    t.done()


main()
