"""Shared pieces of the server tests (issue 6).

Each test starts a real web server (lighttpd, Apache httpd, nginx) or
spawn-fcgi on a free 127.0.0.1 port, configured FROM the setup that
contrib/ ships: the file is read, the install paths in it are replaced by
the build's and the test's (every replaced string must still be in the
file, so a drifting template fails the test), and the result is what the
server runs.  A real form then goes through the server to the built
formrelay, and the stand-in Customer.io (tests/standin.py) must receive
the identify.

systemd units are run the way systemd would run them (see run_unit and
listen_socket): the socket of a .socket unit is created with its mode and
group and passed as LISTEN_FDS (fd 3, and fd 0 with StandardInput=socket),
ExecStart= is executed with User= when that user exists.

Servers are started as root when the tests run as root (as in CI); their
workers and the formrelay processes they start then run as www-data
(Debian's web server user), so the temporary directory is made reachable
for it.  A test skips only when the server program itself is missing.
"""

import grp
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
from harness import (API_KEY, BIN, SRCDIR, Standin, Tap,  # noqa: E402,F401
                     basic_auth, free_port, http_request, ok_when, port_open,
                     wait_group_gone, wait_until)

CONTRIB = os.path.join(SRCDIR, "contrib")
DELIVER_BIN = os.environ.get("FORMRELAY_DELIVER_BIN") or os.path.join(
    os.path.dirname(BIN), "formrelay-deliver")
# Where contrib/ says things are installed; tests substitute these.
INSTALLED_BIN = "/usr/local/sbin/formrelay"
INSTALLED_DELIVER = "/usr/local/sbin/formrelay-deliver"
INSTALLED_CONF = "/etc/formrelay.conf"
SBIN_PATH = os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
SERVER_USER = "www-data"


def find_program(*names):
    for name in names:
        path = shutil.which(name, path=SBIN_PATH)
        if path:
            return path
    return None


def worker_account():
    """(uid, gid, user, group) that servers' workers run as, or None when
    the tests do not run as root (servers then keep the caller's user)."""
    if os.geteuid() != 0:
        return None
    for user in (SERVER_USER, "nobody"):
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            continue
        return (pw.pw_uid, pw.pw_gid, user, grp.getgrgid(pw.pw_gid).gr_name)
    return None


def template(relpath, subst):
    """contrib/<relpath> with each key of subst replaced by its value.
    Raises ValueError when a key is no longer in the file: the test then
    no longer tests what contrib/ ships."""
    with open(os.path.join(CONTRIB, relpath)) as f:
        text = f.read()
    for old, new in subst.items():
        if old not in text:
            raise ValueError("contrib/%s no longer contains %r" %
                             (relpath, old))
        text = text.replace(old, new)
    return text


def read_unit(relpath, subst=None):
    """A systemd unit from contrib/: {section: [(key, value), ...]}."""
    text = template(relpath, subst or {})
    unit, section = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], [])
        elif "=" in line and section is not None:
            key, value = line.split("=", 1)
            section.append((key.strip(), value.strip()))
    return unit


def unit_value(unit, section, key, default=None):
    values = [v for k, v in unit.get(section, []) if k == key]
    return values[-1] if values else default


