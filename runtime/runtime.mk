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
TEST_TARGETS += test-runtime
