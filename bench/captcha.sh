#!/bin/sh
# The request path's cost of [antispam] captcha, in alternating rounds
# of the same build (bench/compare.sh): A with captcha = none, B with
# captcha = turnstile.  Both post the same bodies, each with a ~700
# character cf-turnstile-response token (bench/post_forms.lua, from
# BENCH_CAPTCHA_TOKEN): A drops it as a CAPTCHA field, B stores it with
# the submission, held for formrelay-deliver, which asks a stand-in
# siteverify (tests/siteverify.py --accept-all) before delivering.
#
#   sh bench/captcha.sh [--pairs 4] [--duration 10] [BUILD]
#
# BUILD defaults to the bench build (make bench there first, or run
# bench/run.sh once).  Prints compare.sh's table: B / A is the price of
# CAPTCHA on the request path (req/s, p99, FastCGI CPU a request) and
# on delivery (deliver CPU a request: the siteverify round trips).
set -u

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
PAIRS=4
DURATION=10
while [ $# -gt 0 ]; do
	case $1 in
	--pairs) PAIRS=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	-h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) break ;;
	esac
	shift
done
. "$BENCH_DIR/lib.sh"
if [ $# -gt 0 ]; then
	BUILD=$(cd "$1" && pwd) || die "no build directory $1"
else
	bench_build >/dev/null
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/formrelay-captcha.XXXXXX") ||
	die "cannot create a work directory"
SV_PID=""
trap '[ -n "$SV_PID" ] && kill "$SV_PID" 2>/dev/null; rm -rf "$TMP"' EXIT

printf '0x4AAAAAAAbench-secret\n' >"$TMP/secret"
chmod 600 "$TMP/secret"
"$PYTHON" "$SRCDIR/tests/siteverify.py" --port-file "$TMP/port" \
	--secret 0x4AAAAAAAbench-secret --accept-all www.example.com &
SV_PID=$!
wait_file "$TMP/port" "$SV_PID"
BENCH_CAPTCHA_TOKEN=0.Zk3bench_Turnstile-token
BENCH_ANTISPAM_A="captcha = none"
BENCH_ANTISPAM_B="captcha = turnstile
captcha_secret_file = $TMP/secret
captcha_verify_url = http://127.0.0.1:$(cat "$TMP/port")/siteverify"
export BENCH_CAPTCHA_TOKEN BENCH_ANTISPAM_A BENCH_ANTISPAM_B
sh "$BENCH_DIR/compare.sh" --pairs "$PAIRS" --duration "$DURATION" \
	"$BUILD" "$BUILD"
