"""The README's quick start (issue 21, items 4 and 6).

contrib/quickstart.sh:
- its test command installs every package the suite drives for real
  (each program the tests run belongs to a package it lists), so that no
  test skips on a fresh Debian machine; clang is not among them (it is
  only for the fuzz targets, which .ci/run builds and installs it for),
  and .ci/run installs nothing else the suite needs itself;
- the demo prints "demo on ..." only once lighttpd answers on PORT, and
  posts from the page are answered (in dry run with the preview of what
  would be sent);
- with PORT taken it says so and exits 3, before "demo on" is printed.
"""

import glob
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402
from harness import stop_group  # noqa: E402
from servers import (BIN, SRCDIR, Tap, free_port, http_request,  # noqa: E402
                     port_open)

SCRIPT = os.path.join(SRCDIR, "contrib", "quickstart.sh")
BUILD = os.path.dirname(os.path.dirname(os.path.abspath(BIN)))

# What the suite runs for real, and where: a program (or file) and the
# tests that need it.
DRIVEN = {
    "lighttpd": "every integration test",
    "apache2": "tests/servers/test_apache_*.py",
    "nginx": "tests/servers/test_nginx.py",
    "spawn-fcgi": "tests/servers/test_spawn_fcgi.py",
    "mandoc": "tests/servers/test_docs.py",
    "systemd-analyze": "tests/servers/test_systemd.py",
    "systemd-socket-activate": "tests/servers/test_systemd.py",
    "chromium": "tests/integration/test_browser.py",
    "node": "tests/integration/test_browser.py",
    "npm": "tests/integration/test_browser.py",
    "curl": "contrib/quickstart.sh",
    "sqlite3": "tests/ (inspecting spools)",
    "openssl": "tests/pgcluster.py (the TLS certificate)",
}
DRIVEN_FILES = {
    "/usr/lib/apache2/modules/mod_fcgid.so": "test_apache_fcgid.py",
    "/usr/lib/apache2/modules/mod_proxy_fcgi.so": "test_apache_proxy_fcgi.py",
    "/usr/lib/apache2/modules/mod_cgi.so": "test_apache_cgi.py",
}


def script_lists():
    with open(SCRIPT) as f:
        text = f.read()
    lists = {}
    for name in ("PACKAGES", "TEST_PACKAGES"):
        m = re.search(r'^%s="([^"]*)"' % name, text, re.M)
        lists[name] = set(m.group(1).split()) if m else set()
    return lists


def owning_package(path):
    p = subprocess.run(["dpkg-query", "-S", os.path.realpath(path)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        p = subprocess.run(["dpkg-query", "-S", path], capture_output=True,
                           text=True)
    if p.returncode != 0:
        return None
    return p.stdout.split(":")[0].split(",")[0].strip()


def check_packages(t):
    lists = script_lists()
    listed = lists["PACKAGES"] | lists["TEST_PACKAGES"]
    t.ok(len(lists["TEST_PACKAGES"]) >= 8, "quickstart.sh lists the test "
         "packages", lists)
    if not shutil.which("dpkg-query"):
        t.ok(True, "# SKIP not a Debian system: dpkg-query is missing")
        return
    wanted = dict((servers.find_program(p) or p, why)
                  for p, why in DRIVEN.items())
    wanted.update(DRIVEN_FILES)
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    wanted[initdb[-1] if initdb else "initdb"] = "tests/pgcluster.py"
    for path, why in sorted(wanted.items()):
        pkg = owning_package(path) if os.path.exists(path) else None
        # Debian's chromium and node come in packages whose names the
        # quick start lists; a few programs sit in a library package
        # pulled in by the one listed (e.g. chromium -> chromium).
        t.ok(pkg is not None and (pkg in listed or
                                  pkg.split("-")[0] in listed),
             "%s (%s) comes from %s, which quickstart.sh installs" %
             (os.path.basename(path), why, pkg), sorted(listed))
    t.ok("clang" not in listed,
         "quickstart.sh does not install clang (only fuzzing needs it)")
    with open(os.path.join(SRCDIR, ".ci", "run")) as f:
        ci = f.read()
    installed = set()
    for m in re.finditer(r"apt-get install -y -q ((?:[\w.+-]+ ?)+)", ci):
        installed |= set(m.group(1).split())
    t.eq(sorted(installed - listed), ["clang", "clang-format", "valgrind"],
         ".ci/run installs only clang-format, clang (fuzz step) and "
         "valgrind; the rest comes from the README's test command")
    fuzz = ci.index("== fuzz")
    t.ok(ci.index("install -y -q clang\n") > fuzz,
         ".ci/run installs clang in its fuzz step")


class Demo:
    def __init__(self, port):
        self.dir = tempfile.mkdtemp(prefix="formrelay-demo-")
        env = dict(os.environ, PORT=str(port), FORMRELAY_BUILD=BUILD,
                   FORMRELAY_DEMO_DIR=self.dir)
        env.pop("FORMRELAY_API_KEY", None)
        self.err = open(os.path.join(self.dir, "stderr"), "w+")
        self.proc = subprocess.Popen(["sh", SCRIPT, "serve"], env=env,
                                     stdout=subprocess.PIPE,
                                     stderr=self.err, text=True,
                                     start_new_session=True)

    def line(self, timeout=60):
        """The next line of stdout ("" at its end, None on time-out)."""
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            return None
        return self.proc.stdout.readline()

    def stderr(self):
        self.err.seek(0)
        return self.err.read()

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            rc = self.proc.wait(10)
        stop_group(self.proc.pid)
        self.err.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc


def check_demo(t):
    port = free_port()
    demo = Demo(port)
    try:
        first = demo.line()
        t.ok(first is not None and first.startswith(
            "quickstart: demo on http://127.0.0.1:%d/ (dry_run=yes)" % port),
            "the demo says where it is", first)
        t.ok(port_open(port), "lighttpd listens when 'demo on' is printed")
        r = http_request(port, "GET", "/")
        t.ok(r.status == 200 and "formrelay demo" in r.body,
             "the demo page is served")
        r = http_request(port, "POST", "/formrelay",
                         '{"entryId":"quickstart-1",'
                         '"email":"new.user@example.com","plan":"pro"}',
                         {"Content-Type": "application/json",
                          "Accept": "application/json"})
        print("# dry-run preview from the quick start's demo: %s" % r.body)
        t.ok(r.status == 202 and '"dry_run":true' in r.body and
             '"userId":"quickstart-1"' in r.body,
             "a post is answered with the preview of what would be sent",
             r.body)
    finally:
        rc = demo.stop()
    t.eq(rc, 0, "the demo stops on SIGTERM (exit 0)")
    t.ok(not port_open(port), "and lighttpd with it")


def check_port_taken(t):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    demo = Demo(port)
    try:
        rc = demo.proc.wait(60)
        out = demo.proc.stdout.read()
        t.eq(rc, 3, "port taken: the demo exits 3")
        t.ok("demo on" not in out, "and never says 'demo on'", out)
        t.ok("port %d on 127.0.0.1 is already in use" % port in
             demo.stderr() and "PORT=" in demo.stderr(),
             "it says the port is taken and how to pick another",
             demo.stderr())
    finally:
        demo.stop()
        holder.close()


def main():
    t = Tap()
    if not os.path.exists("/usr/sbin/lighttpd"):
        t.skip_all("lighttpd is not installed")
    try:
        check_packages(t)
        check_port_taken(t)
        check_demo(t)
    except Exception:  # noqa: BLE001 - reported as a failure
        import traceback
        t.ok(False, "test ran to the end", traceback.format_exc())
    t.done()


main()
