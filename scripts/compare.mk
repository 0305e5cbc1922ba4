# ==== scripts/compare.mk: compare runs or hosts ==========================================
#
#   make compare A=<run or host> B=<run or host>     row by row: B/A, interval, p, a word
#   make compare RUNS='host1 host2 host3'            fleet view: each claim's verdict per host
#   make compare A=... B=... COMPARE_ARGS='--fail-on-regression=10 --rows ^spawn/'
#   make test-compare                                the script's tests (part of make test)
#
# A run or host is a results JSON, a results/<host>/ folder (its newest run) or a host id.
# Markdown goes to stdout, the CSV to build/compare/.  Exit status, also of `make compare`
# when it is the only goal (see scripts/tuning.mk for how): 0; 1 with
# --fail-on-regression=PCT when a significant slowdown exceeds PCT; 2 usage or input error.

COMPARE_ARGS ?=
COMPARE_RUNS  = $(strip $(A) $(B) $(RUNS))
COMPARE_CMD   = $(PYTHON) scripts/compare.py $(COMPARE_RUNS) $(COMPARE_ARGS)
COMPARE_PREP  = $(ENSURE) python3-scipy >&2 || exit 2;

.PHONY: compare test-compare

ifeq ($(MAKECMDGOALS)$(findstring n,$(firstword -$(MAKEFLAGS))),compare)
COMPARE_RC := $(shell exec 3>&1; out=/proc/$$PPID/fd/1; \
  { : >>"$$out"; } 2>/dev/null || out=/dev/stderr; \
  ( $(COMPARE_PREP) $(COMPARE_CMD) ) >>"$$out"; echo $$? >&3)
ifeq ($(COMPARE_RC),1)
MAKEFLAGS += -q
else ifneq ($(COMPARE_RC),0)
$(error compare: scripts/compare.py exited $(COMPARE_RC) (usage or input error))
endif
compare:
	@:
else
compare:
	@$(COMPARE_PREP) $(COMPARE_CMD) || { rc=$$?; echo "compare: scripts/compare.py exited $$rc (1 a regression beyond --fail-on-regression, 2 usage or input error)" >&2; exit $$rc; }
endif

test-compare:
	@$(ENSURE) python3-scipy
	@$(PYTHON) -m unittest discover -s scripts/tests -p 'test_compare.py' -t scripts/tests
TEST_TARGETS += test-compare
