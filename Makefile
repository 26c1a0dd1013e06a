# headroom: see README.md. Every target works on a fresh Debian machine with Go.
GO        ?= go
BIN       ?= bin/headroom
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/headroom-dev/headroom/exporter.Version=$(VERSION)
PKGS      := ./...
# The full benchmark suite (make bench, about 20 minutes on an idle 2-core
# machine) is for people; make bench-quick, part of make test, only checks
# that every benchmark runs.
BENCHTIME   ?= 1s
BENCH_COUNT ?= 5
# BENCH_NOTE goes into bench/results.md as the run's conditions, e.g.
# BENCH_NOTE='machine shared with other builds'.
BENCH_NOTE  ?=
# Passed through the environment, so that any quote in it is safe.
export BENCH_NOTE
TRACES      ?= ../shared/traces
# Benchmarks that each run real processes for minutes and report their own
# spread (percentiles over many events): run once, not BENCH_COUNT times.
SYSTEM_BENCH := ^Benchmark(MonitorVsNodeExporter|MonitorProcessCost|SpikeToClamp|MasterUnderAgents)$$
# What bench/out.txt keeps of go test's output: the benchmark format
# benchstat reads, and the benchmarks' own lines; the logs of the servers
# they run stay in bench/log.txt.
BENCH_KEEP := ^(goos|goarch|pkg|cpu):|^Benchmark|^(PASS|FAIL|ok|---)|^ {4}
# Quick mode: seconds instead of minutes, small clusters, a few spikes.
QUICK_ENV := HEADROOM_COST_SECONDS=3 HEADROOM_SPIKES=3 HEADROOM_MASTER_AGENTS=500 \
	HEADROOM_MASTER_SECONDS=3 HEADROOM_BENCH_AGENTS=1000

.PHONY: all build test bench bench-quick demo lint clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/headroom

## test: vet, format check and every test (root, cgroup and real-server tests included).
test: lint
	$(GO) test -count=1 -p 1 -timeout 20m $(PKGS)
	$(MAKE) bench-quick
	$(MAKE) fuzz-quick

## acceptance: the default policy against issue 12's acceptance table on
## every shared trace (fleet and per-machine) at 2, 4, 8 and 64 cores; it
## prints the table and fails on every row that misses (docs/simulate.md).
.PHONY: acceptance
## ACCEPTANCE_TRACES=dir1:dir2 judges the same figures on other traces (of
## one's own fleet, in the per-machine format) instead of the shared ones.
ACCEPTANCE_TRACES ?=
acceptance:
	HEADROOM_ACCEPTANCE=1 HEADROOM_ACCEPTANCE_TRACES='$(ACCEPTANCE_TRACES)' \
		$(GO) test -count=1 -timeout 60m -run '^TestAcceptanceTable$$' -v ./sim/

## fuzz-quick: each route fuzz target for FUZZTIME (under 1 min in all; the
## seed corpora in testdata/fuzz also run with the normal tests). A count of
## executions, not a duration: Go 1.26's fuzzing coordinator can fail a
## duration-bounded run with a bare "context deadline exceeded" when the
## machine is busy (golang/go#75804, fixed in Go 1.27), and a count has no
## deadline to race.
FUZZTIME ?= 10000x
.PHONY: fuzz-quick
fuzz-quick:
	$(GO) test -run '^$$' -fuzz '^FuzzMaster$$' -fuzztime $(FUZZTIME) -parallel 1 ./master/
	$(GO) test -run '^$$' -fuzz '^FuzzAgent$$' -fuzztime $(FUZZTIME) -parallel 1 ./agent/
	$(GO) test -run '^$$' -fuzz '^FuzzMonitor$$' -fuzztime $(FUZZTIME) -parallel 1 ./monitor/

## bench: the benchmark suite (root, as make test): output for benchstat in
## bench/out.txt (with the servers' logs: bench/log.txt), the report with
## machine, date and tables in bench/results.md. See docs/benchmarks.md.
bench: SHELL := /bin/bash
bench: build
	@mkdir -p bench
	set -o pipefail; started=$$(date -u +%Y-%m-%dT%H:%M:%SZ); rm -f bench/log.txt; \
	$(GO) test -run '^$$' -bench . -skip '$(SYSTEM_BENCH)' -benchmem -benchtime $(BENCHTIME) \
		-count $(BENCH_COUNT) -timeout 2h $(PKGS) 2>&1 | tee -a bench/log.txt | grep -E '$(BENCH_KEEP)' | tee bench/out.txt && \
	$(GO) test -run '^$$' -bench '$(SYSTEM_BENCH)' -benchtime 1x -count 1 -timeout 2h $(PKGS) 2>&1 \
		| tee -a bench/log.txt | grep -E '$(BENCH_KEEP)' | tee -a bench/out.txt && \
	$(GO) run ./bench/report -in bench/out.txt -out bench/results.md -headroom $(BIN) -traces $(TRACES) \
		-command 'make bench BENCHTIME=$(BENCHTIME) BENCH_COUNT=$(BENCH_COUNT)' -version '$(VERSION)' -started "$$started" -note "$$BENCH_NOTE"

## bench-quick: run every benchmark once, briefly, and the report on its
## output, to prove the suite works; the output is shown only on failure.
bench-quick: SHELL := /bin/bash
bench-quick: build
	@out=$$(mktemp); trap 'rm -f "$$out" "$$out.md"' EXIT; \
	if ! $(QUICK_ENV) $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 20m $(PKGS) >"$$out" 2>&1 || \
		! $(GO) run ./bench/report -in "$$out" -out "$$out.md" -headroom $(BIN) -traces $(TRACES) \
			-command 'make bench-quick' >>"$$out" 2>&1; then \
		cat "$$out"; exit 1; \
	fi; echo "bench-quick: every benchmark ran"

## demo: the main job on localhost (see README.md). DEMO_FLAGS are passed
## to headroom demo, e.g. other ports when 5050 or 5051 are taken:
## make demo DEMO_FLAGS='--master-listen 127.0.0.1:6050 --agent-listen 127.0.0.1:6051'
DEMO_FLAGS ?=
demo: build
	@echo "headroom demo: master + agent on localhost, a sample app; Ctrl-C stops and cleans up"
	$(BIN) demo $(DEMO_FLAGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

clean:
	rm -rf bin