class Site:
    """A temporary directory with the stand-in Customer.io, a formrelay
    configuration pointing at it, a spool directory, and the processes a
    test starts there (stopped, and their logs searched for sanitizer
    reports, by close())."""

    def __init__(self, tap, name, owner=None, conf_extra=None):
        self.tap = tap
        self.owner = owner
        self.tmp = tempfile.mkdtemp(prefix="formrelay-%s-" % name)
        # Servers' workers (www-data) must reach the files below.
        os.chmod(self.tmp, 0o755)
        self.procs = []
        self.standin = Standin(self.tmp)
        self.state = self.path("state")
        os.mkdir(self.state, 0o700)
        self.spool = os.path.join(self.state, "spool.db")
        self.conf = self.path("formrelay.conf")
        self.key_file = self.path("api_key")
        self._write(self.key_file, API_KEY + "\n", 0o600)
        sections = {
            "customerio": {"api_base": self.standin.base,
                           "api_key_file": self.key_file,
                           "timeout_ms": "5000"},
            "spool": {"path": self.spool, "retry_min": "200ms",
                      "retry_max": "1s"},
            "http": {"rate_limit": "1000/min", "success_url": "/thanks.html"},
        }
        for section, kv in (conf_extra or {}).items():
            sections.setdefault(section, {}).update(kv)
        self._write(self.conf, "".join(
            "[%s]\n%s" % (s, "".join("%s = %s\n" % i for i in kv.items()))
            for s, kv in sections.items()), 0o600)
        if owner:
            for p in (self.state, self.key_file, self.conf):
                os.chown(p, owner[0], owner[1])
        # The binaries the servers run: the build's, or copies of them in
        # tmp when the servers' account cannot reach the build directory.
        # formrelay finds formrelay-deliver beside itself.
        self.bin, self.deliver_bin = BIN, DELIVER_BIN
        if owner and not (reachable(BIN, owner) and
                          reachable(DELIVER_BIN, owner)):
            bindir = self.mkdir("bin")
            self.bin = shutil.copy2(BIN, os.path.join(bindir, "formrelay"))
            self.deliver_bin = shutil.copy2(
                DELIVER_BIN, os.path.join(bindir, "formrelay-deliver"))
            print("# %s cannot reach %s: running copies from %s" %
                  (owner[2], BIN, bindir))
            # The servers pass our environment on, and make check points
            # this at the unreachable build directory.
            os.environ["FORMRELAY_DELIVER_BIN"] = self.deliver_bin

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def _write(self, path, text, mode=0o644):
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)

    def write(self, name, text, mode=0o644):
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self._write(path, text, mode)
        return path

    def mkdir(self, name, owned=False):
        """A directory under tmp, given to the worker account if owned."""
        path = self.path(name)
        os.makedirs(path, exist_ok=True)
        if owned and self.owner:
            os.chown(path, self.owner[0], self.owner[1])
        return path

    def start(self, argv, log_name, **kw):
        """Start a process with stdout and stderr in tmp/<log_name>, in a
        session of its own: Apache's prefork signals its whole process
        group when it stops, which must not include the test."""
        log = open(self.path(log_name), "ab")
        try:
            p = subprocess.Popen(argv, stdout=log, stderr=log,
                                 stdin=kw.pop("stdin", subprocess.DEVNULL),
                                 start_new_session=True, **kw)
        finally:
            log.close()
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=30):
        """Stop one process this site started; its exit status.  Returns
        once every process of its group (its session: FastCGI backends,
        their delivery processes) has exited too, so that what a test
        reads next (the spool's status) is what the stop left."""
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        wait_group_gone(p.pid)
        if p in self.procs:
            self.procs.remove(p)
        return p.returncode

    def logs(self):
        """Every *.log under tmp, as one text (for diagnostics)."""
        out = []
        for root, _dirs, files in os.walk(self.tmp):
            for name in sorted(files):
                if name.endswith(".log"):
                    try:
                        with open(os.path.join(root, name),
                                  errors="replace") as f:
                            out.append("== %s\n%s" % (name, f.read()))
                    except OSError:
                        pass
        return "\n".join(out)

    def close(self):
        for p in reversed(list(self.procs)):
            self.stop(p)
        text = self.logs()
        bad = [line for line in text.splitlines()
               if "Sanitizer" in line or "runtime error:" in line]
        self.tap.ok(not bad, "no sanitizer report in any log",
                    "\n".join(bad[:20]))
        self.standin.stop()
        if os.environ.get("FORMRELAY_KEEP_TMP"):
            print("# kept " + self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- formrelay itself ----

    def admin(self, *args, user=None):
        """formrelay -c conf ARGS, as the worker account when given."""
        p = subprocess.run([self.bin, "-c", self.conf] + list(args),
                           capture_output=True, text=True, timeout=60,
                           preexec_fn=_become(user))
        return p.returncode, p.stdout + p.stderr


def _become(account):
    """A preexec_fn switching to account (uid, gid, ...), or None."""
    if not account:
        return None

    def switch():
        os.setgroups([account[1]])
        os.setgid(account[1])
        os.setuid(account[0])
    return switch


def wait_port(proc, port, what, site, timeout=20):
    """Wait until something accepts on 127.0.0.1:port; fail if proc died."""
    try:
        wait_until(lambda: port_open(port) or proc.poll() is not None,
                   timeout, what)
    except TimeoutError:
        raise RuntimeError("%s did not listen on %d\n%s" %
                           (what, port, site.logs()))
    if proc.poll() is not None:
        raise RuntimeError("%s exited with %s\n%s" %
                           (what, proc.returncode, site.logs()))


def holds_client(port):
    """1 while a process holds a connection accepted on port: a socket
    whose local port is port, not listening (state 0A), with an owner
    (inode 0 once closed, in FIN_WAIT or TIME_WAIT)."""
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                rows = f.readlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if (int(fields[1].rsplit(":", 1)[1], 16) == port and
                    fields[3] != "0A" and fields[9] != "0"):
                return 1
    return 0


def wait_no_clients(port, timeout=60):
    """Wait until the server on port has closed every client connection.
    lighttpd 1.4 exits 1, not 0, when SIGTERM finds a connection still
    open (server.c, server_main: rc becomes 0 only with srv->conns
    empty), and one our client has closed stays open there until
    lighttpd has read its end: on a busy machine, after we send SIGTERM."""
    wait_until(lambda: not holds_client(port), timeout,
               "the server on %d to close its client connections" % port)


def wait_path(proc, path, what, site, timeout=20):
    try:
        wait_until(lambda: os.path.exists(path) or proc.poll() is not None,
                   timeout, what)
    except TimeoutError:
        raise RuntimeError("%s did not create %s\n%s" %
                           (what, path, site.logs()))
    if proc.poll() is not None:
        raise RuntimeError("%s exited with %s\n%s" %
                           (what, proc.returncode, site.logs()))


# ---- systemd, as far as these units need it ----

def listen_socket(unit, owner_ok=True):
    """The listening socket a .socket unit describes (ListenStream= a
    path or host:port), with SocketMode=, SocketUser= and SocketGroup=
    applied as systemd applies them (the last two when running as root
    and the account exists)."""
    where = unit_value(unit, "Socket", "ListenStream")
    if where.startswith("/"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(where):
            os.unlink(where)
        s.bind(where)
        mode = int(unit_value(unit, "Socket", "SocketMode", "0666"), 8)
        os.chmod(where, mode)
        if os.geteuid() == 0 and owner_ok:
            user = unit_value(unit, "Socket", "SocketUser", "root")
            group = unit_value(unit, "Socket", "SocketGroup", "root")
            try:
                os.chown(where, pwd.getpwnam(user).pw_uid,
                         grp.getgrnam(group).gr_gid)
            except KeyError:
                pass
    else:
        host, port = where.rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, int(port)))
    s.listen(int(unit_value(unit, "Socket", "Backlog", "128")))
    return s


