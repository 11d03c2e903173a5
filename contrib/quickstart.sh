#!/bin/sh
# formrelay quick start.
#   sh contrib/quickstart.sh          install what is missing, build, run the demo
#   sh contrib/quickstart.sh test     install what is missing, build, run every test
#   sh contrib/quickstart.sh serve    run the demo from an existing build (tests)
# The demo serves www/ with lighttpd on http://127.0.0.1:${PORT:-8080}/ and
# formrelay at /formrelay; without FORMRELAY_API_KEY it runs in dry_run
# mode (stores and previews, sends nothing).  FORMRELAY_BUILD names the
# build directory (default _build), FORMRELAY_DEMO_DIR where the demo keeps
# its configuration and spool (default $FORMRELAY_BUILD/demo).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${FORMRELAY_BUILD:-$top/_build}
mode=${1:-demo}

PACKAGES="build-essential autoconf automake pkg-config libfcgi-dev
libcurl4-openssl-dev libjson-c-dev libsqlite3-dev nettle-dev lighttpd
liburiparser-dev libpq-dev libc-ares-dev python3 curl sqlite3"
# What `make check` drives for real on top of the demo's needs, so that no
# test skips: Chromium and Node (npm fetches playwright-core) for the demo
# page; Apache with mod_fcgid, nginx and spawn-fcgi for the setups in
# contrib/; mandoc for the man pages; systemd's tools (systemd-analyze,
# systemd-socket-activate) for the units; PostgreSQL, whose initdb and
# pg_ctl the PostgreSQL spool's tests run a cluster of their own with,
# and openssl, whose `openssl req` makes that cluster's TLS certificate;
# stress-ng for `make check-stress` (the suite on a loaded machine).  The
# fuzz targets are not part of `make check`: clang is installed where
# they are built (.ci/run).
TEST_PACKAGES="chromium nodejs apache2 libapache2-mod-fcgid nginx
spawn-fcgi mandoc systemd postgresql openssl stress-ng"

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installing a web server starts it on port 80 where it can; with two of
# them the second fails to start and dpkg reports an error.  The tests
# start their own on free ports, so no service is started while installing.
no_services_start() {
	[ -e /usr/sbin/policy-rc.d ] && return 0
	printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
	as_root chmod +x /usr/sbin/policy-rc.d
	policy_added=1
}

services_may_start() {
	[ -n "${policy_added:-}" ] && as_root rm -f /usr/sbin/policy-rc.d
	policy_added=
}

install_packages() {
	missing=
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "quickstart: installing$missing"
	as_root apt-get update -q
	# shellcheck disable=SC2086
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
}

# npm: Debian's package conflicts with node builds that bundle their own
# (NodeSource's nodejs), so it is installed only when no npm is there.
install_npm() {
	command -v npm >/dev/null 2>&1 && return 0
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm
}

build() {
	cd "$top"
	[ -x configure ] || autoreconf -fi
	mkdir -p "$build"
	cd "$build"
	if [ ! -f Makefile ] || [ -n "${CONFIGURE_FLAGS:-}" ]; then
		# shellcheck disable=SC2086
		"$top/configure" ${CONFIGURE_FLAGS:-}
	fi
	make -j"$(nproc 2>/dev/null || echo 2)"
}

# 0 when something already listens on 127.0.0.1:$1 (or the port cannot be
# bound at all).
port_taken() {
	python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)
PY
}

write_demo_config() {
	cat >"$demo/formrelay.conf" <<CONF
[customerio]
region = ${FORMRELAY_REGION:-us}
dry_run = $dry
[spool]
path = $demo/spool.db
[http]
success_url = /thanks.html
CONF
	cat >"$demo/lighttpd.conf" <<CONF
server.document-root = "$top/www"
server.bind = "127.0.0.1"
server.port = $port
server.modules = ("mod_fastcgi")
mimetype.assign = (".html" => "text/html; charset=utf-8",
                   ".js" => "text/javascript", ".css" => "text/css")
index-file.names = ("index.html")
fastcgi.server = ("/formrelay" => ((
    "bin-path" => "$build/src/formrelay",
    "socket" => "$demo/formrelay.sock",
    "max-procs" => 1,
    "check-local" => "disable",
    "bin-environment" => ("FORMRELAY_CONFIG" => "$demo/formrelay.conf"),
    "bin-copy-environment" => ("FORMRELAY_API_KEY")
)))
CONF
}

port_busy() {
	echo "quickstart: port $port on 127.0.0.1 is already in use;" \
		"pick another: PORT=8081 sh contrib/quickstart.sh" >&2
	exit 3
}

# Start lighttpd, say "demo on" once it answers, and stop it on Ctrl-C.
run_demo() {
	demo=${FORMRELAY_DEMO_DIR:-$build/demo}
	port=${PORT:-8080}
	mkdir -p "$demo"
	dry=yes
	[ -n "${FORMRELAY_API_KEY:-}" ] && dry=no
	write_demo_config
	port_taken "$port" && port_busy
	/usr/sbin/lighttpd -D -f "$demo/lighttpd.conf" &
	httpd=$!
	trap 'kill -TERM $httpd 2>/dev/null' INT TERM
	until curl -s -o /dev/null "http://127.0.0.1:$port/"; do
		if ! kill -0 "$httpd" 2>/dev/null; then
			wait "$httpd" || :
			port_taken "$port" && port_busy
			echo "quickstart: lighttpd did not start (see above)" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "quickstart: demo on http://127.0.0.1:$port/ (dry_run=$dry); Ctrl-C stops it"
	echo "quickstart: spool status: $build/src/formrelay -c $demo/formrelay.conf status"
	[ "$dry" = yes ] &&
		echo "quickstart: what would be sent: $build/src/formrelay -c $demo/formrelay.conf list"
	rc=0
	wait "$httpd" || rc=$?
	# Ctrl-C interrupts the first wait; the second reaps lighttpd.
	wait "$httpd" 2>/dev/null || :
	[ "$rc" -gt 128 ] && rc=0
	exit "$rc"
}

# automake's summary says how many tests skipped; name them and why.
report_skips() {
	log=$build/test-suite.log
	[ -f "$log" ] || return 0
	grep -E '^SKIP: |^ok [0-9]+ .*# SKIP' "$log" | sort -u |
		sed 's/^/quickstart: skipped: /' || :
}

case "$mode" in
demo)
	install_packages $PACKAGES
	build
	run_demo
	;;
serve)
	run_demo
	;;
test)
	no_services_start
	trap services_may_start EXIT
	install_packages $PACKAGES $TEST_PACKAGES
	install_npm
	services_may_start
	build
	make -C "$build" check || {
		cat "$build/test-suite.log" 2>/dev/null
		report_skips
		exit 1
	}
	report_skips
	;;
*) echo "usage: sh contrib/quickstart.sh [demo|test|serve]" >&2; exit 2 ;;
esac
