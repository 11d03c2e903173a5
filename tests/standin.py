#!/usr/bin/env python3
"""A scripted stand-in for the Customer.io Data Pipelines API.

Every integration test talks to this instead of cdp.customer.io.  It
records each request it receives and answers from a script that the test
sets through the /_control endpoints (the idea of curl's test server:
replay a scripted reply, then compare the exact request received).

Usage:
    python3 tests/standin.py --port-file FILE

It binds 127.0.0.1 on an ephemeral port and, once listening, writes the
port number to FILE atomically (write to FILE.tmp, then rename).  It
speaks HTTP/1.1 with keep-alive; each TCP connection gets its own
connection_id so tests can prove that connections are reused.  It exits
on SIGTERM/SIGINT, when its parent process goes away, or after
--max-lifetime seconds, so a crashed test never leaves it behind.

Control interface (never recorded):
    POST /_control/script   JSON object, replaces the previous script:
        {"responses": [{"status": 503, "headers": {"Retry-After": "1"},
                        "body": "..." or any JSON value,
                        "count": 3, "delay_ms": 0, "hold": false}, ...],
         "reject_message_ids": ["<messageId>", ...],
         "delay_ms": 0,
         "default": {"status": 200, "headers": {...}, "body": ...},
         "require_api_key": "<key>",
         "max_body_bytes": 512000}
        responses are consumed in order, each `count` times (default 1).
        Then a request whose events carry a rejected messageId gets
        400 {"error": ...}.  Otherwise the default answers (200
        {"success":true} unless changed).  require_api_key: requests
        without Basic auth "<key>:" get 401 first of all.  max_body_bytes:
        bodies over it get 413 (Customer.io refuses batches over 500 KB).
        delay_ms: every answer waits this long (an entry's own delay_ms
        wins).  hold: the answer waits until POST /_control/release (a
        request in flight for as long as a test needs).
    POST /_control/release   answers every held request.
    GET  /_control/held      {"held": n, "requests": [i, ...]}: the
        requests waiting for a release, by index in /_control/requests.
    GET  /_control/requests  JSON list of recorded requests:
        {"method", "path", "headers" (lower-case names), "body" (text),
         "json" (parsed or null), "status", "connection_id", "time"}
    GET  /_control/messages  JSON list of every event received in a 2xx
        answered request (the items of /batch bodies, or the body of a
        single call), in order.
    POST /_control/reset     clears the records, the messages and the
        script.

Answers: 2xx bodies default to {"success":true} (what the Segment-style
tracking APIs, Customer.io's Data Pipelines among them, answer); error
bodies default to {"error": "<reason phrase>"}.

Python 3 standard library only (and tests/standin_server.py).
"""

import base64
import http
import itertools
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standin_server  # noqa: E402

CONTROL = "/_control"
MAX_BODY = 64 * 1024 * 1024  # refuse to buffer anything larger