def unit_account(unit):
    """(uid, gid) of User=/Group= when running as root and they exist."""
    if os.geteuid() != 0:
        return None
    user = unit_value(unit, "Service", "User")
    if not user:
        return None
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        return None
    group = unit_value(unit, "Service", "Group")
    gid = grp.getgrnam(group).gr_gid if group else pw.pw_gid
    return (pw.pw_uid, gid)


def exec_start(unit):
    return shlex.split(unit_value(unit, "Service", "ExecStart"))


def run_unit(site, unit, log_name, sock=None):
    """Start a service unit's ExecStart= as systemd would: with the socket
    from listen_socket() as fd 3 (LISTEN_FDS=1, LISTEN_PID=its pid), on
    fd 0 as well with StandardInput=socket, as User= when possible."""
    argv = exec_start(unit)
    account = unit_account(unit)
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                   "/sbin:/bin"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    for kv in [v for k, v in unit.get("Service", []) if k == "Environment"]:
        for item in shlex.split(kv):
            k, v = item.split("=", 1)
            env[k] = v
    stdin_socket = unit_value(unit, "Service", "StandardInput") == "socket"
    fd = sock.fileno() if sock is not None else None

    def child():
        if fd is not None:
            # dup2 onto itself keeps close-on-exec: clear it explicitly.
            os.dup2(fd, 3)
            os.set_inheritable(3, True)
            if stdin_socket:
                os.dup2(fd, 0)
        if account:
            os.setgroups([account[1]])
            os.setgid(account[1])
            os.setuid(account[0])
        os.umask(int(unit_value(unit, "Service", "UMask", "0022"), 8))

    if fd is not None:
        # LISTEN_PID must be the service's own pid: the shell's, which
        # exec keeps (sd_listen_fds(3)).
        env["LISTEN_FDS"] = "1"
        argv = ["/bin/sh", "-c",
                'LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"'] + argv
    return site.start(argv, log_name, env=env, preexec_fn=child,
                      close_fds=False)


# ---- what every setup must do ----

def post_form(port, fields, path="/formrelay", headers=None):
    h = {"Content-Type": "application/x-www-form-urlencoded",
         "User-Agent": "server-test/1.0",
         "Referer": "http://127.0.0.1/landing"}
    h.update(headers or {})
    return http_request(port, "POST", path,
                        urllib.parse.urlencode(fields), h)


