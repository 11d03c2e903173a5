#!/usr/bin/env python3
"""A stand-in for a CAPTCHA vendor's siteverify endpoint (Cloudflare
Turnstile, hCaptcha, Google reCAPTCHA: they share the shape).

It answers as the vendors document: a POST of
application/x-www-form-urlencoded "secret", "response" and optional
"remoteip", answered 200 with JSON {"success": bool, "error-codes": [...],
"hostname", "challenge_ts", and for reCAPTCHA v3 "score" and "action"}.
Tokens are single use, as the vendors' are: a token answered with
success once is answered {"success": false, "error-codes":
["timeout-or-duplicate"]} the next time.

Usage:
    python3 tests/siteverify.py --port-file FILE --secret SECRET
        [--accept-all HOSTNAME]

It binds 127.0.0.1 on an ephemeral port and writes the port to FILE once
listening; it exits on SIGTERM, when its parent goes away, or after
--max-lifetime seconds.

Control (never recorded):
    POST /_control/tokens  {"<token>": {answer members}, ...}: the
        answer for each token (merged over {"success": true}); unknown
        tokens get {"success": false, "error-codes":
        ["invalid-input-response"]}.  {"expired": true} in an answer makes
        it {"success": false, "error-codes": ["timeout-or-duplicate"]}.
    POST /_control/status  {"status": 503}: answer every verification
        with that status and no JSON (the vendor is down); 200 restores.
    POST /_control/hold  {"hold": true}: each verification is judged at
        once (a token is used from then on, as at the vendor) but its
        answer waits for a release; false stops holding new ones.
    POST /_control/release  answers every held verification.
    GET  /_control/held  {"held": n}: the verifications held now.
    GET  /_control/requests  the verifications received:
        [{"content_type", "secret", "response", "remoteip"}, ...]

Python 3 standard library only (and tests/standin_server.py).
"""

import json
import os
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standin_server  # noqa: E402


class State:
    def __init__(self, secret):
        self.lock = threading.Lock()
        self.secret = secret
        self.tokens = {}
        self.used = set()
        self.status = 200
        self.requests = []
        self.accept_all = None
        self.hold = False
        self.holds = standin_server.Holds(self.lock)  # by request index

    def answer(self, form):
        """The JSON answer for one verification (under the lock)."""
        token = form.get("response", "")
        if form.get("secret") != self.secret:
            return {"success": False, "error-codes": ["invalid-input-secret"]}
        if not token:
            return {"success": False,
                    "error-codes": ["missing-input-response"]}
        if token in self.used:
            return {"success": False, "error-codes": ["timeout-or-duplicate"]}
        spec = self.tokens.get(token)
        if spec is None and self.accept_all:
            spec = {"hostname": self.accept_all}
        if spec is None:
            return {"success": False,
                    "error-codes": ["invalid-input-response"]}
        if spec.get("expired"):
            return {"success": False, "error-codes": ["timeout-or-duplicate"]}
        out = {"success": True, "challenge_ts": "2026-01-01T00:00:00Z",
               "error-codes": []}
        out.update(spec)
        if out["success"]:
            self.used.add(token)
        return out


class Handler(standin_server.Handler):
    def reply(self, status, body, ctype="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n).decode("utf-8", "replace") if n else ""

    def do_GET(self):
        st = self.server.state
        if self.path == "/_control/requests":
            with st.lock:
                self.reply(200, json.dumps(st.requests))
        elif self.path == "/_control/held":
            with st.lock:
                self.reply(200, json.dumps({"held": len(st.holds.held)}))
        else:
            self.reply(404, "{}")

    def do_POST(self):
        st = self.server.state
        text = self.body()
        if self.path == "/_control/tokens":
            with st.lock:
                st.tokens.update(json.loads(text))
            return self.reply(200, "{}")
        if self.path == "/_control/status":
            with st.lock:
                st.status = json.loads(text)["status"]
            return self.reply(200, "{}")
        if self.path == "/_control/hold":
            with st.lock:
                st.hold = bool(json.loads(text)["hold"])
            return self.reply(200, "{}")
        if self.path == "/_control/release":
            with st.lock:
                st.holds.release()
            return self.reply(200, "{}")
        form = {k: v[0] for k, v in
                urllib.parse.parse_qs(text, keep_blank_values=True).items()}
        with st.lock:
            st.requests.append({
                "content_type": self.headers.get("Content-Type"),
                "secret": form.get("secret"),
                "response": form.get("response"),
                "remoteip": form.get("remoteip")})
            if st.status != 200:
                return self.reply(st.status, "upstream unavailable",
                                  "text/plain")
            answer = st.answer(form)
            if st.hold:
                st.holds.wait(len(st.requests) - 1)
        self.reply(200, json.dumps(answer))


def main():
    ap = standin_server.arguments(__doc__.split("\n")[0])
    ap.add_argument("--secret", required=True)
    ap.add_argument("--accept-all", metavar="HOSTNAME",
                    help="every unknown token passes once, solved on "
                    "HOSTNAME (for bench/captcha.sh)")
    args = ap.parse_args()
    server = standin_server.Server(("127.0.0.1", 0), Handler)
    server.state = State(args.secret)
    server.state.accept_all = args.accept_all
    return standin_server.serve(server, args)


if __name__ == "__main__":
    sys.exit(main())
