# scripts/go.mk - Go measured side by side: benches/go, scripts/run-go-bench,
# scripts/goparse.py.
#
#   make test-go        goparse tests on captured fixtures (always); with go installed also
#                       gofmt, go vet, the Go unit tests and a short end-to-end run
#   make bench-go       run the Go benches alone: GO_OUT=path.go.json PRESET=quick|full
#                       (installs Debian's golang-go first when go is missing, unless WITH_GO=0)
# make bench (scripts/run-bench) calls scripts/run-go-bench itself, interleaved with the C run.

GO_CMD ?= go
GO_OUT ?= $(BUILD)/go/manual.go.json
PRESET ?= quick

TEST_TARGETS += test-go
.PHONY: test-go bench-go go-deps

go-deps:
	@if [ "$(WITH_GO)" != 0 ] && ! command -v $(GO_CMD) >/dev/null 2>&1; then \
	    $(ENSURE) golang-go; fi

test-go:
	@echo "== test-go: scripts/tests/test_goparse.py"
	@$(PYTHON) -m unittest discover -s scripts/tests -p 'test_goparse.py'
	@if command -v $(GO_CMD) >/dev/null 2>&1; then \
	    echo "== test-go: gofmt, go vet, go test (benches/go)"; \
	    unformatted=$$(gofmt -l benches/go); \
	    if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted" >&2; exit 1; fi; \
	    mkdir -p $(BUILD)/go && cd benches/go && \
	    GOPROXY=off GOFLAGS= GOTOOLCHAIN=local $(GO_CMD) vet . && \
	    GOPROXY=off GOFLAGS= GOTOOLCHAIN=local $(GO_CMD) test -c -o ../../$(BUILD)/go/gobench.test . && \
	    ../../$(BUILD)/go/gobench.test -test.count=1; \
	else echo "== test-go: go not installed: Go unit tests skipped"; fi

bench-go: go-deps
	scripts/run-go-bench $(GO_OUT) --preset $(PRESET)
