# ==== benches/instr: instructions per operation under callgrind ==========================
#
#   make bench-instructions   build the driver optimised, run every headline operation of
#                             ours and the peers (Boost.Context fcontext, Boost.Fiber, State
#                             Threads) under valgrind --tool=callgrind with collection only
#                             around the loop, write results/<host-id>/instr/<utc>-<sha>.instr.json
#                             (rows instr/<op>, counter instructions_per_op) and print them
#   make test-instr           run every operation 1e5 times outside valgrind (the
#                             driver works; ~3 s) - part of make test
INSTR_BIN    := $(BUILD)/benches/instr/instr
INSTR_OBJS   := $(BUILD)/benches/instr/instr.o $(BUILD)/benches/instr/fiber.o
DEPS_INSTR   := valgrind libboost-fiber-dev libboost-context-dev libst-dev
INSTR_LDLIBS := -lboost_fiber -lboost_context -lst -lnuma -pthread -Wl,-z,now

.PHONY: bench-instructions test-instr
$(BUILD)/benches/instr/instr.o: benches/instr/instr.c runtime/include/mn.h benches/harness/fcontext.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/benches/instr/fiber.o: benches/instr/fiber.cc benches/peers/fiber_pair.h
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -Wall -Wextra -Werror $(OPT) -g -c -o $@ $<

$(INSTR_BIN): $(INSTR_OBJS) $(LIBMN)
	$(CXX) -o $@ $(INSTR_OBJS) $(LIBMN) $(INSTR_LDLIBS)

bench-instructions:
	@$(ENSURE) $(DEPS_INSTR)
	@$(MAKE) --no-print-directory OPT=-O2 $(INSTR_BIN)
	@$(PYTHON) scripts/bench-instructions --bin $(INSTR_BIN)

test-instr: $(INSTR_BIN)
	@for op in $$($(INSTR_BIN) --list | cut -f1); do n=100000; \
	  case $$op in *batch:1000000*) n=1000000;; esac; \
	  timeout 60 $(INSTR_BIN) $$op $$n || { echo "instr $$op failed"; exit 1; }; done
	@echo "instr: every operation ran"
TEST_TARGETS += test-instr

# ==== README speed table (scripts/speed_table.py) ==========================================
#   make speed-table RUN=results/<host>/<stem>.json [INSTR=results/<host-id>/instr/<stem>.instr.json]
#                  rewrite the README's <!-- speed-table --> block from that run (and its
#                  .go.json) and the instructions file
#   make test-speed-table   its unit tests (~20 s; part of make test)
.PHONY: speed-table test-speed-table
speed-table:
	@[ -n "$(RUN)" ] || { echo "speed-table: RUN=results/<host>/<stem>.json is required" >&2; exit 2; }
	@$(PYTHON) scripts/speed_table.py $(RUN) $(if $(INSTR),--instr $(INSTR)) --readme README.md

test-speed-table:
	@$(PYTHON) -m unittest discover -s scripts/tests -p 'test_speed_table.py' -t scripts/tests
TEST_TARGETS += test-speed-table
