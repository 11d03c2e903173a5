"""contrib/systemd/: every unit passes `systemd-analyze verify` (unknown
keys, missing units and commands, and the man pages named in
Documentation= are all checked), and formrelay serves a socket handed
over the way systemd's own socket-activate tool hands it (LISTEN_FDS,
fd 3, standard input left alone).  How the shipped units run behind real
web servers is in test_nginx.py and test_apache_*.py."""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402
from servers import (BIN, CONTRIB, DELIVER_BIN, INSTALLED_BIN,  # noqa: E402
                     INSTALLED_DELIVER, SRCDIR, Site, Tap, free_port,
                     post_json)

UNITS = ["formrelay.socket", "formrelay.service", "formrelay-listen.service",
         "formrelay-deliver.service", "formrelay-flush.service",
         "formrelay-flush.timer"]


def check_verify(t, site):
    analyze = servers.find_program("systemd-analyze")
    if not analyze:
        t.ok(True, "# SKIP systemd-analyze is not installed")
        return
    shipped = sorted(f for f in os.listdir(os.path.join(CONTRIB, "systemd")))
    t.eq(shipped, sorted(UNITS), "contrib/systemd holds the units tested "
         "here")
    units = site.mkdir("units")
    for name in UNITS:
        text = servers.template("systemd/" + name, {})
        text = text.replace(INSTALLED_DELIVER, DELIVER_BIN)
        text = text.replace(INSTALLED_BIN, BIN)
        site.write(os.path.join("units", name), text)
    # Documentation=man:formrelay(8) must resolve: the pages as shipped.
    for sec, page in (("8", "formrelay.8"), ("5", "formrelay.conf.5")):
        d = site.mkdir(os.path.join("man", "man" + sec))
        shutil.copy(os.path.join(SRCDIR, "man", page), d)
    env = dict(os.environ, MANPATH=site.path("man") + ":",
               SYSTEMD_LOG_COLOR="0")
    for name in UNITS:
        p = subprocess.run([analyze, "verify", os.path.join(units, name)],
                           capture_output=True, text=True, env=env,
                           timeout=60)
        t.ok(p.returncode == 0 and not p.stderr.strip(),
             "systemd-analyze verify %s: clean" % name,
             "exit %d\n%s%s" % (p.returncode, p.stdout, p.stderr))


def check_socket_activate(t, site):
    """systemd-socket-activate listens, and on the first connection execs
    formrelay with the socket as fd 3 and LISTEN_FDS=1; stdin stays what
    it was (here /dev/null).  lighttpd in front talks FastCGI to it."""
    activate = servers.find_program("systemd-socket-activate")
    lighttpd = os.environ.get("LIGHTTPD") or servers.find_program("lighttpd")
    if not activate or not lighttpd:
        t.ok(True, "# SKIP systemd-socket-activate or lighttpd missing")
        return
    fcgi_port, port = free_port(), free_port()
    relay = site.start([activate, "-l", "127.0.0.1:%d" % fcgi_port,
                        BIN, "-c", site.conf], "socket-activate.log")
    servers.wait_port(relay, fcgi_port, "systemd-socket-activate", site)
    conf = site.write("lighttpd.conf", """
server.document-root = "%(www)s"
server.bind = "127.0.0.1"
server.port = %(port)d
server.errorlog = "%(log)s"
server.modules += ("mod_fastcgi")
fastcgi.server += ("/formrelay" => ((
	"host" => "127.0.0.1", "port" => %(fcgi)d, "check-local" => "disable",
)))
""" % {"www": os.path.join(SRCDIR, "www"), "port": port, "fcgi": fcgi_port,
       "log": site.path("lighttpd-error.log")})
    web = site.start([lighttpd, "-D", "-f", conf], "lighttpd.log")
    servers.wait_port(web, port, "lighttpd", site)
    r = post_json(port, {"entryId": "socket-activate",
                         "email": "sa@example.com"})
    t.ok(r.status == 202, "a post through a socket passed as LISTEN_FDS "
         "only is stored (202)", "status %d: %s" % (r.status, r.body[:200]))
    site.stop(web)
    site.stop(relay)


def main():
    t = Tap()
    site = Site(t, "systemd")

    def body():
        check_verify(t, site)
        check_socket_activate(t, site)

    servers.run(t, site, body)


main()
