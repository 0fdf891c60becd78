# krb5prop. `make help` lists the targets.

# bash for pipefail: `go test | tee` must fail when go test fails.
SHELL := /bin/bash

GO ?= go
PREFIX ?= /usr/local
SBINDIR = $(DESTDIR)$(PREFIX)/sbin

# Our commands (directories under cmd/, built into bin/).
TOOLS = $(notdir $(wildcard cmd/*))

# Each go test binary gets this long; the whole run stays well under CI's 30
# minutes even on two cores.
TEST_TIMEOUT ?= 15m
# How long `make fuzz` runs each fuzz target.
FUZZTIME ?= 10s
# Realm sizes `make bench` measures.
BENCH_SIZES ?= 1000,100000,1000000

.PHONY: help deps build test install demo fuzz bench bench-prop bench-kdc bench-replica bench-fanout clean

help:
	@echo "make demo     install what is needed, then run scripts/demo.sh"
	@echo "make test     install what is needed, then go vet and go test (with MIT interop tests)"
	@echo "make build    build $(TOOLS) into bin/"
	@echo "make install  install them into $(SBINDIR), also under MIT's names (PREFIX, DESTDIR)"
	@echo "make fuzz     run each fuzz target for $(FUZZTIME) (FUZZTIME=…)"
	@echo "make bench    time MIT's and our dump and load ($(BENCH_SIZES) principals; BENCH_SIZES=…)"
	@echo "make bench-prop  time MIT's and our kprop to kpropd (100,000 and 1,000,000 principals)"
	@echo "make bench-kdc   load MIT's and our krb5kdc with AS and TGS requests (100,000 principals)"
	@echo "make bench-replica   time a secondary replica's delivery after a load (100,000 and 1,000,000 principals)"
	@echo "make bench-fanout    time kprop to ten replicas: our list mode against MIT's serial loop (100,000 principals)"
	@echo "make deps     install Go modules and MIT krb5 (scripts/deps.sh)"
	@echo "make clean    remove bin/"

deps:
	bash scripts/deps.sh

build:
	$(GO) build -o bin/ ./cmd/...

# The go test output is also kept in a file so the failures can be listed
# again at the end, after hundreds of lines of passing packages.
test: deps
	$(GO) vet ./...
	@log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	echo "$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./..."; \
	set -o pipefail; \
	if $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./... 2>&1 | tee "$$log"; then \
		echo "== all tests passed"; \
	else \
		status=$$?; \
		echo "== failures:"; \
		grep -E '^(--- FAIL|FAIL[[:space:]]|panic:)|\[build failed\]|\[setup failed\]' "$$log"; \
		exit $$status; \
	fi

# MIT's names are symlinks to ours, so sites and scripts that call
# kdb5_util or kadmin.local get krb5prop. kprop, kpropd and krb5kdc already
# share MIT's names. PREFIX=/usr replaces MIT's binaries.
install: build
	install -d $(SBINDIR)
	for t in $(TOOLS); do install -m 0755 bin/$$t $(SBINDIR)/$$t; done
	ln -sf kdb5util $(SBINDIR)/kdb5_util
	ln -sf kadmin $(SBINDIR)/kadmin.local
	install -m 0755 examples/propagate.sh $(SBINDIR)/krb5prop-propagate

bench: deps
	$(GO) run ./bench -n $(BENCH_SIZES)

bench-prop: deps
	$(GO) run ./bench -prop -n 100000,1000000 -runs 2

bench-kdc: deps
	$(GO) run ./bench -kdc -n 100000

bench-replica: deps
	$(GO) run ./bench -replica -n 100000,1000000

bench-fanout: deps
	$(GO) run ./bench -fanout -n 100000

demo: deps
	bash scripts/demo.sh

# Fuzz targets are found by `go test -list`, which prints each package's
# matching names before its "ok <package>" line; go test -fuzz takes one
# target in one package at a time.
fuzz:
	@set -o pipefail; \
	targets=$$($(GO) test -list '^Fuzz' ./... | \
		awk '/^Fuzz/ { names[n++] = $$1; next } /^ok/ { for (i = 0; i < n; i++) print $$2 " " names[i]; n = 0 }') || exit 1; \
	if [ -z "$$targets" ]; then echo "no fuzz targets"; exit 0; fi; \
	status=0; \
	while read -r pkg name; do \
		echo "== $$pkg $$name"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg" || status=1; \
	done <<< "$$targets"; \
	exit $$status

clean:
	rm -rf bin