def run_listen_unit(site, log_name):
    """contrib/systemd/formrelay-listen.service on a free loopback port
    instead of 127.0.0.1:9000, started and listening.  Returns the
    process and its address ("127.0.0.1:PORT")."""
    fcgi_port = free_port()
    listen = "127.0.0.1:%d" % fcgi_port
    unit = read_unit("systemd/formrelay-listen.service", {
        INSTALLED_BIN: site.bin, INSTALLED_CONF: site.conf,
        "127.0.0.1:9000": listen})
    relay = run_unit(site, unit, log_name)
    wait_port(relay, fcgi_port, "formrelay --listen", site)
    return relay, listen


def post_json(port, obj, path="/formrelay"):
    return http_request(port, "POST", path, json.dumps(obj),
                        {"Content-Type": "application/json",
                         "Accept": "application/json",
                         "User-Agent": "server-test/1.0"})


def submit(t, port, label, path="/formrelay"):
    """An HTML form and a JSON post through the server; the health check.
    Returns the userIds posted and the messageId the JSON reply named."""
    form_id, json_id = label + "-form", label + "-json"
    r = post_form(port, {"entryId": form_id, "email": " Form@Example.COM ",
                         "name": "Ada Lovelace", "plan": "pro"}, path)
    t.eq(r.status, 303, "%s: HTML form answered 303 (success_url)" % label)
    t.eq(r.header("location"), "/thanks.html",
         "%s: redirected to success_url" % label)
    r = post_json(port, {"entryId": json_id, "email": "json@example.com",
                         "zip": "02134"}, path)
    t.eq(r.status, 202, "%s: JSON post answered 202" % label)
    try:
        body = r.json()
    except ValueError:
        body = {}
    t.ok(body.get("ok") is True and bool(body.get("id")),
         "%s: JSON reply {ok: true, id}" % label, r.body)
    r = http_request(port, "GET", path + "/healthz")
    t.eq(r.status, 200, "%s: GET %s/healthz reaches formrelay" %
         (label, path))
    t.ok('"status"' in r.body, "%s: healthz answers JSON" % label, r.body)
    return [form_id, json_id], body.get("id")


def expect_delivered(t, site, label, user_ids, message_id, timeout=30):
    """The stand-in received an identify for each user id, with the
    normalised traits, the JSON reply's messageId and the key."""
    def received():
        return {m.get("userId"): m for m in site.standin.messages()}
    if not ok_when(t, lambda: set(user_ids) <= set(received()), timeout,
                   "%s: stand-in received the identifies" % label,
                   lambda: "messages: %r\n%s" % (site.standin.messages(),
                                                 site.logs())):
        return
    got = received()
    form, js = got[user_ids[0]], got[user_ids[1]]
    t.eq(form.get("type"), "identify", "%s: an identify call" % label)
    t.eq(form.get("traits", {}).get("email"), "form@example.com",
         "%s: email normalised" % label)
    t.eq((form["traits"].get("first_name"), form["traits"].get("last_name")),
         ("Ada", "Lovelace"), "%s: name split" % label)
    t.eq(form.get("context", {}).get("ip"), "127.0.0.1",
         "%s: context.ip is the client's (REMOTE_ADDR passed)" % label)
    t.eq(form.get("context", {}).get("userAgent"), "server-test/1.0",
         "%s: context.userAgent (HTTP_USER_AGENT passed)" % label)
    t.eq(js.get("messageId"), message_id,
         "%s: the messageId the reply named" % label)
    t.eq(js.get("traits", {}).get("postal_code"), "02134",
         "%s: zip code kept as a string, as postal_code" % label)
    auth = [q["headers"].get("authorization")
            for q in site.standin.requests() if q["path"] == "/v1/batch"]
    t.ok(auth and all(a == basic_auth(API_KEY) for a in auth),
         "%s: Basic auth with the key" % label, auth)


def reachable(prog, account):
    """True when account can run prog (it cannot when the build directory
    is private, e.g. under /root)."""
    try:
        return subprocess.run([prog, "--help"], capture_output=True,
                              preexec_fn=_become(account),
                              timeout=30).returncode == 0
    except OSError:
        return False


def run(t, site, body):
    """Run body(); an exception is a failed test with its traceback.
    Then close the site and print the plan."""
    try:
        body()
    except Exception:  # noqa: BLE001 - reported as a failure
        t.ok(False, "test ran to the end", traceback.format_exc())
    site.close()
    t.done()


# ---- Apache httpd ----

APACHE_MODULE_DIRS = ("/usr/lib/apache2/modules", "/usr/lib64/httpd/modules",
                      "/usr/lib/httpd/modules", "/usr/libexec/apache2")


def apache_program():
    return find_program("apache2", "httpd")


