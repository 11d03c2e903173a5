#!/usr/bin/env python3
"""Sign a body the Standard Webhooks / Svix way, for integration tests.

The signed content is "{id}.{timestamp}.{body}", the MAC HMAC-SHA256
keyed by the base64-decoded part of the secret after "whsec_", and the
signature header "v1,<base64>" (https://www.standardwebhooks.com).

As a module:  headers(secret, body) -> {"webhook-id": ..., ...}
As a program: sign_webhook.py --secret whsec_... [--id ID] [--timestamp N]
              [--prefix webhook|svix] [FILE]   (body from FILE or stdin)
prints one "name: value" line per header, ready for curl -H.
"""

import argparse
import base64
import hashlib
import hmac
import sys
import time
import uuid

SECRET_PREFIX = "whsec_"


def secret_key(secret):
    """The HMAC key: the base64 after an optional "whsec_" prefix."""
    secret = secret.strip()
    if secret.startswith(SECRET_PREFIX):
        secret = secret[len(SECRET_PREFIX):]
    return base64.b64decode(secret, validate=True)


def sign(secret, msg_id, timestamp, body):
    """The "v1,<base64>" signature of body (bytes or str)."""
    if isinstance(body, str):
        body = body.encode()
    content = b"%s.%s.%s" % (msg_id.encode(), str(timestamp).encode(), body)
    mac = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(secret, body, msg_id=None, timestamp=None, prefix="webhook"):
    """All three headers for body; a fresh id and the current time by
    default."""
    msg_id = msg_id or "msg_" + uuid.uuid4().hex
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    return {
        prefix + "-id": msg_id,
        prefix + "-timestamp": str(timestamp),
        prefix + "-signature": sign(secret, msg_id, timestamp, body),
    }


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--secret", required=True, help="whsec_<base64>")
    ap.add_argument("--id", dest="msg_id", help="message id (random)")
    ap.add_argument("--timestamp", type=int, help="Unix seconds (now)")
    ap.add_argument("--prefix", default="webhook", choices=["webhook", "svix"])
    ap.add_argument("file", nargs="?", help="body file (stdin)")
    args = ap.parse_args(argv)
    if args.file:
        with open(args.file, "rb") as fp:
            body = fp.read()
    else:
        body = sys.stdin.buffer.read()
    for name, value in headers(args.secret, body, args.msg_id,
                               args.timestamp, args.prefix).items():
        print("%s: %s" % (name, value))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
