#!/bin/sh
# tests/arm64/run-user.sh ARM64_BUILD [ROUNDS] - run the arm64 build of the runtime's
# Criterion unit tests and the squares example under qemu-aarch64 (user mode).
#
# ARM64_BUILD holds runtime/tests/test_*, squares, qemu_exec.so (tests/arm64/qemu_exec.c)
# and sysroot/ (tests/arm64/sysroot.sh).  ROUNDS (default 1) repeats the whole run.
#
# qemu-user cannot emulate a few things some tests need, so these run in the arm64 system
# guest instead (tests/pmu-guest, a real arm64 kernel), not here:
#   fatal/*, fair/long_hold_warning,     fork() of a multi-threaded process (qemu 7.2's
#   procs/half_cpu_quota_gives_one_p     user mode asserts in cpu_exec after such a fork)
#   sched/init_run_fini_100_no_leaks     counts /proc/self/task: qemu adds its own threads
#   numa/*                               qemu-user returns ENOSYS for get_mempolicy/mbind
#                                        and EINVAL for seccomp filters
# Note: QEMU on an x86-64 host runs the guest's loads and stores with x86's ordering, so
# these runs cannot catch a missing barrier (see "Memory ordering" in runtime/src/proc.c).
# Exit: 0 all passed, 1 a test failed.
set -eu
B=${1:?usage: run-user.sh ARM64_BUILD [ROUNDS]}
ROUNDS=${2:-1}
QEMU=$(command -v qemu-aarch64)
SR=$(cd "$B/sysroot/usr/lib/aarch64-linux-gnu" && pwd)
SHIM=$(cd "$B" && pwd)/qemu_exec.so
SKIP='fatal/*|fair/long_hold_warning|procs/half_cpu_quota_gives_one_p|sched/init_run_fini_100_no_leaks|numa/*'
export MN_QEMU_AARCH64="$QEMU" QEMU_SET_ENV="LD_PRELOAD=$SHIM" LD_LIBRARY_PATH="$SR"
t0=$(date +%s)
r=1
while [ "$r" -le "$ROUNDS" ]; do
    for t in "$B"/runtime/tests/test_*; do
        out=$("$QEMU" "$t" --jobs=1 --filter="!($SKIP)" 2>&1) || {
            echo "$out" | grep -v '^\[----\] *$' | tail -25
            echo "arm64: $(basename "$t") FAILED under qemu-aarch64 (round $r)"
            exit 1
        }
        [ "$ROUNDS" = 1 ] && echo "arm64: $(basename "$t"): $(echo "$out" | grep 'Synthesis' | sed 's/.*Synthesis: //')"
    done
    for p in 1 2; do
        out=$(MN_GOMAXPROCS=$p "$QEMU" "$B/squares")
        [ "$out" = 332833500 ] || { echo "arm64: squares GOMAXPROCS=$p printed '$out'"; exit 1; }
    done
    [ "$ROUNDS" = 1 ] && echo "arm64: squares: 332833500 on GOMAXPROCS 1 and 2"
    r=$((r + 1))
done
echo "arm64: qemu-user: $ROUNDS round(s) passed in $(( $(date +%s) - t0 )) s (not run here: $SKIP; see tests/pmu-guest)"
