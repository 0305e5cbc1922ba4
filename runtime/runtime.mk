# ==== runtime/: the reference M:N runtime (libmn.a), its tests and examples =============
RT_SRCS  := $(wildcard runtime/src/*.c)
# The context switch for the target ISA (ctx_<abi>.S; CC=aarch64-linux-gnu-gcc picks aarch64).
RT_ISA   := $(firstword $(subst -, ,$(shell $(CC) -dumpmachine 2>/dev/null)))
RT_ASMS  := runtime/src/ctx_$(if $(filter aarch64 arm64,$(RT_ISA)),aarch64,x86_64).S
RT_OBJS  := $(RT_SRCS:%.c=$(BUILD)/%.o) $(RT_ASMS:%.S=$(BUILD)/%.o)
LIBMN    := $(BUILD)/libmn.a
RT_TESTS := $(patsubst runtime/tests/%.c,$(BUILD)/runtime/tests/%,$(wildcard runtime/tests/test_*.c))

SQUARES  ?= runtime/examples/squares

all: $(LIBMN) $(SQUARES)

$(BUILD)/runtime/src/%.o: runtime/src/%.c runtime/src/*.h runtime/include/*.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Iruntime/src -c -o $@ $<

$(BUILD)/runtime/src/%.o: runtime/src/%.S
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ $<

$(LIBMN): $(RT_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(SQUARES): runtime/examples/squares.c $(LIBMN)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBMN) $(LDLIBS_RT)

$(BUILD)/runtime/tests/%: runtime/tests/%.c $(LIBMN) runtime/include/*.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Iruntime/src -o $@ $< $(LIBMN) $(LDLIBS_RT) -lcriterion

.PHONY: test-runtime
test-runtime: $(RT_TESTS) $(SQUARES)
	@for t in $(RT_TESTS); do echo "== $$t"; $$t --jobs=1 || exit 1; done
	@for p in 1 2; do out=$$(MN_GOMAXPROCS=$$p $(SQUARES)); \
	  [ "$$out" = 332833500 ] || { echo "squares GOMAXPROCS=$$p printed '$$out'"; exit 1; }; done
	@echo "squares: 332833500 on GOMAXPROCS 1 and 2"
	@err=$$(MN_STACK_BYTES=20000 runtime/examples/squares 2>&1 >/dev/null); rc=$$?; \
	  [ $$rc = 1 ] && echo "$$err" | grep -q '^mn: MN_STACK_BYTES=20000: expected a multiple of the page size' \
	  && echo "$$err" | grep -q '^squares: mn_init: Invalid argument' \
	  || { echo "squares with MN_STACK_BYTES=20000: exit $$rc, stderr: $$err"; exit 1; }
	@echo "squares: MN_STACK_BYTES=20000 is one line naming the variable, exit 1"
TEST_TARGETS += test-runtime

# ==== stress: the runtime tests in a loop beside a CPU hog (issue 17 item 5) ============
# `make stress` is the full loop (50 iterations at GOMAXPROCS 1-4, run by hand: see the
# README for its duration); CI runs `test-stress`, one iteration at each GOMAXPROCS.
STRESS_N     ?= 50
STRESS_PROCS ?= 1 2 3 4
.PHONY: stress test-stress
stress: $(RT_TESTS) runtime/examples/squares
	@nice -n 10 runtime/tests/stress.sh $(STRESS_N) "$(STRESS_PROCS)" $(RT_TESTS)
test-stress: $(RT_TESTS) runtime/examples/squares
	@nice -n 10 runtime/tests/stress.sh 1 "$(STRESS_PROCS)" $(RT_TESTS)
TEST_TARGETS += test-stress
