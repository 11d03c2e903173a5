"""Faults a serving process meets, for real, on `formrelay --listen`
spoken to over FastCGI as a web server does:

  - its descriptors run out (its open-file limit lowered with prlimit
    while a burst of connections waits): it logs the episode once,
    backs off, and serves again once descriptors are free, rather than
    ending its threads and exiting 0 where no supervisor restarts it;
  - its delivery process dies while descriptors are out: it tries to
    start another after 1 s, then 2, 4, 8 s (at most a minute), one log
    line an attempt saying when the next comes, not one twice a second,
    and starts it once descriptors are free;
  - it is told to stop while a request is in hand (its body half sent):
    the request is finished and answered 202, never cut short by the
    wake-up of the other threads.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fcgiclient  # noqa: E402
from harness import BIN, Tap, free_port, wait_until, write_conf  # noqa: E402


class Listener:
    """formrelay --listen 127.0.0.1:PORT, its log in a file."""

    def __init__(self, tmp, threads):
        self.tmp = tmp
        self.conf = os.path.join(tmp, "formrelay.conf")
        key = os.path.join(tmp, "api_key")
        with open(key, "w") as f:
            f.write("cio_test_Key_0123456789abcdef\n")
        os.chmod(key, 0o600)
        write_conf(self.conf, {
            "customerio": {"api_base": "http://127.0.0.1:9/v1",
                           "api_key_file": key, "dry_run": "yes"},
            "spool": {"path": os.path.join(tmp, "spool.db")},
            "http": {"rate_limit": "100000/min"}})
        self.port = free_port()
        self.address = ("127.0.0.1", self.port)
        self.log_path = os.path.join(tmp, "formrelay.log")
        with open(self.log_path, "ab") as err:
            self.proc = subprocess.Popen(
                [BIN, "-c", self.conf, "--listen",
                 "127.0.0.1:%d" % self.port, "--threads", str(threads)],
                stderr=err)
        wait_until(lambda: "serving FastCGI" in self.log()
                   or self.proc.poll() is not None, 30, "formrelay")
        if self.proc.poll() is not None:
            raise RuntimeError("formrelay exited: " + self.log())

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def fds(self):
        """Its open descriptors and what each is; one closed while we
        read the list (a connection ending) is left out."""
        fds = {}
        for n in os.listdir("/proc/%d/fd" % self.proc.pid):
            try:
                fds[int(n)] = os.readlink("/proc/%d/fd/%s" %
                                          (self.proc.pid, n))
            except FileNotFoundError:
                pass
        return fds

    def threads(self):
        return len(os.listdir("/proc/%d/task" % self.proc.pid))

    def post(self, label):
        return fcgiclient.post_json(self.address, {
            "entryId": label, "email": "%s@x.example" % label})

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(30)

    def close(self, t):
        """Kill it if a test left it running; no sanitizer report."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.check_sanitizers(t)

    def check_sanitizers(self, t):
        bad = [line for line in self.log().splitlines()
               if "Sanitizer" in line or "runtime error:" in line]
        t.ok(not bad, "no sanitizer report in the log", "\n".join(bad[:20]))


def server_end(server_port, client_port):
    """The socket inode of the server's end of a loopback TCP
    connection, from /proc/net/tcp."""
    want = ("0100007F:%04X" % server_port, "0100007F:%04X" % client_port)
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if (fields[1], fields[2]) == want:
                return fields[9]
    raise RuntimeError("no such connection in /proc/net/tcp")


def lowest_free_fd(fds):
    n = 0
    while n in fds:
        n += 1
    return n


def set_nofile(pid, soft, hard):
    subprocess.run(["prlimit", "--pid", str(pid),
                    "--nofile=%d:%d" % (soft, hard)], check=True)


def hard_nofile(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[4])
    raise RuntimeError("no open-file limit in /proc/%d/limits" % pid)


