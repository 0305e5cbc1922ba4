# ==== scripts/tables.mk: regenerated tables and figures ==================================
#
#   make tables                 results/*.md + *.csv + results/index.md from the newest
#                               results/<host>/*.json (and its .go.json), claims from
#                               scripts/claims.toml
#   make tables TABLES_ARGS='results/h/x.json'   the same from named runs
#   make plots                  plots/*.png + *.svg from results/*.csv (matplotlib)
#   make test-tables            the scripts' unit tests (part of make test)
#
# Exit status of tables.py: 0 ok, 1 no results yet (run make bench), 2 malformed input
# (existing tables are left as they were).

TABLES_ARGS ?=
PLOTS_ARGS  ?=

.PHONY: test-tables
tables:
	@$(PYTHON) scripts/tables.py $(TABLES_ARGS) || { rc=$$?; echo "tables: scripts/tables.py exited $$rc (1 no results yet: run make bench, 2 bad input or usage)" >&2; exit $$rc; }

plots:
	@$(ENSURE) python3-matplotlib
	@$(PYTHON) scripts/plot.py $(PLOTS_ARGS) || { rc=$$?; echo "plots: scripts/plot.py exited $$rc" >&2; exit $$rc; }

test-tables:
	@$(PYTHON) -m unittest discover -s scripts/tests -p 'test_stats.py' -t scripts/tests
	@$(PYTHON) -m unittest discover -s scripts/tests -p 'test_hoststate.py' -t scripts/tests
	@$(PYTHON) -m unittest discover -s scripts/tests -p 'test_tables.py' -t scripts/tests
	@$(PYTHON) -m unittest discover -s scripts/tests -p 'test_plot.py' -t scripts/tests
TEST_TARGETS += test-tables
