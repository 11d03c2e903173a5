"""contrib/apache/formrelay-cgi.conf under a real Apache httpd (mod_cgi):
each request runs formrelay as a CGI program, which stores and answers
but does not deliver.  Delivery then comes from the two ways
contrib/systemd/ ships for CGI deployments, each run as systemd would
run it: formrelay-flush.service (one `formrelay flush`, from the timer)
and formrelay-deliver.service (formrelay-deliver running on)."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402
from servers import (INSTALLED_BIN, INSTALLED_CONF,  # noqa: E402
                     INSTALLED_DELIVER, Site, Tap, expect_delivered,
                     free_port, submit)

MODULES = ["mpm_prefork", "authz_core", "alias", "env", "cgi"]


def pending(site, account):
    rc, out = site.admin("status", "--json", user=account)
    try:
        return json.loads(out).get("pending")
    except ValueError:
        return "status failed (%d): %s" % (rc, out)


def check_flush_service(t, site, account, ids, mid):
    unit = servers.read_unit("systemd/formrelay-flush.service", {
        INSTALLED_BIN: site.bin, INSTALLED_CONF: site.conf})
    ok_codes = [0] + [int(c) for c in servers.unit_value(
        unit, "Service", "SuccessExitStatus", "").split()]
    p = subprocess.run(servers.exec_start(unit), capture_output=True,
                       text=True, timeout=60,
                       preexec_fn=servers._become(servers.unit_account(unit)))
    t.ok(p.returncode in ok_codes, "formrelay-flush.service: exit %d is a "
         "success" % p.returncode, p.stdout + p.stderr)
    t.ok("delivered 2," in p.stdout, "flush delivered both submissions",
         p.stdout + p.stderr)
    expect_delivered(t, site, "apache-cgi + flush", ids, mid, timeout=5)
    t.eq(pending(site, account), 0, "nothing pending after the flush")


def check_deliver_service(t, site, port):
    unit = servers.read_unit("systemd/formrelay-deliver.service", {
        INSTALLED_DELIVER: site.deliver_bin, INSTALLED_CONF: site.conf})
    d = servers.run_unit(site, unit, "formrelay-deliver.log")
    site.standin.reset()
    ids, mid = submit(t, port, "apache-cgi-2")
    expect_delivered(t, site, "apache-cgi + formrelay-deliver.service",
                     ids, mid)
    t.eq(site.stop(d), 0, "formrelay-deliver stops on SIGTERM, exit 0")


def main():
    t = Tap()
    servers.apache_skip(t, MODULES)
    account = servers.worker_account()
    site = Site(t, "apache-cgi", owner=account)

    def body():
        port = free_port()
        snippet = servers.template("apache/formrelay-cgi.conf", {
            INSTALLED_BIN: site.bin, INSTALLED_CONF: site.conf})
        conf = servers.apache_conf(site, port, account, MODULES, snippet)
        p = servers.apache_start(site, conf, port)
        ids, mid = submit(t, port, "apache-cgi")
        t.eq(pending(site, account), 2,
             "both CGI submissions stored, waiting for delivery")
        t.eq(site.standin.messages(), [],
             "a CGI run delivers nothing itself")
        check_flush_service(t, site, account, ids, mid)
        check_deliver_service(t, site, port)
        t.eq(site.stop(p), 0, "Apache stops on SIGTERM")

    servers.run(t, site, body)


main()
