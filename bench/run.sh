#!/bin/sh
# The benchmark suite of formrelay, in one command:
#
#   sh bench/run.sh [--rounds 3] [--duration 10] [options]
#
# 1. Ingest: lighttpd + 2 FastCGI processes of the floor (bench/floor.c,
#    a bare libfcgi responder that only reads the body), of formrelay,
#    and the Node peer (bench/peer: Express + @customerio/cdp-analytics-
#    node, 2 cluster workers), in alternating rounds (floor, formrelay,
#    peer, floor, ...), each loaded by wrk with varied form posts
#    (bench/post_forms.lua) over 32 connections.  Prints requests/s,
#    p50, p99 and resident memory of each, and the ratios against the
#    targets of issue 7.
# 2. Delivery: bench/drain.sh (100,000 spooled events -> the sink).
# 3. CPU per submission: bench/callgrind.sh.
#
# Builds what it needs (make bench in a build directory configured with
# CFLAGS='-g -O2'; default ${TMPDIR:-/tmp}/formrelay-bench-build).  Exits
# 0 even when a target is missed (a benchmark, not a test): look for
# MISSED.  Results of a run that saw any non-2xx answer are INVALID.
# The whole report is also written to BUILD/bench-report.txt.
#
# Options:
#   --rounds N        alternating rounds (3)
#   --duration S      seconds measured per round (10)
#   --warmup S        seconds of unmeasured load before each (2)
#   --connections N   wrk connections (32)
#   --threads N       wrk threads (2)
#   --procs N         FastCGI processes / Node workers (2)
#   --relay-threads N formrelay --threads N (acceptor threads per process;
#                     default: formrelay's own default)
#   --targets LIST    comma-separated subset of floor,formrelay,peer,
#                     formrelay_pg (formrelay on a PostgreSQL spool: a
#                     cluster of the bench's own on this machine,
#                     synchronous_commit on; not in the default list)
#   --dry-run         formrelay with dry_run = yes (stores, sends nothing)
#   --no-drain        skip the delivery benchmark
#   --no-cpu          skip the callgrind measurement
#   --update-readme   put this report into bench/README.md (between the
#                     "figures" markers), for the final run
#   --perf            perf record formrelay's processes in round 1,
#                     print the hot spots and keep BUILD/perf.data
#                     (call graphs) (needs perf)
#   --build-dir DIR   where to configure and build
# Environment: BENCH_WORK (where spools go; default: the build dir),
# BENCH_KEEP=1 (keep the work directory), WRK, LIGHTTPD, NODE, NPM.
set -u

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROUNDS=3
DURATION=10
WARMUP=2
CONNS=32
WRK_THREADS=2
PROCS=2
RELAY_THREADS=
TARGETS="floor,formrelay,peer"
DO_DRAIN=1
DO_CPU=1
DO_PERF=0
UPDATE_README=0

usage() {
	sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit "$1"
}

ARGS="$*"
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--warmup) WARMUP=$2; shift ;;
	--connections) CONNS=$2; shift ;;
	--threads) WRK_THREADS=$2; shift ;;
	--procs) PROCS=$2; shift ;;
	--relay-threads) RELAY_THREADS=$2; shift ;;
	--targets) TARGETS=$2; shift ;;
	--dry-run) BENCH_DRY_RUN=yes ;;
	--no-drain) DO_DRAIN=0 ;;
	--no-cpu) DO_CPU=0 ;;
	--perf) DO_PERF=1 ;;
	--update-readme) UPDATE_README=1 ;;
	--build-dir) BENCH_BUILD=$2; shift ;;
	-h | --help) usage 0 ;;
	*) echo "run.sh: unknown option $1" >&2; usage 2 >&2 ;;
	esac
	shift
done
export BENCH_BUILD BENCH_DRY_RUN

. "$BENCH_DIR/lib.sh"

