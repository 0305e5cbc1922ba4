#!/bin/sh
# tests/pmu-guest/run.sh - boot an arm64 QEMU guest with an emulated PMU (PMUv3) and two
# NUMA nodes, run the cross-built bench with hardware counters and the unit tests that
# qemu-user cannot run, and check the results (tests/pmu-guest/check_pmu.py).
#
# Machine: qemu-system-aarch64 -M virt -cpu $PMU_CPU,pmu=on -icount shift=0 -smp 2, 1 GiB
# in two NUMA nodes (one CPU each, distance 20), TCG.  -icount makes the guest's clock
# follow its retired instructions (1 ns each), which QEMU needs to count INST_RETIRED: the
# counts are exact and repeatable, and time in the guest means nothing.
# Kernel: Debian's arm64 image (the package linux-image-arm64:arm64 depends on), fetched
# once with apt-get download, reduced to boot/vmlinuz-* (an uncompressed Image).
# Userland: an initramfs with busybox-static:arm64, the bench ($ARM64_BUILD/benches/bench)
# and test_sched/test_numa with their arm64 shared libraries (listed by the arm64 ld.so run
# under qemu-aarch64), papi_avail, tests/guest-init.sh as /init and tests/pmu-guest/init.sh
# as the /init.guest it runs.
# Environment: ARM64_BUILD (default build/arm64), PMU_CPU (default cortex-a53: see
# tests/pmu.mk), GUEST_TIMEOUT (default 420 s), PYTHON, PMU_UNIT=0 (skip the unit tests),
# PMU_COUNTERS / PMU_MUX / PMU_FILTER (the two event lists and the bench rows),
# PMU_INSTR_CMD + PMU_INSTR_JSON (x86-64 callgrind figures made meanwhile, for the band).  The console log goes to $ARM64_BUILD/pmu-guest/guest.log.
# Exit: 0 all checks passed, 1 a check failed, 2 a prerequisite is missing.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
B=${ARM64_BUILD:-build/arm64}
OUT=${PMU_OUT:-$B/pmu-guest}
PMU_CPU=${PMU_CPU:-cortex-a53}
GUEST_TIMEOUT=${GUEST_TIMEOUT:-420}
PYTHON=${PYTHON:-/usr/bin/python3}
SR=$B/sysroot
die2() { echo "pmu-guest: $*" >&2; exit 2; }
command -v qemu-system-aarch64 >/dev/null || die2 "qemu-system-aarch64 not found (scripts/ensure-deps qemu-system-arm)"
command -v qemu-aarch64 >/dev/null || die2 "qemu-aarch64 not found (scripts/ensure-deps qemu-user)"
[ -x "$SR/bin/busybox" ] || die2 "$SR/bin/busybox missing (tests/arm64/sysroot.sh $SR)"
[ -x "$B/benches/bench" ] || die2 "$B/benches/bench missing (make arm64-bench)"
mkdir -p "$OUT"
t0=$(date +%s)

