# RubberDuck — one Makefile for users, developers and CI.
#
#   make run    start the hub on 127.0.0.1:7777 serving this repository
#   make test   everything CI checks (installs what the tests need first)
#
# Tool versions are pinned here so every machine runs the same checks.

GO              ?= go
BIN             := $(CURDIR)/bin
VERSION         ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS         := -s -w -X main.version=$(VERSION)
STATICCHECK     := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Language servers the hub shares with every participant; tests drive the
# real one. gopls v0.24 needs go1.27.
GOPLS           := golang.org/x/tools/gopls@v0.23.0
TOOLS_BIN       := $(CURDIR)/.tools/bin
ADDR            ?= 127.0.0.1:7777
# Debian packages the tests and benchmarks drive for real: Neovim for the
# end-to-end editor tests, ripgrep as the search benchmark's baseline,
# Chromium (Debian's /usr/bin/chromium) for the browser editor's test.
APT_PACKAGES    := neovim ripgrep chromium
# Go test flags: the race detector on every package with concurrency. The
# CRDT is pure single-threaded computation: it runs without -race, which
# makes its property tests about ten times slower and finds nothing there.
TEST_FLAGS      ?= -timeout 20m
PURE_PACKAGES   := ./hub/crdt
FUZZTIME        ?= 30s
# The browser editor's npm dependencies (Monaco), installed by npm ci.
WEB_DEPS        := extensions/web/node_modules/.package-lock.json

export GOFLAGS  := -buildvcs=false

.PHONY: all web build run test test-go check-fmt vet lint bench bench-crdt bench-intel e2e-long fuzz deps tools clean help

all: build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

web: $(WEB_DEPS) ## build the browser editor (extensions/web) into hub/webui/dist, which the binary embeds
	node extensions/web/build.mjs

# npm ci only when the lock file changed, so make build and make test work
# offline once Monaco is installed.
$(WEB_DEPS): extensions/web/package.json extensions/web/package-lock.json
	npm ci --prefix extensions/web --no-audit --no-fund
	@touch $@

build: web ## build bin/rubberduck
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/rubberduck ./cmd/rubberduck

run: build tools ## start the hub on $(ADDR), serving this repository as the demo project
	PATH="$(TOOLS_BIN):$$PATH" $(BIN)/rubberduck serve --addr $(ADDR) --project rubberduck=$(CURDIR)

test: deps tools lint test-go ## run every check CI runs: gofmt, vet, staticcheck, all tests

test-go: web
	$(GO) test -race $(TEST_FLAGS) $$($(GO) list ./... | grep -v -x -F $(addprefix -e github.com/rubberduckhub/rubberduck/,$(PURE_PACKAGES:./%=%)))
	$(GO) test $(TEST_FLAGS) $(PURE_PACKAGES)

check-fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

lint: check-fmt vet ## gofmt, go vet and staticcheck
	$(GO) run $(STATICCHECK) ./...

bench: ## run every benchmark once and print the figures
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1x ./...

bench-crdt: ## hub/crdt against npm's Yjs on every trace in ../shared/bench/traces, same run
	npm ci --prefix hub/crdt/testdata/yjsbench --no-audit --no-fund
	node --expose-gc hub/crdt/testdata/yjsbench/compare.mjs

bench-intel: ## code intelligence on the Go standard library: full index, re-index, symbol queries
	$(GO) test ./hub/intel/index -run '^$$' -bench FullIndex -benchtime 1x
	$(GO) test ./hub/intel/index -run '^$$' -bench 'Reindex|WorkspaceSymbols|RepoMap|ExtractLarge' -benchtime 20x -benchmem

e2e-long: deps ## the editor end-to-end tests with 100 seeds
	RUBBERDUCK_E2E_LONG=1 $(GO) test -race -timeout 60m -run . ./lsp/e2e/

fuzz: ## run each fuzz target for FUZZTIME (the seed corpora already run in make test)
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

deps: ## install the Debian packages tests drive (needs root or sudo; skipped when present)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

tools: ## install the language servers the hub runs (into .tools/bin)
	@test -x $(TOOLS_BIN)/gopls || GOBIN=$(TOOLS_BIN) $(GO) install $(GOPLS)

clean: ## remove build output and test caches
	rm -rf $(BIN) $(CURDIR)/.tools
	$(GO) clean -testcache
