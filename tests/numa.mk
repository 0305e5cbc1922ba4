# ==== tests/numa.mk: NUMA on multi-node QEMU guests (claims N3.*, T10.remote) ====
#
#   make test-numa                      boot a 2-node and a 4-node guest (TCG), run the NUMA
#                                       checks and the NUMA bench rows inside, check results
#   make test-numa NUMA_GUEST_CASES=2node
#
# What runs in the guests: tests/numa-guest/run.sh (its header says what each case is).
# Needs the Debian packages below; as root they are installed on demand (.ci/run runs as
# root), otherwise the one apt-get line is printed.  The single-node facts are tested on
# the host by runtime/tests/test_numa.c under `make test-runtime`.
#
# test-numa joins `make test` only where QEMU and busybox-static are installed or can be
# (root), so a developer without them still runs the rest of `make test`.

NUMA_GUEST_DEPS  = qemu-system-x86 busybox-static libnuma-dev
NUMA_GUEST_CASES ?= 2node 4node
NUMA_GUEST_PREREQS := $(BENCH_BIN) $(LIBMN) $(BUILD)/runtime/tests/test_numa

.PHONY: test-numa
test-numa: $(NUMA_GUEST_PREREQS)
	@$(ENSURE) $(NUMA_GUEST_DEPS)
	@BUILD=$(BUILD) CC=$(CC) BENCH_BIN=$(BENCH_BIN) PYTHON=$(PYTHON) \
	  tests/numa-guest/run.sh $(NUMA_GUEST_CASES)

NUMA_GUEST_READY := $(shell { command -v qemu-system-x86_64 && \
    dpkg-query -W -f='$${Status}' busybox-static | grep -q 'ok installed'; } >/dev/null 2>&1 \
    || [ "$$(id -u)" = 0 ] && echo y)
ifneq ($(NUMA_GUEST_READY),)
TEST_TARGETS += test-numa
endif