WRK=${WRK:-wrk}
LIGHTTPD=${LIGHTTPD:-$(command -v lighttpd || echo /usr/sbin/lighttpd)}
NODE=${NODE:-node}
NPM=${NPM:-npm}
need "$WRK" "$LIGHTTPD" "$PYTHON" curl make
[ "$DO_PERF" = 0 ] || need perf

# The peer's dependencies, installed from the lock file into the build
# directory (never into the source tree).
peer_install() {
	need "$NODE" "$NPM"
	PEER="$BUILD/peer"
	mkdir -p "$PEER"
	cp "$BENCH_DIR/peer/server.js" "$PEER/"
	if [ ! -d "$PEER/node_modules" ] ||
		! cmp -s "$BENCH_DIR/peer/package-lock.json" "$PEER/package-lock.json"; then
		cp "$BENCH_DIR/peer/package.json" "$BENCH_DIR/peer/package-lock.json" "$PEER/"
		note "npm ci in $PEER"
		(cd "$PEER" && "$NPM" ci --no-audit --no-fund >npm.out 2>&1) ||
			die "npm ci failed: see $PEER/npm.out"
	fi
}

# load OUT URL PID...: a warm-up, then the measured run into OUT, with
# the CPU time PIDs spent during it appended as "cpu_ticks=N", and that
# of their children (formrelay-deliver) as "child_ticks=N".
# --timeout 30s: a slow answer is measured, not dropped as an error.
load() {
	out=$1 url=$2
	shift 2
	"$WRK" -t"$WRK_THREADS" -c"$CONNS" -d"${WARMUP}s" \
		-s "$BENCH_DIR/post_forms.lua" "$url" >/dev/null 2>&1
	sink_reset
	relay_metrics "$out" "$url" before
	kids=$(for p in "$@"; do children_of "$p"; done)
	# shellcheck disable=SC2086 # one pid a word
	c0=$(cpu_ticks_of $kids)
	t0=$(cpu_ticks_of "$@")
	perf_start "$out" "$@"
	"$WRK" -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 30s \
		--latency -s "$BENCH_DIR/post_forms.lua" "$url" >"$out" 2>&1
	perf_stop
	t1=$(cpu_ticks_of "$@")
	# shellcheck disable=SC2086
	c1=$(cpu_ticks_of $kids)
	relay_metrics "$out" "$url" after
	echo "cpu_ticks=$((t1 - t0)) ticks_per_s=$(getconf CLK_TCK) child_ticks=$((c1 - c0))" >>"$out"
}

# relay_metrics OUT URL WHEN: for a formrelay round, its /metrics into
# OUT.metrics.WHEN (bench/commit_cycle.py reads the two of a round).
relay_metrics() {
	case $1 in */wrk.formrelay.*) ;; *) return 0 ;; esac
	"$PYTHON" -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' \
		"$2/metrics" >"$1.metrics.$3" ||
		note "cannot read $2/metrics: no commit cycle figures"
}

# --perf: sample formrelay's backends (all threads, call graphs) during
# the measured run of round 1.
PERF_PID=""
perf_start() {
	case $1 in */wrk.formrelay.1) ;; *) return 0 ;; esac
	[ "$DO_PERF" = 1 ] || return 0
	shift
	pids=$(echo "$@" | tr ' ' ',')
	perf record -q -F 499 -g -o "$WORK/perf.data" -p "$pids" \
		>"$WORK/perf.log" 2>&1 &
	PERF_PID=$!
}

perf_stop() {
	[ -n "$PERF_PID" ] || return 0
	kill -INT "$PERF_PID" 2>/dev/null
	wait "$PERF_PID" 2>/dev/null
	PERF_PID=""
}

