#!/usr/bin/env python3
"""Fill a formrelay spool with N pending events, for bench/drain.sh.

    fill_spool.py SPOOL TEMPLATE N
    fill_spool.py --csv TEMPLATE N > rows.csv   (a PostgreSQL spool's rows)

SPOOL must exist already (created by formrelay itself, e.g. `formrelay
status`, so that the schema and pragmas are formrelay's own).  TEMPLATE
holds one identify call as formrelay serialises it (bench/cpu_path -v
prints one); every row is that call with its own messageId, userId,
email and name, inserted as src/spool_append.c's append does (schema version
3: the events row with message_id, created_ms and due_ms, state pending;
the body in bodies under the same id), in one transaction.
"""

import json
import random
import sqlite3
import sys
import time
import uuid

FIRST = ["Jane", "John", "Amelie", "Soren", "Priya", "Wei", "Olu", "Maria",
         "Kenji", "Zoe", "Liam", "Noor", "Mateo", "Aisha", "Bjorn"]
LAST = ["Doe", "Smith", "Dubois", "Patel", "Zhang", "Adeyemi", "Garcia",
        "Tanaka", "OBrien", "Novak", "Haddad", "Rossi"]
PLANS = ["starter", "growth", "business", "enterprise"]


def event(template, i, now_ms):
    e = json.loads(template)
    fn, ln = random.choice(FIRST), random.choice(LAST)
    e["messageId"] = str(uuid.uuid4())
    e["userId"] = "ent_%016x" % random.getrandbits(64)
    traits = e.setdefault("traits", {})
    traits["email"] = "%s.%s%d@example.com" % (fn.lower(), ln.lower(), i)
    traits["first_name"], traits["last_name"] = fn, ln
    traits["name"] = fn + " " + ln
    traits["plan"] = random.choice(PLANS)
    return e["messageId"], json.dumps(e, separators=(",", ":"),
                                      ensure_ascii=False)


def csv_out(template_path, n):
    """--csv: the rows for a PostgreSQL spool's events (message_id, body,
    created_ms, due_ms), as CSV for psql's \\copy."""
    import csv
    with open(template_path) as f:
        template = f.read().strip()
    now = int(time.time() * 1000)
    w = csv.writer(sys.stdout)
    for i in range(n):
        mid, body = event(template, i, now)
        w.writerow([mid, body, now, now])


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--csv":
        return csv_out(sys.argv[2], int(sys.argv[3]))
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    path, template_path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(template_path) as f:
        template = f.read().strip()
    json.loads(template)  # fail early on a bad template
    now = int(time.time() * 1000)
    db = sqlite3.connect(path)
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version < 3:
        sys.exit("fill_spool.py: %s has schema version %d; this script "
                 "writes the events and bodies of version 3 (the same "
                 "since)" % (path, version))
    with db:
        for i in range(n):
            mid, body = event(template, i, now)
            db.execute("INSERT INTO events (message_id, created_ms, due_ms)"
                       " VALUES (?, ?, ?)", (mid, now, now))
            db.execute("INSERT INTO bodies (id, body)"
                       " VALUES (last_insert_rowid(), ?)", (body,))
    total, size = db.execute(
        "SELECT count(*), avg(length(body)) FROM events"
        " JOIN bodies USING (id) WHERE state = 'pending'").fetchone()
    db.close()
    print("%d pending events, %.0f bytes each on average" % (total, size))


if __name__ == "__main__":
    main()
