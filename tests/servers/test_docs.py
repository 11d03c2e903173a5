"""The man pages: they format without warnings (mandoc -T lint, else
groff), formrelay(8) names every option, command and environment
variable the program knows, and formrelay.conf(5) documents every key
the configuration reader accepts (taken from `formrelay --check-config`,
so a new key without documentation fails here).

One set of paths and users (issue 21): every path of an installed
formrelay that README.md, SECURITY.md, docs/, man/, contrib/ or the
sample configuration names is one of those in docs/admin.md's "Paths and
users" table, the built-in defaults are those paths, and every user they
run formrelay as is the one that table gives for that setup."""

import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402
from servers import BIN, SRCDIR, Tap  # noqa: E402

PAGES = ["formrelay.8", "formrelay.conf.5"]


def source(page):
    with open(os.path.join(SRCDIR, "man", page)) as f:
        return f.read().replace("\\-", "-").replace("\\&", "")


def check_format(t):
    mandoc = servers.find_program("mandoc")
    groff = servers.find_program("groff")
    for page in PAGES:
        path = os.path.join(SRCDIR, "man", page)
        if mandoc:
            cmd = [mandoc, "-T", "lint", "-W", "warning", path]
        elif groff:
            cmd = [groff, "-mandoc", "-ww", "-z", path]
        else:
            t.ok(True, "# SKIP neither mandoc nor groff is installed")
            return
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        t.ok(p.returncode == 0 and not p.stderr.strip() and
             not p.stdout.strip(), "%s: %s finds nothing to warn about" %
             (page, os.path.basename(cmd[0])), p.stdout + p.stderr)


def check_program_page(t):
    text = source("formrelay.8")
    usage = subprocess.run([BIN, "--help"], capture_output=True,
                           text=True).stdout
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+|-[a-z])\b", usage))
    t.ok(len(options) >= 6, "--help lists the options", usage)
    for opt in sorted(options):
        t.ok(re.search(r"\bFl %s\b" % re.escape(opt[1:]), text) is not None,
             "formrelay(8) documents %s" % opt)
    for cmd in ("status", "dead", "requeue", "purge", "flush", "list",
                "show"):
        t.ok(re.search(r"^\.It Cm %s\b" % cmd, text, re.M) is not None,
             "formrelay(8) documents the command %s" % cmd)
    for word in ("Fl -json", "Fl -limit", "FORMRELAY_CONFIG",
                 "FORMRELAY_API_KEY", "LISTEN_FDS", "SIGTERM",
                 "EXIT STATUS", "formrelay-deliver", "Fl -flush",
                 "FORMRELAY_DELIVER_BIN"):
        t.ok(word in text, "formrelay(8) mentions %s" % word)


def accepted_keys():
    """section.key for every key --check-config prints that the reader
    also accepts (it prints derived values, such as the masked secret,
    that are no keys)."""
    sample = os.path.join(SRCDIR, "contrib", "formrelay.conf.sample")
    out = subprocess.run([BIN, "-c", sample, "--check-config"],
                         capture_output=True, text=True).stdout
    keys = re.findall(r"^(\w+)\.(\w+) =", out, re.M)
    good = []
    with tempfile.TemporaryDirectory() as d:
        probe = os.path.join(d, "probe.conf")
        for section, key in keys:
            with open(probe, "w") as f:
                f.write("[%s]\n%s = probe\n" % (section, key))
            p = subprocess.run([BIN, "-c", probe, "--check-config"],
                               capture_output=True, text=True)
            if "unknown key" not in p.stderr:
                good.append((section, key))
    return good


def check_config_page(t):
    text = source("formrelay.conf.5")
    keys = accepted_keys()
    t.ok(len(keys) >= 25, "--check-config names the keys (%d)" % len(keys))
    for section, key in keys:
        in_section = re.search(r"^\.Ss \[%s\]\n(.*?)(?=^\.Ss |^\.Sh )" %
                               section, text, re.M | re.S)
        t.ok(in_section is not None and
             re.search(r"^\.It Cm %s\b" % key, in_section.group(1), re.M)
             is not None, "formrelay.conf(5) documents %s in [%s]" %
             (key, section))
    t.ok(re.search(r"^\.It Cm alias\. Ns Ar trait", text, re.M) is not None,
         "formrelay.conf(5) documents alias.<trait>")