perf_report() {
	[ -s "$WORK/perf.data" ] || { note "no perf data: see $WORK/perf.log"; return 0; }
	echo
	echo "formrelay hot spots under load (perf, round 1, self samples):"
	perf report -i "$WORK/perf.data" --no-children -g none --sort dso,sym --stdio 2>/dev/null |
		grep -E '^ +[0-9]' | head -n 25
	# Kept for a closer look (call graphs: perf report -i ... -g caller).
	cp "$WORK/perf.data" "$BUILD/perf.data" &&
		echo "(perf data with call graphs: $BUILD/perf.data)"
}

# Events the sink has received so far.
sink_events() {
	sink_stats | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["events"])'
}

# record TARGET ROUND WRK_OUTPUT PID...: one line of results.tsv.
record() {
	target=$1 round=$2 out=$3
	shift 3
	line=$(grep '^BENCH ' "$out") && cpu=$(grep '^cpu_ticks=' "$out") || {
		cat "$out" >&2
		die "$target round $round: wrk printed no summary"
	}
	mem=$(memory_of "$@")
	delivered=$(sink_events)
	echo "$target $round $mem $delivered $line $cpu" >>"$WORK/results.tsv"
	echo "$target round $round: ${line#BENCH } $cpu rss_kb(max,total,pss,anon_max)=$mem delivered=$delivered" >&2
}

# lighttpd with TARGET's FastCGI program: one round.
round_fastcgi() {
	target=$1 round=$2 dir="$WORK/$1"
	rm -rf "$dir"
	mkdir -p "$dir"
	if [ "$target" = formrelay_pg ]; then
		pg_sql "TRUNCATE events, dedup, state" >/dev/null ||
			die "cannot empty the PostgreSQL spool"
		BENCH_SPOOL_EXTRA=$(pg_spool_conf) write_formrelay_conf "$dir"
		bin="$FORMRELAY${RELAY_THREADS:+ --threads $RELAY_THREADS}" env="\"FORMRELAY_CONFIG\" => \"$dir/formrelay.conf\""
	elif [ "$target" = formrelay ]; then
		write_formrelay_conf "$dir"
		bin="$FORMRELAY${RELAY_THREADS:+ --threads $RELAY_THREADS}" env="\"FORMRELAY_CONFIG\" => \"$dir/formrelay.conf\""
	else
		bin=$FLOOR env="\"BENCH_TARGET\" => \"floor\""
	fi
	port=$(free_port)
	sed -e "s|@WORK@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@BIN@|$bin|g" \
		-e "s|@PROCS@|$PROCS|g" -e "s|@ENV@|$env|g" \
		"$BENCH_DIR/lighttpd.conf.in" >"$dir/lighttpd.conf"
	"$LIGHTTPD" -D -f "$dir/lighttpd.conf" &
	pid=$!
	STARTED="$STARTED $pid"
	wait_port "$port" "$pid"
	backends=$(wait_children "$pid" "$PROCS")
	# shellcheck disable=SC2086 # one pid a word
	load "$WORK/wrk.$target.$round" "http://127.0.0.1:$port/formrelay" $backends
	# shellcheck disable=SC2086
	record "$target" "$round" "$WORK/wrk.$target.$round" $backends
	stop_pid "$pid"
}

# The Node peer (cluster primary + PROCS workers): one round.
round_peer() {
	round=$1
	port=$(free_port)
	(cd "$PEER" && PORT=$port PEER_PROCS=$PROCS CIO_HOST=$SINK_URL \
		NODE_ENV=production exec "$NODE" server.js) &
	pid=$!
	STARTED="$STARTED $pid"
	wait_port "$port" "$pid"
	workers=$pid
	[ "$PROCS" -le 1 ] || workers=$(wait_children "$pid" "$PROCS")
	# shellcheck disable=SC2086
	load "$WORK/wrk.peer.$round" "http://127.0.0.1:$port/formrelay" $workers
	# shellcheck disable=SC2086
	record peer "$round" "$WORK/wrk.peer.$round" $workers
	stop_pid "$pid"
}

