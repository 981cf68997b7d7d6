#!/bin/sh
# One libFuzzer run of a harness, as suite 'fuzz' runs it:
#   run_fuzzer.sh HARNESS SEEDS WORKDIR [libFuzzer flags...]
# FUZZ_TIME seconds (10 by default, for make check; make fuzz FUZZ_TIME=300
# for a real run). New inputs collect in WORKDIR/corpus, kept between runs
# so each smoke run starts where the last one stopped; the checked-in SEEDS
# are only read. A crash leaves its input in WORKDIR/crashes.
set -eu
harness=$1 seeds=$2 work=$3
shift 3
time=${FUZZ_TIME:-10}
mkdir -p "$work/corpus" "$work/crashes"
# Undefined behaviour is a crash like any other, not a line in the log.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
# timeout(1) is the backstop for a harness stuck outside libFuzzer's reach.
exec timeout -k 10 $((time + 120)) "$harness" -max_total_time="$time" \
  -print_final_stats=1 -timeout=25 -rss_limit_mb=2048 \
  -artifact_prefix="$work/crashes/" "$@" "$work/corpus" "$seeds"
