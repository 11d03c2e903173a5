"""The PostgreSQL spool (issue 22) against a real PostgreSQL started
for the test (tests/pgcluster.py): configuration and --check-config,
`formrelay migrate`, submissions stored and delivered with their
messageIds, de-duplication through the database, dead letters and the
admin commands, /healthz and /metrics, and a database that goes away:
503 meanwhile, never a 2xx for a row not committed, and back once it
returns."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import pgcluster  # noqa: E402
from harness import BIN, Env, Tap, ok_when, wait_until  # noqa: E402

SECRET = "whsec_" + base64.b64encode(b"formrelay-pg-secret-32-bytes!!!!").decode()


def webhook(env, msg_id, body):
    """A Standard Webhooks post signed with SECRET."""
    body = json.dumps(body).encode()
    ts = str(int(time.time()))
    key = base64.b64decode(SECRET[len("whsec_"):])
    mac = hmac.new(key, ("%s.%s." % (msg_id, ts)).encode() + body,
                   hashlib.sha256).digest()
    h = {"Content-Type": "application/json", "webhook-id": msg_id,
         "webhook-timestamp": ts,
         "webhook-signature": "v1," + base64.b64encode(mac).decode()}
    return env.relay.request("POST", "/formrelay", body, h)


def pg_conf(cluster, **extra):
    spool = {"backend": "postgresql", "url": cluster.url(),
             "password_file": cluster.password_file()}
    spool.update(extra)
    return {"spool": spool}


def rows(cluster, sql):
    return cluster.psql(sql)


def check_config(t, env, cluster):
    rc, out = env.relay.admin("--check-config")
    t.eq(rc, 0, "--check-config: 0 with a reachable database")
    t.ok("spool.backend = postgresql" in out, "it prints the backend", out)
    t.ok(pgcluster.PASSWORD not in out, "and never the password", out)
    # the same file with a wrong password: says what is wrong
    bad = os.path.join(env.tmp, "bad-password")
    with open(bad, "w") as f:
        f.write("wrong\n")
    os.chmod(bad, 0o600)
    conf = os.path.join(env.tmp, "bad.conf")
    with open(env.relay.conf) as f:
        text = f.read().replace(cluster.password_file(), bad)
    with open(conf, "w") as f:
        f.write(text)
    p = subprocess.run([BIN, "-c", conf, "--check-config"],
                       capture_output=True, text=True, timeout=60)
    t.ok(p.returncode != 0, "--check-config with a wrong password fails",
         p.stdout + p.stderr)
    t.ok("password authentication failed" in p.stderr,
         "and says why", p.stderr)
    t.ok("wrong" not in p.stdout + p.stderr, "without printing it")
    # url given with the default backend: a configuration error
    with open(conf, "w") as f:
        f.write(text.replace("backend = postgresql", "backend = sqlite"))
    p = subprocess.run([BIN, "-c", conf, "--check-config"],
                       capture_output=True, text=True, timeout=60)
    t.ok(p.returncode != 0 and "spool.url" in p.stderr,
         "url without backend = postgresql is refused", p.stderr)


def mapped(pid):
    """The files process pid maps: {base name: path}."""
    with open("/proc/%d/maps" % pid) as f:
        return {os.path.basename(line.split()[-1]): line.split()[-1]
                for line in f if "/" in line}


def check_module(t, env):
    """libpq lives in formrelay-pg.so, loaded only for a PostgreSQL
    spool; a module that is missing or not formrelay's is named."""
    pids = env.relay.fastcgi_pids()
    maps = mapped(pids[0]) if pids else {}
    t.ok("formrelay-pg.so" in maps and
         any(m.startswith("libpq.so") for m in maps),
         "a PostgreSQL spool's process maps formrelay-pg.so and libpq",
         sorted(maps))
    other = Env(t)
    try:
        r = other.relay.post_json({"email": "lite@x.example",
                                   "entryId": "lite-1"})
        t.eq(r.status, 202, "a SQLite spool's submission: 202")
        pids = other.relay.fastcgi_pids()
        maps = mapped(pids[0]) if pids else {"(no process)": ""}
        t.ok(not any(m.startswith(("libpq.", "formrelay-pg"))
                     for m in maps),
             "a SQLite spool's process maps neither", sorted(maps))
    finally:
        other.close()
    libpq = next(path for name, path in
                 mapped(env.relay.fastcgi_pids()[0]).items()
                 if name.startswith("libpq."))
    for name, content, why in (
            ("empty", None, "the PostgreSQL spool cannot be loaded"),
            ("libpq", libpq, "is not formrelay's PostgreSQL module")):
        d = os.path.join(env.tmp, "module-" + name)
        os.mkdir(d)
        subprocess.run(["cp", BIN, d], check=True)
        module = os.path.join(d, "formrelay-pg.so")
        if content is None:
            open(module, "w").close()
        else:
            subprocess.run(["cp", content, module], check=True)
        p = subprocess.run([os.path.join(d, os.path.basename(BIN)), "-c",
                            env.relay.conf, "--check-config"],
                           capture_output=True, text=True, timeout=60)
        t.ok(p.returncode != 0 and why in p.stderr and module in p.stderr,
             "a module that is %s: --check-config fails and names it"
             % name, p.stderr)


