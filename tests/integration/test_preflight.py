"""Mistakes caught before serving (issue 21, item 2): --check-config
reports every error of a file in one run, each with its line; dry_run =
no without a key or with an empty one; a spool directory that is missing
or not writable by the serving user, named.  At start-up the same checks
run: a FastCGI server with an unusable spool does not start, one without
a key stores submissions and sends nothing.  `formrelay status` exits 5
while delivery is paused and says why: "no API key configured" or
"Customer.io refused the API key"."""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, Env, Tap, free_port, wait_until  # noqa: E402

PAUSED = 5  # ADMIN_EXIT_PAUSED, docs/admin.md


def check_config(conf, *extra, env_key=None):
    env = {k: v for k, v in os.environ.items() if k != "FORMRELAY_API_KEY"}
    if env_key is not None:
        env["FORMRELAY_API_KEY"] = env_key
    p = subprocess.run([BIN, "-c", conf, "--check-config"] + list(extra),
                       capture_output=True, text=True, env=env, timeout=30)
    return p.returncode, p.stdout, p.stderr


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def every_error_with_its_line(t, tmp):
    conf = write(os.path.join(tmp, "many.conf"),
                 "[customerio]\n"          # 1
                 "region = mars\n"         # 2
                 "dry_run = yes\n"         # 3
                 "[nonsense]\n"            # 4
                 "whatever = 1\n"          # 5
                 "[spool]\n"               # 6
                 "max_age = soon\n"        # 7
                 "path = %s/spool.db\n"    # 8
                 "[http]\n"                # 9
                 "max_body = lots\n"       # 10
                 "no equals sign\n"        # 11
                 % tmp)
    rc, out, err = check_config(conf)
    t.eq(rc, 1, "--check-config exits 1 on errors")
    for line, what in ((2, "customerio.region"), (4, "unknown section"),
                       (7, "spool.max_age"), (10, "http.max_body"),
                       (11, "missing '='")):
        t.ok("%s:%d: %s" % (conf, line, what) in err,
             "line %d reported in the same run (%s)" % (line, what), err)
    t.ok("whatever" not in err,
         "keys of an unknown section are not reported again", err)
    t.eq(len(err.strip().splitlines()), 5, "one line per error", )


def no_key(t, tmp):
    spool = os.path.join(tmp, "ok")
    os.makedirs(spool, exist_ok=True)
    conf = write(os.path.join(tmp, "nokey.conf"),
                 "[customerio]\ndry_run = no\n[spool]\npath = %s/spool.db\n"
                 % spool)
    rc, out, err = check_config(conf)
    t.eq(rc, 1, "dry_run = no without a key: --check-config exits 1")
    t.ok("%s:2: customerio.dry_run = no but no API key is configured" %
         conf in err, "the error names dry_run's line and the missing key",
         err)
    rc, out, err = check_config(conf, env_key="cio_key_from_env_123456")
    t.eq(rc, 0, "the same file with FORMRELAY_API_KEY set passes")
    conf = write(os.path.join(tmp, "emptykey.conf"),
                 "[customerio]\ndry_run = no\napi_key =\n"
                 "[spool]\npath = %s/spool.db\n" % spool)
    rc, out, err = check_config(conf)
    t.eq(rc, 1, "an empty api_key with dry_run = no: exits 1")
    t.ok("%s:3: customerio.api_key is empty and dry_run = no" % conf in err,
         "the error names the empty key's line", err)
    conf = write(os.path.join(tmp, "dry.conf"),
                 "[customerio]\ndry_run = yes\n[spool]\npath = %s/spool.db\n"
                 % spool)
    rc, out, err = check_config(conf)
    t.eq(rc, 0, "dry_run = yes needs no key")


