"""A PostgreSQL cluster of the tests' own (SPEC "PostgreSQL spool").

initdb and pg_ctl from Debian's postgresql package (PG_BINDIR, else the
newest /usr/lib/postgresql/*/bin) make a cluster in a temporary
directory, listening on 127.0.0.1 on a free port only (no Unix socket),
with password (SCRAM) authentication.  PostgreSQL refuses to run as
root, so under root the cluster belongs to and runs as "nobody".  A
role "formrelay" owns a database "formrelay"; url() is the libpq URI
formrelay is given, password_file() a file holding its password,
write_passfile() the same password as a line of libpq's password file
(.pgpass, PGPASSFILE).  Cluster(ssl=True) serves TLS with a self-signed
certificate made with `openssl req` when the cluster is made.
"""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time

SUPER_PASSWORD = "super-Secret-7"
PASSWORD = "relay-Secret-42"


def bindir():
    d = os.environ.get("PG_BINDIR")
    if d and os.path.exists(os.path.join(d, "initdb")):
        return d
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if
                   p.split("/")[4].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else None


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One PostgreSQL server (a primary, or a standby of one)."""

    def __init__(self, top=None, name="primary", standby_of=None,
                 settings=None, ssl=False):
        self.bin = bindir()
        if self.bin is None:
            raise RuntimeError("no initdb: install postgresql")
        self.own_top = top is None
        self.top = top or tempfile.mkdtemp(prefix="formrelay-pg-")
        os.chmod(self.top, 0o755)
        self.data = os.path.join(self.top, name)
        self.logfile = os.path.join(self.top, name + ".log")
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:
            self.user = "nobody"
            pw = pwd.getpwnam(self.user)
            os.chown(self.top, pw.pw_uid, pw.pw_gid)
        self.pwfile = os.path.join(self.top, "password")
        with open(self.pwfile, "w") as f:
            f.write(PASSWORD + "\n")
        os.chmod(self.pwfile, 0o600)
        if standby_of is None:
            self._initdb(settings or {})
            if ssl:
                self._make_certificate()
        else:
            self._basebackup(standby_of, settings or {})
        self.start()
        if standby_of is None:
            self._create_role()

    def _as_owner(self, argv, **kw):
        if self.user:
            argv = ["runuser", "-u", self.user, "--"] + argv
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 120)
        return subprocess.run(argv, cwd=self.top, **kw)

    def _check(self, p, what):
        if p.returncode != 0:
            raise RuntimeError("%s failed: %s%s" % (what, p.stdout, p.stderr))

    def _initdb(self, settings):
        su = os.path.join(self.top, "su-password")
        with open(su, "w") as f:
            f.write(SUPER_PASSWORD + "\n")
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(su, pw.pw_uid, pw.pw_gid)
        self._check(self._as_owner(
            [os.path.join(self.bin, "initdb"), "-D", self.data, "-U",
             "postgres", "--pwfile", su, "--auth-local=trust",
             "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale"]),
            "initdb")
        os.unlink(su)
        conf = {"listen_addresses": "'127.0.0.1'",
                "unix_socket_directories": "''",
                "wal_level": "replica", "max_wal_senders": "4",
                "wal_keep_size": "'256MB'",
                "max_connections": "60", "shared_buffers": "'32MB'"}
        conf.update(settings)
        self._append_conf(conf)

    def _make_certificate(self):
        """A self-signed certificate and its key (mode 0600, the
        server's own: PostgreSQL refuses a key others can read) in the
        data directory, and ssl = on."""
        crt = os.path.join(self.data, "server.crt")
        key = os.path.join(self.data, "server.key")
        p = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
             "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", crt],
            capture_output=True, text=True, timeout=120)
        self._check(p, "openssl req")
        os.chmod(key, 0o600)
        if self.user:
            pw = pwd.getpwnam(self.user)
            for path in (crt, key):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        self._append_conf({"ssl": "on", "ssl_cert_file": "'server.crt'",
                           "ssl_key_file": "'server.key'"})

    def set_ssl(self, on):
        """Turn TLS on or off (a reload: new connections see it)."""
        self.psql("ALTER SYSTEM SET ssl = %s" % ("on" if on else "off"),
                  db="postgres")
        self.psql("SELECT pg_reload_conf()", db="postgres")

    def _append_conf(self, conf, name="postgresql.conf"):
        path = os.path.join(self.data, name)
        with open(path, "a") as f:
            for k, v in conf.items():
                f.write("%s = %s\n" % (k, v))

    def _basebackup(self, primary, settings):
        env = dict(os.environ, PGPASSWORD=SUPER_PASSWORD)
        self._check(self._as_owner(
            [os.path.join(self.bin, "pg_basebackup"), "-h", "127.0.0.1",
             "-p", str(primary.port), "-U", "postgres", "-D", self.data,
             "-R", "-X", "stream", "-c", "fast"], env=env),
            "pg_basebackup")
        # -R wrote standby.signal and, in postgresql.auto.conf (read
        # last), a primary_conninfo without the password or a name:
        # this one, later in that file, wins.
        self._append_conf(dict(settings, primary_conninfo=(
            "'host=127.0.0.1 port=%d user=postgres password=%s "
            "application_name=%s'" % (primary.port, SUPER_PASSWORD,
                                      os.path.basename(self.data)))),
            "postgresql.auto.conf")

    def ctl(self, *args):
        return self._as_owner([os.path.join(self.bin, "pg_ctl"), "-D",
                               self.data, "-l", self.logfile, "-w", "-t",
                               "120"] + list(args))

    def start(self):
        self._check(self.ctl("-o", "-p %d" % self.port, "start"),
                    "pg_ctl start")

    def stop(self, mode="fast"):
        return self.ctl("-m", mode, "stop")

    def restart(self, mode="immediate"):
        self._check(self.ctl("-m", mode, "-o", "-p %d" % self.port,
                             "restart"), "pg_ctl restart")

    def promote(self):
        self._check(self.ctl("promote"), "pg_ctl promote")

    def psql(self, sql, db="formrelay", user="postgres", sslmode="prefer"):
        """Run sql; the rows as a list of lists of strings."""
        env = dict(os.environ, PGPASSWORD=SUPER_PASSWORD,
                   PGCONNECT_TIMEOUT="10", PGSSLMODE=sslmode)
        p = subprocess.run(
            [os.path.join(self.bin, "psql"), "-X", "-At", "-F", "\t",
             "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
             "-p", str(self.port), "-U", user, "-d", db, "-c", sql],
            capture_output=True, text=True, env=env, timeout=120)
        if p.returncode != 0:
            raise RuntimeError("psql failed: " + p.stderr)
        return [line.split("\t") for line in p.stdout.splitlines()]

    def _create_role(self):
        self.psql("CREATE ROLE formrelay LOGIN PASSWORD '%s'" % PASSWORD,
                  db="postgres")
        self.psql("CREATE DATABASE formrelay OWNER formrelay", db="postgres")

    def url(self, extra=""):
        return "postgresql://formrelay@127.0.0.1:%d/formrelay%s" % (
            self.port, extra)

    def password_file(self):
        return self.pwfile

    def write_passfile(self, path):
        """A libpq password file (.pgpass format, mode 0600: libpq
        ignores one others can read) with the formrelay role's password
        for this server; returns path."""
        with open(path, "w") as f:
            f.write("127.0.0.1:%d:formrelay:formrelay:%s\n" %
                    (self.port, PASSWORD))
        os.chmod(path, 0o600)
        return path

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        self.stop("immediate")
        if self.own_top and not os.environ.get("FORMRELAY_KEEP_TMP"):
            shutil.rmtree(self.top, ignore_errors=True)


def available():
    return bindir() is not None


def main(argv):
    """For bench/: `pgcluster.py start DIR` makes and starts a cluster
    (printing its URL, then its password file's path; DIR keeps where it
    is), `stop DIR` stops and removes it, `psql DIR SQL` runs SQL in the
    formrelay database."""
    import json
    if len(argv) < 3 or argv[1] not in ("start", "stop", "psql"):
        sys.stderr.write("usage: pgcluster.py start|stop|psql DIR [SQL]\n")
        return 2
    state = os.path.join(argv[2], "pgcluster.json")
    if argv[1] == "start":
        os.makedirs(argv[2], exist_ok=True)
        # not under DIR: its parents may be closed to the cluster's
        # owner ("nobody" under root)
        top = tempfile.mkdtemp(prefix="formrelay-pg-")
        c = Cluster(top=top)
        with open(state, "w") as f:
            json.dump({"top": top, "port": c.port}, f)
        print(c.url())
        print(c.password_file())
        return 0
    with open(state) as f:
        st = json.load(f)
    c = Cluster.__new__(Cluster)
    c.bin, c.top, c.port = bindir(), st["top"], st["port"]
    c.data = os.path.join(c.top, "primary")
    c.logfile = os.path.join(c.top, "primary.log")
    c.user = "nobody" if os.geteuid() == 0 else None
    c.own_top = False
    if argv[1] == "stop":
        c.stop("fast")
        shutil.rmtree(c.top, ignore_errors=True)
        return 0
    for row in c.psql(argv[3]):
        print("\t".join(row))
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv))
