# ==== scripts/run-bench.mk: make bench's driver (scripts/run-bench, scripts/console.py) =====
#
#   make test-run-bench   run-bench with stand-ins for the bench and run-go-bench: ours and
#                         Go alternate per group, partial runs go aside, killing it leaves
#                         nothing running or behind; the end-of-run summary (about 20 s)

.PHONY: test-run-bench
test-run-bench:
	@echo "== test-run-bench: scripts/tests/test_run_bench.py"
	@$(PYTHON) -m unittest discover -s scripts/tests -p 'test_run_bench.py'
TEST_TARGETS += test-run-bench
