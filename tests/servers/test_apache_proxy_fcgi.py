"""contrib/apache/formrelay-proxy-fcgi.conf under a real Apache httpd,
forwarding to formrelay run as contrib/systemd/formrelay-listen.service
runs it (formrelay --listen on loopback); a form reaches the stand-in."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402
from servers import (INSTALLED_BIN, INSTALLED_CONF, Site, Tap,  # noqa: E402
                     expect_delivered, free_port, submit)

MODULES = ["mpm_prefork", "authz_core", "proxy", "proxy_fcgi"]


def main():
    t = Tap()
    servers.apache_skip(t, MODULES)
    account = servers.worker_account()
    site = Site(t, "apache-proxy-fcgi", owner=account)

    def body():
        fcgi_port, port = free_port(), free_port()
        listen = "127.0.0.1:%d" % fcgi_port
        unit = servers.read_unit("systemd/formrelay-listen.service", {
            INSTALLED_BIN: site.bin, INSTALLED_CONF: site.conf,
            "127.0.0.1:9000": listen})
        relay = servers.run_unit(site, unit, "formrelay-listen.log")
        servers.wait_port(relay, fcgi_port, "formrelay --listen", site)
        snippet = servers.template("apache/formrelay-proxy-fcgi.conf", {
            "fcgi://127.0.0.1:9000/": "fcgi://%s/" % listen})
        conf = servers.apache_conf(site, port, account, MODULES, snippet)
        p = servers.apache_start(site, conf, port)
        ids, mid = submit(t, port, "apache-proxy-fcgi")
        expect_delivered(t, site, "apache-proxy-fcgi", ids, mid)
        t.eq(site.stop(p), 0, "Apache stops on SIGTERM")
        t.eq(site.stop(relay), 0, "formrelay --listen stops on SIGTERM, "
             "exit 0")
        rc, out = site.admin("status", "--json")
        t.ok(rc == 0 and '"pending":0' in out.replace(" ", ""),
             "nothing left pending in the spool", out)

    servers.run(t, site, body)


main()