# docs/admin.md, "Paths and users": the only installed paths documents
# may name (besides the web servers' own configuration directories).
PATHS = {
    "/etc/formrelay.conf", "/etc/formrelay.conf.sample",
    "/etc/formrelay", "/etc/formrelay/api_key",
    "/etc/formrelay/webhook_secret",
    "/var/lib/formrelay", "/var/lib/formrelay/spool.db",
    "/usr/local/sbin/formrelay", "/usr/local/sbin/formrelay-deliver",
    "/usr/local/sbin",
    "/usr/local/lib/formrelay/formrelay-pg.so",
    "/usr/local/share/formrelay/www",
    "/usr/local/share/formrelay/disposable_domains.txt",
    "/usr/local/share/doc/formrelay/contrib",
    "/run/formrelay.sock", "/run/lighttpd/formrelay.sock",
    "/etc/default/formrelay",
    "/etc/apache2/conf-available/formrelay.conf",
    "/etc/nginx/snippets/formrelay.conf",
    "/etc/lighttpd/conf-available/50-formrelay.conf",
}
# A path of an installed formrelay: under /etc, /var, /run or /usr/local
# and naming formrelay.
INSTALLED = re.compile(r"(?<![\w.$)/-])((?:/etc|/var|/run|/usr/local)"
                       r"(?:/[\w.+-]+)*)")
# Which user each setup runs formrelay as (the table's second part).
USERS = {
    "systemd/formrelay.service": "formrelay",
    "systemd/formrelay-listen.service": "formrelay",
    "systemd/formrelay-deliver.service": "www-data",
    "systemd/formrelay-flush.service": "www-data",
}


# Every user a setup names for formrelay (spool owner, User=, ...).
SETUP_USERS = dict((k, (v,)) for k, v in USERS.items())
SETUP_USERS.update({
    "lighttpd/formrelay.conf": ("www-data",),
    "apache/formrelay-fcgid.conf": ("www-data",),
    "apache/formrelay-cgi.conf": ("www-data",),
    "spawn-fcgi/formrelay-spawn-fcgi": ("formrelay",),
})


def documents():
    """(name, text) of every document that names installed paths."""
    names = ["README.md", "SECURITY.md"]
    for d in ("docs", "man", "contrib"):
        for root, _, files in os.walk(os.path.join(SRCDIR, d)):
            for f in files:
                rel = os.path.relpath(os.path.join(root, f), SRCDIR)
                if rel != os.path.join("contrib", "quickstart.sh"):
                    names.append(rel)
    for name in sorted(names):
        with open(os.path.join(SRCDIR, name), errors="replace") as f:
            text = f.read()
        if name.startswith("man/"):
            text = text.replace("\\-", "-").replace("\\&", "")
        yield name, text


def check_paths(t):
    with open(os.path.join(SRCDIR, "docs", "admin.md")) as f:
        admin = f.read()
    table = admin[admin.index("## Paths and users"):admin.index("## Commands")]
    t.ok("`/etc/formrelay/`" in table, "docs/admin.md's Paths and users "
         "puts every secret file in /etc/formrelay/")
    for path in sorted(PATHS - {"/etc/formrelay", "/usr/local/sbin",
                                "/etc/apache2/conf-available/formrelay.conf",
                                "/etc/nginx/snippets/formrelay.conf",
                                "/etc/lighttpd/conf-available/"
                                "50-formrelay.conf"}):
        t.ok("`%s`" % path in table,
             "docs/admin.md's Paths and users names %s" % path)
    seen = 0
    for name, text in documents():
        for m in INSTALLED.finditer(text):
            path = m.group(1).rstrip(".")
            if "formrelay" not in path:
                continue
            seen += 1
            line = text.count("\n", 0, m.start()) + 1
            secret = re.match(r"/etc/formrelay/[\w.-]+$", path)
            t.ok(path in PATHS or secret, "%s:%d: %s is one of docs/"
                 "admin.md's paths" % (name, line, path))
    t.ok(seen >= 40, "the documents name installed paths (%d)" % seen)


