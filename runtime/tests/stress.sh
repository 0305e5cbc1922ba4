#!/usr/bin/env bash
# stress.sh - run the runtime's test binaries and squares N times at each GOMAXPROCS in a
# list, beside a background CPU hog, and report every failure (a test that
# waited on a yield budget failed 24/300 runs beside two hogs).
#
#   runtime/tests/stress.sh N "1 2 3 4" TEST_BINARY...
#
# MN_GOMAXPROCS=p reaches squares and every test that keeps the default GOMAXPROCS; tests
# that set their own (most: 1 and 2, resize walks 1..4) keep it, and get the hog either
# way.  Iterations are the outer loop, so a cut-short run still covers every GOMAXPROCS.
# SQUARES overrides the squares binary.  Each failing run's output is kept under build/stress/.  Exit 1 when any run failed.
set -u
n=${1:?usage: stress.sh N "PROCS..." TEST...}
procs=${2:?usage: stress.sh N "PROCS..." TEST...}
shift 2
[ "$#" -gt 0 ] || { echo "stress.sh: no test binaries given" >&2; exit 2; }
case $n in '' | *[!0-9]*) echo "stress.sh: N must be a positive integer, got '$n'" >&2; exit 2 ;; esac
squares=${SQUARES:-build/runtime/examples/squares}
out=build/stress
mkdir -p "$out"

# the hog: one busy shell loop per run, ended by its pid on any exit
sh -c 'while :; do :; done' &
hog=$!
trap 'kill "$hog" 2>/dev/null' EXIT
trap 'exit 130' INT TERM

start=$(date +%s)
declare -A pf
for p in $procs; do pf[$p]=0; done
runs=0
for i in $(seq 1 "$n"); do
    for p in $procs; do
        for t in "$@"; do
            runs=$((runs + 1))
            log="$out/$(basename "$t").p$p.$i.log"
            if ! MN_GOMAXPROCS=$p "$t" --jobs=1 >"$log" 2>&1; then
                pf[$p]=$((pf[$p] + 1))
                echo "stress: FAIL $t GOMAXPROCS=$p iteration $i (log: $log)"
                grep -E '^\[(FAIL|----)\]' "$log" | head -5
            else
                rm -f "$log"
            fi
        done
        runs=$((runs + 1))
        got=$(MN_GOMAXPROCS=$p "$squares" 2>&1)
        if [ "$got" != 332833500 ]; then
            pf[$p]=$((pf[$p] + 1))
            echo "stress: FAIL squares GOMAXPROCS=$p iteration $i printed '$got'"
        fi
    done
    echo "stress: iteration $i of $n done, $(($(date +%s) - start)) s"
done
fails=0
for p in $procs; do
    echo "stress: GOMAXPROCS=$p: $n iterations, ${pf[$p]} failures"
    fails=$((fails + pf[$p]))
done
echo "stress: $runs runs, $fails failures, $(($(date +%s) - start)) s (with a CPU hog)"
[ "$fails" -eq 0 ]