def check_migrate(t, env, cluster):
    rc, out = env.relay.admin("migrate")
    t.eq(rc, 0, "formrelay migrate: 0")
    t.ok("schema version 2" in out, "it names the version", out)
    t.eq(rows(cluster, "SELECT max(version) FROM formrelay_schema"),
         [["2"]], "the database records version 2")
    cluster.psql("UPDATE formrelay_schema SET version = 99")
    rc, out = env.relay.admin("status")
    t.ok(rc != 0 and "newer than this formrelay" in out,
         "a newer schema is refused", out)
    # a database of version 1 (before previews) is brought to 2
    cluster.psql("DROP TABLE previews")
    cluster.psql("UPDATE formrelay_schema SET version = 1")
    rc, out = env.relay.admin("migrate")
    t.ok(rc == 0 and "schema version 2" in out,
         "formrelay migrate: version 1 -> 2", out)
    t.eq(rows(cluster, "SELECT to_regclass('previews') IS NOT NULL"),
         [["t"]], "the previews table is there")


def check_delivery(t, env, cluster):
    ids = []
    for i in range(20):
        r = env.relay.post_json({"email": "pg%d@x.example" % i,
                                 "entryId": "pg-%d" % i})
        t.ok(r.status == 202, "submission %d: 202" % i, r.body)
        ids.append(r.json().get("id"))
    ok_when(t, lambda: set(ids) <= {m["messageId"]
                                    for m in env.standin.messages()},
            60, "every acknowledged submission delivered, same messageId")
    ok_when(t, lambda: rows(cluster, "SELECT count(*) FROM events")
            == [["0"]], 30, "the events table is empty once acknowledged")


def check_dedup(t, env, cluster):
    body = {"userData": {"entryId": "emb-pg", "email": "w@x.example"}}
    r = webhook(env, "msg_pg_1", body)
    t.eq(r.status, 202, "signed webhook: 202")
    first = r.json().get("id")
    r = webhook(env, "msg_pg_1", body)
    t.eq(r.status, 202, "the same webhook-id again: 202")
    t.eq(r.json().get("duplicate"), True, "marked duplicate")
    t.eq(r.json().get("id"), first, "with the first messageId")
    t.eq(rows(cluster, "SELECT message_id FROM dedup"
                       " WHERE key = 'webhook:msg_pg_1'"), [[first]],
         "the key is in the database's dedup table")
    wait_until(lambda: first in [m["messageId"]
                                 for m in env.standin.messages()],
               30, "webhook delivered")
    t.eq([m["messageId"] for m in env.standin.messages()].count(first), 1,
         "delivered once")


def check_dead_letters(t, env, cluster):
    env.standin.script({"responses": [{"status": 400}]})
    r = env.relay.post_json({"email": "dead@x.example", "entryId": "dead"})
    t.eq(r.status, 202, "a submission Customer.io will refuse: 202")

    def dead():
        st = env.relay.status() or {}
        return st.get("dead", 0) >= 1
    wait_until(dead, 60, "a dead letter")
    rc, out = env.relay.admin("dead", "--json")
    t.eq(rc, 0, "formrelay dead: 0")
    listed = json.loads(out)
    t.ok(any(d.get("status") == 400 for d in listed.get("dead", listed)
             if isinstance(d, dict)), "the dead letter is listed", out)
    rc, out = env.relay.admin("requeue", "all")
    t.eq(rc, 0, "requeue all: 0")
    ok_when(t, lambda: rows(cluster, "SELECT count(*) FROM events")
            == [["0"]], 60, "requeued and delivered")


