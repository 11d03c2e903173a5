"""Shared pieces of the integration tests.

Each test starts the real parts: the stand-in Customer.io
(tests/standin.py), a real lighttpd on a free loopback port running the
built formrelay over FastCGI (bin-path), with a real SQLite spool in a
temporary directory.  Output is TAP for automake's tap-driver.sh.
"""

import base64
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

SRCDIR = os.environ.get("FORMRELAY_SRCDIR",
                        os.path.dirname(os.path.dirname(
                            os.path.dirname(os.path.abspath(__file__)))))
BIN = os.environ.get("FORMRELAY_BIN", os.path.join(SRCDIR, "src", "formrelay"))
API_KEY = "cio_test_Key_0123456789abcdef"


class Tap:
    """A TAP producer: ok/eq/contains, then done() for the plan."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print(("ok %d - %s" if cond else "not ok %d - %s") % (self.n, desc))
        if not cond and diag is not None:
            for line in str(diag).splitlines()[:40]:
                print("#   " + line)
        sys.stdout.flush()
        return cond

    def eq(self, got, want, desc):
        return self.ok(got == want, desc,
                       "got:  %r\nwant: %r" % (got, want))

    def skip_all(self, why):
        print("1..0 # SKIP %s" % why)
        sys.exit(0)

    def done(self):
        print("1..%d" % self.n)
        sys.exit(1 if self.failed else 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The least any wait_until waits before it gives up: a timeout only ends
# a wait that failed anyway, and a loaded machine (make check-stress)
# takes many times longer than a quiet one to get anywhere.
MIN_WAIT = float(os.environ.get("FORMRELAY_TEST_MIN_WAIT", "60"))


def wait_until(cond, timeout=10.0, what="condition"):
    """Poll cond() until it is true; raise after timeout seconds (at least
    MIN_WAIT)."""
    deadline = time.monotonic() + max(timeout, MIN_WAIT)
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("timed out waiting for " + what)
        time.sleep(0.02)


def ok_when(t, cond, timeout, message, diag=None):
    """Poll cond() until it holds (within timeout seconds), then check it:
    a time-out is a failed check that names what was awaited.  diag may
    be a function: it is called only on failure, after the wait, so what
    it shows (messages received, logs) is as of the time-out."""
    try:
        wait_until(cond, timeout, message)
    except TimeoutError:
        pass
    held = bool(cond())
    if not held and callable(diag):
        diag = diag()
    return t.ok(held, message, diag)


def fill(path):
    """Write zeros to path until its filesystem says ENOSPC, in large
    writes and then page by page: not one block is left free."""
    import errno
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (65536, 4096, 512):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
        os.fsync(fd)
    finally:
        os.close(fd)


def mount_tmpfs(t, size="3m"):
    """A fresh tmpfs of size on a new directory (a tiny filesystem to
    fill); skips the whole test where it cannot be mounted."""
    if os.geteuid() != 0:
        t.skip_all("needs root to mount a tmpfs")
    mnt = tempfile.mkdtemp(prefix="formrelay-full-")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size,
                       "tmpfs", mnt]).returncode != 0:
        os.rmdir(mnt)
        t.skip_all("cannot mount a tmpfs here")
    return mnt


def unmount_tmpfs(mnt):
    subprocess.run(["umount", "-l", mnt])
    os.rmdir(mnt)


def write_conf(path, sections):
    """formrelay.conf from {section: {key: value}}."""
    with open(path, "w") as f:
        for section, kv in sections.items():
            f.write("[%s]\n" % section)
            for k, v in kv.items():
                f.write("%s = %s\n" % (k, v))


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Response:
    def __init__(self, status, headers, body, reason=""):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body
        self.reason = reason  # the status line's phrase

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower())


def http_request(port, method, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if isinstance(body, str):
            body = body.encode()
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        return Response(r.status, hdrs, data.decode("utf-8", "replace"),
                        r.reason)
    finally:
        conn.close()


class Standin:
    """The stand-in Customer.io server, started for one test."""

    def __init__(self, tmp):
        self.port_file = os.path.join(tmp, "standin.port")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(SRCDIR, "tests", "standin.py"),
             "--port-file", self.port_file])
        wait_until(lambda: os.path.exists(self.port_file), 10, "stand-in")
        with open(self.port_file) as f:
            self.port = int(f.read().strip())
        self.base = "http://127.0.0.1:%d/v1" % self.port

    def _call(self, method, path, body=None):
        r = http_request(self.port, method, "/_control/" + path,
                         json.dumps(body) if body is not None else None,
                         {"Content-Type": "application/json"})
        return json.loads(r.body) if r.body else None

    def script(self, script):
        self._call("POST", "script", script)

    def requests(self):
        return self._call("GET", "requests")

    def messages(self):
        return self._call("GET", "messages")

    def reset(self):
        self._call("POST", "reset", {})

    def release(self):
        """Answer every request a "hold" script entry holds."""
        self._call("POST", "release", {})

    def held(self):
        """How many requests a "hold" entry holds now."""
        return self._call("GET", "held")["held"]

    def held_requests(self):
        """The indexes (in requests()) of the requests held now."""
        return self._call("GET", "held")["requests"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class Relay:
    """lighttpd on a free loopback port with formrelay at /formrelay."""

    def __init__(self, tmp, standin=None, conf_extra=None, max_procs=1,
                 dry_run=False, env=None, secret=None):
        self.tmp = tmp
        self.port = free_port()
        self.spool = os.path.join(tmp, "spool.db")
        self.conf = os.path.join(tmp, "formrelay.conf")
        self.errorlog = os.path.join(tmp, "lighttpd-error.log")
        key_file = os.path.join(tmp, "api_key")
        with open(key_file, "w") as f:
            f.write(API_KEY + "\n")
        os.chmod(key_file, 0o600)
        sections = {
            "customerio": {
                "api_base": standin.base if standin else "http://127.0.0.1:9/v1",
                "api_key_file": key_file,
                "timeout_ms": "5000",
                "dry_run": "yes" if dry_run else "no",
            },
            "spool": {"path": self.spool},
            "http": {"rate_limit": "1000/min"},
        }
        for section, kv in (conf_extra or {}).items():
            sections.setdefault(section, {}).update(kv)
        if secret:
            secret_file = os.path.join(tmp, "webhook_secret")
            with open(secret_file, "w") as f:
                f.write(secret + "\n")
            os.chmod(secret_file, 0o600)
            sections["http"]["webhook_secret_file"] = secret_file
        write_conf(self.conf, sections)
        self.env = dict(env or {})
        self.max_procs = max_procs
        self.proc = None
        self.stderr_path = os.path.join(tmp, "stderr.log")
        self.start()

    def lighttpd_conf(self):
        env = {"FORMRELAY_CONFIG": self.conf}
        env.update(self.env)
        env_s = ", ".join('"%s" => "%s"' % kv for kv in env.items())
        path = os.path.join(self.tmp, "lighttpd.conf")
        with open(path, "w") as f:
            f.write("""
