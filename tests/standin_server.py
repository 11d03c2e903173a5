"""What the stand-in servers (tests/standin.py for Customer.io,
tests/siteverify.py for a CAPTCHA vendor) share: a threaded HTTP/1.1
server on 127.0.0.1, its port written to a file once listening, an end
on SIGTERM/SIGINT, when the parent goes away or after a lifetime, and
answers held until a test releases them.

Python 3 standard library only.
"""

import argparse
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # load tests open many connections at once

    def handle_error(self, request, client_address):
        """A client gone before its answer (a killed formrelay-deliver)
        is what some tests do: not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    """Quiet (tests read stdout), HTTP/1.1 with keep-alive."""
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 (stdlib name)
        pass


class Holds:
    """Answers held until release(): a request in flight for as long as
    a test needs.  Used under lock, the caller's."""

    def __init__(self, lock):
        self.released = threading.Condition(lock)
        self.gen = 0      # held answers wait for it to change
        self.held = set()  # the ids of those held now

    def wait(self, ident):
        """Hold the calling thread (which holds the lock) until the next
        release()."""
        gen = self.gen
        self.held.add(ident)
        while self.gen == gen:
            self.released.wait()
        self.held.discard(ident)

    def release(self):
        """Answer every held request (called with the lock held)."""
        self.gen += 1
        self.released.notify_all()


def arguments(description):
    """An argument parser with --port-file and --max-lifetime."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--max-lifetime", type=float, default=3600.0,
                    help="exit after this many seconds (default 3600)")
    return ap


def write_port_file(path, port):
    """The port, written atomically (FILE.tmp, then renamed)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as fp:
        fp.write("%d\n" % port)
        fp.flush()
        os.fsync(fp.fileno())
    os.replace(tmp, path)


def watch_parent(server, parent, deadline):
    """Stop when the parent is gone (reparented) or the lifetime is over."""
    while True:
        time.sleep(0.2)
        if os.getppid() != parent or time.monotonic() > deadline:
            server.shutdown()
            return


def serve(server, args):
    """Write the port file and serve until stopped; 0."""
    stop = lambda *_: threading.Thread(target=server.shutdown).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=watch_parent, daemon=True,
                     args=(server, os.getppid(),
                           time.monotonic() + args.max_lifetime)).start()
    write_port_file(args.port_file, server.server_address[1])
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    return 0
