"""The demo page in a real browser (issue 6): headless Chromium, driven
by playwright-core, submits the plain form (and lands on the thank-you
page) and the fetch form (and sees the inline messages); the stand-in
receives both identifies."""

import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SRCDIR, Env, Tap, wait_until  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def browser_deps():
    """playwright-core, installed once into the build tree (never srcdir)."""
    dest = os.path.abspath("browser-deps")
    if not os.path.isdir(os.path.join(dest, "node_modules", "playwright-core")):
        os.makedirs(dest, exist_ok=True)
        for f in ("package.json", "package-lock.json"):
            shutil.copy(os.path.join(SRCDIR, "tests", "browser", f), dest)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"],
                       cwd=dest, check=True, timeout=300)
    shutil.copy(os.path.join(SRCDIR, "tests", "browser", "demo.mjs"), dest)
    return dest


def main():
    t = Tap()
    if not os.path.exists(CHROMIUM) or not shutil.which("node"):
        t.skip_all("needs Debian's chromium and node")
    deps = browser_deps()
    env = Env(t, conf_extra={"http": {"success_url": "/thanks.html"}})
    try:
        p = subprocess.run(["node", os.path.join(deps, "demo.mjs"),
                            "http://127.0.0.1:%d" % env.relay.port, env.tmp],
                           capture_output=True, text=True, timeout=120)
        try:
            res = json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            res = {"error": p.stdout + p.stderr}
        t.ok("error" not in res, "the browser script ran", res.get("error"))
        t.ok(res.get("plainUrl", "").endswith("/thanks.html"),
             "plain form: 303 to the thank-you page", res.get("plainUrl"))
        t.eq(res.get("plainHeading"), "Thank you", "thank-you page shown")
        t.ok(res.get("fetchMessage", "").startswith("Thanks"),
             "fetch form: inline success message", res.get("fetchMessage"))
        t.ok("email" in res.get("fetchError", "").lower(),
             "fetch form: inline field error for a bad email",
             res.get("fetchError"))
        msgs = wait_until(lambda: len(env.standin.messages()) >= 2 and
                          env.standin.messages(), 20, "two identifies")
        got = {m["userId"]: m["traits"].get("email") for m in msgs}
        t.eq(got, {"demo-plain-0001": "plain.person@example.com",
                   "demo-fetch-0001": "fetch.person@example.com"},
             "the stand-in received both identifies, keyed by entryId")
    finally:
        env.close()
    t.done()


main()
