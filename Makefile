# Makefile - benchmark and characterization suite around a reference M:N runtime.
#
#   make help     this list: every target documented in the Makefile and its fragments
#   make test     build the runtime and run every test (unit, harness smoke, scripts)
#   make bench    install what is missing (golang-go too), build optimised, run the quick
#                 preset with the Go peers, write results/<host>/<utc>-<sha>.json (+ .go.json),
#                 regenerate tables, plots and report, print a summary (WITH_GO=0: no Go)
#   make tables   regenerate results/*.md and *.csv from the newest results JSON
#   make plots    regenerate plots/*.png and *.svg from the tables' CSVs
#   make report   the run's self-contained HTML page, results/<host>/<stem>.html
#
# Each area keeps its rules in its own fragment (runtime/runtime.mk, benches/*.mk,
# scripts/*.mk, tests/*.mk); a fragment adds its test targets to TEST_TARGETS.

# ==== Build settings =====================================================================
CC       ?= cc
CXX      ?= c++
OPT      ?= -O2
BUILD    ?= build
CSTD      = -std=c11 -D_GNU_SOURCE
WARN      = -Wall -Wextra -Werror
CFLAGS   ?= $(OPT) -g
# Code that runs on G stacks probes every page of a frame larger than a page, so an
# overflow always lands in the stack's guard page instead of jumping it.
HARDEN    = -fstack-clash-protection
ALL_CFLAGS = $(CSTD) $(WARN) $(HARDEN) $(CFLAGS) -pthread -Iruntime/include
LDLIBS_RT  = -pthread -lnuma -Wl,-z,now
PYTHON   ?= /usr/bin/python3
ENSURE    = scripts/ensure-deps

# Debian packages a build and test run needs; bench adds its own.
DEPS_BUILD = build-essential libnuma-dev libcriterion-dev libbenchmark-dev libpapi-dev \
             libboost-context-dev libboost-fiber-dev libst-dev python3 python3-matplotlib \
             python3-scipy clang-format pyflakes3 clang

.PHONY: all help test bench tables plots deps clean format format-check pyflakes
all:

# Every "#   make TARGET  what" comment block of this file and the fragments, in order.
help:
	@echo "usage: make TARGET [VAR=value ...]   (targets as documented in Makefile and */*.mk)"
	@awk '/^#   make /{p=1; sub(/^# /, ""); print; next} \
	      p && /^#      +[^ ]/{sub(/^# /, ""); print; next} {p=0}' \
	    Makefile $(sort $(wildcard */*.mk))

TEST_TARGETS :=
BENCH_TARGETS :=

deps:
	@$(ENSURE) $(DEPS_BUILD)

# ==== Areas ==============================================================================
include runtime/runtime.mk
-include benches/*.mk
-include scripts/*.mk
-include tests/*.mk

# ==== Top-level targets ==================================================================
test: deps
	@$(MAKE) --no-print-directory $(TEST_TARGETS)
	@echo "make test: all test groups passed"

clean:
	rm -rf $(BUILD)

# ==== Checks that keep the tree as STYLE.md has it (part of make test, ~5 s together) ======
#   make format        rewrite every tracked C/C++ file as .clang-format says
#   make format-check  fail on any C/C++ file that make format would change
#   make pyflakes      pyflakes3 over every tracked Python file and Python script
C_SOURCES  = $$(git ls-files '*.c' '*.h' '*.cc')
PY_SOURCES = $$(git ls-files '*.py') $$(git grep -l '^\#!.*python' -- scripts benches tests \
             ':!*.py')

format:
	clang-format -i $(C_SOURCES)

format-check:
	@clang-format --dry-run --Werror $(C_SOURCES) || \
	  { echo "format-check: run 'make format'" >&2; exit 1; }
	@echo "format-check: every C/C++ file as .clang-format says"

pyflakes:
	@pyflakes3 $(PY_SOURCES)
	@echo "pyflakes: scripts and tests clean"

TEST_TARGETS += format-check pyflakes
