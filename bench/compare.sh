#!/bin/sh
# Compare two builds of formrelay under the ingest benchmark, in
# alternating rounds (A, B, A, B, ...), so that both see the same
# drift of a shared host:
#
#   sh bench/compare.sh [--pairs 6] [--duration 10] BUILD_A BUILD_B
#
# BUILD_A and BUILD_B are build directories (each with src/formrelay and
# src/formrelay-deliver).  Each round is one `bench/run.sh --targets
# formrelay` round.  Prints every round, then, over the pairs, the
# median and range of B / A for requests/s, p99 and CPU a request (the
# FastCGI processes, and formrelay-deliver), and how many pairs B won.
# A difference that wins about half the pairs is noise, whatever the
# median says.  BENCH_ANTISPAM_A and BENCH_ANTISPAM_B, when set, add
# [antispam] lines to the configuration of A's and B's rounds (the same
# build may then be given twice: bench/captcha.sh).
set -u

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
PAIRS=6
DURATION=10

usage() {
	sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit "$1"
}

while [ $# -gt 0 ]; do
	case $1 in
	--pairs) PAIRS=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	-h | --help) usage 0 ;;
	-*) echo "compare.sh: unknown option $1" >&2; usage 2 >&2 ;;
	*) break ;;
	esac
	shift
done
[ $# -eq 2 ] || usage 2 >&2

. "$BENCH_DIR/lib.sh"

for b in "$1" "$2"; do
	[ -x "$b/src/formrelay" ] && [ -x "$b/src/formrelay-deliver" ] ||
		die "$b: no src/formrelay and src/formrelay-deliver (make them there first)"
done
A=$(cd "$1" && pwd)
B=$(cd "$2" && pwd)
OUT=$(mktemp -d "${TMPDIR:-/tmp}/formrelay-compare.XXXXXX") ||
	die "cannot create a work directory"
trap 'rm -rf "$OUT"' EXIT

# round VARIANT BUILD PAIR: one formrelay round; prints its figures as
# "VARIANT PAIR rps p99_us fcgi_us deliver_us commits_s group".
round() {
	report="$OUT/$1.$3"
	# BENCH_ANTISPAM_A / _B: [antispam] lines for each variant's config
	eval "BENCH_ANTISPAM=\${BENCH_ANTISPAM_$1:-}"
	export BENCH_ANTISPAM
	FORMRELAY_OVERRIDE=$2/src/formrelay \
		FORMRELAY_DELIVER_BIN=$2/src/formrelay-deliver \
		sh "$BENCH_DIR/run.sh" --targets formrelay --rounds 1 \
		--duration "$DURATION" --no-drain --no-cpu >"$report" 2>&1 ||
		die "bench/run.sh failed: see $report"
	"$PYTHON" - "$1" "$3" "$report" <<'EOF'
import re, sys
variant, pair, path = sys.argv[1:]
text = open(path).read()
m = re.search(r"^formrelay round 1: (.*)$", text, re.M)
if not m:
    sys.exit("no formrelay round in " + path)
kv = dict(w.split("=", 1) for w in m.group(1).split() if "=" in w)
req = max(int(kv["requests"]), 1)
hz = float(kv["ticks_per_s"])
per = lambda ticks: float(ticks) / hz * 1e6 / req
g = re.search(r"group commits (\d+)/s, ([\d.]+) submissions each", text)
print(variant, pair, kv["rps"], kv["p99_us"],
      "%.1f" % per(kv["cpu_ticks"]), "%.1f" % per(kv.get("child_ticks", 0)),
      g.group(1) if g else "-", g.group(2) if g else "-")
EOF
}

main() {
	bench_build >/dev/null
	echo "A: $A"
	echo "B: $B"
	echo "$PAIRS pairs of ${DURATION}s formrelay rounds, A first in each"
	echo "variant pair req/s p99_us fcgi_us deliver_us commits/s group"
	i=1
	while [ "$i" -le "$PAIRS" ]; do
		round A "$A" "$i" | tee -a "$OUT/rows"
		round B "$B" "$i" | tee -a "$OUT/rows"
		i=$((i + 1))
	done
	"$PYTHON" - "$OUT/rows" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    w = line.split()
    rows[(w[0], w[1])] = [float(x) for x in w[2:6]]
pairs = sorted({p for _, p in rows}, key=int)
names = ["req/s", "p99", "FastCGI CPU a request", "deliver CPU a request"]
better = [lambda b, a: b > a, lambda b, a: b < a,
          lambda b, a: b < a, lambda b, a: b < a]
print("B / A over %d pairs:" % len(pairs))
for k, name in enumerate(names):
    r = [rows[("B", p)][k] / rows[("A", p)][k] for p in pairs
         if rows[("A", p)][k] > 0]
    if not r:
        continue
    won = sum(better[k](rows[("B", p)][k], rows[("A", p)][k]) for p in pairs)
    print("  %-22s median %.3f (%.3f-%.3f), B better in %d of %d"
          % (name, statistics.median(r), min(r), max(r), won, len(pairs)))
EOF
}

main
