# ==== scripts/report.mk: the HTML report of a bench run ==================================
#
#   make report                 results/<host>/<stem>.html beside the newest tables' run JSON
#                               (index.md's source line): host state, every table with its
#                               verdicts, the plots embedded, ours vs peers, raw JSON links.
#                               make bench runs it after tables and plots (scripts/run-bench).
#   make report REPORT_ARGS='--run results/h/x.json --out /tmp/r.html'
#   make test-report            scripts/tests/test_report.py (page content, errors; ~5 s CPU)
#                               and scripts/tests/report_browser.sh: a page from the test
#                               fixture opened in Debian's headless Chromium: every image must
#                               decode (the page's data-images="6/6") and a screenshot is
#                               written to build/report-test/report.png.  ~25 s CPU (mostly
#                               drawing the six plots); installing chromium, once, ~1 min.
#
# Exit status of report.py: 0 written, 2 no tables / bad input, 1 cannot write the page.

REPORT_ARGS ?=
REPORT_DEPS  = python3-markdown python3-scipy python3-matplotlib

.PHONY: report test-report
report:
	@$(ENSURE) $(REPORT_DEPS)
	@$(PYTHON) scripts/report.py $(REPORT_ARGS) || { rc=$$?; echo "report: scripts/report.py exited $$rc (2 no tables or bad input, 1 cannot write the page)" >&2; exit $$rc; }

test-report:
	@$(ENSURE) $(REPORT_DEPS) chromium
	@$(PYTHON) -m unittest discover -s scripts/tests -p 'test_report.py' -t scripts/tests
	@PYTHON=$(PYTHON) BUILD=$(BUILD) scripts/tests/report_browser.sh
TEST_TARGETS += test-report
