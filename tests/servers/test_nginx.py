"""contrib/nginx/formrelay.conf under a real nginx, forwarding to
formrelay run the two ways contrib/systemd/ ships for it, each as
systemd would run it:

1. formrelay.socket + formrelay.service: the socket (mode and group from
   the unit) passed to formrelay (LISTEN_FDS, StandardInput=socket), as
   in the nginx file as shipped.  While formrelay is restarted, a post
   waits in the socket's queue and is answered by the new process.
2. formrelay-listen.service: formrelay --listen on loopback.
"""

import os
import select
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402
from servers import (INSTALLED_BIN, INSTALLED_CONF, Site, Tap,  # noqa: E402
                     expect_delivered, free_port, post_json, submit)

SHIPPED_SOCKET = "/run/formrelay.sock"


def check_socket_activation(t, site, account):
    sock_path = os.path.join(site.mkdir("run"), "formrelay.sock")
    sock_unit = servers.read_unit("systemd/formrelay.socket",
                                  {SHIPPED_SOCKET: sock_path})
    service = servers.read_unit("systemd/formrelay.service", {
        INSTALLED_BIN: site.bin, INSTALLED_CONF: site.conf})
    sock = servers.listen_socket(sock_unit)
    try:
        relay = servers.run_unit(site, service, "formrelay-service.log",
                                 sock)
        port = free_port()
        snippet = servers.template("nginx/formrelay.conf", {
            "unix:" + SHIPPED_SOCKET: "unix:" + sock_path})
        nginx = servers.nginx_start(site, "nginx-socket", port, account,
                                    snippet)
        ids, mid = submit(t, port, "nginx+formrelay.socket")
        expect_delivered(t, site, "nginx+formrelay.socket", ids, mid)
        check_restart(t, site, service, sock, relay, port)
        t.eq(site.stop(nginx), 0, "nginx stops on SIGTERM")
    finally:
        sock.close()


def check_restart(t, site, service, sock, relay, port):
    """systemd keeps the socket while formrelay restarts: a post made
    meanwhile waits in its queue and the new process answers it."""
    t.eq(site.stop(relay), 0, "formrelay.service stops on SIGTERM, exit 0")
    answer = {}

    def post():
        answer["r"] = post_json(port, {"entryId": "during-restart",
                                       "email": "r@example.com"})
    poster = threading.Thread(target=post)
    poster.start()
    # The test holds the listening socket as systemd does: it turns
    # readable when nginx's connection waits in its queue.
    servers.ok_when(t, lambda: select.select([sock], [], [], 0)[0], 30,
                    "the post waits in the socket's queue meanwhile")
    relay = servers.run_unit(site, service, "formrelay-service-2.log", sock)
    poster.join(60)
    r = answer.get("r")
    t.eq(r.status if r else None, 202,
         "a post made while formrelay was down is answered by the restarted "
         "one")
    expect_delivered_one(t, site, "during-restart")
    t.eq(site.stop(relay), 0, "the restarted formrelay stops, exit 0")


def expect_delivered_one(t, site, user_id):
    servers.ok_when(t, lambda: any(m.get("userId") == user_id
                                   for m in site.standin.messages()),
                    30, "%s delivered" % user_id, site.logs)


def check_listener(t, site, account):
    relay, listen = servers.run_listen_unit(site, "formrelay-listen.log")
    port = free_port()
    # The alternative the nginx file names in its comment.
    snippet = servers.template("nginx/formrelay.conf", {
        "fastcgi_pass unix:" + SHIPPED_SOCKET + ";":
            "fastcgi_pass %s;" % listen})
    nginx = servers.nginx_start(site, "nginx-listen", port, account, snippet)
    site.standin.reset()
    ids, mid = submit(t, port, "nginx+formrelay-listen")
    expect_delivered(t, site, "nginx+formrelay-listen", ids, mid)
    t.eq(site.stop(nginx), 0, "nginx stops on SIGTERM")
    t.eq(site.stop(relay), 0, "formrelay --listen stops on SIGTERM, exit 0")


def established_to(port):
    """Open TCP connections whose local end is 127.0.0.1:port (formrelay's
    side of the connections nginx holds), from /proc/net/tcp."""
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    local = "0100007F:%04X" % port
    return sum(1 for r in rows if r[1] == local and r[3] == "01")


def check_keep_conn(t, site, account):
    """nginx keeping its FastCGI connections (an upstream with keepalive,
    fastcgi_keep_conn on): each submission on a kept connection is
    answered, and the connection stays open for the next.  A stored
    submission's reply is written by the spool writer thread; a kept
    connection has to go on being read by the thread that serves it."""
    relay, listen = servers.run_listen_unit(site, "formrelay-keep-conn.log")
    fcgi_port, port = int(listen.rsplit(":", 1)[1]), free_port()
    upstream = ("\tupstream formrelay_kept {\n\t\tserver %s;\n"
                "\t\tkeepalive 2;\n\t}\n" % listen)
    # A short read timeout: a post nobody reads fails in 5 s, not 60.
    snippet = servers.template("nginx/formrelay.conf", {
        "fastcgi_pass unix:" + SHIPPED_SOCKET + ";":
            "fastcgi_pass formrelay_kept; fastcgi_keep_conn on;"
            " fastcgi_read_timeout 5s;"})
    nginx = servers.nginx_start(site, "nginx-keep-conn", port, account,
                                snippet, upstream)
    site.standin.reset()
    statuses = []
    for i in range(4):
        r = post_json(port, {"entryId": "kept-%d" % i,
                             "email": "kept%d@example.com" % i})
        statuses.append(r.status)
    t.ok(statuses == [202] * 4,
         "nginx with fastcgi_keep_conn: four posts in a row each 202",
         "statuses: %r\n%s" % (statuses, site.logs()))
    r = servers.http_request(port, "GET", "/formrelay/healthz")
    t.eq(r.status, 200, "nginx with fastcgi_keep_conn: then healthz 200")
    t.ok(established_to(fcgi_port) >= 1,
         "nginx kept its connection to formrelay open between requests")
    for i in range(4):
        expect_delivered_one(t, site, "kept-%d" % i)
    t.eq(site.stop(nginx), 0, "nginx stops on SIGTERM")
    t.eq(site.stop(relay), 0, "formrelay --listen stops on SIGTERM, exit 0")


def main():
    t = Tap()
    if not servers.nginx_program():
        t.skip_all("nginx is not installed")
    account = servers.worker_account()
    site = Site(t, "nginx")

    def body():
        check_socket_activation(t, site, account)
        check_listener(t, site, account)
        check_keep_conn(t, site, account)

    servers.run(t, site, body)


main()
