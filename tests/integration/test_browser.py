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


def run_page(deps, env, *mode):
    p = subprocess.run(["node", os.path.join(deps, "demo.mjs"),
                        "http://127.0.0.1:%d" % env.relay.port, env.tmp] +
                       list(mode), capture_output=True, text=True,
                       timeout=120)
    try:
        return json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": p.stdout + p.stderr}


def submit_forms(t, deps):
    env = Env(t, conf_extra={"http": {"success_url": "/thanks.html"}})
    try:
        res = run_page(deps, env)
        t.ok("error" not in res, "the browser script ran", res.get("error"))
        t.ok(res.get("plainUrl", "").endswith("/thanks.html"),
             "plain form: 303 to the thank-you page", res.get("plainUrl"))
        t.eq(res.get("plainHeading"), "Thank you", "thank-you page shown")
        t.ok(res.get("fetchMessage", "").startswith("Thanks"),
             "fetch form: inline success message", res.get("fetchMessage"))
        t.ok("email" in res.get("fetchError", "").lower(),
             "fetch form: inline field error for a bad email",
             res.get("fetchError"))
        ids = res.get("ids", [])
        t.ok(len(ids) == 4 and len(set(ids)) == 4 and
             all(i.startswith(("demo-plain-", "demo-fetch-")) and
                 len(i) > 16 for i in ids),
             "each page load gets fresh entryIds", ids)
        msgs = wait_until(lambda: len(env.standin.messages()) >= 2 and
                          env.standin.messages(), 20, "two identifies")
        got = {m["userId"]: m["traits"].get("email") for m in msgs}
        want = {ids[0] if ids else "?": "plain.person@example.com",
                ids[3] if len(ids) > 3 else "?": "fetch.person@example.com"}
        t.eq(got, want, "the stand-in received both identifies, keyed by "
             "the page's entryIds")
    finally:
        env.close()


def dry_run_preview(t, deps):
    """In dry run the fetch form shows what Customer.io would get."""
    env = Env(t, dry_run=True)
    try:
        res = run_page(deps, env, "preview")
        t.ok("error" not in res, "dry run: the browser script ran",
             res.get("error"))
        t.ok("Dry run" in res.get("fetchMessage", ""),
             "dry run: the page says nothing is sent", res.get("fetchMessage"))
        try:
            shown = json.loads(res.get("preview", ""))
        except ValueError:
            shown = {}
        calls = shown.get("batch", [])
        fetch_id = [i for i in res.get("ids", []) if "fetch" in i]
        t.ok(len(calls) == 1 and calls[0].get("type") == "identify" and
             [calls[0].get("userId")] == fetch_id and
             calls[0]["traits"].get("email") == "preview.person@example.com",
             "the preview under the form is the identify call, keyed by "
             "the page's entryId", res.get("preview"))
        listed = env.relay.admin("show", calls[0].get("messageId", "-")
                                 if calls else "-")
        t.ok(listed[0] == 0 and
             json.loads(listed[1].splitlines()[0]) == shown,
             "`formrelay show` prints the same JSON", listed[1][:2000])
        t.eq(env.standin.requests(), [], "dry run: nothing was sent")
    finally:
        env.close()


def main():
    t = Tap()
    if not os.path.exists(CHROMIUM) or not shutil.which("node"):
        t.skip_all("needs Debian's chromium and node")
    deps = browser_deps()
    submit_forms(t, deps)
    dry_run_preview(t, deps)
    t.done()


main()
