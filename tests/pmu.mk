# ==== tests/pmu.mk: the hardware-counter path on an emulated arm64 PMU ===========
#
#   make test-pmu     cross-build the bench for arm64, boot qemu-system-aarch64 -M virt
#                     -cpu cortex-a53,pmu=on -icount shift=0 -smp 2 with two NUMA nodes
#                     (Debian's arm64 kernel, busybox initramfs), run the bench with
#                     hardware counters and the unit tests qemu-user cannot run, and check
#                     (tests/pmu-guest/check_pmu.py): PAPI sees the PMU; cycles and
#                     instructions per iteration on every thread; L1D/dTLB "event not
#                     supported by this PMU"; multiplexed events scaled; instructions per
#                     operation against x86 callgrind figures when results/ has them.
#                     Part of `make test` (a few minutes of TCG; see tests/pmu-guest/run.sh).
#   make arm64-bench  only the cross-built bench ($(ARM64_BUILD)/benches/bench)
#
# Why cortex-a53 and not -cpu max: QEMU's "max" CPU has implementer 0, which libpfm4 does
# not know, so PAPI disables its perf_event component ("no default PMU found") and the
# PMU path would not run at all.  On the Cortex-A53 model PAPI maps its presets to the
# common events (L1D_CACHE_REFILL, L1D_TLB_REFILL), which QEMU does not implement: exactly
# the case where a PMU exists but lacks an event.  Same packages as tests/arm64.mk, plus
# qemu-system-arm and the bench's :arm64 libraries; skipped with one line without them.

PMU_DEPS   = $(ARM64_DEPS) qemu-system-arm libbenchmark-dev:arm64 libpapi-dev:arm64 \
             libboost-context-dev:arm64 libboost-fiber-dev:arm64
PMU_GUEST_TIMEOUT ?= 480

.PHONY: test-pmu arm64-bench test-pmu-skip
arm64-bench: arm64-bin
	@$(ENSURE) $(PMU_DEPS)
	@$(ARM64_MAKE) CXX="$(ARM64_CXX) -L$(ARM64_LIBDIR) -Wl,-rpath-link,$(ARM64_LIBDIR)" \
	  $(ARM64_BUILD)/benches/bench

# The x86-64 figures for the instructions-per-operation band: callgrind over the three
# operations (benches/instr), run on the host while the guest boots.
test-pmu: arm64-bench $(INSTR_BIN)
	@$(ENSURE) valgrind
	@ARM64_BUILD=$(ARM64_BUILD) GUEST_TIMEOUT=$(PMU_GUEST_TIMEOUT) PYTHON=$(PYTHON) \
	  PMU_INSTR_JSON=$(ARM64_BUILD)/x86.instr.json \
	  PMU_INSTR_CMD="$(PYTHON) scripts/bench-instructions --bin $(INSTR_BIN) --ops procs:1 --out $(ARM64_BUILD)/x86.instr.json" \
	  tests/pmu-guest/run.sh

test-pmu-skip:
	@echo "pmu-guest: SKIP: no qemu-system-aarch64/aarch64 toolchain and not root to install them ($(PMU_DEPS))"

PMU_READY := $(shell { command -v qemu-system-aarch64 && command -v $(ARM64_CXX); } >/dev/null 2>&1 \
    || [ "$$(id -u)" = 0 ] && echo y)
ifneq ($(PMU_READY),)
TEST_TARGETS += test-pmu
else
TEST_TARGETS += test-pmu-skip
endif
