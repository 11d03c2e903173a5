"""The man pages: they format without warnings (mandoc -T lint, else
groff), formrelay(8) names every option, command and environment
variable the program knows, and formrelay.conf(5) documents every key
the configuration reader accepts (taken from `formrelay --check-config`,
so a new key without documentation fails here)."""

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


def main():
    t = Tap()
    try:
        check_format(t)
        check_program_page(t)
        check_config_page(t)
    except Exception:  # noqa: BLE001 - reported as a failure
        import traceback
        t.ok(False, "test ran to the end", traceback.format_exc())
    t.done()


main()
