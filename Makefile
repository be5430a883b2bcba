# Turnpike. `make run` builds and starts the all-in-one server on embedded storage;
# `make test` runs every test (Go on SQLite — and PostgreSQL, Redis, NATS when their
# TURNPIKE_TEST_* addresses are set — then Vitest and Playwright).

GO          ?= go
BIN         := bin/turnpike
GOTESTFLAGS ?= -race -count=1 -timeout 20m

.PHONY: all build build-noui ui run test test-go test-ui test-e2e test-lossless-long vet bench chaos generate clean

all: build

# npm ci writes node_modules/.package-lock.json; touched after the install, it is a stamp
# that is older than package-lock.json only when the lock file changed since the last install.
NODE_MODULES := node_modules/.package-lock.json

$(NODE_MODULES): package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

ui: $(NODE_MODULES)
	npm run build:ui

build: ui
	$(GO) build -o $(BIN) ./cmd/turnpike

build-noui:
	$(GO) build -tags no_ui -o $(BIN) ./cmd/turnpike

run: build
	TURNPIKE_DATA_DIR=$${TURNPIKE_DATA_DIR:-./data} ./$(BIN) all-in-one

generate:
	$(GO) tool gqlgen generate

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) tool staticcheck ./...

test: build vet test-go test-ui test-e2e

test-go:
	$(GO) test $(GOTESTFLAGS) ./...

test-ui: $(NODE_MODULES)
	npm run test:ui

test-e2e: build
	npm run test:e2e

# The long form of e2e/lossless: 10,000 control changes and three broker outages (needs
# TURNPIKE_TEST_PG_DSN and TURNPIKE_TEST_NATS, like the short form in test-go).
test-lossless-long:
	TURNPIKE_TEST_LOSSLESS_LONG=1 $(GO) test -tags no_ui -count=1 -timeout 30m -run TestNothingLostNothingResurrected -v ./e2e/lossless/

bench:
	$(GO) test -tags no_ui -run '^$$' -bench . -benchmem ./bench/...

# The long form of the chaos test (more rounds, longer faults) on PostgreSQL and NATS; the
# per-fault table goes to bin/chaos-summary.md unless TURNPIKE_CHAOS_SUMMARY names a file.
chaos:
	@if [ -z "$$TURNPIKE_TEST_PG_DSN" ] || [ -z "$$TURNPIKE_TEST_NATS" ]; then \
		echo "make chaos needs TURNPIKE_TEST_PG_DSN and TURNPIKE_TEST_NATS"; exit 1; fi
	@mkdir -p bin
	TURNPIKE_CHAOS_LONG=1 TURNPIKE_CHAOS_SUMMARY=$${TURNPIKE_CHAOS_SUMMARY:-$(CURDIR)/bin/chaos-summary.md} \
		$(GO) test -tags no_ui -race -count=1 -timeout 30m -run '^TestChaos$$' -v ./e2e/chaos/

clean:
	rm -rf bin ui/dist
