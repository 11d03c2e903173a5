"""Dry run shows what would be sent (issue 21, item 1).

With dry_run = yes: the JSON reply to a submission carries the
/v1/batch body that would have been posted ("preview"); delivery keeps
each call as a preview instead of sending it, so `formrelay list` lists
it and `formrelay show ID` prints that very body; previews are counted
as such (formrelay_events_previewed_total), never as delivered; status
and /healthz say dry run; the stand-in Customer.io receives nothing."""

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, Env, Tap, wait_until  # noqa: E402


def raw_preview(body):
    """The preview exactly as the reply carries it (text, not parsed)."""
    m = re.match(r'^\{"ok":true,"id":"[0-9a-f-]+","dry_run":true,'
                 r'"preview":(.*)\}$', body, re.S)
    return m.group(1) if m else None


def metric(text, name):
    m = re.search(r"^%s (\d+)$" % name, text, re.M)
    return int(m.group(1)) if m else None


def main():
    t = Tap()
    env = Env(t, dry_run=True)
    relay = env.relay
    try:
        h = relay.request("GET", "/formrelay/healthz").json()
        t.ok(h.get("dry_run") is True and "dry run" in h.get("mode", ""),
             "healthz says dry run", h)

        r = relay.post_json({"entryId": "dry-1",
                             "email": "Dry.Person@Example.com",
                             "name": "Dry Person", "plan": "pro"})
        t.eq(r.status, 202, "a JSON submission is stored (202)")
        reply = r.json()
        raw = raw_preview(r.body)
        t.ok(reply.get("dry_run") is True and raw is not None,
             "the reply says dry run and carries a preview", r.body)
        calls = reply.get("preview", {}).get("batch", [])
        t.ok(len(calls) == 1 and calls[0].get("type") == "identify" and
             calls[0].get("userId") == "dry-1" and
             calls[0].get("messageId") == reply.get("id") and
             calls[0]["traits"].get("email") == "dry.person@example.com" and
             calls[0]["traits"].get("first_name") == "Dry",
             "the preview is the identify call Customer.io would get", calls)

        r2 = relay.post_json({"entryId": "dry-2", "email": "t@example.com",
                              "_event": "Signed Up"})
        calls2 = r2.json().get("preview", {}).get("batch", [])
        t.eq([c.get("type") for c in calls2], ["identify", "track"],
             "with _event the preview holds both calls, as one batch")

        form = relay.post_form({"entryId": "dry-3", "email": "f@example.com"})
        t.ok(form.status == 202 and "preview" not in form.body and
             "<html" in form.body.lower(),
             "an HTML form gets its thank-you page, no JSON", form.body[:200])

        wait_until(lambda: (relay.status() or {}).get("previewed") == 4, 20,
                   "four previews kept")
        st = relay.status()
        t.eq((st["pending"], st["inflight"], st["dead"], st["previewed"]),
             (0, 0, 0, 4), "status: the queue is empty, four previewed")
        t.ok(st.get("dry_run") is True, "status --json says dry run")
        rc, text = relay.admin("status")
        t.ok(rc == 0 and "dry run: nothing is sent" in text and
             re.search(r"^previewed\s+4 ", text, re.M),
             "status says dry run and counts the previews", text)

        rc, out = relay.admin("list", "--json")
        listed = json.loads(out).get("previewed", []) if rc == 0 else []
        mine = [p for p in listed if p["messageId"] == reply["id"]]
        t.ok(len(listed) == 4 and len(mine) == 1 and
             mine[0]["call"] == calls[0],
             "list --json: every preview, with its call", out[:2000])
        rc, text = relay.admin("list")
        t.ok(rc == 0 and reply["id"] in text and "identify" in text and
             "dry-1" in text, "list: id, type and userId a line", text)

        p = subprocess.run([BIN, "-c", relay.conf, "show", reply["id"]],
                           capture_output=True, text=True, timeout=60)
        t.eq(p.stdout.strip(), raw,
             "show MESSAGE-ID prints byte for byte the reply's preview")
        t.ok("previewed (dry run, not sent)" in p.stderr,
             "and says on stderr that it was not sent", p.stderr)
        rc, by_id = relay.admin("show", str(mine[0]["id"]) if mine else "0")
        t.ok(rc == 0 and json.loads(by_id.split("\n")[0]) ==
             reply["preview"], "show ID prints the same", by_id)
        rc, text = relay.admin("show", "no-such-call")
        t.ok(rc == 1 and "no call with id or messageId" in text,
             "show of an unknown id: exit 1, named", text)

        m = relay.request("GET", "/formrelay/metrics").body
        t.eq(metric(m, "formrelay_events_previewed_total"), 4,
             "metrics: 4 previewed")
        t.eq(metric(m, "formrelay_events_delivered_total"), 0,
             "metrics: none counted as delivered")
        t.eq(env.standin.requests(), [], "nothing went to Customer.io")
        t.ok("dry run: not sent" in relay.log(),
             "the log still says what was not sent")
    finally:
        env.close()
    t.done()


main()
