"""The PostgreSQL spool's URL is libpq's (issue 22, item 2): what libpq
itself brings works through it, against a real cluster that serves TLS
with a certificate made for the test (tests/pgcluster.py).

- The password from libpq's own password file, with no password_file
  and no password in the URL: PGPASSFILE in the environment
  (--check-config, `formrelay status`, and the FastCGI process and its
  delivery under lighttpd, given it by lighttpd's bin-environment), or
  the URL's passfile= parameter.  Without either, libpq's "no password
  supplied".  The password is printed and logged nowhere.
- TLS: with sslmode=require the server sees formrelay's connections
  (the front's and its delivery's) encrypted in pg_stat_ssl; with the
  server's TLS turned off, --check-config fails with libpq's reason.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import pgcluster  # noqa: E402
from harness import BIN, Env, Tap, ok_when  # noqa: E402

# formrelay's connections, as the server sees them
FORMRELAY_SSL = ("SELECT s.ssl, coalesce(s.version, '') FROM pg_stat_ssl s"
                 " JOIN pg_stat_activity a USING (pid)"
                 " WHERE a.usename = 'formrelay'"
                 " AND a.application_name = 'formrelay'")


def clean_environment(home):
    """No password or connection setting from the caller's environment
    (PGPASSWORD, PGPASSFILE, PGSSLMODE…) and a home without a .pgpass:
    what libpq finds is what the test gives it."""
    for k in list(os.environ):
        if k.startswith("PG") and k != "PG_BINDIR":
            del os.environ[k]
    os.environ["HOME"] = home


def run(conf, *args, env=None):
    """formrelay -c conf ARGS with env added; (status, stdout, stderr)."""
    p = subprocess.run([BIN, "-c", conf] + list(args), capture_output=True,
                       text=True, timeout=60, env=dict(os.environ,
                                                       **(env or {})))
    return p.returncode, p.stdout, p.stderr


def conf_with_url(env, name, url):
    """A copy of the relay's configuration with another spool.url."""
    path = os.path.join(env.tmp, name)
    with open(env.relay.conf) as f:
        lines = [("url = %s\n" % url) if ln.startswith("url =") else ln
                 for ln in f]
    with open(path, "w") as f:
        f.writelines(lines)
    return path


def check_passfile(t, env, cluster, passfile):
    conf = env.relay.conf
    rc, out, err = run(conf, "--check-config")
    t.ok(rc != 0, "no password_file, no PGPASSFILE: --check-config fails",
         out + err)
    t.ok("no password supplied" in err, "with libpq's reason", err)

    rc, out, err = run(conf, "--check-config", env={"PGPASSFILE": passfile})
    t.eq(rc, 0, "the password from PGPASSFILE: --check-config connects")
    t.ok("spool.password_file" not in out and
         "spool.url = " + cluster.url("?sslmode=require") in out,
         "with no password_file and the URL as given", out)
    t.ok(pgcluster.PASSWORD not in out + err, "the password is not printed",
         out + err)

    rc, out, err = run(conf, "status", env={"PGPASSFILE": passfile})
    t.eq(rc, 0, "formrelay status with PGPASSFILE: 0")
    t.ok(pgcluster.PASSWORD not in out + err, "the password is not printed",
         out + err)

    other = conf_with_url(env, "passfile.conf", cluster.url(
        "?sslmode=require&passfile=" + passfile))
    rc, out, err = run(other, "--check-config")
    t.eq(rc, 0, "the URL's passfile= parameter: --check-config connects")
    t.ok(pgcluster.PASSWORD not in out + err, "the password is not printed",
         out + err)


def check_delivery(t, env, cluster):
    ids = []
    for i in range(10):
        r = env.relay.post_json({"email": "pass%d@x.example" % i,
                                 "entryId": "pass-%d" % i})
        t.eq(r.status, 202, "through lighttpd, PGPASSFILE from its "
             "bin-environment: submission %d stored (202)" % i)
        ids.append((r.json() or {}).get("id") if r.status == 202 else None)
    ok_when(t, lambda: set(ids) <= {m["messageId"]
                                    for m in env.standin.messages()},
            60, "and delivered, with the messageIds the 202s named")
    ok_when(t, lambda: cluster.psql("SELECT count(*) FROM events")
            == [["0"]], 30, "the events table is empty once acknowledged")


def check_tls(t, cluster):
    t.eq(cluster.psql("SELECT ssl FROM pg_stat_ssl"
                      " WHERE pid = pg_backend_pid()", sslmode="disable"),
         [["f"]], "pg_stat_ssl shows a connection made without TLS as such")
    # the front's connection (it stored the submissions) and its
    # delivery's (it listens for them) stay open
    seen = []

    def encrypted():
        seen[:] = cluster.psql(FORMRELAY_SSL)
        return len(seen) >= 2 and all(r[0] == "t" for r in seen)
    ok_when(t, encrypted, 30, "sslmode=require: the server sees formrelay's "
            "connections (the front's and its delivery's) encrypted",
            seen)
    print("# formrelay's connections: %r" % seen)


def check_tls_refused(t, env, cluster, passfile):
    cluster.set_ssl(False)
    ok_when(t, lambda: cluster.psql(
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        db="postgres") == [["f"]], 30,
        "the server's TLS turned off (a new connection is not encrypted)")
    rc, out, err = run(env.relay.conf, "--check-config",
                       env={"PGPASSFILE": passfile})
    t.ok(rc != 0, "sslmode=require against a server without TLS: "
         "--check-config fails", out + err)
    t.ok("server does not support SSL, but SSL was required" in err,
         "with libpq's reason", err)
    t.ok(pgcluster.PASSWORD not in out + err, "the password is not printed",
         out + err)


def main():
    t = Tap()
    if not pgcluster.available():
        t.skip_all("no PostgreSQL server (initdb): install postgresql")
    cluster = pgcluster.Cluster(ssl=True)
    env = None
    try:
        home = os.path.join(cluster.top, "home")
        os.mkdir(home)
        clean_environment(home)
        passfile = cluster.write_passfile(os.path.join(home, "pgpass"))
        env = Env(t, conf_extra={"spool": {
            "backend": "postgresql",
            "url": cluster.url("?sslmode=require")}},
            env={"PGPASSFILE": passfile})
        check_passfile(t, env, cluster, passfile)
        check_delivery(t, env, cluster)
        check_tls(t, cluster)
        check_tls_refused(t, env, cluster, passfile)
        log = env.relay.log()
        t.ok(pgcluster.PASSWORD not in log, "the password is in no log")
    finally:
        if env:
            env.close()
        cluster.close()
    t.done()


if __name__ == "__main__":
    main()
