# ==== benches/: the bench binary (Google Benchmark + PAPI harness), `make bench` =========
#
# One binary, $(BENCH_BIN), holds every bench: the harness (benches/harness/*.c and
# gbench.cc, the only C++ file, which owns main), every benches/*.c topic file and the
# peers in benches/peers/*.cc, linked with the runtime's libmn.a.
#
#   make bench            deps (golang-go too), optimised build, quick preset with the Go
#                         peers interleaved, results JSON, tables, plots, report, summary
#   make bench PRESET=full
#   make bench WITH_GO=0  without the Go peers (the Go column then says so)
#   make bench-bin        only build $(BENCH_BIN)
#   make test-benches     smoke run of every bench (part of make test)

BENCH_BIN      := $(BUILD)/benches/bench
BENCH_DIR      := $(BUILD)/benches
BENCH_TOPIC_C  := $(wildcard benches/*.c)
BENCH_HARN_C   := $(wildcard benches/harness/*.c)
BENCH_HARN_CC  := benches/harness/gbench.cc
BENCH_HDRS     := $(wildcard benches/harness/*.h) $(wildcard runtime/include/*.h)
# Peer libraries written in C++ (Boost.Fiber): benches/peers/*.cc, called from benches/*.c.
BENCH_PEER_CC  := $(wildcard benches/peers/*.cc)
BENCH_OBJS     := $(patsubst %.c,$(BUILD)/%.o,$(BENCH_TOPIC_C) $(BENCH_HARN_C)) \
                  $(patsubst %.cc,$(BUILD)/%.o,$(BENCH_PEER_CC)) \
                  $(BUILD)/benches/harness/gbench.o
BENCH_CFLAGS    = $(ALL_CFLAGS) -Ibenches/harness
BENCH_CXXFLAGS  = -std=c++17 -Wall -Wextra -Werror $(OPT) -g -pthread -Ibenches/harness \
                  -I$(BENCH_DIR) -Iruntime/include
BENCH_LDLIBS    = -lbenchmark -lpapi -lboost_fiber -lst -lboost_context \
                  -lnuma -pthread -lrt -Wl,-z,now
DEPS_BENCH      = build-essential libnuma-dev libbenchmark-dev libpapi-dev libboost-context-dev \
                  libboost-fiber-dev libst-dev \
                  python3 python3-scipy
PRESET         ?= quick
WITH_GO        ?= 1
# golang-go joins the bench's packages when Go peers are on and no go is on PATH, so a
# non-root user gets one apt-get line for everything.
BENCH_GO_PKG    = $(if $(filter 0,$(WITH_GO)),,$(shell command -v go >/dev/null 2>&1 || echo golang-go))

BENCH_MN       := $(LIBMN)

.PHONY: bench bench-bin test-benches test-buildinfo FORCE
bench-bin: $(BENCH_BIN)

$(BUILD)/benches/%.o: benches/%.c $(BENCH_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -c -o $@ $<

$(BUILD)/benches/peers/%.o: benches/peers/%.cc $(BENCH_HDRS) $(wildcard benches/peers/*.h)
	@mkdir -p $(dir $@)
	$(CXX) $(BENCH_CXXFLAGS) -c -o $@ $<

$(BUILD)/benches/harness/gbench.o: $(BENCH_HARN_CC) $(BENCH_HDRS) $(BENCH_DIR)/buildinfo.h
	@mkdir -p $(dir $@)
	$(CXX) $(BENCH_CXXFLAGS) -c -o $@ $<

# buildinfo.h: what the JSON context records about the build (1.7.1's JSON has no
# library version, so it comes from dpkg).  Rewritten only when its text changes.
# BENCH_GIT_SHA says -dirty only for a change outside what `make bench` itself writes
# (BENCH_GENERATED: the tables, CSVs, plots and report under results/ and plots/), so the run
# after a `make bench` on a clean clone records a clean commit.
BENCH_GENERATED := results plots
$(BENCH_DIR)/buildinfo.h: FORCE
	@mkdir -p $(dir $@)
	@{ echo '#define BENCH_GIT_SHA "'"$$(git rev-parse HEAD 2>/dev/null || echo unknown)$$(git diff --quiet HEAD -- . $(BENCH_GENERATED:%=':!%') 2>/dev/null || echo -dirty)"'"'; \
	   echo '#define BENCH_LIBBENCHMARK_VERSION "'"$$(dpkg-query -W -f='$${Version}' libbenchmark-dev:$$(dpkg --print-architecture) 2>/dev/null || echo unknown)"'"'; \
	   echo '#define BENCH_CC_VERSION "'"$$($(CC) --version | head -1)"'"'; \
	   echo '#define BENCH_BUILD_FLAGS "'"$$(echo '$(BENCH_CFLAGS)' | sed 's/"/\\"/g')"'"'; \
	} > $@.tmp
	@cmp -s $@.tmp $@ 2>/dev/null && rm -f $@.tmp || mv $@.tmp $@
FORCE:

$(BENCH_BIN): $(BENCH_OBJS) $(BENCH_MN)
	$(CXX) -o $@ $(BENCH_OBJS) $(BENCH_MN) $(BENCH_LDLIBS)

# ==== make bench ===========================================================================
bench:
	@$(ENSURE) $(DEPS_BENCH) $(BENCH_GO_PKG)
	@echo "make bench: building $(BENCH_BIN) (-O2)"
	@$(MAKE) -s --no-print-directory OPT=-O2 $(BENCH_BIN)
	@PYTHON=$(PYTHON) WITH_GO=$(WITH_GO) scripts/run-bench --bin $(BENCH_BIN) --preset $(PRESET)

# ==== make test: smoke run of every bench ===================================================
test-benches: $(BENCH_BIN)
	$(PYTHON) benches/tests/smoke.py $(BENCH_BIN) $(BENCH_DIR)/smoke
TEST_TARGETS += test-benches

# make test: the recorded commit ignores generated outputs, not source changes (~5 s).
test-buildinfo:
	@sh benches/tests/test_buildinfo.sh
TEST_TARGETS += test-buildinfo
