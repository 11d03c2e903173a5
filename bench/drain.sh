#!/bin/sh
# Delivery speed: a backlog of spooled events drained to the stand-in.
#
#   sh bench/drain.sh [--rounds 3] [--events 100000] [--postgresql]
#
# Each round: a fresh spool on the real disk (created by formrelay),
# filled with EVENTS pending identify calls (formrelay's own
# serialisation of a typical form, from bench/cpu_path -v, each with its
# own messageId/userId/email; bench/fill_spool.py), then timed:
# `formrelay flush` posting /v1/batch bodies over keep-alive to
# bench/sink (C; scans every body's JSON structure and counts the events).
# Prints events/s, the requests and connections used, and the batch
# sizes the sink saw.  Target (issue 7): >= 10,000 events/s.
# --postgresql: the spool is a PostgreSQL database on this machine (a
# cluster of the bench's own, tests/pgcluster.py), filled with COPY.
set -u

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROUNDS=3
EVENTS=100000
PG=0
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift ;;
	--events) EVENTS=$2; shift ;;
	--postgresql) PG=1 ;;
	--build-dir) BENCH_BUILD=$2; export BENCH_BUILD; shift ;;
	*) echo "usage: drain.sh [--rounds N] [--events N] [--build-dir DIR]" >&2; exit 2 ;;
	esac
	shift
done

. "$BENCH_DIR/lib.sh"
need "$PYTHON" curl make

# Nanoseconds, monotonic enough for seconds-long runs.
now_ns() {
	date +%s%N
}

# Fill the spool of $1 with EVENTS pending events.
fill_sqlite() {
	"$FORMRELAY" -c "$1/formrelay.conf" status >/dev/null 2>&1
	[ -f "$1/spool.db" ] || die "formrelay did not create $1/spool.db"
	"$PYTHON" "$BENCH_DIR/fill_spool.py" "$1/spool.db" "$WORK/template.json" \
		"$EVENTS" >"$WORK/fill.out" || die "filling the spool failed"
}

fill_pg() {
	"$FORMRELAY" -c "$1/formrelay.conf" migrate >/dev/null ||
		die "formrelay migrate failed"
	pg_sql "TRUNCATE events, dedup, state" >/dev/null
	"$PYTHON" "$BENCH_DIR/fill_spool.py" --csv "$WORK/template.json" \
		"$EVENTS" >"$WORK/rows.csv" || die "making the rows failed"
	chmod 644 "$WORK/rows.csv"
	pg_sql "\\copy events (message_id, body, created_ms, due_ms) FROM '$WORK/rows.csv' WITH (FORMAT csv)" >/dev/null ||
		die "filling the PostgreSQL spool failed"
	pg_sql "VACUUM ANALYZE events" >/dev/null
	echo "$(pg_sql "SELECT count(*) FROM events") pending events (PostgreSQL)" >"$WORK/fill.out"
}

left_events() {
	if [ "$PG" = 1 ]; then
		pg_sql "SELECT count(*) FROM events"
	else
		"$PYTHON" -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM events").fetchone()[0])' "$1/spool.db"
	fi
}

drain_round() {
	round=$1 dir="$WORK/drain"
	rm -rf "$dir"
	if [ "$PG" = 1 ]; then
		BENCH_SPOOL_EXTRA=$(pg_spool_conf) write_formrelay_conf "$dir"
		fill_pg "$dir"
	else
		write_formrelay_conf "$dir"
		fill_sqlite "$dir"
	fi
	sink_reset
	t0=$(now_ns)
	"$FORMRELAY" -c "$dir/formrelay.conf" flush >"$WORK/flush.out" 2>&1
	rc=$?
	t1=$(now_ns)
	sink_stats >"$WORK/sink.json"
	left=$(left_events "$dir")
	"$PYTHON" - "$round" "$EVENTS" "$t0" "$t1" "$rc" "$left" "$WORK/sink.json" \
		"$WORK/fill.out" "$WORK/flush.out" <<'EOF'
import json, sys
rnd, n, t0, t1, rc, left = (int(x) for x in sys.argv[1:7])
sink = json.load(open(sys.argv[7]))
fill = open(sys.argv[8]).read().strip()
flush = open(sys.argv[9]).read().strip().replace("\n", " | ")
secs = (t1 - t0) / 1e9
sizes = sorted(((int(k), v) for k, v in sink["batch_sizes"].items()),
               key=lambda kv: -kv[1])
shown = ", ".join("%d x %d events" % (v, k) for k, v in sizes[:4])
if len(sizes) > 4:
    shown += ", ... (%d sizes)" % len(sizes)
ok = rc == 0 and left == 0 and sink["events"] == n and sink["bad"] == 0
print("drain round %d: %d events in %.2f s = %.0f events/s; %d requests "
      "over %d connection(s); batch sizes: %s; %s%s" % (
          rnd, sink["events"], secs, sink["events"] / secs, sink["requests"],
          sink["connections"], shown, fill,
          "" if ok else "  INVALID (flush exit %d, %d left in the spool, "
          "%d bad bodies): %s" % (rc, left, sink["bad"], flush)))
print("RESULT %.1f %d" % (sink["events"] / secs if ok else 0, 1 if ok else 0))
EOF
}

main() {
	bench_build
	bench_workdir
	start_sink
	[ "$PG" = 0 ] || pg_start
	"$CPU_PATH" 1 -v 2>"$WORK/template.json" >/dev/null ||
		die "bench/cpu_path could not build the template event"
	if [ "$PG" = 1 ]; then
		echo "delivery: $EVENTS spooled events in PostgreSQL (on this machine) -> bench/sink with \`formrelay flush\`, $ROUNDS rounds"
	else
		echo "delivery: $EVENTS spooled events -> bench/sink with \`formrelay flush\`, $ROUNDS rounds (spool on $(df -PT "$WORKROOT" | awk 'NR == 2 { print $2 }'))"
	fi
	r=1
	: >"$WORK/drain.results"
	while [ "$r" -le "$ROUNDS" ]; do
		drain_round "$r" | tee -a "$WORK/drain.results" | grep -v '^RESULT'
		r=$((r + 1))
	done
	"$PYTHON" - "$WORK/drain.results" <<'EOF'
import statistics, sys
rates = [float(l.split()[1]) for l in open(sys.argv[1]) if l.startswith("RESULT ")]
valid = [r for r in rates if r > 0]
if not valid:
    print("delivery: no valid round")
    sys.exit(0)
m = statistics.median(valid)
print("delivery: median %.0f events/s (target >= 10000: %s)" % (
    m, "ok" if m >= 10000 else "MISSED"))
EOF
	return 0
}

main
