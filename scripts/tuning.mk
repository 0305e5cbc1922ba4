# ==== scripts/tuning.mk: CI tuning gate (issue 9) =========================================
#
#   make check-tuning                       default profile, newest results/<host>/*.json,
#                                           else the quick benches, else measured rules SKIP
#   make check-tuning TUNING_PROFILE=scripts/tuning/strict-bare-metal.toml
#   make check-tuning CHECK_TUNING_ARGS='--results F.json --baseline OLD.json --junit J.xml'
#   make test-tuning                        the script's tests (part of make test)
#
# Exit status: 0 all passed (skips allowed), 1 a rule failed, 2 bad profile/results/usage.

TUNING_PROFILE    ?= scripts/tuning/default.toml
CHECK_TUNING_ARGS ?=

.PHONY: check-tuning test-tuning
# No results for this host and no bench binary: try to build it so the script can run the
# quick benches; if the build fails the measured rules are skipped with the reason.
check-tuning:
	@if ! ls results/$$(hostname)/*.json >/dev/null 2>&1 && [ ! -x $(BUILD)/benches/bench ]; then \
	  $(MAKE) --no-print-directory OPT=-O2 bench-bin || \
	  echo "check-tuning: could not build $(BUILD)/benches/bench; measured rules will be skipped"; fi
	@$(PYTHON) scripts/check_tuning.py --profile $(TUNING_PROFILE) --bench $(BUILD)/benches/bench \
	  $(CHECK_TUNING_ARGS)

test-tuning:
	@$(PYTHON) -m unittest discover -s scripts/tests -p 'test_check_tuning.py' -t scripts/tests
TEST_TARGETS += test-tuning
