# Shared pieces of bench/run.sh, bench/drain.sh and bench/callgrind.sh.
# POSIX sh; sourced, not run.  Expects BENCH_DIR (this directory).

SRCDIR=$(cd "$BENCH_DIR/.." && pwd)
BUILD=${BENCH_BUILD:-${TMPDIR:-/tmp}/formrelay-bench-build}
# Work files (spools, configurations, logs) go in the build directory
# unless told otherwise; check_disk refuses a tmpfs, whose fsync costs
# nothing and would flatter formrelay's durable commits.
WORKROOT=${BENCH_WORK:-$BUILD}
PYTHON=${PYTHON:-python3}

die() {
	echo "bench: $*" >&2
	exit 1
}

note() {
	echo "bench: $*" >&2
}

need() {
	for prog in "$@"; do
		command -v "$prog" >/dev/null 2>&1 ||
			die "$prog is needed but not installed"
	done
}

# Configure (once, default flags with -O2) and build what the benchmarks
# run: make bench builds src/formrelay, src/formrelay-deliver and bench/*.
bench_build() {
	if [ ! -x "$SRCDIR/configure" ]; then
		note "no configure script: running autoreconf -fi in $SRCDIR"
		(cd "$SRCDIR" && autoreconf -fi) || die "autoreconf failed"
	fi
	mkdir -p "$BUILD" || die "cannot create $BUILD"
	if [ ! -f "$BUILD/config.status" ]; then
		note "configuring in $BUILD (CFLAGS='-g -O2')"
		(cd "$BUILD" && "$SRCDIR/configure" CFLAGS="-g -O2" >configure.out 2>&1) ||
			die "configure failed: see $BUILD/configure.out and $BUILD/config.log"
	fi
	note "building in $BUILD (make bench)"
	make -C "$BUILD" -j"$(nproc)" bench >"$BUILD/bench-make.out" 2>&1 ||
		die "make bench failed: see $BUILD/bench-make.out"
	FORMRELAY="${FORMRELAY_OVERRIDE:-$BUILD/src/formrelay}"
	FLOOR="$BUILD/bench/floor"
	SINK="$BUILD/bench/sink"
	CPU_PATH="$BUILD/bench/cpu_path"
}

# A work directory of its own, removed at exit unless BENCH_KEEP is set.
bench_workdir() {
	mkdir -p "$WORKROOT" || die "cannot create $WORKROOT"
	fstype=$(stat -f -c %T "$WORKROOT")
	case $fstype in
	tmpfs | ramfs)
		[ -n "${BENCH_ALLOW_TMPFS:-}" ] ||
			die "$WORKROOT is on $fstype: fsync is free there; set BENCH_WORK to a directory on a disk (or BENCH_ALLOW_TMPFS=1)"
		;;
	esac
	WORK=$(mktemp -d "$WORKROOT/formrelay-bench.XXXXXX") ||
		die "cannot create a work directory under $WORKROOT"
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

# Processes to stop at exit, by pid (only those this script started).
STARTED=""

bench_cleanup() {
	pg_stop
	for pid in $STARTED; do
		kill "$pid" 2>/dev/null
	done
	for pid in $STARTED; do
		wait "$pid" 2>/dev/null
	done
	if [ -n "${BENCH_KEEP:-}" ]; then
		note "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}

# Stop one process we started and forget it.
stop_pid() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	rest=""
	for p in $STARTED; do
		[ "$p" = "$1" ] || rest="$rest $p"
	done
	STARTED=$rest
}

