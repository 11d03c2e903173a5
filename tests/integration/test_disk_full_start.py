"""Starting on a full disk: never a signal (SIGBUS from a store into a
mapped file whose blocks the disk could not give), always a clear error.

The shared side files beside the spool (.metrics, .ratelimit, .wake) are
mmap'd; each is allocated for real before it is touched.  Two ways to
meet a full disk at start, each for CGI, a FastCGI process and
formrelay-deliver:
  - from nothing: a tiny filesystem, full, with no spool on it yet;
  - side files removed while another process keeps the spool open on a
    disk that is full meanwhile.

Needs root to mount a tmpfs; skipped otherwise.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BIN, Tap, fill, mount_tmpfs, unmount_tmpfs,  # noqa: E402
                     wait_until, write_conf)

DELIVER = os.environ.get("FORMRELAY_DELIVER_BIN",
                         os.path.join(os.path.dirname(BIN),
                                      "formrelay-deliver"))
SIDE_FILES = (".metrics", ".ratelimit")


def cgi(conf):
    """One CGI POST; returns (exit status, stdout, stderr)."""
    body = json.dumps({"email": "full@x.example"}).encode()
    env = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "POST",
           "REQUEST_URI": "/formrelay", "SCRIPT_NAME": "/formrelay",
           "REMOTE_ADDR": "127.0.0.1", "CONTENT_LENGTH": str(len(body)),
           "CONTENT_TYPE": "application/json", "PATH": os.environ["PATH"],
           "FORMRELAY_CONFIG": conf}
    p = subprocess.run([BIN], input=body, env=env, capture_output=True,
                       timeout=60)
    return p.returncode, p.stdout.decode(errors="replace"), \
        p.stderr.decode(errors="replace")


def run(argv):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def sanitizer_lines(text):
    return [line for line in text.splitlines()
            if "Sanitizer" in line or "runtime error:" in line]


def how(rc):
    return "killed by %s" % signal.Signals(-rc).name if rc < 0 \
        else "exit %d" % rc


def check_cgi(t, conf, when, cause):
    rc, out, err = cgi(conf)
    t.eq(how(rc), "exit 1", "%s: CGI exits 1, no signal" % when)
    t.eq(sanitizer_lines(err), [], "%s: CGI: no sanitizer report" % when)
    t.ok(out.startswith("Status: 503"), "%s: CGI answers 503" % when, out)
    t.ok(cause in out, "%s: the 503 names the cause (%s)" % (when, cause),
         out)
    t.ok("No space left on device" in err or "disk full" in err,
         "%s: CGI logs the full disk" % when, err)


def check_fastcgi(t, conf, tmp, when):
    sock = os.path.join(tmp, "second.sock")
    p = subprocess.run([BIN, "-c", conf, "--listen", sock, "--threads", "2"],
                       capture_output=True, text=True, timeout=60)
    t.eq(how(p.returncode), "exit 1",
         "%s: a FastCGI process exits 1 at start, no signal" % when)
    t.ok("No space left on device" in p.stderr or "disk full" in p.stderr,
         "%s: and logs the full disk" % when, p.stderr)
    t.ok("serving FastCGI" not in p.stderr,
         "%s: and never says it serves" % when, p.stderr)
    t.eq(sanitizer_lines(p.stderr), [],
         "%s: FastCGI: no sanitizer report" % when)


def from_nothing(t, mnt, tmp):
    conf = os.path.join(tmp, "nothing.conf")
    write_conf(conf, {"customerio": {"api_base": "http://127.0.0.1:9/v1",
                                     "api_key_file": key_file(tmp)},
                      "spool": {"path": os.path.join(mnt, "spool.db")},
                      "http": {"rate_limit": "1000/min"}})
    fill(os.path.join(mnt, "filler"))
    check_cgi(t, conf, "from nothing", "cannot_store")
    check_fastcgi(t, conf, tmp, "from nothing")
    rc, out = run([DELIVER, "-c", conf, "--flush"])
    t.ok(rc > 0, "from nothing: formrelay-deliver fails, no signal (%s)"
         % how(rc))
    t.ok("No space left on device" in out or "disk full" in out,
         "from nothing: formrelay-deliver logs the full disk", out)
    os.unlink(os.path.join(mnt, "filler"))
    for name in os.listdir(mnt):
        os.unlink(os.path.join(mnt, name))


def key_file(tmp):
    path = os.path.join(tmp, "api_key")
    with open(path, "w") as f:
        f.write("cio_test_Key_0123456789abcdef\n")
    os.chmod(path, 0o600)
    return path


def side_files_removed(t, mnt, tmp):
    """A first FastCGI process keeps the spool open; the disk fills and
    the side files go: the next process to start meets both."""
    spool = os.path.join(mnt, "spool.db")
    conf = os.path.join(tmp, "removed.conf")
    write_conf(conf, {"customerio": {"api_base": "http://127.0.0.1:9/v1",
                                     "api_key_file": key_file(tmp)},
                      "spool": {"path": spool},
                      "http": {"rate_limit": "1000/min"}})
    log = os.path.join(tmp, "first.log")
    with open(log, "w") as err:
        first = subprocess.Popen([BIN, "-c", conf, "--listen",
                                  os.path.join(tmp, "first.sock"),
                                  "--threads", "1"], stderr=err)
    try:
        wait_until(lambda: "serving FastCGI" in open(log).read()
                   or first.poll() is not None, 30, "the first process")
        t.ok(first.poll() is None, "a first process serves the spool",
             open(log).read())
        fill(os.path.join(mnt, "filler"))
        for suffix in SIDE_FILES:
            os.unlink(spool + suffix)
        check_cgi(t, conf, "side files removed", "ratelimit_file")
        check_fastcgi(t, conf, tmp, "side files removed")
        rc, out = run([DELIVER, "-c", conf, "--flush"])
        t.eq(how(rc), "exit 0",
             "side files removed: formrelay-deliver --flush runs, "
             "no signal")
        t.ok("metrics" in out and "No space left on device" in out,
             "side files removed: and warns that metrics stay its own",
             out)
        first.terminate()
        t.eq(how(first.wait(30)), "exit 0", "the first process stops cleanly")
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()


def main():
    t = Tap()
    mnt = mount_tmpfs(t, "1m")
    tmp = tempfile.mkdtemp(prefix="formrelay-it-")
    try:
        from_nothing(t, mnt, tmp)
        side_files_removed(t, mnt, tmp)
    finally:
        unmount_tmpfs(mnt)
        subprocess.run(["rm", "-rf", tmp])
    t.done()


main()