def descriptors_run_out(t, tmp):
    relay = Listener(tmp, threads=2)
    try:
        status, reply = relay.post("before")
        t.eq(status, 202, "before: 202")
        pid = relay.proc.pid
        hard = hard_nofile(pid)
        # The first request's connection closed (the spool writer
        # answers it after its commit): the listener is the one socket.
        wait_until(lambda: sum(1 for v in relay.fds().values()
                               if v.startswith("socket:")) == 1,
                   30, "the first connection closed")
        # Every descriptor number below the limit is taken: the next
        # accept(2) fails with EMFILE.
        set_nofile(pid, lowest_free_fd(relay.fds()), hard)
        # A burst of connections, each closed at once (a web server
        # giving up): the process has no descriptor to accept them with.
        for _ in range(6):
            socket.create_connection(relay.address, timeout=10).close()
        try:
            wait_until(lambda: "Too many open files" in relay.log()
                       or relay.proc.poll() is not None, 30,
                       "the episode in the log")
        except TimeoutError:
            pass
        t.ok("accept: Too many open files" in relay.log(),
             "descriptors out: the log says accept fails and why",
             relay.log())
        t.ok(relay.proc.poll() is None,
             "descriptors out: the process keeps running", relay.log())
        # Free descriptors: the limit back where it was.
        if relay.proc.poll() is None:
            set_nofile(pid, hard, hard)
        try:
            status, reply = relay.post("after")
        except OSError as e:
            status, reply = str(e), None
        t.eq(status, 202, "descriptors free again: the next request is "
                          "answered 202")
        t.ok(reply and reply.get("ok") is True and reply.get("id"),
             "and stored with an id", reply)
        log = relay.log()
        t.ok("serving again after" in log,
             "the log says it serves again, after how many failures", log)
        t.eq(log.count("accept: Too many open files"), 1,
             "one line for the episode, not one per failure")
        t.eq(relay.stop(), 0, "stops cleanly on SIGTERM")
    finally:
        relay.close(t)


def children(pid):
    """The pids of a process's children, from every thread."""
    kids = []
    for task in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                kids += [int(k) for k in f.read().split()]
        except FileNotFoundError:
            pass
    return kids


def delivery_restart_backs_off(t, tmp):
    relay = Listener(tmp, threads=1)
    try:
        pid = relay.proc.pid
        wait_until(lambda: children(pid), 30, "the delivery process")
        first = children(pid)[0]
        hard = hard_nofile(pid)
        set_nofile(pid, lowest_free_fd(relay.fds()), hard)
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: "(attempt 3)" in relay.log()
                   or relay.proc.poll() is not None, 60,
                   "three failed attempts")
        log = relay.log()
        tries = [line for line in log.splitlines()
                 if "delivery process not started" in line]
        t.eq([line.split("(attempt ")[1].rstrip('"')
              for line in tries[:3]],
             ["1); next attempt in 2 s", "2); next attempt in 4 s",
              "3); next attempt in 8 s"],
             "delivery out of descriptors: each attempt logged once, "
             "each waiting twice as long")
        t.ok("cannot make a pipe: Too many open files" in log,
             "and the log names the cause", log)
        set_nofile(pid, hard, hard)
        wait_until(lambda: "delivery process started after" in
                   relay.log() or relay.proc.poll() is not None, 60,
                   "the delivery process started again")
        t.ok("delivery process started after" in relay.log() and
             [k for k in children(pid) if k != first],
             "descriptors free: a new delivery process runs",
             relay.log())
        status, _ = relay.post("after-restart")
        t.eq(status, 202, "and the server answers 202")
        t.eq(relay.stop(), 0, "stops cleanly on SIGTERM")
    finally:
        relay.close(t)