free_port() {
	"$PYTHON" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT PID: until 127.0.0.1:PORT accepts, or PID has died.
wait_port() {
	"$PYTHON" - "$1" "$2" <<'EOF' || die "nothing listens on port $1 (pid $2)"
import os, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}

# wait_file FILE PID: until FILE exists, or PID has died.
wait_file() {
	i=0
	while [ ! -s "$1" ]; do
		kill -0 "$2" 2>/dev/null || die "process $2 died before writing $1"
		i=$((i + 1))
		[ $i -lt 400 ] || die "timed out waiting for $1"
		sleep 0.05
	done
}

# The direct children of PID.
children_of() {
	cat /proc/"$1"/task/*/children 2>/dev/null
}

# wait_children PID N: print PID's children once there are N of them.
wait_children() {
	i=0
	while [ "$(children_of "$1" | wc -w)" -lt "$2" ]; do
		i=$((i + 1))
		[ $i -lt 200 ] || die "process $1 has not started $2 children"
		sleep 0.05
	done
	children_of "$1"
}

# cpu_ticks_of PID...: user + system clock ticks (all threads) so far.
cpu_ticks_of() {
	t=0
	for pid in "$@"; do
		# fields 14 and 15 after the ")" that closes the command name
		n=$(sed 's/.*) //' /proc/"$pid"/stat 2>/dev/null | awk '{ print $12 + $13 }')
		t=$((t + ${n:-0}))
	done
	echo "$t"
}

# memory_of PID...: "rss_max_kb rss_total_kb pss_total_kb anon_max_kb"
# from /proc/PID/status (VmRSS, RssAnon: the process's own pages, not
# the shared libraries' code) and /proc/PID/smaps_rollup (Pss).
memory_of() {
	max=0 total=0 pss=0 anon=0
	for pid in "$@"; do
		set -- $(awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 }
			END { print r + 0, a + 0 }' /proc/"$pid"/status 2>/dev/null)
		rss=${1:-0} a=${2:-0}
		p=$(awk '/^Pss:/ { print $2 }' /proc/"$pid"/smaps_rollup 2>/dev/null)
		total=$((total + rss))
		pss=$((pss + ${p:-0}))
		[ "$rss" -gt "$max" ] && max=$rss
		[ "$a" -gt "$anon" ] && anon=$a
	done
	echo "$max $total $pss $anon"
}

# The fast stand-in for Customer.io (bench/sink.c), shared by a run.
start_sink() {
	"$SINK" --self-test || die "bench/sink counts events wrongly"
	rm -f "$WORK/sink.port"
	"$SINK" --port-file "$WORK/sink.port" &
	SINK_PID=$!
	STARTED="$STARTED $SINK_PID"
	wait_file "$WORK/sink.port" "$SINK_PID"
	SINK_PORT=$(cat "$WORK/sink.port")
	SINK_URL="http://127.0.0.1:$SINK_PORT"
}

sink_reset() {
	curl -fsS -X POST "$SINK_URL/_control/reset" >/dev/null ||
		die "the sink does not answer"
}

sink_stats() {
	curl -fsS "$SINK_URL/_control/stats" || die "the sink does not answer"
}

# A formrelay configuration delivering to the sink, spool under $1.
write_formrelay_conf() {
	mkdir -p "$1"
	printf 'bench_key_0123456789abcdef\n' >"$1/api_key"
	chmod 600 "$1/api_key"
	cat >"$1/formrelay.conf" <<EOF
; bench/run.sh: formrelay delivering to the benchmark sink.
[customerio]
api_base     = $SINK_URL/v1
api_key_file = $1/api_key
timeout_ms   = 10000
dry_run      = ${BENCH_DRY_RUN:-no}

[spool]
path = $1/spool.db
${BENCH_SPOOL_EXTRA:-}

[http]
allowed_origins = https://www.example.com
; one client (wrk) sends everything: the per-address limit would
; answer 429 to nearly all of it
rate_limit = off

[antispam]
; wrk cycles 1024 bodies a thread: within 5 s the same body comes
; round again, and double submits would be answered without a store
double_submit_window = off
${BENCH_ANTISPAM:-}

[log]
level = warn
EOF
}

# A PostgreSQL cluster of the bench's own (tests/pgcluster.py) under
# $WORK/pg; sets PG_URL and PG_PASSFILE.  Stopped by pg_stop (and at
# exit).
pg_start() {
	"$PYTHON" "$SRCDIR/tests/pgcluster.py" start "$WORK/pg" >"$WORK/pg.out" ||
		die "cannot start a PostgreSQL cluster (install postgresql)"
	PG_URL=$(sed -n 1p "$WORK/pg.out")
	PG_PASSFILE=$(sed -n 2p "$WORK/pg.out")
	PG_STARTED=1
}

pg_stop() {
	[ -z "${PG_STARTED:-}" ] ||
		"$PYTHON" "$SRCDIR/tests/pgcluster.py" stop "$WORK/pg" >/dev/null
	PG_STARTED=
}

pg_sql() {
	"$PYTHON" "$SRCDIR/tests/pgcluster.py" psql "$WORK/pg" "$1"
}

# The [spool] lines of a formrelay on that cluster.
pg_spool_conf() {
	printf 'backend = postgresql\nurl = %s\npassword_file = %s\n' \
		"$PG_URL" "$PG_PASSFILE"
}

# A description of the machine, for the report.
machine() {
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	echo "machine: $(nproc) CPUs ($cpu), $mem RAM, $(uname -sr)"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	awk '$1 > 0.5 { print "WARNING: the machine is not quiet (1-minute load " $1 "): these figures compete with other work" }' /proc/loadavg
	echo "disk for spools: $WORKROOT on $(df -PT "$WORKROOT" | awk 'NR == 2 { print $2 " (" $1 ")" }')"
}
