"""contrib/lighttpd/formrelay.conf under a real lighttpd: mod_fastcgi
starts formrelay itself (bin-path) and a form reaches the stand-in."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402
from servers import (INSTALLED_BIN, INSTALLED_CONF, SRCDIR, Site,  # noqa: E402
                     Tap, expect_delivered, free_port, submit)


def lighttpd_conf(site, port, account):
    sockdir = site.mkdir("run", owned=True)
    snippet = site.write("formrelay-lighttpd.conf", servers.template(
        "lighttpd/formrelay.conf", {
            INSTALLED_BIN: site.bin,
            "/run/lighttpd/formrelay.sock":
                os.path.join(sockdir, "formrelay.sock"),
            INSTALLED_CONF: site.conf,
        }))
    user = ""
    if account:
        user = 'server.username = "%s"\nserver.groupname = "%s"\n' % (
            account[2], account[3])
    # What a distribution's lighttpd.conf provides; the rest is contrib's.
    return site.write("lighttpd.conf", """
server.document-root = "%(www)s"
server.bind = "127.0.0.1"
server.port = %(port)d
server.errorlog = "%(log)s"
%(user)s
include "%(snippet)s"
""" % {"www": os.path.join(SRCDIR, "www"), "port": port, "user": user,
       "log": os.path.join(site.mkdir("log", owned=True), "lighttpd-error.log"),
       "snippet": snippet})


def main():
    t = Tap()
    lighttpd = os.environ.get("LIGHTTPD") or servers.find_program("lighttpd")
    if not lighttpd:
        t.skip_all("lighttpd is not installed")
    account = servers.worker_account()
    site = Site(t, "lighttpd", owner=account)

    def body():
        port = free_port()
        conf = lighttpd_conf(site, port, account)
        p = site.start([lighttpd, "-D", "-f", conf], "lighttpd.log")
        servers.wait_port(p, port, "lighttpd", site)
        ids, mid = submit(t, port, "lighttpd")
        expect_delivered(t, site, "lighttpd", ids, mid)
        servers.wait_no_clients(port)
        t.eq(site.stop(p), 0, "lighttpd and formrelay stop on SIGTERM")
        rc, out = site.admin("status", "--json", user=account)
        t.ok(rc == 0 and '"pending":0' in out.replace(" ", ""),
             "nothing left pending in the spool", out)

    servers.run(t, site, body)


main()
