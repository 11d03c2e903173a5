"""contrib/apache/formrelay-proxy-fcgi.conf under a real Apache httpd,
forwarding to formrelay run the two ways the file names, each as
contrib/systemd/ runs it: formrelay-listen.service (formrelay --listen
on loopback; the file's active line), then formrelay.socket with
formrelay.service (the file's Unix socket line).  Forms reach the
stand-in both ways."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402
from servers import (INSTALLED_BIN, INSTALLED_CONF, Site, Tap,  # noqa: E402
                     expect_delivered, free_port, submit)

MODULES = ["mpm_prefork", "authz_core", "proxy", "proxy_fcgi"]
TCP_LINE = 'ProxyPass "/formrelay" "fcgi://127.0.0.1:9000/formrelay"'
UNIX_LINE = ('#ProxyPass "/formrelay" '
             '"unix:/run/formrelay.sock|fcgi://localhost/formrelay"')


def run_apache(t, site, account, snippet, label):
    port = free_port()
    conf = servers.apache_conf(site, port, account, MODULES, snippet)
    p = servers.apache_start(site, conf, port)
    site.standin.reset()
    ids, mid = submit(t, port, label)
    expect_delivered(t, site, label, ids, mid)
    t.eq(site.stop(p), 0, "%s: Apache stops on SIGTERM" % label)


def check_listener(t, site, account):
    relay, listen = servers.run_listen_unit(site, "formrelay-listen.log")
    snippet = servers.template("apache/formrelay-proxy-fcgi.conf", {
        TCP_LINE: TCP_LINE.replace("127.0.0.1:9000", listen)})
    run_apache(t, site, account, snippet, "apache-proxy-fcgi")
    t.eq(site.stop(relay), 0, "formrelay --listen stops on SIGTERM, exit 0")


def check_socket(t, site, account):
    sock_path = os.path.join(site.mkdir("run"), "formrelay.sock")
    sock = servers.listen_socket(servers.read_unit(
        "systemd/formrelay.socket", {"/run/formrelay.sock": sock_path}))
    try:
        service = servers.read_unit("systemd/formrelay.service", {
            INSTALLED_BIN: site.bin, INSTALLED_CONF: site.conf})
        relay = servers.run_unit(site, service, "formrelay-service.log",
                                 sock)
        # An operator's edit: the Unix socket line instead of the TCP one.
        snippet = servers.template("apache/formrelay-proxy-fcgi.conf", {
            UNIX_LINE: UNIX_LINE[1:].replace("/run/formrelay.sock",
                                             sock_path),
            TCP_LINE: "#" + TCP_LINE})
        run_apache(t, site, account, snippet, "apache-proxy-fcgi+socket")
        t.eq(site.stop(relay), 0, "formrelay.service stops on SIGTERM, "
             "exit 0")
    finally:
        sock.close()


def main():
    t = Tap()
    servers.apache_skip(t, MODULES)
    account = servers.worker_account()
    site = Site(t, "apache-proxy-fcgi", owner=account)

    def body():
        check_listener(t, site, account)
        check_socket(t, site, account)
        rc, out = site.admin("status", "--json")
        t.ok(rc == 0 and '"pending":0' in out.replace(" ", ""),
             "nothing left pending in the spool", out)

    servers.run(t, site, body)


main()
