#!/bin/sh
# CPU per submission, in instructions: bench/cpu_path (parse_body +
# unwrap_webhook + normalise + payload_build of a typical urlencoded
# landing-page form) under valgrind --tool=callgrind, N and 2N times;
# the difference divided by N is the cost of one submission with the
# start-up cost cancelled out.  Prints it and the hot spots (self cost,
# callgrind_annotate) of the 2N run.
#
#   sh bench/callgrind.sh [N]      (N = 2000)
#
# Instruction counts, unlike times, do not depend on what else the
# machine is doing, so this figure is stable even on a busy machine.
set -u

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
N=${1:-2000}

. "$BENCH_DIR/lib.sh"
need valgrind callgrind_annotate make

# Total instructions (Ir) of a callgrind output file.
total_ir() {
	callgrind_annotate "$1" 2>/dev/null |
		awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }'
}

# Shorter callgrind_annotate lines: no object paths, no glibc source dirs.
tidy() {
	sed -e 's/ \[[^]]*\]$//' -e 's|\./[^ ]*/||' -e 's/^/  /'
}

profile() {
	valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$1" \
		"$CPU_PATH" "$1" >/dev/null 2>"$WORK/valgrind.$1.log" ||
		die "valgrind failed: $(tail -5 "$WORK/valgrind.$1.log")"
}

main() {
	bench_build
	bench_workdir
	profile "$N"
	profile $((2 * N))
	one=$(total_ir "$WORK/cg.$N")
	two=$(total_ir "$WORK/cg.$((2 * N))")
	[ -n "$one" ] && [ -n "$two" ] || die "no totals from callgrind_annotate"
	per=$(((two - one) / N))
	echo "CPU per submission (typical urlencoded form: parse + unwrap + normalise + payload):"
	echo "  $per instructions (callgrind Ir: ($two - $one) / $N; $(valgrind --version), -O2 build)"
	echo "hot spots (self instructions of $((2 * N)) submissions + start-up):"
	callgrind_annotate --inclusive=no "$WORK/cg.$((2 * N))" 2>/dev/null |
		awk '/file:function/ { on = 1; next } on && /^-+$/ { next } on && NF > 0' |
		head -n 15 | tidy
	echo "inclusive (the pipeline's stages):"
	callgrind_annotate --inclusive=yes "$WORK/cg.$((2 * N))" 2>/dev/null |
		grep -E ':(one_submission|parse_body|unwrap_webhook|normalise|payload_build|uuid_v4|rfc3339_ms|json_object_to_json_string_ext|alias_lookup|built_events_free|submission_free|fields_free) \[' |
		tidy
	return 0
}

main