def stop_with_request_in_hand(t, tmp):
    relay = Listener(tmp, threads=2)
    try:
        status, _ = relay.post("warm")
        t.eq(status, 202, "stop in hand: a first request 202")
        body = b'{"entryId": "in-hand", "email": "in.hand@x.example"}'
        r = fcgiclient.Request(relay.address)
        r.begin(fcgiclient.post_json_params(body))
        r.stdin(body[:20])
        # In hand: the server's end of this connection is among the
        # process's descriptors (accepted; its body is being read).
        # (A connection still waiting to be accepted has inode 0.)
        client_port = r.sock.getsockname()[1]
        wait_until(lambda: "socket:[%s]" % server_end(
            relay.port, client_port) in relay.fds().values(),
            30, "the connection accepted")
        threads = relay.threads()
        relay.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: "finishing requests in hand" in relay.log(),
                   30, "the stop signal taken")
        # The idle thread has ended: whatever wakes threads to stop has
        # reached the busy one too.
        wait_until(lambda: relay.proc.poll() is not None
                   or relay.threads() < threads, 30, "the idle thread")
        try:
            r.stdin(body[20:], end=True)
            status, _, text = r.response()
        except (OSError, EOFError) as e:
            status, text = str(e), ""
        r.close()
        t.eq(status, 202, "the request in hand at the stop signal is "
                          "answered 202")
        t.ok('"ok":true' in text.replace(" ", ""), "and stored", text)
        t.eq(relay.stop(), 0, "then the process exits 0")
        t.ok("stopped" in relay.log(), "and logs that it stopped")
    finally:
        relay.close(t)


def stop_with_request_stalled(t, tmp):
    """A peer that never sends the rest: the stop waits for it, within
    a grace (10 s), then cuts it short and exits."""
    relay = Listener(tmp, threads=1)
    try:
        body = b'{"entryId": "stalled", "email": "stalled@x.example"}'
        r = fcgiclient.Request(relay.address, timeout=120)
        r.begin(fcgiclient.post_json_params(body))
        r.stdin(body[:20])
        client_port = r.sock.getsockname()[1]
        wait_until(lambda: "socket:[%s]" % server_end(
            relay.port, client_port) in relay.fds().values(),
            30, "the connection accepted")
        relay.proc.send_signal(signal.SIGTERM)
        t.eq(relay.proc.wait(120), 0,
             "stalled in hand: the process still exits 0")
        t.ok("stalled 10 s after the stop signal" in relay.log(),
             "and logs that it cut the stalled request short", relay.log())
        try:
            status, _, _ = r.response()
        except (OSError, EOFError) as e:
            status = str(e)
        t.ok(status != 202, "the stalled request was not answered 202 "
                            "(%s)" % status)
        r.close()
    finally:
        relay.close(t)


def socket_unusable(t, tmp):
    """A socket no thread can accept on (systemd passed one that is not
    listening): the process exits 1 with a log line, so that a
    supervisor sees the failure."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    conf = os.path.join(tmp, "formrelay.conf")
    key = os.path.join(tmp, "api_key")
    with open(key, "w") as f:
        f.write("cio_test_Key_0123456789abcdef\n")
    os.chmod(key, 0o600)
    write_conf(conf, {
        "customerio": {"api_base": "http://127.0.0.1:9/v1",
                       "api_key_file": key, "dry_run": "yes"},
        "spool": {"path": os.path.join(tmp, "spool.db")}})

    def as_fd3():
        os.dup2(sock.fileno(), 3)
    p = subprocess.run(
        ["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" -c "$1" '
         '--threads 2', BIN, conf], preexec_fn=as_fd3, pass_fds=(3,),
        capture_output=True, text=True, timeout=60)
    sock.close()
    t.eq(p.returncode, 1, "a socket it cannot accept on: exit 1")
    t.ok("Sanitizer" not in p.stderr and "runtime error:" not in p.stderr,
         "no sanitizer report", p.stderr)
    t.ok("accept: Invalid argument" in p.stderr and
         "no thread can accept connections any more" in p.stderr,
         "and the log says why", p.stderr)


def main():
    t = Tap()
    for part in (descriptors_run_out, delivery_restart_backs_off,
                 stop_with_request_in_hand,
                 stop_with_request_stalled, socket_unusable):
        tmp = tempfile.mkdtemp(prefix="formrelay-it-")
        try:
            part(t, tmp)
        finally:
            subprocess.run(["rm", "-rf", tmp])
    t.done()


main()
