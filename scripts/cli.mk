# ==== scripts/cli.mk: every script's command line behaves the same ========================
#
#   make test-cli   scripts/tests/test_cli.py: --help and --version of every tool in scripts/;
#                   a bad flag, a missing / empty / non-UTF-8 / truncated input, an unwritable
#                   output: one stderr line starting with the tool's name, exit 1 or 2, no
#                   traceback (scripts/toolversion.py states the convention).  About 90 short
#                   processes: ~35 s on a quiet 2-CPU machine, ~100 s on a busy one.

.PHONY: test-cli
test-cli:
	@echo "== test-cli: scripts/tests/test_cli.py"
	@$(PYTHON) -m unittest discover -s scripts/tests -p 'test_cli.py'
TEST_TARGETS += test-cli
