#!/bin/sh
# tests/numa-guest/run.sh [CASE...] - boot multi-node QEMU guests and run the NUMA checks.
#
# Cases: 2node (2 nodes, 1 CPU each, distance 20) and 4node (4 nodes with uneven
# distances, CPUs on nodes 0 and 1 only: nodes 2 and 3 are memory-only).  Default: both.
# Recipe: ../shared/NUMA-GUEST.md (TCG; KVM only where the host has real nesting).
#
# Builds into $BUILD/numa-guest (BUILD defaults to build):
#   guest_check   static: runtime/src/numa.c + benches/harness/bench_numa.c +
#                 tests/numa-guest/guest_check.c + libnuma.a
#   test_numa     the host's Criterion unit test (with its libraries), when built
#   guest_sched   static, only when $BUILD/libmn.a has the scheduler (mn_init): numa_local
#                 places each P's stacks on its node
#   bench         $BENCH_BIN (default $BUILD/benches/bench) with its shared libraries, only
#                 when it lists numa/chase: its node x node matrix must have every pair
#   vmlinuz       Debian's cloud kernel, fetched once with apt-get download (not installed)
#   initramfs     busybox-static + the above + tests/guest-init.sh as /init (mounts) and
#                 init.sh as /init.guest (runs them and powers off)
# Each guest runs under `timeout`; its console goes to $BUILD/numa-guest/<case>.log.
# Exit: 0 all cases passed, 1 a check failed, 2 a prerequisite is missing.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
case $BUILD in /*) OUT=$BUILD/numa-guest ;; *) OUT=$ROOT/$BUILD/numa-guest ;; esac
CC=${CC:-cc}
BENCH_BIN=${BENCH_BIN:-$BUILD/benches/bench}
GUEST_TIMEOUT=${GUEST_TIMEOUT:-300}
PYTHON=${PYTHON:-/usr/bin/python3}
CASES=${*:-2node 4node}

die2() { echo "numa-guest: $*" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || die2 "qemu-system-x86_64 not found (scripts/ensure-deps qemu-system-x86)"
BUSYBOX=$(command -v busybox || true)
[ -n "$BUSYBOX" ] && ! ldd "$BUSYBOX" >/dev/null 2>&1 || die2 "a static busybox is needed (scripts/ensure-deps busybox-static)"
[ -f /usr/lib/x86_64-linux-gnu/libnuma.a ] || die2 "libnuma.a not found (scripts/ensure-deps libnuma-dev)"
mkdir -p "$OUT"

# ---- kernel --------------------------------------------------------------------------
if [ ! -s "$OUT/vmlinuz" ]; then
    pkg() { apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}'; }
    PKG=$(pkg)
    if [ -z "$PKG" ] && [ "$(id -u)" = 0 ]; then apt-get update -qq >&2 && PKG=$(pkg); fi
    [ -n "$PKG" ] || die2 "cannot resolve linux-image-cloud-amd64 (run apt-get update)"
    rm -rf "$OUT/dl" && mkdir -p "$OUT/dl"
    (cd "$OUT/dl" && apt-get download "$PKG" >/dev/null 2>&1) || die2 "apt-get download $PKG failed"
    dpkg-deb --fsys-tarfile "$OUT/dl/${PKG}"_*.deb | tar -x -C "$OUT/dl" --wildcards './boot/vmlinuz-*'
    mv "$OUT"/dl/boot/vmlinuz-* "$OUT/vmlinuz.tmp" && mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
    rm -rf "$OUT/dl"
    echo "numa-guest: kernel $PKG -> $OUT/vmlinuz"
fi

# ---- test binaries ---------------------------------------------------------------------
CFLAGS_G="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -pthread -Iruntime/include -Iruntime/src \
    -Ibenches/harness"
$CC $CFLAGS_G -static -o "$OUT/guest_check" tests/numa-guest/guest_check.c runtime/src/numa.c \
    benches/harness/bench_numa.c -lnuma 2>"$OUT/cc.log" || { cat "$OUT/cc.log" >&2; exit 1; }
rm -f "$OUT/guest_sched"
if [ -f "$BUILD/libmn.a" ] && nm "$BUILD/libmn.a" 2>/dev/null | grep -q ' T mn_init$'; then
    $CC $CFLAGS_G -static -o "$OUT/guest_sched" tests/numa-guest/guest_sched.c \
        benches/harness/bench_numa.c "$BUILD/libmn.a" -lnuma 2>"$OUT/cc.log" || { cat "$OUT/cc.log" >&2; exit 1; }
    # numa_local is wired when some runtime object other than numa.o calls mn_numa_bind.
    if nm -A "$BUILD/libmn.a" 2>/dev/null | grep -v 'numa.o:' | grep -q ' U mn_numa_bind$'; then
        SCHED_WIRED=1
    else
        SCHED_WIRED=0
    fi
else
    SCHED_WIRED=0
fi

# ---- initramfs ---------------------------------------------------------------------------
R=$OUT/root
# copy_with_libs BIN DEST - put a dynamic binary at $R/DEST with its libraries and loader.
copy_with_libs() {
    mkdir -p "$R$(dirname "$2")" && cp "$1" "$R$2"
    for lib in $(ldd "$1" | awk '/=> \//{print $3} /^[[:space:]]*\/lib/{print $1}'); do
        mkdir -p "$R$(dirname "$lib")" && cp -L "$lib" "$R$lib"
    done
}
rm -rf "$R" && mkdir -p "$R/bin" "$R/proc" "$R/sys" "$R/dev" "$R/tmp"
cp "$BUSYBOX" "$R/bin/busybox"
for a in sh mount cat echo poweroff grep sleep; do ln -s busybox "$R/bin/$a"; done
cp "$OUT/guest_check" "$R/bin/"
[ -f "$OUT/guest_sched" ] && cp "$OUT/guest_sched" "$R/bin/"
HAVE_BENCH=0
if [ -x "$BENCH_BIN" ] && "$BENCH_BIN" --list 2>/dev/null | grep -q '^numa/chase/'; then
    HAVE_BENCH=1
    copy_with_libs "$BENCH_BIN" /bench/bench
fi
# The host's Criterion test of numa.c, run again on a multi-node kernel (its expectations come
# from /sys, so there they assert the multi-node facts).
HAVE_UNIT=0
UNIT=$BUILD/runtime/tests/test_numa
if [ -x "$UNIT" ]; then
    HAVE_UNIT=1
    copy_with_libs "$UNIT" /bin/test_numa
fi
cp tests/guest-init.sh "$R/init" && chmod +x "$R/init"
cp tests/numa-guest/init.sh "$R/init.guest"
(cd "$R" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null) | gzip -1 >"$OUT/initramfs.cpio.gz"

# ---- guests ------------------------------------------------------------------------------
if grep -qwE 'vmx|svm' /proc/cpuinfo && [ ! -d /sys/module/kvm_pvm ] && [ -w /dev/kvm ]; then
    ACCEL=kvm
else
    ACCEL=tcg
fi
status=0
for case in $CASES; do
    case $case in
    2node)
        SMP=2
        NUMA="-object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=512M
              -numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1
              -numa dist,src=0,dst=1,val=20"
        NODES=0,1 DIST='10,20;20,10' CPUS='0;1' ;;
    4node)
        SMP=2
        NUMA="-object memory-backend-ram,id=m0,size=256M -object memory-backend-ram,id=m1,size=256M
              -object memory-backend-ram,id=m2,size=256M -object memory-backend-ram,id=m3,size=256M
              -numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1
              -numa node,nodeid=2,memdev=m2 -numa node,nodeid=3,memdev=m3
              -numa dist,src=0,dst=1,val=20 -numa dist,src=0,dst=2,val=30
              -numa dist,src=0,dst=3,val=40 -numa dist,src=1,dst=2,val=25
              -numa dist,src=1,dst=3,val=35 -numa dist,src=2,dst=3,val=15"
        NODES=0,1,2,3 DIST='10,20,30,40;20,10,25,35;30,25,10,15;40,35,15,10' CPUS='0;1;;' ;;
    *) die2 "unknown case '$case' (2node, 4node)" ;;
    esac
    log=$OUT/$case.log
    echo "numa-guest: booting $case ($ACCEL, timeout ${GUEST_TIMEOUT}s) -> $log"
    # shellcheck disable=SC2086
    timeout "$GUEST_TIMEOUT" qemu-system-x86_64 -machine q35 -accel $ACCEL -cpu max -smp $SMP -m 1G \
        $NUMA -kernel "$OUT/vmlinuz" -initrd "$OUT/initramfs.cpio.gz" \
        -append "console=ttyS0 quiet panic=-1 numa_balancing=disable nokaslr mnnodes=$NODES mndist=$DIST mncpus=$CPUS mnsched=$SCHED_WIRED" \
        -nographic -nodefaults -no-reboot -serial stdio -monitor none </dev/null >"$log" 2>&1 \
        || echo "numa-guest: qemu exited with $? (124 = timeout)" >>"$log"
    tr -d '\r' <"$log" >"$log.txt"
    grep -E '^(CHECK|CHASE|SCHED|NUMA-GUEST-RC|\[====\])' "$log.txt" | sed "s/^/  [$case] /" || true
    ok=1
    grep -q '^NUMA-GUEST-RC guest_check 0$' "$log.txt" || ok=0
    if grep -q '^CHECK .* FAIL' "$log.txt"; then ok=0; fi
    if [ "$HAVE_UNIT" = 1 ]; then
        grep -q '^NUMA-GUEST-RC test_numa 0$' "$log.txt" || { ok=0; grep -i 'fail\|assert' "$log.txt" | head -5; }
    fi
    if grep -q '^NUMA-GUEST-RC guest_sched' "$log.txt"; then
        grep -q '^NUMA-GUEST-RC guest_sched 0$' "$log.txt" || ok=0
    fi
    if [ "$HAVE_BENCH" = 1 ]; then
        sed -n '/^NUMA-JSON-BEGIN$/,/^NUMA-JSON-END$/p' "$log.txt" | sed '1d;$d' >"$OUT/$case.bench.json"
        grep -q '^NUMA-GUEST-RC bench 0$' "$log.txt" || { ok=0; grep '^BENCH-ERR' "$log.txt" | tail -5; }
        "$PYTHON" tests/numa-guest/check_bench.py "$OUT/$case.bench.json" "$NODES" "$CPUS" \
            >"$OUT/$case.bench.txt" || ok=0
        sed "s/^/  [$case] /" "$OUT/$case.bench.txt"
    else
        echo "  [$case] bench: $BENCH_BIN has no numa/chase rows (runtime not built yet); the standalone chase matrix in guest_check stands in"
    fi
    if [ "$ok" = 1 ]; then echo "numa-guest: $case PASS"; else echo "numa-guest: $case FAIL (see $log.txt)"; status=1; fi
done
exit $status