def spool_dir(t, tmp):
    missing = os.path.join(tmp, "missing", "dir")
    conf = write(os.path.join(tmp, "missing.conf"),
                 "[customerio]\ndry_run = yes\n[spool]\nmax_age = 1d\n"
                 "path = %s/spool.db\n" % missing)
    rc, out, err = check_config(conf)
    t.eq(rc, 1, "a missing spool directory: exits 1")
    t.ok("%s:5: spool.path: the directory %s does not exist" %
         (conf, missing) in err, "named, with the line of spool.path", err)
    locked = os.path.join(tmp, "locked")
    os.makedirs(locked)
    os.chmod(locked, 0o755)
    conf = write(os.path.join(tmp, "locked.conf"),
                 "[customerio]\ndry_run = yes\n[spool]\npath = %s/spool.db\n"
                 % locked)
    if os.geteuid() == 0:
        user = "www-data"
        pw = pwd.getpwnam(user)
        rc, out, err = check_config(conf, "--user", user)
        t.eq(rc, 1, "a directory www-data cannot write: exits 1")
        t.ok("spool.path: the directory %s is not writable by www-data "
             "(uid %d)" % (locked, pw.pw_uid) in err,
             "the serving user is named", err)
        os.chown(locked, pw.pw_uid, pw.pw_gid)
        rc, out, err = check_config(conf, "--user", user)
        t.eq(rc, 0, "once www-data owns it, it passes", )
        rc, out, err = check_config(conf, "--user", "no-such-user-x")
        t.ok(rc == 1 and "no-such-user-x: no such user" in err,
             "--user with an unknown name is an error", err)
    else:
        os.chmod(locked, 0o555)
        me = pwd.getpwuid(os.geteuid()).pw_name
        rc, out, err = check_config(conf)
        t.ok(rc == 1 and "is not writable by %s" % me in err,
             "a read-only directory: the caller is named", err)
        os.chmod(locked, 0o755)
        rc, out, err = check_config(conf)
        t.eq(rc, 0, "writable again: it passes")


def startup_spool(t, tmp):
    missing = os.path.join(tmp, "gone")
    conf = write(os.path.join(tmp, "gone.conf"),
                 "[customerio]\ndry_run = yes\n[spool]\npath = %s/spool.db\n"
                 % missing)
    p = subprocess.run([BIN, "-c", conf, "--listen",
                        "127.0.0.1:%d" % free_port()],
                       capture_output=True, text=True, timeout=30)
    me = pwd.getpwuid(os.geteuid()).pw_name
    t.eq(p.returncode, 1, "start-up with a missing spool directory exits 1")
    t.ok("the directory %s does not exist: create it for %s" % (missing, me)
         in p.stderr, "and names the directory and the user", p.stderr)


def startup_no_key(t):
    env = Env(t, conf_extra={"customerio": {"api_key_file": ""}})
    try:
        relay = env.relay
        wait_until(lambda: "no API key configured" in relay.log(), 20,
                   "the start-up error")
        t.ok("customerio.dry_run = no but no API key is configured"
             in relay.log(), "start-up reports the missing key", relay.log())
        r = relay.post_form({"entryId": "nokey-1", "email": "a@example.com"})
        t.eq(r.status, 202, "a submission is still stored (202)")
        rc, out = relay.admin("status")
        t.eq(rc, PAUSED, "status exits %d while no key is configured" %
             PAUSED)
        t.ok("paused: no API key configured" in out, "and says why", out)
        st = relay.status()
        t.eq((st or {}).get("pause_cause"), "no_api_key",
             "status --json: pause_cause no_api_key")
        t.eq((st or {}).get("pending"), 1, "the submission waits, pending")
        h = relay.request("GET", "/formrelay/healthz").json()
        t.ok(h.get("paused") and
             h.get("pause_reason") == "no API key configured",
             "healthz: paused, no API key configured", h)
        t.eq(env.standin.requests(), [],
             "nothing went to Customer.io (no Basic Og== request)")
    finally:
        env.close()


def key_refused(t):
    env = Env(t, env={"FORMRELAY_API_KEY": "cio_wrong_key_0000000000"})
    try:
        env.standin.script({"require_api_key": "cio_the_right_one_123456"})
        relay = env.relay
        r = relay.post_form({"entryId": "wrong-1", "email": "b@example.com"})
        t.eq(r.status, 202, "stored")
        wait_until(lambda: relay.admin("status")[0] == PAUSED, 20,
                   "status to exit %d" % PAUSED)
        rc, out = relay.admin("status")
        t.ok("Customer.io refused the API key" in out,
             "status says Customer.io refused the key", out)
        t.eq((relay.status() or {}).get("pause_cause"), "key_refused",
             "status --json: pause_cause key_refused")
    finally:
        env.close()


def main():
    t = Tap()
    tmp = tempfile.mkdtemp(prefix="formrelay-preflight-")
    os.chmod(tmp, 0o755)
    try:
        every_error_with_its_line(t, tmp)
        no_key(t, tmp)
        spool_dir(t, tmp)
        startup_spool(t, tmp)
        startup_no_key(t)
        key_refused(t)
    except Exception:  # noqa: BLE001 - reported as a failure
        import traceback
        t.ok(False, "test ran to the end", traceback.format_exc())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    t.done()


main()