def configured_default_prefix():
    """Whether this build was configured without --prefix, --sysconfdir
    or --localstatedir (make distcheck gives a prefix)."""
    try:
        p = subprocess.run(["./config.status", "--config"],
                           capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    if p.returncode != 0:
        return None
    return not re.search(r"--(prefix|sysconfdir|localstatedir)", p.stdout)


def check_defaults(t):
    usage = subprocess.run([BIN, "--help"], capture_output=True,
                           text=True).stdout
    with tempfile.TemporaryDirectory() as d:
        empty = os.path.join(d, "empty.conf")
        open(empty, "w").close()
        out = subprocess.run([BIN, "-c", empty, "--check-config"],
                             capture_output=True, text=True).stdout
    spool = re.search(r"^spool\.path = (.*)$", out, re.M)
    if configured_default_prefix():
        t.ok("/etc/formrelay.conf" in usage,
             "the built-in configuration path is /etc/formrelay.conf", usage)
        t.eq(spool and spool.group(1), "/var/lib/formrelay/spool.db",
             "the built-in spool is /var/lib/formrelay/spool.db")
    else:
        t.ok(spool is not None, "a build with its own --prefix: the "
             "defaults follow it (%s)" % (spool and spool.group(1)))


def check_users(t):
    for unit, user in sorted(USERS.items()):
        u = servers.read_unit(unit)
        t.eq(servers.unit_value(u, "Service", "User"), user,
             "contrib/%s runs formrelay as %s" % (unit, user))
    with open(os.path.join(SRCDIR, "contrib", "spawn-fcgi",
                           "formrelay-spawn-fcgi")) as f:
        t.ok("FORMRELAY_USER=${FORMRELAY_USER:-formrelay}" in f.read(),
             "spawn-fcgi runs formrelay as formrelay")
    named = re.compile(r"(?:install -d -o|sudo -u|chown|--user|User=|"
                       r"FORMRELAY_USER:-)\s?([a-z][\w-]*)")
    for name, text in documents():
        setup = name[len("contrib/"):] if name.startswith("contrib/") else ""
        want = SETUP_USERS.get(setup, ("www-data", "formrelay"))
        for m in named.finditer(text):
            user = m.group(1)
            if user in ("NAME", "name", "root"):
                continue
            line = text.count("\n", 0, m.start()) + 1
            t.ok(user in want, "%s:%d: formrelay's user is %s, as docs/"
                 "admin.md says for this setup (%s)" %
                 (name, line, user, " or ".join(want)))


def check_fixture_sources(t):
    """Every webhook fixture says where it comes from (issue 19):
    tests/fixtures/webhooks/README.md names each body with its source."""
    d = os.path.join(SRCDIR, "tests", "fixtures", "webhooks")
    with open(os.path.join(d, "README.md")) as f:
        readme = f.read()
    bodies = sorted(n for n in os.listdir(d)
                    if not n.endswith(".expect.json") and n != "README.md")
    t.ok(len(bodies) >= 15, "webhook fixtures found (%d)" % len(bodies))
    rows = [line for line in readme.splitlines() if line.startswith("| `")]
    for name in bodies:
        row = [r for r in rows if "`%s`" % name in r.split("|")[1]]
        t.ok(len(row) == 1 and ("https://" in row[0] or "`www/" in row[0]),
             "fixtures/webhooks/README.md gives %s its source (a URL, or "
             "the recipe in www/)" % name)


def main():
    t = Tap()
    try:
        check_format(t)
        check_program_page(t)
        check_config_page(t)
        check_paths(t)
        check_defaults(t)
        check_users(t)
        check_fixture_sources(t)
    except Exception:  # noqa: BLE001 - reported as a failure
        import traceback
        t.ok(False, "test ran to the end", traceback.format_exc())
    t.done()


main()