server.document-root = "%(www)s"
server.bind = "127.0.0.1"
server.port = %(port)d
server.errorlog = "%(errorlog)s"
server.modules = ("mod_fastcgi")
mimetype.assign = (".html" => "text/html; charset=utf-8",
                   ".js" => "text/javascript", ".css" => "text/css")
index-file.names = ("index.html")
fastcgi.server = ("/formrelay" => ((
    "bin-path" => "%(bin)s",
    "socket" => "%(tmp)s/formrelay.sock",
    "max-procs" => %(procs)d,
    "check-local" => "disable",
    "bin-environment" => (%(env)s)
)))
""" % {"www": os.path.join(SRCDIR, "www"), "port": self.port,
       "errorlog": self.errorlog, "bin": BIN, "tmp": self.tmp,
       "procs": self.max_procs, "env": env_s})
        return path

    def start(self):
        lighttpd = os.environ.get("LIGHTTPD") or shutil.which("lighttpd") \
            or "/usr/sbin/lighttpd"
        # FastCGI backends inherit lighttpd's stderr, not its errorlog:
        # keep both, since formrelay's log lines are what tests read.
        self.stderr_path = os.path.join(self.tmp, "stderr.log")
        # A process group of its own: stop() ends every backend with it,
        # even one lighttpd respawned just before it was told to stop.
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen([lighttpd, "-D", "-f",
                                          self.lighttpd_conf()], stderr=err,
                                         start_new_session=True)
        wait_until(lambda: port_open(self.port) or self.proc.poll() is not None,
                   15, "lighttpd")
        if self.proc.poll() is not None:
            raise RuntimeError("lighttpd exited: " + self.log())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)
        if self.proc:
            stop_group(self.proc.pid)
        self.proc = None

    def log(self):
        """lighttpd's error log and the backends' stderr, together."""
        text = ""
        for path in (self.errorlog, self.stderr_path):
            try:
                with open(path, errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        return text

    def request(self, method, path="/formrelay", body=None, headers=None):
        return http_request(self.port, method, path, body, headers)

    def post_form(self, fields, headers=None, path="/formrelay"):
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        body = urllib.parse.urlencode(fields, doseq=True)
        return self.request("POST", path, body, h)

    def post_json(self, obj, headers=None, path="/formrelay"):
        h = {"Content-Type": "application/json", "Accept": "application/json"}
        h.update(headers or {})
        body = obj if isinstance(obj, (str, bytes)) else json.dumps(obj)
        return self.request("POST", path, body, h)

    def cgi(self, method, uri, body=b"", remote="127.0.0.1", extra=None):
        """Run the binary as a CGI program (RFC 3875) for one request;
        returns (stdout, stderr) as text."""
        env = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": method,
               "REQUEST_URI": uri, "SCRIPT_NAME": "/formrelay",
               "REMOTE_ADDR": remote, "CONTENT_LENGTH": str(len(body)),
               "CONTENT_TYPE": "application/json", "PATH": os.environ["PATH"],
               "FORMRELAY_CONFIG": self.conf}
        env.update(extra or {})
        p = subprocess.run([BIN], input=body, env=env, capture_output=True,
                           timeout=30)
        return (p.stdout.decode(errors="replace"),
                p.stderr.decode(errors="replace"))

    def admin(self, *args):
        """Run `formrelay -c conf ARGS`; returns (exit status, stdout)."""
        p = subprocess.run([BIN, "-c", self.conf] + list(args),
                           capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout + p.stderr

    def status(self):
        rc, out = self.admin("status", "--json")
        return json.loads(out) if rc in (0, 3, 5) else None

    def fastcgi_pids(self):
        """The FastCGI processes lighttpd started."""
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)],
                             capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def deliver_pids(self):
        """The formrelay-deliver processes the FastCGI processes
        started."""
        pids = []
        for parent in self.fastcgi_pids():
            out = subprocess.run(["pgrep", "-P", str(parent)],
                                 capture_output=True, text=True).stdout
            pids += [int(p) for p in out.split()]
        return pids


def basic_auth(key):
    return "Basic " + base64.b64encode((key + ":").encode()).decode()


def group_alive(pgid):
    """1 while a process of group pgid still runs (a zombie waits for its
    reaper, not for us)."""
    for pid in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def wait_group_gone(pgid, timeout=60):
    """Wait until no process of group pgid runs: a server's FastCGI
    backends, and their delivery processes, finish stopping after the
    server itself has exited.  False when some still run."""
    try:
        wait_until(lambda: not group_alive(pgid), timeout,
                   "process group %d to exit" % pgid)
        return True
    except TimeoutError:
        return False


def stop_group(pgid, grace=20):
    """SIGTERM what is left of process group pgid (FastCGI backends that
    outlived their server) and wait for it to empty; SIGKILL after grace
    seconds."""
    def alive():
        return group_alive(pgid)
    if not alive():
        return
    os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive():
        os.killpg(pgid, signal.SIGKILL)
        wait_until(lambda: not alive(), 10, "process group %d" % pgid)


class Env:
    """A temp dir, the stand-in and a relay, torn down at exit."""

    def __init__(self, tap=None, **relay_kw):
        self.tap = tap
        self.tmp = tempfile.mkdtemp(prefix="formrelay-it-")
        self.standin = Standin(self.tmp)
        self.relay = None
        try:
            self.relay = Relay(self.tmp, self.standin, **relay_kw)
        except Exception:
            self.close()
            raise

    def close(self):
        if self.relay:
            self.relay.stop()
            if self.tap is not None:
                log = self.relay.log()
                bad = [line for line in log.splitlines()
                       if "Sanitizer" in line or "runtime error:" in line]
                self.tap.ok(not bad, "no sanitizer report in the server log",
                            "\n".join(bad[:20]))
        self.standin.stop()
        if os.environ.get("FORMRELAY_KEEP_TMP"):
            print("# kept " + self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
