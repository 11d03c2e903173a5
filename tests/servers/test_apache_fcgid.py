"""contrib/apache/formrelay-fcgid.conf under a real Apache httpd:
mod_fcgid starts formrelay itself (as Apache's user) and a form reaches
the stand-in."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402
from servers import (INSTALLED_BIN, INSTALLED_CONF, Site, Tap,  # noqa: E402
                     expect_delivered, free_port, submit)

MODULES = ["mpm_prefork", "authz_core", "alias", "fcgid"]


def main():
    t = Tap()
    servers.apache_skip(t, MODULES)
    account = servers.worker_account()
    site = Site(t, "apache-fcgid", owner=account)

    def body():
        port = free_port()
        snippet = servers.template("apache/formrelay-fcgid.conf", {
            INSTALLED_BIN: site.bin, INSTALLED_CONF: site.conf})
        ipc = site.mkdir("apache/fcgid", owned=True)
        # Debian's fcgid.conf sets these two; they must be writable.
        extra = ('FcgidIPCDir "%s"\nFcgidProcessTableFile "%s/shm"\n' %
                 (ipc, ipc))
        conf = servers.apache_conf(site, port, account, MODULES, snippet,
                                   extra)
        p = servers.apache_start(site, conf, port)
        ids, mid = submit(t, port, "apache-fcgid")
        expect_delivered(t, site, "apache-fcgid", ids, mid)
        t.eq(site.stop(p), 0, "Apache (and its FastCGI processes) stop on "
             "SIGTERM")
        rc, out = site.admin("status", "--json", user=account)
        t.ok(rc == 0 and '"pending":0' in out.replace(" ", ""),
             "nothing left pending in the spool", out)

    servers.run(t, site, body)


main()
