"""contrib/apache/formrelay-cgi.conf under a real Apache httpd (mod_cgi):
each request runs formrelay as a CGI program, which stores and answers,
and once the reply is out a detached formrelay-deliver --flush delivers
what is due (issue 21): delivered within seconds with no timer, without
delaying the reply or holding Apache's pipes.  The ways contrib/systemd/
ships for CGI deployments stay the backstop, each run as systemd would
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
                     free_port, post_json, submit, wait_until)

MODULES = ["mpm_prefork", "authz_core", "alias", "env", "cgi"]


def pending(site, account):
    rc, out = site.admin("status", "--json", user=account)
    try:
        return json.loads(out).get("pending")
    except ValueError:
        return "status failed (%d): %s" % (rc, out)


def queued(site, account):
    rc, out = site.admin("status", "--json", user=account)
    try:
        st = json.loads(out)
        return st.get("pending", 0) + st.get("inflight", 0)
    except ValueError:
        return "status failed (%d): %s" % (rc, out)


def check_at_once(t, site, port):
    """Delivered with no timer and no service running."""
    ids, mid = submit(t, port, "apache-cgi")
    expect_delivered(t, site, "apache-cgi, no timer", ids, mid, timeout=20)


def check_reply_first(t, site, port, account):
    """The reply does not wait for delivery: Customer.io (the stand-in)
    answers only after 15 s, and the reply is there while the event is
    still in the spool; had the CGI run (or a process holding Apache's
    pipes) waited for delivery, the event would be gone by then."""
    site.standin.reset()
    site.standin.script({"default": {"status": 200, "delay_ms": 15000}})
    r = post_json(port, {"entryId": "apache-cgi-slow",
                         "email": "slow@example.com"})
    left = queued(site, account)
    t.eq(r.status, 202, "slow Customer.io: the JSON post is answered 202")
    t.eq(left, 1, "answered while its delivery is still under way")
    wait_until(lambda: queued(site, account) == 0, 60,
               "the slow delivery to finish")
    t.ok(any(m.get("userId") == "apache-cgi-slow"
             for m in site.standin.messages()),
         "then delivered, by the detached flush")
    site.standin.script({"default": {"status": 200}})


def check_flush_service(t, site, port, account):
    """The timer's flush: the backstop for a delivery that failed."""
    site.standin.reset()
    site.standin.script({"responses": [{"status": 503, "count": 1}]})
    r = post_json(port, {"entryId": "apache-cgi-503",
                         "email": "retry@example.com"})
    t.eq(r.status, 202, "stored while Customer.io answers 503")
    wait_until(lambda: len(site.standin.requests()) >= 1, 20,
               "the detached flush's attempt")
    wait_until(lambda: queued(site, account) == 1, 20,
               "the event back to pending for a retry")
    unit = servers.read_unit("systemd/formrelay-flush.service", {
        INSTALLED_BIN: site.bin, INSTALLED_CONF: site.conf})
    ok_codes = [0] + [int(c) for c in servers.unit_value(
        unit, "Service", "SuccessExitStatus", "").split()]
    runs = []
    wait_until(lambda: runs.append(run_flush(unit)) or
               runs[-1][1].startswith("delivered 1,"), 30,
               "formrelay-flush.service to deliver the retry")
    rc, out = runs[-1]
    t.ok(rc in ok_codes, "formrelay-flush.service: exit %d is a success" %
         rc, out)
    t.ok(any(m.get("userId") == "apache-cgi-503"
             for m in site.standin.messages()),
         "the timer's flush delivered what the CGI's could not", out)
    t.eq(pending(site, account), 0, "nothing pending after the flush")


def run_flush(unit):
    """formrelay-flush.service once: (exit status, output)."""
    p = subprocess.run(servers.exec_start(unit), capture_output=True,
                       text=True, timeout=60,
                       preexec_fn=servers._become(servers.unit_account(unit)))
    return p.returncode, p.stdout + p.stderr


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
    site = Site(t, "apache-cgi", owner=account,
                conf_extra={"customerio": {"timeout_ms": "30000"}})

    def body():
        port = free_port()
        snippet = servers.template("apache/formrelay-cgi.conf", {
            INSTALLED_BIN: site.bin, INSTALLED_CONF: site.conf})
        conf = servers.apache_conf(site, port, account, MODULES, snippet)
        p = servers.apache_start(site, conf, port)
        check_at_once(t, site, port)
        check_reply_first(t, site, port, account)
        check_flush_service(t, site, port, account)
        check_deliver_service(t, site, port)
        t.eq(site.stop(p), 0, "Apache stops on SIGTERM")

    servers.run(t, site, body)


main()
