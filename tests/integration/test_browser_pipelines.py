"""Pipelines calls from a real browser (issue 18): headless Chromium,
driven by playwright-core, runs the Embeddables recipe's action in www/
(unchanged but for its URL) and Customer.io's own browser SDK
(@customerio/cdp-analytics-browser from npm, settings inline, apiHost at
formrelay, nothing fetched from a CDN); the stand-in receives the
recipe's identify and the SDK's identify, track and page, normalised,
with no key and no placeholder anywhere."""

import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SRCDIR, Env, Tap, wait_until  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SDK = os.path.join("node_modules", "@customerio", "cdp-analytics-browser",
                   "dist", "umd", "index.js")


def browser_deps():
    """playwright-core and the SDK, installed once into the build tree
    (never srcdir), in a directory of this test's own."""
    dest = os.path.abspath("browser-deps-pipelines")
    if not os.path.exists(os.path.join(dest, SDK)):
        os.makedirs(dest, exist_ok=True)
        for f in ("package.json", "package-lock.json"):
            shutil.copy(os.path.join(SRCDIR, "tests", "browser", f), dest)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"],
                       cwd=dest, check=True, timeout=600)
    shutil.copy(os.path.join(SRCDIR, "tests", "browser", "pipelines.mjs"),
                dest)
    return dest


def by_type(msgs, user):
    return {m["type"]: m for m in msgs if m.get("userId") == user}


def main():
    t = Tap()
    if not os.path.exists(CHROMIUM) or not shutil.which("node"):
        t.skip_all("needs Debian's chromium and node")
    deps = browser_deps()
    env = Env(t)
    try:
        p = subprocess.run(["node", os.path.join(deps, "pipelines.mjs"),
                            "http://127.0.0.1:%d" % env.relay.port,
                            os.path.join(deps, SDK)],
                           capture_output=True, text=True, timeout=180)
        try:
            res = json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            res = {"error": p.stdout + p.stderr}
        t.ok("error" not in res, "the browser script ran", res.get("error"))
        t.eq(res.get("foreign"), [], "nothing was fetched from elsewhere "
             "(no CDN, no settings, no chunks)")
        t.eq(res.get("recipe"), "Sent to formrelay.",
             "the recipe's action: its fetch got a 2xx")
        posts = res.get("posts", [])
        t.eq(posts[:1], [{"path": "/formrelay/v1/track",
                          "type": "application/json",
                          "authorization": True}],
             "it posted to /v1/track with its Authorization placeholder")
        t.eq(sorted(p["path"] for p in posts[1:]),
             ["/formrelay/v1/b", "/formrelay/v1/i", "/formrelay/v1/p",
              "/formrelay/v1/t"],
             "the SDK posts each call to <apiHost>/i, /t and /p, and "
             "batching, all three to <apiHost>/b")
        t.ok(all(s.endswith(" 202") for s in res.get("statuses", [])),
             "every post answered 202", res.get("statuses"))
        t.ok(all(p["type"].startswith("text/plain") for p in posts[1:]),
             "as text/plain (no CORS pre-flight)", posts)
        t.eq((res.get("sdk"), res.get("sdkBatching")), ("ran", "ran"),
             "the SDK loaded and ran, sending each call and batching")
        msgs = wait_until(lambda: len(env.standin.messages()) >= 7 and
                          env.standin.messages(), 30, "seven calls")
        recipe = by_type(msgs, "recipe-demo-0001").get("identify", {})
        t.eq(recipe.get("traits"), {"email": "recipe.person@example.com",
                                    "name": "Recipe Person",
                                    "first_name": "Recipe",
                                    "last_name": "Person"},
             "the recipe's identify: traits as traits, normalised")
        page = recipe.get("context", {}).get("page", {})
        t.ok(page.get("url", "").endswith("/embeddables-recipe.html") and
             page.get("title") == "formrelay: the Embeddables recipe",
             "its page as context.page", page)
        sdk = by_type(msgs, "sdk-user-0001")
        t.eq(sorted(sdk), ["identify", "page", "track"],
             "the SDK's identify, track and page arrived")
        t.eq(sdk.get("identify", {}).get("traits"),
             {"email": "sdk.user@example.com", "name": "Sdk User",
              "first_name": "Sdk", "last_name": "User"},
             "its identify's traits normalised")
        t.eq((sdk.get("track", {}).get("event"),
              sdk.get("track", {}).get("properties")),
             ("Plan Chosen", {"plan": "pro"}), "its track as a track")
        pg = sdk.get("page", {})
        t.eq((pg.get("name"), pg.get("properties", {}).get("section")),
             ("Pricing", "plans"), "its page as a page")
        t.ok(all(m.get("messageId", "").startswith("ajs-next-")
                 for m in sdk.values()),
             "with the SDK's own messageIds",
             [m.get("messageId") for m in sdk.values()])
        t.ok(all(m.get("anonymousId") for m in sdk.values()),
             "and its anonymousId")
        batched = by_type(msgs, "sdk-batch-0001")
        t.eq(sorted(batched), ["identify", "page", "track"],
             "the batched identify, track and page arrived too")
        t.eq(batched.get("identify", {}).get("traits", {}).get("email"),
             "sdk.user@example.com", "normalised as well")
        t.ok(all("integrations" not in m and "writeKey" not in m and
                 "_metadata" not in m for m in sdk.values()),
             "integrations, writeKey and _metadata dropped")
        t.ok(all(m["context"]["ip"] == "127.0.0.1" for m in msgs),
             "context.ip is the client's")
        wire = json.dumps(env.standin.requests()) + env.relay.log()
        t.ok("YOUR_COMPANY_NAME" not in wire and
             "formrelay-sdk-demo" not in wire,
             "neither the placeholder nor the writeKey went upstream or "
             "into the log")
    finally:
        env.close()
    t.done()


main()