def check_dry_run(t, cluster):
    """dry_run keeps each call as a preview in the database, as with
    SQLite: list, show and status see it; nothing goes upstream.  A
    database of its own: the delivering stack would take its events."""
    cluster.psql("CREATE DATABASE formrelay_dry OWNER formrelay")
    conf = pg_conf(cluster)
    conf["spool"]["url"] = "postgresql://formrelay@127.0.0.1:%d/%s" % (
        cluster.port, "formrelay_dry")
    env = Env(t, conf_extra=conf, dry_run=True)
    try:
        r = env.relay.post_json({"email": "Dry@X.example",
                                 "entryId": "pg-dry-1"},
                                headers={"Accept": "application/json"})
        reply = r.json() if r.status == 202 else {}
        t.ok(reply.get("dry_run") is True and "preview" in reply,
             "dry run: 202 with a preview", r.body)
        ok_when(t, lambda: (env.relay.status() or {}).get("previewed")
                == 1, 60, "status counts the preview",
                lambda: env.relay.log()[-3000:])
        rc, out = env.relay.admin("list", "--json")
        listed = json.loads(out).get("previewed", []) if rc == 0 else []
        t.ok(len(listed) == 1 and
             listed[0]["messageId"] == reply.get("id") and
             listed[0]["call"] == reply["preview"]["batch"][0],
             "list --json: the preview, with its call", out[:2000])
        rc, shown = env.relay.admin("show", reply.get("id", "-"))
        t.ok(rc == 0 and json.loads(shown.split("\n")[0]) ==
             reply.get("preview"), "show MESSAGE-ID prints the batch body",
             shown)
        rc, text = env.relay.admin("show", "no-such-call")
        t.ok(rc == 1 and "no call with id or messageId" in text,
             "show of an unknown id: exit 1, named", text)
        t.eq(cluster.psql("SELECT count(*) FROM events",
                          db="formrelay_dry"), [["0"]],
             "the call left the queue")
        t.eq(env.standin.requests(), [], "nothing went to Customer.io")
    finally:
        env.close()


def check_observability(t, env):
    r = env.relay.request("GET", "/formrelay/healthz")
    t.eq(r.status, 200, "/healthz: 200 with the database up")
    r = env.relay.request("GET", "/formrelay/metrics")
    t.ok(r.status in (200, 403), "/metrics answers", r.status)


def check_outage(t, env, cluster):
    cluster.stop("immediate")
    r = env.relay.post_json({"email": "down@x.example", "entryId": "down"})
    t.eq(r.status, 503, "database down: 503")
    r = env.relay.request("GET", "/formrelay/healthz")
    t.eq(r.status, 503, "database down: /healthz 503")
    cluster.start()

    def back():
        return env.relay.post_json({"email": "up@x.example",
                                    "entryId": "up"}).status == 202
    ok_when(t, back, 60, "database back: submissions stored again")
    t.eq(rows(cluster, "SELECT count(*) FROM dedup WHERE key LIKE 'msg:%'"
              " AND false"), [["0"]], "the database answers")
    wait_until(lambda: "up" in [m.get("userId") for m in
                                env.standin.messages()], 60,
               "the one after the outage delivered")
    t.ok("down" not in [m.get("userId") for m in env.standin.messages()],
         "the one answered 503 was not delivered")


def main():
    t = Tap()
    if not pgcluster.available():
        t.skip_all("no PostgreSQL server (initdb): install postgresql")
    cluster = pgcluster.Cluster()
    env = None
    try:
        env = Env(t, conf_extra=pg_conf(cluster), secret=SECRET)
        check_config(t, env, cluster)
        check_module(t, env)
        check_migrate(t, env, cluster)
        check_delivery(t, env, cluster)
        check_dedup(t, env, cluster)
        check_dead_letters(t, env, cluster)
        check_observability(t, env)
        check_dry_run(t, cluster)
        check_outage(t, env, cluster)
        log = env.relay.log()
        t.ok(pgcluster.PASSWORD not in log, "the password is in no log")
    finally:
        if env:
            env.close()
        cluster.close()
    t.done()


if __name__ == "__main__":
    main()