main() {
	bench_build
	case ",$TARGETS," in *,peer,*) peer_install ;; esac
	bench_workdir
	echo "formrelay benchmark, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$SRCDIR" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	machine
	echo "software: $("$LIGHTTPD" -v 2>&1 | head -n 1 | cut -d' ' -f1), $("$WRK" -v 2>&1 | head -n 1 | cut -d' ' -f1-2), node $("$NODE" --version 2>/dev/null || echo none), SQLite $(pkg-config --modversion sqlite3 2>/dev/null || echo unknown)"
	echo "load: wrk -t$WRK_THREADS -c$CONNS, ${DURATION}s per round after ${WARMUP}s warm-up, $ROUNDS rounds; $PROCS processes each"
	echo "formrelay: dry_run = ${BENCH_DRY_RUN:-no}, delivering to bench/sink (C, scans and counts)"
	start_sink
	case ",$TARGETS," in
	*,formrelay_pg,*)
		pg_start
		# the schema, before the first round
		BENCH_SPOOL_EXTRA=$(pg_spool_conf) write_formrelay_conf "$WORK/pgconf"
		"$FORMRELAY" -c "$WORK/pgconf/formrelay.conf" migrate >/dev/null ||
			die "formrelay migrate failed on the bench's cluster"
		echo "formrelay_pg: PostgreSQL $("$PYTHON" "$SRCDIR/tests/pgcluster.py" psql "$WORK/pg" "SHOW server_version"), on this machine, synchronous_commit on, fsync on"
		;;
	esac
	: >"$WORK/results.tsv"
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		for t in $(echo "$TARGETS" | tr ',' ' '); do
			case $t in
			floor | formrelay | formrelay_pg) round_fastcgi "$t" "$r" ;;
			peer) round_peer "$r" ;;
			*) die "unknown target $t" ;;
			esac
		done
		r=$((r + 1))
	done
	"$PYTHON" "$BENCH_DIR/summary.py" "$WORK/results.tsv"
	case ",$TARGETS," in
	*,formrelay,*) "$PYTHON" "$BENCH_DIR/commit_cycle.py" "$WORK"/wrk.formrelay.* ;;
	esac
	[ "$DO_PERF" = 0 ] || perf_report
	if [ "$DO_DRAIN" = 1 ]; then
		echo
		sh "$BENCH_DIR/drain.sh" --rounds "$ROUNDS"
		case ",$TARGETS," in
		*,formrelay_pg,*)
			echo
			sh "$BENCH_DIR/drain.sh" --rounds "$ROUNDS" --postgresql
			;;
		esac
	fi
	if [ "$DO_CPU" = 1 ]; then
		echo
		sh "$BENCH_DIR/callgrind.sh"
	fi
	return 0
}

# The report also goes to $BUILD/bench-report.txt, for the README.
# (POSIX sh has no pipefail: main's own status goes through a file.)
mkdir -p "$BUILD" || die "cannot create $BUILD"
rm -f "$BUILD/bench-status"
{ main && echo ok >"$BUILD/bench-status"; } 2>&1 | tee "$BUILD/bench-report.txt"
[ -f "$BUILD/bench-status" ] || exit 1
if [ "$UPDATE_README" = 1 ]; then
	"$PYTHON" - "$BENCH_DIR/README.md" "$BUILD/bench-report.txt" "sh bench/run.sh $ARGS" <<'EOF'
import sys
readme, report, cmd = sys.argv[1:4]
text = open(readme).read()
begin, end = "<!-- figures:begin -->", "<!-- figures:end -->"
if begin not in text or end not in text:
    sys.exit("bench: no figures markers in " + readme)
lines = [l for l in open(report).read().splitlines()
         if not l.startswith("bench: ")]
block = "%s\nThe report of `%s`:\n\n```\n%s\n```\n%s" % (
    begin, cmd.strip(), "\n".join(lines).strip(), end)
head, rest = text.split(begin, 1)
open(readme, "w").write(head + block + rest.split(end, 1)[1])
print("bench: figures written to " + readme)
EOF
fi
