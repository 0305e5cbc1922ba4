# ==== runtime/: the reference M:N runtime (libmn.a), its tests and examples =============
RT_SRCS  := $(wildcard runtime/src/*.c)
# The context switch for the target ISA (ctx_<abi>.S; CC=aarch64-linux-gnu-gcc picks aarch64).
RT_ISA   := $(firstword $(subst -, ,$(shell $(CC) -dumpmachine 2>/dev/null)))
RT_ASMS  := runtime/src/ctx_$(if $(filter aarch64 arm64,$(RT_ISA)),aarch64,x86_64).S
RT_OBJS  := $(RT_SRCS:%.c=$(BUILD)/%.o) $(RT_ASMS:%.S=$(BUILD)/%.o)
LIBMN    := $(BUILD)/libmn.a
RT_TESTS := $(patsubst runtime/tests/%.c,$(BUILD)/runtime/tests/%,$(wildcard runtime/tests/test_*.c))

# The squares example, built once per BUILD (the sanitizer builds get their own).
SQUARES  ?= $(BUILD)/runtime/examples/squares

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

# TEST_CRITERION: how the tests get Criterion; test-tsan swaps in runtime/tests/crshim.
TEST_CRITERION ?= -lcriterion
TEST_INC       ?=
# test_numa also tests the benches' NUMA toolkit built on the runtime's (bench_numa.c).
$(BUILD)/runtime/tests/test_numa: benches/harness/bench_numa.c benches/harness/bench_numa.h
$(BUILD)/runtime/tests/%: runtime/tests/%.c $(LIBMN) runtime/include/*.h
	@mkdir -p $(dir $@)
	$(CC) $(TEST_INC) $(ALL_CFLAGS) -Iruntime/src -Ibenches/harness -o $@ $< \
	  $(filter-out $<,$(filter %.c,$^)) $(LIBMN) $(LDLIBS_RT) $(TEST_CRITERION)

.PHONY: test-runtime
test-runtime: $(RT_TESTS) $(SQUARES)
	@for t in $(RT_TESTS); do echo "== $$t"; $$t --jobs=1 || exit 1; done
	@for p in 1 2; do out=$$(MN_GOMAXPROCS=$$p $(SQUARES)); \
	  [ "$$out" = 332833500 ] || { echo "squares GOMAXPROCS=$$p printed '$$out'"; exit 1; }; done
	@echo "squares: 332833500 on GOMAXPROCS 1 and 2"
	@err=$$(MN_STACK_BYTES=20000 $(SQUARES) 2>&1 >/dev/null); rc=$$?; \
	  [ $$rc = 1 ] && echo "$$err" | grep -q '^mn: MN_STACK_BYTES=20000: expected a multiple of the page size' \
	  && echo "$$err" | grep -q '^squares: mn_init: Invalid argument' \
	  || { echo "squares with MN_STACK_BYTES=20000: exit $$rc, stderr: $$err"; exit 1; }
	@echo "squares: MN_STACK_BYTES=20000 is one line naming the variable, exit 1"
TEST_TARGETS += test-runtime

# ==== stress: the runtime tests in a loop beside a CPU hog ============
# `make stress` is the full loop (50 iterations at GOMAXPROCS 1-4, run by hand: see the
# README for its duration); CI runs `test-stress`, one iteration at each GOMAXPROCS.
STRESS_N     ?= 50
STRESS_PROCS ?= 1 2 3 4
.PHONY: stress test-stress
stress: $(RT_TESTS) $(SQUARES)
	@SQUARES=$(SQUARES) nice -n 10 \
	  runtime/tests/stress.sh $(STRESS_N) "$(STRESS_PROCS)" $(RT_TESTS)
test-stress: $(RT_TESTS) $(SQUARES)
	@SQUARES=$(SQUARES) nice -n 10 \
	  runtime/tests/stress.sh 1 "$(STRESS_PROCS)" $(RT_TESTS)
TEST_TARGETS += test-stress

# ==== sanitizers: ASan+UBSan and TSan, with gcc and clang =============
# Each builds the runtime, its tests and squares under build/<san>-<cc>/ and runs them all;
# the switch path tells the sanitizer about G stacks (runtime/src/san.h).  Suppressions:
# none.  Durations on this 2-CPU host are in the README.
SAN_CCS      ?= gcc clang
SAN_ASAN     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
                -DMN_DEBUG=1
SAN_TSAN     := -O1 -g -fsanitize=thread
ASAN_OPTIONS_RT := detect_stack_use_after_return=1:detect_leaks=0:abort_on_error=0:halt_on_error=1
TSAN_OPTIONS_RT := halt_on_error=1:second_deadlock_stack=1
.PHONY: test-asan test-tsan san-check
test-asan:
	@for cc in $(SAN_CCS); do \
	  $(MAKE) --no-print-directory san-check CC=$$cc BUILD=build/asan-$$cc SAN_NAME=asan \
	    CFLAGS="$(SAN_ASAN)" || exit 1; done
test-tsan:
	@for cc in $(SAN_CCS); do \
	  $(MAKE) --no-print-directory san-check CC=$$cc BUILD=build/tsan-$$cc SAN_NAME=tsan \
	    CFLAGS="$(SAN_TSAN)" TEST_INC=-Iruntime/tests/crshim TEST_CRITERION=-lm || exit 1; done
san-check: $(RT_TESTS) $(SQUARES)
	@start=$$(date +%s); \
	export ASAN_OPTIONS=$(ASAN_OPTIONS_RT) UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  TSAN_OPTIONS=$(TSAN_OPTIONS_RT); \
	for t in $(RT_TESTS); do echo "== $(SAN_NAME) $(CC) $$t"; \
	  setarch -R $$t --jobs=1 || exit 1; done; \
	for p in 1 2; do out=$$(MN_GOMAXPROCS=$$p setarch -R $(SQUARES)); \
	  [ "$$out" = 332833500 ] || { echo "$(SAN_NAME) $(CC) squares GOMAXPROCS=$$p printed '$$out'"; exit 1; }; done; \
	echo "$(SAN_NAME) $(CC): runtime tests and squares clean in $$(( $$(date +%s) - start )) s"
