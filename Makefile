# Frontdesk. The README's two commands are `make run` and `make test`.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin
GO ?= go
STATICCHECK_VERSION := v0.8.2
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# Per-test timeout for the whole suite (the crash tests wait for asynq's
# lease recovery, up to ~2 minutes each).
TEST_TIMEOUT ?= 25m

.PHONY: run build test deps-run deps-test lint unit bench faults fuzz clean

## run: start the daemon with the embedded defaults (managed Redis, SQLite, outbox files)
run: deps-run build
	./bin/frontdesk serve

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/frontdesk ./cmd/frontdesk

deps-run:
	@scripts/deps.sh redis-server:redis-server

deps-test:
	@scripts/deps.sh redis-server:redis-server dovecot:dovecot-imapd chromium:chromium
	@command -v staticcheck >/dev/null || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## test: everything CI runs: format, vet, staticcheck, the race-enabled suite
test: deps-test lint
	$(GO) test -race -shuffle=on -timeout $(TEST_TIMEOUT) ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	staticcheck ./...

## bench: Go micro-benchmarks of the hot stages, then the load harness
## (cmd/frontdesk-bench) against real peers; its JSON goes to bin/bench.json
bench: deps-test build
	$(GO) build -o bin/frontdesk-bench ./cmd/frontdesk-bench
	$(GO) test -run '^$$' -bench . -benchmem ./...
	./bin/frontdesk-bench -out bin/bench.json

## faults: the long forms of the fault and fuzz tests
faults: deps-test
	FAULTS=long $(GO) test -race -timeout 90m -run 'Crash|Fault|Redis' ./e2e/...
	$(MAKE) fuzz FUZZTIME=2m

FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

clean:
	rm -rf bin
