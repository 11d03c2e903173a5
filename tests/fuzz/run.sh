#!/bin/sh
# Run one libFuzzer target from the build directory.
#
#   tests/fuzz/run.sh NAME [SECONDS]
#
# NAME is urlencoded, json, ... (or tests/fuzz/fuzz_NAME).  With SECONDS
# 0 or absent, every seed in tests/fuzz/corpus/NAME/ (and every input the
# fuzzer saved before) is run once: a regression replay.  Otherwise the
# target fuzzes for SECONDS, reading the seeds and adding new inputs to
# tests/fuzz/work/NAME/ in the build directory (the source tree is never
# written); crashes land in tests/fuzz/artifacts/.  Extra libFuzzer
# options can be passed in FUZZ_FLAGS, e.g. FUZZ_FLAGS=-jobs=2.
set -eu

name=$(basename "${1:?usage: run.sh NAME [SECONDS]}")
name=${name#fuzz_}
seconds=${2:-0}
srcdir=${FORMRELAY_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=tests/fuzz/fuzz_$name
seeds=$srcdir/tests/fuzz/corpus/$name
dict=$srcdir/tests/fuzz/$name.dict
work=tests/fuzz/work/$name
artifacts=tests/fuzz/artifacts

if [ ! -x "$bin" ]; then
	echo "run.sh: $bin: not built (./configure CC=clang --enable-fuzzing && make fuzz)" >&2
	exit 1
fi
if [ ! -d "$seeds" ]; then
	echo "run.sh: $seeds: no seed corpus" >&2
	exit 1
fi
mkdir -p "$work" "$artifacts"
set -- -artifact_prefix="$artifacts/$name-" -print_final_stats=1
[ -f "$dict" ] && set -- "$@" -dict="$dict"

if [ "$seconds" -eq 0 ]; then
	# -runs=0: execute the corpora once, then stop.
	exec "$bin" "$@" -runs=0 ${FUZZ_FLAGS:-} "$work" "$seeds"
fi
exec "$bin" "$@" -max_total_time="$seconds" -max_len=65536 \
	${FUZZ_FLAGS:-} "$work" "$seeds"
