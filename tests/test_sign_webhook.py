#!/usr/bin/env python3
"""Known-answer test for tests/sign_webhook.py (TAP).  The C unit test
tests/unit/test_webhook.c checks src/webhook.c against the same vector,
so the C and Python signers agree."""

import os
import subprocess
import sys

SRCDIR = os.environ.get("FORMRELAY_SRCDIR",
                        os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(SRCDIR, "tests"))

import sign_webhook  # noqa: E402

# Standard Webhooks reference libraries ("sign function works"), and the
# example on Svix's "How to Verify" page.
KAT_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
KAT_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
KAT_TS = 1614265330
KAT_BODY = '{"test": 2432232314}'
KAT_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

count = 0
failed = 0


def ok(cond, name):
    global count, failed
    count += 1
    failed += not cond
    print("%sok %d - %s" % ("" if cond else "not ", count, name))


ok(sign_webhook.sign(KAT_SECRET, KAT_ID, KAT_TS, KAT_BODY) == KAT_SIG,
   "spec vector")
ok(sign_webhook.sign(KAT_SECRET[6:], KAT_ID, KAT_TS, KAT_BODY) == KAT_SIG,
   "secret without whsec_")
ok(sign_webhook.sign(KAT_SECRET, KAT_ID, KAT_TS, KAT_BODY + " ") != KAT_SIG,
   "a changed body changes the signature")
h = sign_webhook.headers(KAT_SECRET, KAT_BODY, prefix="svix")
ok(sorted(h) == ["svix-id", "svix-signature", "svix-timestamp"],
   "svix- header names")
ok(h["svix-signature"] == sign_webhook.sign(
    KAT_SECRET, h["svix-id"], h["svix-timestamp"], KAT_BODY),
   "headers() signs its own id and timestamp")
out = subprocess.run(
    [sys.executable, os.path.join(SRCDIR, "tests", "sign_webhook.py"),
     "--secret", KAT_SECRET, "--id", KAT_ID, "--timestamp", str(KAT_TS)],
    input=KAT_BODY.encode(), capture_output=True, check=False)
ok(out.returncode == 0 and
   ("webhook-signature: " + KAT_SIG) in out.stdout.decode().splitlines(),
   "command line prints the spec signature")
print("1..%d" % count)
sys.exit(1 if failed else 0)
