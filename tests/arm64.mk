# ==== tests/arm64.mk: the runtime on aarch64 under qemu-user =============================
#
#   make test-arm64          cross-build libmn.a, the Criterion unit tests and squares for
#                            aarch64 into $(BUILD)/arm64 and run them under qemu-aarch64
#                            (user mode); part of `make test` (about 2-3 min on 2 cores)
#   make test-arm64-stress   the stealing stress and resize-under-load tests, 20 rounds
#                            (ARM64_ROUNDS=N), under qemu-aarch64
#   make arm64-bin           only the cross build (used by tests/pmu.mk)
#
# Toolchain: Debian's gcc-aarch64-linux-gnu, qemu-user and the :arm64 library packages
# below, installed by scripts/ensure-deps (which adds the arm64 dpkg architecture as root).
# libcriterion3:arm64 cannot be installed next to the host's Criterion (its libnanomsg5 is
# not Multi-Arch: same), so tests/arm64/sysroot.sh unpacks it into $(BUILD)/arm64/sysroot.
# Without the toolchain and without root to install it, `make test` prints one skip line.
# QEMU on an x86-64 host gives the guest x86's ordering: these runs test the context
# switch and the logic, not the barriers (runtime/src/proc.c, "Memory ordering").

ARM64_CC      ?= aarch64-linux-gnu-gcc
ARM64_CXX     ?= aarch64-linux-gnu-g++
ARM64_BUILD   := $(BUILD)/arm64
ARM64_SYSROOT := $(ARM64_BUILD)/sysroot
ARM64_LIBDIR   = $(abspath $(ARM64_SYSROOT))/usr/lib/aarch64-linux-gnu
ARM64_DEPS     = gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user libc6-dev:arm64 \
                 libnuma-dev:arm64 libgit2-1.5:arm64 libffi8:arm64 libcriterion-dev
ARM64_ROUNDS  ?= 20
ARM64_MAKE     = $(MAKE) --no-print-directory BUILD=$(ARM64_BUILD) CC=$(ARM64_CC) \
                 CXX=$(ARM64_CXX) SQUARES=$(ARM64_BUILD)/squares \
                 CFLAGS="$(OPT) -g -L$(ARM64_LIBDIR) -Wl,-rpath-link,$(ARM64_LIBDIR)"

.PHONY: test-arm64 test-arm64-stress arm64-bin arm64-deps test-arm64-skip
arm64-deps:
	@$(ENSURE) $(ARM64_DEPS)
	@tests/arm64/sysroot.sh $(ARM64_SYSROOT)

arm64-bin: arm64-deps
	@$(ARM64_MAKE) $(ARM64_BUILD)/libmn.a $(ARM64_BUILD)/squares \
	  $(patsubst $(BUILD)/%,$(ARM64_BUILD)/%,$(RT_TESTS))
	@$(MAKE) --no-print-directory $(ARM64_BUILD)/qemu_exec.so

$(ARM64_BUILD)/qemu_exec.so: tests/arm64/qemu_exec.c
	@mkdir -p $(dir $@)
	$(ARM64_CC) -O2 -Wall -Wextra -Werror -shared -fPIC -o $@.tmp $< -ldl && mv $@.tmp $@

test-arm64: arm64-bin
	@tests/arm64/run-user.sh $(ARM64_BUILD)

# The stealing stress (1M Gs stolen across Ps; concurrent runq steals) and the
# resize-under-load tests (GOMAXPROCS changes while Gs run), ARM64_ROUNDS times.
test-arm64-stress: arm64-bin
	@t0=$$(date +%s); for r in $$(seq $(ARM64_ROUNDS)); do \
	  MN_QEMU_AARCH64=$$(command -v qemu-aarch64) LD_LIBRARY_PATH=$(ARM64_LIBDIR) \
	  QEMU_SET_ENV=LD_PRELOAD=$(abspath $(ARM64_BUILD))/qemu_exec.so sh -c '\
	    B=$(ARM64_BUILD)/runtime/tests; \
	    qemu-aarch64 $$B/test_sched --jobs=1 --filter="sched/@(steal_stress_1M_gs|T5_resize_under_load)" && \
	    qemu-aarch64 $$B/test_runq --jobs=1 --filter="runq/concurrent_steal_each_g_once" && \
	    qemu-aarch64 $$B/test_trace --jobs=1 --filter="resize/no_g_lost_across_gomaxprocs_changes"' \
	    >$(ARM64_BUILD)/stress.log 2>&1 \
	  || { tail -20 $(ARM64_BUILD)/stress.log; echo "arm64: stress round $$r FAILED"; exit 1; }; \
	  echo "arm64: stress round $$r/$(ARM64_ROUNDS) passed"; done; \
	  echo "arm64: steal stress + resize under load: $(ARM64_ROUNDS) rounds in a row passed in $$(( $$(date +%s) - t0 )) s"

test-arm64-skip:
	@echo "arm64: SKIP: no aarch64 cross toolchain/qemu-user and not root to install them ($(ARM64_DEPS))"

ARM64_READY := $(shell { command -v $(ARM64_CC) && command -v qemu-aarch64; } >/dev/null 2>&1 \
    || [ "$$(id -u)" = 0 ] && echo y)
ifneq ($(ARM64_READY),)
TEST_TARGETS += test-arm64
else
TEST_TARGETS += test-arm64-skip
endif
