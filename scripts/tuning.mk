# ==== scripts/tuning.mk: CI tuning gate (issues 9, 15) =====================================
#
#   make check-tuning                       default profile, the newest results/<host id>/*.json
#                                           of this commit (none, another commit's or too old:
#                                           exit 1 with the reason; run make bench first)
#   make check-tuning TUNING_PROFILE=scripts/tuning/strict-bare-metal.toml
#   make check-tuning CHECK_TUNING_ARGS='--results F.json --baseline OLD.json --junit J.xml'
#   make check-tuning CHECK_TUNING_ARGS=--run    build the benches and measure now
#   make test-tuning                        the script's tests (part of make test)
#
# Exit status, also of `make check-tuning`: 0 all passed (skips allowed), 1 a rule failed,
# 2 bad profile/results/usage.  GNU make exits 2 whenever a recipe fails, so when
# check-tuning is the only goal the script runs while this file is read (its output goes to
# make's own stdout) and make then ends with the script's status: 0 with nothing left to
# do, 1 through -q (make's "a target is out of date" status), 2 through $(error).  With
# other goals on the same command line (make test check-tuning) or under make -n, the
# recipe below runs it instead and make exits 2 on either failure; the script's own status
# is printed then.

TUNING_PROFILE    ?= scripts/tuning/default.toml
CHECK_TUNING_ARGS ?=
CHECK_TUNING_DEPS  = python3-scipy

CHECK_TUNING_CMD = $(PYTHON) scripts/check_tuning.py --profile $(TUNING_PROFILE) \
  --bench $(BUILD)/benches/bench $(CHECK_TUNING_ARGS)
# --run measures now: build the bench binary first; if that fails the script says so (exit 1).
CHECK_TUNING_PREP = $(ENSURE) $(CHECK_TUNING_DEPS) >&2 || exit 2; \
  $(if $(findstring --run,$(CHECK_TUNING_ARGS)),$(MAKE) --no-print-directory OPT=-O2 \
  bench-bin >&2 || echo "check-tuning: could not build $(BUILD)/benches/bench" >&2;)

.PHONY: check-tuning test-tuning

ifeq ($(MAKECMDGOALS)$(findstring n,$(firstword -$(MAKEFLAGS))),check-tuning)
# fd 3 carries the status back to make; the script's stdout goes to make's stdout
# (/proc/<make>/fd/1, opened for append), or to stderr where that cannot be opened.
CHECK_TUNING_RC := $(shell exec 3>&1; out=/proc/$$PPID/fd/1; \
  { : >>"$$out"; } 2>/dev/null || out=/dev/stderr; \
  ( $(CHECK_TUNING_PREP) $(CHECK_TUNING_CMD) ) >>"$$out"; echo $$? >&3)
ifeq ($(CHECK_TUNING_RC),1)
MAKEFLAGS += -q
else ifneq ($(CHECK_TUNING_RC),0)
$(error check-tuning: scripts/check_tuning.py exited $(CHECK_TUNING_RC) (usage or input error))
endif
check-tuning:
	@:
else
check-tuning:
	@$(CHECK_TUNING_PREP) $(CHECK_TUNING_CMD) || { rc=$$?; echo "check-tuning: scripts/check_tuning.py exited $$rc (1 a rule failed, 2 usage or input error)" >&2; exit $$rc; }
endif

test-tuning:
	@$(PYTHON) -m unittest discover -s scripts/tests -p 'test_check_tuning.py' -t scripts/tests
TEST_TARGETS += test-tuning
