#!/bin/sh
# The NUMA test guest's part of /init (tests/numa-guest/run.sh packs it as /init.guest,
# run by tests/guest-init.sh once the file systems are mounted): run the checks with the
# expectations run.sh put on the kernel command line (mnnodes= mndist= mncpus= mnsched=),
# print their exit status, power off.
for w in $(cat /proc/cmdline); do
    case $w in
    mnnodes=*) NODES=${w#mnnodes=} ;;
    mndist=*) DIST=${w#mndist=} ;;
    mncpus=*) CPUS=${w#mncpus=} ;;
    mnsched=*) SCHED=${w#mnsched=} ;;
    esac
done
echo "NUMA-GUEST-BEGIN nodes=$NODES"
/bin/guest_check "$NODES" "$DIST" "$CPUS"
echo "NUMA-GUEST-RC guest_check $?"
if [ -x /bin/test_numa ]; then
    /bin/test_numa --jobs=1
    echo "NUMA-GUEST-RC test_numa $?"
fi
if [ -x /bin/guest_sched ]; then
    /bin/guest_sched "$SCHED"
    echo "NUMA-GUEST-RC guest_sched $?"
fi
if [ -x /bench/bench ]; then
    MN_NUMA_CHASE_BYTES=2097152 /bench/bench --benchmark_filter='^(numa|chan/numa)/' \
        --benchmark_repetitions=1 --benchmark_min_time=0.02 --warm_ms=0 --counters=none \
        --benchmark_out=/tmp/chase.json --benchmark_out_format=json >/dev/null 2>/tmp/bench.err
    echo "NUMA-GUEST-RC bench $?"
    while read -r line; do echo "BENCH-ERR $line"; done </tmp/bench.err
    echo "NUMA-JSON-BEGIN"
    cat /tmp/chase.json
    echo "NUMA-JSON-END"
fi
echo "NUMA-GUEST-END"
poweroff -f
