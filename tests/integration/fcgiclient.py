"""A FastCGI client for tests that talk to `formrelay --listen` directly,
as a web server does (FastCGI 1.0 specification, sections 3 and 5).

The request can be sent in parts (begin(), then stdin() as often as
needed), so that a test can hold a request in hand in the server.
"""

import json
import socket
import struct

VERSION = 1
BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7
RESPONDER = 1
KEEP_CONN = 1


def record(rtype, content, request_id=1):
    """One record: the 8-byte header, the content, no padding."""
    return struct.pack(">BBHHBB", VERSION, rtype, request_id, len(content),
                       0, 0) + content


def name_value(name, value):
    """A name-value pair (section 3.4), lengths in 1 or 4 bytes."""
    out = b""
    for s in (name, value):
        n = len(s)
        out += struct.pack(">B", n) if n < 128 else \
            struct.pack(">I", n | 0x80000000)
    return out + name + value


class Request:
    """One FastCGI request on its own connection."""

    def __init__(self, address, timeout=30):
        family = socket.AF_UNIX if isinstance(address, str) \
            else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(address)

    def begin(self, params, flags=0):
        """FCGI_BEGIN_REQUEST and the whole FCGI_PARAMS stream."""
        body = b"".join(name_value(k.encode(), str(v).encode())
                        for k, v in params.items())
        self.sock.sendall(
            record(BEGIN_REQUEST, struct.pack(">HB5x", RESPONDER, flags)) +
            record(PARAMS, body) + record(PARAMS, b""))

    def stdin(self, data, end=False):
        out = record(STDIN, data) if data else b""
        if end:
            out += record(STDIN, b"")
        self.sock.sendall(out)

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("connection closed after %d of %d bytes"
                               % (len(buf), n))
            buf += chunk
        return buf

    def response(self):
        """Read to FCGI_END_REQUEST; returns (status, headers, body)."""
        out = b""
        while True:
            _, rtype, _, length, padding, _ = struct.unpack(
                ">BBHHBB", self._read(8))
            content = self._read(length)
            self._read(padding)
            if rtype == STDOUT:
                out += content
            elif rtype == END_REQUEST:
                break
        head, _, body = out.partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        status = int(headers.get("status", "200").split()[0])
        return status, headers, body.decode("utf-8", "replace")

    def close(self):
        self.sock.close()


def post_json_params(body, remote="127.0.0.1"):
    return {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "POST",
            "REQUEST_URI": "/formrelay", "SCRIPT_NAME": "/formrelay",
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": remote,
            "CONTENT_TYPE": "application/json",
            "HTTP_ACCEPT": "application/json",
            "CONTENT_LENGTH": str(len(body))}


def post_json(address, obj, timeout=30):
    """A whole JSON POST; returns (status, parsed JSON body or None)."""
    body = json.dumps(obj).encode()
    r = Request(address, timeout)
    try:
        r.begin(post_json_params(body))
        r.stdin(body, end=True)
        status, _, text = r.response()
    finally:
        r.close()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, None
