"""contrib/spawn-fcgi/formrelay-spawn-fcgi, run for real: spawn-fcgi
creates the socket (owned by the web server's account, 0660), drops to
formrelay's account and execs formrelay on it; lighttpd in front talks
FastCGI to that socket and a form reaches the stand-in."""

import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402
from servers import (CONTRIB, SRCDIR, Site, Tap,  # noqa: E402
                     expect_delivered, free_port, submit)


def start_spawn_fcgi(site, account, sock_path):
    env = {"PATH": servers.SBIN_PATH, "FORMRELAY_BIN": site.bin,
           "FORMRELAY_CONFIG": site.conf, "FORMRELAY_SOCKET": sock_path,
           "FORMRELAY_THREADS": "2"}
    if account:
        env.update(FORMRELAY_USER=account[2], FORMRELAY_GROUP=account[3],
                   FORMRELAY_SOCKET_USER=account[2],
                   FORMRELAY_SOCKET_GROUP=account[3])
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    script = os.path.join(CONTRIB, "spawn-fcgi", "formrelay-spawn-fcgi")
    p = site.start(["/bin/sh", script], "spawn-fcgi.log", env=env)
    # sh execs spawn-fcgi, which sets the socket up and execs formrelay:
    # the same pid, done once it is formrelay.
    servers.wait_until(lambda: p.poll() is not None or exe(p.pid) == os.path.realpath(site.bin),
                       20, "spawn-fcgi to exec formrelay")
    if p.poll() is not None:
        raise RuntimeError("spawn-fcgi exited with %s\n%s" %
                           (p.returncode, site.logs()))
    return p


def exe(pid):
    try:
        return os.path.realpath("/proc/%d/exe" % pid)
    except OSError:
        return None


def front(site, port, account, sock_path):
    user = ""
    if account:
        user = 'server.username = "%s"\nserver.groupname = "%s"\n' % (
            account[2], account[3])
    conf = site.write("lighttpd.conf", """
server.document-root = "%(www)s"
server.bind = "127.0.0.1"
server.port = %(port)d
server.errorlog = "%(log)s/lighttpd-error.log"
%(user)s
server.modules += ("mod_fastcgi")
fastcgi.server += ("/formrelay" => ((
	"socket" => "%(sock)s",
	"check-local" => "disable",
)))
""" % {"www": os.path.join(SRCDIR, "www"), "port": port, "user": user,
       "log": site.mkdir("log", owned=True), "sock": sock_path})
    lighttpd = os.environ.get("LIGHTTPD") or servers.find_program("lighttpd")
    p = site.start([lighttpd, "-D", "-f", conf], "lighttpd.log")
    servers.wait_port(p, port, "lighttpd", site)
    return p


def main():
    t = Tap()
    if not servers.find_program("spawn-fcgi"):
        t.skip_all("spawn-fcgi is not installed")
    if not (os.environ.get("LIGHTTPD") or servers.find_program("lighttpd")):
        t.skip_all("lighttpd (the web server in front) is not installed")
    account = servers.worker_account()
    site = Site(t, "spawn-fcgi", owner=account)

    def body():
        sock_path = os.path.join(site.mkdir("run"), "formrelay.sock")
        relay = start_spawn_fcgi(site, account, sock_path)
        st = os.stat(sock_path)
        t.eq(stat.S_IMODE(st.st_mode), 0o660, "the socket is mode 0660")
        if account:
            t.eq((st.st_uid, st.st_gid), (account[0], account[1]),
                 "the socket belongs to the web server's account")
        port = free_port()
        web = front(site, port, account, sock_path)
        ids, mid = submit(t, port, "spawn-fcgi")
        expect_delivered(t, site, "spawn-fcgi", ids, mid)
        if account:
            with open("/proc/%d/status" % relay.pid) as f:
                uid = [line.split()[1] for line in f
                       if line.startswith("Uid:")][0]
            t.eq(int(uid), account[0], "formrelay runs as FORMRELAY_USER, "
                 "not root")
        servers.wait_no_clients(port)
        t.eq(site.stop(web), 0, "lighttpd stops on SIGTERM")
        t.eq(site.stop(relay), 0, "formrelay (spawn-fcgi -n execs it) stops "
             "on SIGTERM, exit 0")

    servers.run(t, site, body)


main()
