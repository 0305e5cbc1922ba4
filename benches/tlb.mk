# ==== benches/tlb.mk: the tlb:tlb_flush / mmap tracepoint counter and its test ===========
# benches/harness/tlbtrace.c is a plain C module (no Google Benchmark, no runtime); the
# bench binary links it like the other harness/*.c files.  Its test needs tracefs and
# perf_event_open and skips with the reason when they are missing.
TLBTRACE_SRCS := benches/harness/tlbtrace.c
TLBTRACE_HDRS := benches/harness/tlbtrace.h

$(BUILD)/benches/tests/test_tlbtrace: benches/tests/test_tlbtrace.c $(TLBTRACE_SRCS) $(TLBTRACE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ benches/tests/test_tlbtrace.c $(TLBTRACE_SRCS) -pthread -lcriterion

.PHONY: test-tlbtrace
test-tlbtrace: $(BUILD)/benches/tests/test_tlbtrace
	$(BUILD)/benches/tests/test_tlbtrace --jobs=1
TEST_TARGETS += test-tlbtrace
