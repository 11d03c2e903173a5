"""Real form builders and webhooks through lighttpd (issue 3).

Every fixture under tests/fixtures/{forms,webhooks}/ is a body as the
platform sends it, beside the identify it must produce.  Each is posted
through lighttpd to the real binary and the stand-in must receive exactly
those traits: no envelope, reserved, empty or sensitive field among them.
"""

import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SRCDIR, Env, Tap, wait_until  # noqa: E402

BODY_EXTS = (".json", ".txt", ".multipart")


def fixtures():
    for path in sorted(glob.glob(os.path.join(SRCDIR, "tests", "fixtures",
                                              "*", "*.expect.json"))):
        stem = path[:-len(".expect.json")]
        body = [stem + e for e in BODY_EXTS if os.path.exists(stem + e)]
        if body:
            with open(path) as f:
                yield os.path.relpath(stem, SRCDIR), body[0], json.load(f)


def config_aliases(all_fixtures):
    """[fields] alias.<trait> lines the fixtures ask for, merged."""
    merged = {}
    for _, _, want in all_fixtures:
        for trait, name in (want.get("config_aliases") or {}).items():
            merged.setdefault(trait, []).append(name)
    return {"alias." + k: ", ".join(v) for k, v in merged.items()}


def check_fixture(t, env, name, body_path, want):
    with open(body_path, "rb") as f:
        body = f.read()
    r = env.relay.request("POST", "/formrelay", body,
                          {"Content-Type": want["content_type"],
                           "Accept": "application/json"})
    if not t.eq(r.status, 202, "%s: 202" % name):
        print("#   " + r.body[:300])
        return
    mid = r.json()["id"]
    msgs = wait_until(lambda: [m for m in env.standin.messages()
                               if m["messageId"] == mid], 20, name)
    ev = msgs[0]
    t.eq(ev["userId"], want["user_id"], "%s: userId" % name)
    t.eq(ev["traits"], want["traits"], "%s: exactly the expected traits" % name)
    ctx = ev.get("context", {})
    if want.get("campaign"):
        t.eq(ctx.get("campaign"), want["campaign"], "%s: context.campaign" % name)
    for key, value in (want.get("page") or {}).items():
        t.eq(ctx.get("page", {}).get(key), value, "%s: context.page.%s" % (name, key))
    if want.get("event"):
        tracks = [m for m in env.standin.messages()
                  if m.get("type") == "track" and m.get("userId") == want["user_id"]]
        t.ok(tracks and tracks[-1].get("event") == want["event"],
             "%s: track event %r in the same batch" % (name, want["event"]),
             tracks)


def main():
    t = Tap()
    all_fixtures = list(fixtures())
    t.ok(len(all_fixtures) >= 20, "%d builder and webhook fixtures found"
         % len(all_fixtures))
    env = Env(t, conf_extra={
        "fields": config_aliases(all_fixtures),
        "http": {"redirect_allow": "https://www.example.com/"}})
    try:
        for name, body_path, want in all_fixtures:
            check_fixture(t, env, name, body_path, want)
    finally:
        env.close()
    t.done()


main()
