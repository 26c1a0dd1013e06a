# headroom: see README.md. Every target works on a fresh Debian machine with Go.
GO        ?= go
BIN       ?= bin/headroom
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/headroom-dev/headroom/exporter.Version=$(VERSION)
PKGS      := ./...
# The full benchmark suite is for people; BENCH_QUICK=1 only checks it runs.
BENCHTIME ?= 1s
DEMO_LISTEN ?= 127.0.0.1:5052

.PHONY: all build test bench bench-quick demo lint clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/headroom

## test: vet, format check and every test (root, cgroup and real-server tests included).
test: lint
	$(GO) test -count=1 -p 1 -timeout 20m $(PKGS)
	$(MAKE) bench-quick

## bench: the benchmark suite, benchstat-friendly output in bench/out.txt.
bench:
	@mkdir -p bench
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -count 5 $(PKGS) | tee bench/out.txt

## bench-quick: run every benchmark once, to prove the suite works.
bench-quick:
	HEADROOM_COST_SECONDS=3 $(GO) test -run '^$$' -bench . -benchtime 1x $(PKGS) >/dev/null

## demo: the main job on localhost (see README.md).
demo: build
	@echo "headroom demo: master + agent on localhost, a sample app; Ctrl-C stops and cleans up"
	$(BIN) demo

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

clean:
	rm -rf bin