def apache_module(name):
    """The path of mod_<name>.so, or None."""
    for d in APACHE_MODULE_DIRS:
        path = os.path.join(d, "mod_%s.so" % name)
        if os.path.exists(path):
            return path
    return None


def apache_conf(site, port, account, modules, snippet, extra=""):
    """A minimal httpd.conf loading only `modules` (names without mod_),
    listening on 127.0.0.1:port, with the contrib snippet included: what
    a distribution's apache2.conf provides, nothing more."""
    root = site.mkdir("apache")
    logs = site.mkdir("apache/log", owned=True)
    loads = "".join("LoadModule %s_module %s\n" % (m, apache_module(m))
                    for m in modules)
    user = ""
    if account:
        user = "User %s\nGroup %s\n" % (account[2], account[3])
    snippet_path = site.write("apache/formrelay.conf", snippet)
    return site.write("apache/httpd.conf", """
ServerRoot "%(root)s"
ServerName 127.0.0.1
Listen 127.0.0.1:%(port)d
PidFile "%(root)s/httpd.pid"
DefaultRuntimeDir "%(root)s"
Mutex file:%(root)s default
ErrorLog "%(logs)s/error.log"
LogLevel info
%(loads)s%(user)s
StartServers 1
MinSpareServers 1
MaxSpareServers 2
Timeout 30
DocumentRoot "%(www)s"
<Directory />
	AllowOverride None
	Require all denied
</Directory>
%(extra)s
Include "%(snippet)s"
""" % {"root": root, "port": port, "logs": logs, "loads": loads,
       "user": user, "www": os.path.join(SRCDIR, "www"), "extra": extra,
       "snippet": snippet_path})


def apache_start(site, conf, port):
    """apache2 -D FOREGROUND -f conf; waits for the port."""
    p = site.start([apache_program(), "-D", "FOREGROUND", "-f", conf],
                   "apache/stderr.log")
    wait_port(p, port, "apache", site)
    return p


def apache_skip(t, modules):
    """Skip the whole test when httpd or one of the modules is missing."""
    if not apache_program():
        t.skip_all("Apache httpd (apache2) is not installed")
    missing = [m for m in modules if not apache_module(m)]
    if missing:
        t.skip_all("Apache module(s) not installed: " + ", ".join(missing))


# ---- nginx ----

def nginx_program():
    return find_program("nginx")


def fastcgi_params_file(nginx):
    """The fastcgi_params that came with nginx (its conf directory)."""
    out = subprocess.run([nginx, "-V"], capture_output=True, text=True)
    m = re.search(r"--conf-path=(\S+)", out.stderr + out.stdout)
    dirs = [os.path.dirname(m.group(1))] if m else []
    for d in dirs + ["/etc/nginx", "/usr/local/etc/nginx"]:
        path = os.path.join(d, "fastcgi_params")
        if os.path.exists(path):
            return path
    return None


def nginx_start(site, name, port, account, snippet, http_extra=""):
    """nginx -p PREFIX -c conf -g 'daemon off;' on 127.0.0.1:port with the
    contrib snippet inside its server { } block, as a site's file has it;
    http_extra goes in the http { } block (an upstream, say)."""
    nginx = nginx_program()
    prefix = site.mkdir(name)
    params = fastcgi_params_file(nginx)
    if params is None:
        raise RuntimeError("nginx's fastcgi_params file is not installed")
    shutil.copy(params, os.path.join(prefix, "fastcgi_params"))
    site.write(os.path.join(name, "formrelay.conf"), snippet)
    user = "user %s %s;\n" % (account[2], account[3]) if account else ""
    conf = site.write(os.path.join(name, "nginx.conf"), """
%(user)spid %(p)s/nginx.pid;
error_log %(p)s/error.log info;
worker_processes 1;
events { worker_connections 64; }
http {
	access_log %(p)s/access.log;
	client_body_temp_path %(p)s/client_body;
	fastcgi_temp_path %(p)s/fastcgi;
	proxy_temp_path %(p)s/proxy;
	uwsgi_temp_path %(p)s/uwsgi;
	scgi_temp_path %(p)s/scgi;
%(extra)s
	server {
		listen 127.0.0.1:%(port)d;
		server_name localhost;
		root %(www)s;
		include formrelay.conf;
	}
}
""" % {"user": user, "p": prefix, "port": port, "extra": http_extra,
       "www": os.path.join(SRCDIR, "www")})
    p = site.start([nginx, "-e", os.path.join(prefix, "error.log"),
                    "-p", prefix + "/", "-c", conf, "-g", "daemon off;"],
                   os.path.join(name, "stderr.log"))
    wait_port(p, port, "nginx", site)
    return p
