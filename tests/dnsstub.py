#!/usr/bin/env python3
"""A stand-in DNS server for the [antispam] mx_check tests: UDP on
127.0.0.1, answering from a zone given as JSON (RFC 1035 messages, the
question echoed, one answer record a value).

Usage:
    python3 tests/dnsstub.py --port-file FILE --zone ZONE.json [--log LOG]

ZONE.json maps names to what they hold:
    {"mail.test": {"MX": ["mx.mail.test"]},   an MX
     "web.test": {"A": ["192.0.2.1"]},        no MX, an A (NODATA for MX)
     "v6.test": {"AAAA": ["2001:db8::1"]},
     "nullmx.test": {"MX": ["."]},            RFC 7505's null MX
     "empty.test": {},                        the name, no records (NODATA)
     "slow.test": "timeout",                  never answered
     "broken.test": "servfail"}               SERVFAIL
Any other name is NXDOMAIN.  Each question is appended to LOG as
"name TYPE" (lower case), so tests can count what was asked.

Python 3 standard library only (and tests/standin_server.py).
"""

import ipaddress
import json
import os
import socketserver
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standin_server  # noqa: E402

TYPES = {1: "A", 15: "MX", 28: "AAAA"}
NOERROR, SERVFAIL, NXDOMAIN = 0, 2, 3


def read_question(msg):
    """(name, qtype, end of the question) of a query."""
    labels, pos = [], 12
    while msg[pos]:
        n = msg[pos]
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    qtype, = struct.unpack("!H", msg[pos + 1:pos + 3])
    return ".".join(labels).lower(), qtype, pos + 5


def encode_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def rdata(rtype, value):
    if rtype == "MX":
        return struct.pack("!H", 0 if value == "." else 10) + \
            encode_name(value)
    return ipaddress.ip_address(value).packed


def answer(zone, msg):
    """The reply to msg, or None (no answer at all)."""
    name, qtype, end = read_question(msg)
    entry = zone.get(name)
    if entry == "timeout":
        return None
    rcode, records = NOERROR, []
    if entry == "servfail":
        rcode = SERVFAIL
    elif entry is None:
        rcode = NXDOMAIN
    else:
        rtype = TYPES.get(qtype)
        records = [(qtype, rdata(rtype, v)) for v in entry.get(rtype, [])]
    qid, flags = struct.unpack("!HH", msg[:4])
    flags = 0x8000 | (flags & 0x7900) | 0x0400 | 0x0080 | rcode
    out = struct.pack("!HHHHHH", qid, flags, 1, len(records), 0, 0)
    out += msg[12:end]
    for rtype, data in records:
        out += struct.pack("!HHHIH", 0xC00C, rtype, 1, 60, len(data)) + data
    return out


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        msg, sock = self.request
        srv = self.server
        try:
            name, qtype, _ = read_question(msg)
            reply = answer(srv.zone, msg)
        except (IndexError, struct.error, ValueError):
            return
        if srv.log:
            with srv.lock, open(srv.log, "a") as f:
                f.write("%s %s\n" % (name, TYPES.get(qtype, qtype)))
        if reply is not None:
            sock.sendto(reply, self.client_address)


class Server(socketserver.ThreadingUDPServer):
    daemon_threads = True


def main():
    ap = standin_server.arguments(__doc__.split("\n")[0])
    ap.add_argument("--zone", required=True)
    ap.add_argument("--log")
    args = ap.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    with open(args.zone) as f:
        server.zone = {k.lower().strip("."): v for k, v in json.load(f).items()}
    server.log = args.log
    server.lock = threading.Lock()
    return standin_server.serve(server, args)


if __name__ == "__main__":
    sys.exit(main())
