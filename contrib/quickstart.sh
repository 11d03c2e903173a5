#!/bin/sh
# formrelay quick start.
#   sh contrib/quickstart.sh          install what is missing, build, run the demo
#   sh contrib/quickstart.sh test     install what is missing, build, run every test
# The demo serves www/ with lighttpd on http://127.0.0.1:${PORT:-8080}/ and
# formrelay at /formrelay; without FORMRELAY_API_KEY it runs in dry_run
# mode (stores and logs, sends nothing).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${FORMRELAY_BUILD:-$top/_build}
mode=${1:-demo}

PACKAGES="build-essential autoconf automake pkg-config libfcgi-dev
libcurl4-openssl-dev libjson-c-dev libsqlite3-dev nettle-dev lighttpd
liburiparser-dev libpq-dev python3 curl sqlite3"
# What the whole test suite drives for real, on top of the demo's needs:
# a browser for the demo page, clang for the fuzz targets, and the other
# web servers whose setups contrib/ ships; PostgreSQL, whose initdb and
# pg_ctl the PostgreSQL spool's tests run a cluster of their own with;
# stress-ng for `make check-stress` (the suite on a loaded machine).
TEST_PACKAGES="chromium nodejs clang postgresql stress-ng"

install_packages() {
	missing=
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "quickstart: installing$missing"
	sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -q
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q $missing
	# Debian's npm conflicts with node builds that bundle their own.
	command -v npm >/dev/null 2>&1 ||
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q npm
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

run_demo() {
	demo=$build/demo
	port=${PORT:-8080}
	mkdir -p "$demo"
	dry=yes
	[ -n "${FORMRELAY_API_KEY:-}" ] && dry=no
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
	echo "quickstart: demo on http://127.0.0.1:$port/ (dry_run=$dry); Ctrl-C stops it"
	echo "quickstart: spool status: $build/src/formrelay -c $demo/formrelay.conf status"
	exec /usr/sbin/lighttpd -D -f "$demo/lighttpd.conf"
}

case "$mode" in
demo)
	install_packages $PACKAGES
	build
	run_demo
	;;
test)
	install_packages $PACKAGES $TEST_PACKAGES
	build
	make -C "$build" check || {
		cat "$build/test-suite.log" 2>/dev/null
		exit 1
	}
	;;
*) echo "usage: sh contrib/quickstart.sh [demo|test]" >&2; exit 2 ;;
esac