class Script:
    """The current script and the records, shared by all handler threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.holds = standin_server.Holds(self.lock)  # by request index
        self.connection_ids = itertools.count(1)
        with self.lock:
            self.reset()

    def reset(self):
        self.requests = []
        self.messages = []
        self.set({})
        self.holds.release()

    def set(self, script):
        self.responses = []
        for entry in script.get("responses", []):
            count = int(entry.get("count", 1))
            if count > 0:
                self.responses.append([dict(entry), count])
        self.reject = set(script.get("reject_message_ids", []))
        self.default = dict(script.get("default", {"status": 200}))
        self.api_key = script.get("require_api_key")
        self.max_body = script.get("max_body_bytes")
        self.delay_ms = script.get("delay_ms", 0)

    def next_connection_id(self):
        with self.lock:
            return next(self.connection_ids)

    def choose(self, headers, body_len, events):
        """Pick the answer for one request (called with the lock held)."""
        if self.api_key is not None and not auth_matches(headers, self.api_key):
            return {"status": 401, "body": {"error": "Unauthorized"}}
        if self.max_body is not None and body_len > int(self.max_body):
            return {"status": 413, "body": {"error": "Request Entity Too Large"}}
        if self.responses:
            entry = self.responses[0]
            entry[1] -= 1
            if entry[1] <= 0:
                self.responses.pop(0)
            return entry[0]
        refused = [e.get("messageId") for e in events
                   if e.get("messageId") in self.reject]
        if refused:
            return {"status": 400,
                    "body": {"error": "invalid event: messageId %s refused"
                             % refused[0]}}
        return self.default


def auth_matches(headers, key):
    want = "Basic " + base64.b64encode((key + ":").encode()).decode()
    return headers.get("authorization") == want


def events_of(doc):
    """The calls a request carries: /batch items, or the body itself."""
    if isinstance(doc, dict) and isinstance(doc.get("batch"), list):
        return [e for e in doc["batch"] if isinstance(e, dict)]
    if isinstance(doc, dict) and "type" in doc:
        return [doc]
    return []


def encode_body(status, body):
    if body is None:
        if 200 <= status < 300:
            body = {"success": True}
        else:
            try:
                phrase = http.HTTPStatus(status).phrase
            except ValueError:
                phrase = "Error"
            body = {"error": phrase}
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


class Handler(standin_server.Handler):
    server_version = "formrelay-standin/1"

    def setup(self):
        super().setup()
        self.connection_id = self.server.script.next_connection_id()

    def log_error(self, format, *args):  # noqa: A002
        sys.stderr.write("standin: " + (format % args) + "\n")

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self.read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length) if length > 0 else b""

    def read_chunked(self):
        parts, total = [], 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline().strip():
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise ValueError("body too large")
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def reply(self, status, body, headers=None):
        data = encode_body(status, body)
        self.send_response(status)
        sent = set()
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
            sent.add(name.lower())
        if "content-type" not in sent:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        try:
            raw = self.read_body()
        except (ValueError, OSError) as exc:
            self.close_connection = True
            self.reply(400, {"error": "unreadable body: %s" % exc})
            return
        if self.path.startswith(CONTROL):
            self.handle_control(raw)
        else:
            self.handle_api(raw)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any

    def handle_api(self, raw):
        text = raw.decode("utf-8", errors="replace")
        try:
            doc = json.loads(text) if text else None
        except ValueError:
            doc = None
        headers = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = headers[key] + ", " + value if key in headers else value
        events = events_of(doc)
        script = self.server.script
        with script.lock:
            answer = script.choose(headers, len(raw), events)
            status = int(answer.get("status", 200))
            script.requests.append({
                "method": self.command, "path": self.path,
                "headers": headers, "body": text, "json": doc,
                "status": status, "connection_id": self.connection_id,
                "time": time.time()})
            if 200 <= status < 300:
                script.messages.extend(events)
            delay = answer.get("delay_ms", script.delay_ms)
            if answer.get("hold"):
                script.holds.wait(len(script.requests) - 1)
        if delay:
            time.sleep(delay / 1000.0)
        self.reply(status, answer.get("body"), answer.get("headers"))

    def handle_control(self, raw):
        script = self.server.script
        what = self.path[len(CONTROL):].split("?", 1)[0]
        if self.command == "GET" and what == "/requests":
            with script.lock:
                self.reply(200, list(script.requests))
        elif self.command == "GET" and what == "/messages":
            with script.lock:
                self.reply(200, list(script.messages))
        elif self.command == "POST" and what == "/reset":
            with script.lock:
                script.reset()
            self.reply(200, {"ok": True})
        elif self.command == "POST" and what == "/script":
            self.set_script(raw)
        elif self.command == "POST" and what == "/release":
            with script.lock:
                script.holds.release()
            self.reply(200, {"ok": True})
        elif self.command == "GET" and what == "/held":
            with script.lock:
                self.reply(200, {"held": len(script.holds.held),
                                 "requests": sorted(script.holds.held)})
        else:
            self.reply(404, {"error": "no control endpoint %s %s"
                             % (self.command, self.path)})

    def set_script(self, raw):
        try:
            doc = json.loads(raw.decode("utf-8"))
            if not isinstance(doc, dict):
                raise ValueError("the script must be a JSON object")
            with self.server.script.lock:
                self.server.script.set(doc)
        except (ValueError, TypeError, AttributeError) as exc:
            self.reply(400, {"error": "bad script: %s" % exc})
            return
        self.reply(200, {"ok": True})


def main():
    args = standin_server.arguments(__doc__.split("\n")[0]).parse_args()
    server = standin_server.Server(("127.0.0.1", 0), Handler)
    server.script = Script()
    return standin_server.serve(server, args)


if __name__ == "__main__":
    sys.exit(main())
