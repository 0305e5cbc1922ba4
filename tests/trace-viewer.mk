# ==== tests/trace-viewer.mk: the MN_TRACE file in a real viewer's parser =================
#
#   make test-trace-viewer   run build/runtime/examples/squares (1000 Gs + the main G, GOMAXPROCS 2)
#                            with MN_TRACE, then load the file with Chrome DevTools' own trace
#                            parser (npm @paulirish/trace_engine, pinned by
#                            tests/trace-viewer/package-lock.json) under node: it must parse,
#                            hold exactly the file's G spans, 1001 distinct Gs, 1000 creates,
#                            spans nested P > G (tests/trace-viewer/check.mjs says each check).
#
# node and npm: the machine's, else Debian's nodejs + npm (root installs them; otherwise the
# one apt-get line is printed).  The package is installed with `npm ci` into
# $(BUILD)/trace-viewer/ (about 25 MB, 10 s from the npm registry), again only when the
# lock file changes.  Whole test: about 15 s on the 2-vCPU VM, most of it npm ci the first
# time; 2 s after.

TV_DIR   = $(BUILD)/trace-viewer
TV_STAMP = $(TV_DIR)/node_modules/.mn-installed

.PHONY: test-trace-viewer trace-viewer-deps
trace-viewer-deps:
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || $(ENSURE) nodejs npm

$(TV_STAMP): tests/trace-viewer/package.json tests/trace-viewer/package-lock.json | trace-viewer-deps
	@mkdir -p $(TV_DIR)
	@cp tests/trace-viewer/package.json tests/trace-viewer/package-lock.json $(TV_DIR)/
	@cd $(TV_DIR) && npm ci --no-audit --no-fund --loglevel=error >/dev/null \
	  || { echo "test-trace-viewer: npm ci failed in $(TV_DIR) (is the npm registry reachable?)" >&2; exit 1; }
	@touch $@

test-trace-viewer: $(TV_STAMP) $(SQUARES)
	@echo "== test-trace-viewer: squares with MN_TRACE, loaded by Chrome DevTools' trace engine"
	@cp tests/trace-viewer/check.mjs $(TV_DIR)/check.mjs
	@out=$$(MN_GOMAXPROCS=2 MN_TRACE=$(TV_DIR)/squares.trace.json $(SQUARES)); \
	  [ "$$out" = 332833500 ] || { echo "test-trace-viewer: squares printed '$$out'" >&2; exit 1; }
	@node $(TV_DIR)/check.mjs $(TV_DIR)/squares.trace.json --gs 1001 --creates 1000
TEST_TARGETS += test-trace-viewer
