#!/bin/sh
# The arm64 PMU test guest's part of /init (tests/pmu-guest/run.sh packs it as /init.guest,
# run by tests/guest-init.sh once the file systems are mounted): report the PMU, run the
# unit tests qemu-user cannot run and the bench with hardware counters, print everything
# between markers on the console, power off.
export LD_LIBRARY_PATH=/lib/aarch64-linux-gnu
# Debian's kernels default to perf_event_paranoid=3 (a Debian patch: no perf_event_open
# for anyone but root), and PAPI disables its perf_event component at 3 even for root.
echo 1 >/proc/sys/kernel/perf_event_paranoid
set -f # the kernel command line carries a regex: no globbing while splitting it
for w in $(cat /proc/cmdline); do
    case $w in
    pmucounters=*) COUNTERS=${w#pmucounters=} ;;
    pmumux=*) MUX=${w#pmumux=} ;;
    pmufilter=*) FILTER=${w#pmufilter=} ;;
    pmuunit=*) UNIT=${w#pmuunit=} ;;
    esac
done
set +f
echo "PMU-GUEST-BEGIN"
echo "PMU-SOURCES $(ls /sys/bus/event_source/devices | tr '\n' ' ')"
echo "PMU-NODES $(ls -d /sys/devices/system/node/node* 2>/dev/null | wc -l)"
/usr/bin/papi_avail 2>&1 | grep -E 'PAPI_(TOT_CYC|TOT_INS|L1_DCM|TLB_DM) |Number Hardware Counters|Max Multiplex|CPU [A-Z]|Model|Vendor' | sed 's/^/PAPI-AVAIL /'
grep -m3 -E 'CPU (implementer|part)' /proc/cpuinfo | sed 's/^/CPUINFO /'
ls /sys/bus/event_source/devices/armv8_pmuv3*/events 2>/dev/null | tr '\n' ' ' | sed 's/^/PMU-EVENTS /'; echo
if [ -x /bin/test_sched ] && [ "${UNIT:-1}" = 1 ]; then
    # the tests tests/arm64/run-user.sh cannot run under qemu-user
    /bin/test_sched --jobs=1 --filter='@(fatal/*|sched/init_run_fini_100_no_leaks)' >/tmp/t.out 2>&1
    rc=$?; tail -3 /tmp/t.out; echo "PMU-GUEST-RC test_sched $rc"
    if [ -x /bin/test_procs ]; then
        /bin/test_procs --jobs=1 --filter='procs/half_cpu_quota_gives_one_p' >/tmp/t.out 2>&1
        rc=$?; tail -3 /tmp/t.out; echo "PMU-GUEST-RC test_procs $rc"
    fi
    if [ -x /bin/test_fair ]; then
        /bin/test_fair --jobs=1 --filter='fair/long_hold_warning' >/tmp/t.out 2>&1
        rc=$?; tail -3 /tmp/t.out; echo "PMU-GUEST-RC test_fair $rc"
    fi
    /bin/test_numa --jobs=1 >/tmp/t.out 2>&1
    rc=$?; tail -3 /tmp/t.out; echo "PMU-GUEST-RC test_numa $rc"
fi
# One run with the requested events, one with more events than the PMU has counters.
n=0
for list in "$COUNTERS" "$MUX"; do
    n=$((n + 1))
    /bench/bench --preset=smoke --warm_ms=0 --counters="$list" --benchmark_filter="$FILTER" \
        --benchmark_out=/tmp/run$n.json --benchmark_out_format=json >/tmp/out$n.txt 2>&1
    echo "PMU-GUEST-RC bench$n $?"
    tail -5 /tmp/out$n.txt | sed 's/^/BENCH-OUT /'
    echo "PMU-JSON-BEGIN $n"
    cat /tmp/run$n.json
    echo "PMU-JSON-END $n"
done
echo "PMU-GUEST-END"
poweroff -f