# ---- kernel --------------------------------------------------------------------------------
if [ ! -s "$OUT/Image" ] && [ -s "$B/pmu-guest/Image" ]; then cp "$B/pmu-guest/Image" "$OUT/Image"; fi
if [ ! -s "$OUT/Image" ]; then
    pkg() { apt-cache depends linux-image-arm64:arm64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}'; }
    PKG=$(pkg)
    if [ -z "$PKG" ] && [ "$(id -u)" = 0 ]; then apt-get update -qq >&2 && PKG=$(pkg); fi
    [ -n "$PKG" ] || die2 "cannot resolve linux-image-arm64:arm64 (dpkg --add-architecture arm64; apt-get update)"
    DL=$(mktemp -d /tmp/mn-pmu-dl.XXXXXX) && chmod 755 "$DL"
    (cd "$DL" && apt-get download "$PKG" >/dev/null 2>&1) || { rm -rf "$DL"; die2 "apt-get download $PKG failed"; }
    dpkg-deb --fsys-tarfile "$DL"/*.deb | tar -x -C "$DL" --wildcards './boot/vmlinuz-*'
    mv "$DL"/boot/vmlinuz-* "$OUT/Image.tmp" && mv "$OUT/Image.tmp" "$OUT/Image"
    rm -rf "$DL"
    echo "pmu-guest: kernel $PKG -> $OUT/Image"
fi

# ---- initramfs -----------------------------------------------------------------------------
R=$OUT/root
LIBS=$(cd "$SR/usr/lib/aarch64-linux-gnu" && pwd)
# copy_with_libs BIN DEST - BIN at $R/DEST, its shared libraries in $R/lib/aarch64-linux-gnu.
copy_with_libs() {
    mkdir -p "$R$(dirname "$2")" && cp "$1" "$R$2"
    qemu-aarch64 -E LD_LIBRARY_PATH="$LIBS" /lib/ld-linux-aarch64.so.1 --list "$1" |
        awk '/=> \//{print $3}' | while read -r lib; do cp -L "$lib" "$R/lib/aarch64-linux-gnu/"; done
}
rm -rf "$R" && mkdir -p "$R/bin" "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/lib/aarch64-linux-gnu" "$R/usr/bin"
cp -L /lib/ld-linux-aarch64.so.1 "$R/lib/"
cp "$SR/bin/busybox" "$R/bin/busybox"
for a in sh mount cat echo poweroff grep sed tail ls tr wc tee date; do ln -s busybox "$R/bin/$a"; done
copy_with_libs "$B/benches/bench" /bench/bench
copy_with_libs "$SR/usr/bin/papi_avail" /usr/bin/papi_avail
mkdir -p "$R/usr/share/papi/7.0" && cp /usr/share/papi/7.0/papi_events.csv "$R/usr/share/papi/7.0/"
for t in test_sched test_numa test_fair test_procs; do
    [ -x "$B/runtime/tests/$t" ] && copy_with_libs "$B/runtime/tests/$t" "/bin/$t"
done
cp tests/guest-init.sh "$R/init" && chmod +x "$R/init"
cp tests/pmu-guest/init.sh "$R/init.guest"
(cd "$R" && find . | qemu-aarch64 "$ROOT/$SR/bin/busybox" cpio -o -H newc 2>/dev/null) | gzip -1 >"$OUT/initramfs.cpio.gz"
t1=$(date +%s)

# ---- guest ---------------------------------------------------------------------------------
# Counted events: cycles and instructions (the PMUv3 events QEMU implements), L1D and dTLB
# misses (it does not), a software event.  The second list asks for more hardware events
# than the PMU has counters (QEMU: 6 + the cycle counter; 8 cycle and instruction events
# besides the one on the cycle counter), so the kernel multiplexes them, and PAPI's two are
# withheld (PAPI would not scale them).  Rows: one and several Ms; spawn with reuse only
# (reuse:0 is mmap-bound kernel time, slow under TCG).
COUNTERS=${PMU_COUNTERS:-PAPI_TOT_CYC,PAPI_TOT_INS,PAPI_L1_DCM,PAPI_TLB_DM,perf::CONTEXT-SWITCHES}
MUX=${PMU_MUX:-PAPI_TOT_INS,PAPI_TOT_CYC,perf::INSTRUCTIONS,perf::INSTRUCTIONS:u,perf::INSTRUCTIONS:k,perf::PERF_COUNT_HW_INSTRUCTIONS,perf::CYCLES,perf::CYCLES:u,perf::CYCLES:k,perf::CPU-CYCLES,perf::PERF_COUNT_HW_CPU_CYCLES}
FILTER=${PMU_FILTER:-^(switch/g_yield/procs:1|switch/g_chan|spawn/g/procs:[^/]+/reuse:1)/}
NUMA="-object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=512M
      -numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1
      -numa dist,src=0,dst=1,val=20"
log=$OUT/guest.log
# The x86-64 callgrind figures (PMU_INSTR_CMD, e.g. scripts/bench-instructions ... --out
# $PMU_INSTR_JSON) run on the host while the guest boots; waited for before the checks.
IPID=
if [ -n "${PMU_INSTR_CMD:-}" ]; then
    rm -f "${PMU_INSTR_JSON:-}"
    sh -c "$PMU_INSTR_CMD" >"$OUT/x86.instr.log" 2>&1 &
    IPID=$!
fi
echo "pmu-guest: booting ($PMU_CPU,pmu=on, -icount shift=0, 2 nodes, timeout ${GUEST_TIMEOUT}s) -> $log"
# shellcheck disable=SC2086
timeout "$GUEST_TIMEOUT" qemu-system-aarch64 -M virt -cpu "$PMU_CPU,pmu=on" -icount shift=0 \
    -smp 2 -m 1G $NUMA -kernel "$OUT/Image" -initrd "$OUT/initramfs.cpio.gz" \
    -append "console=ttyAMA0 quiet panic=-1 numa_balancing=disable pmucounters=$COUNTERS pmumux=$MUX pmufilter=$FILTER pmuunit=${PMU_UNIT:-1}" \
    -nographic -nodefaults -no-reboot -serial stdio -monitor none </dev/null >"$log" 2>&1 \
    || echo "pmu-guest: qemu exited with $? (124 = timeout)" >>"$log"
tr -d '\r' <"$log" >"$log.txt"
t2=$(date +%s)
grep -E '^(PMU-|PAPI-AVAIL|BENCH-OUT|\[====\])' "$log.txt" | grep -v '^PMU-JSON' | sed 's/^/  /' || true
for n in 1 2; do
    sed -n "/^PMU-JSON-BEGIN $n\$/,/^PMU-JSON-END $n\$/p" "$log.txt" | sed '1d;$d' >"$OUT/run$n.json"
done
echo "pmu-guest: initramfs $((t1 - t0)) s, guest $((t2 - t1)) s"

# ---- checks ---------------------------------------------------------------------------------
# x86-64 callgrind figures for the instructions-per-op band: the newest
# `make bench-instructions` result in results/ (none: the band is reported n/a).
INSTR=$(ls -t results/*/*.instr.json 2>/dev/null | head -1 || true)
if [ -n "$IPID" ]; then
    wait "$IPID" || echo "pmu-guest: x86 callgrind figures failed (see $OUT/x86.instr.log)"
fi
[ -s "${PMU_INSTR_JSON:-}" ] && INSTR=$PMU_INSTR_JSON
if "$PYTHON" tests/pmu-guest/check_pmu.py "$log.txt" "$OUT/run1.json" "$OUT/run2.json" $INSTR; then
    echo "pmu-guest: PASS ($(( $(date +%s) - t0 )) s)"
else
    echo "pmu-guest: FAIL (see $log.txt)"
    exit 1
fi
