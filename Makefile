# jitbench's developer entry points. `make test` is what CI runs (.ci/run);
# `make demo` is the README's quick start.

GO ?= go
FUZZTIME ?= 10s
BENCHTIME ?= 1s

.PHONY: all build install test vet unit fuzz demo bench proto proto-check chromium python images

all: build

build:
	$(GO) build -o bin/jitbench ./cmd/jitbench

# jitbench on your PATH, built from this checkout: the module is not
# published, so `go install github.com/jitbench/jitbench/...@latest` cannot
# fetch it. go install puts it in $(go env GOBIN), or the bin directory of
# the first entry of $(go env GOPATH); this says which, and whether your
# PATH has it.
install:
	$(GO) install ./cmd/jitbench
	@bin="$$($(GO) env GOBIN)"; \
	if [ -z "$$bin" ]; then gopath="$$($(GO) env GOPATH)"; bin="$${gopath%%:*}/bin"; fi; \
	echo "installed $$bin/jitbench"; \
	case ":$$PATH:" in \
	*":$$bin:"*|*":$$bin/:"*) echo "$$bin is on your PATH: try 'jitbench --help'";; \
	*) echo "$$bin is not on your PATH: add it, e.g. export PATH=\"$$bin:\$$PATH\" (or run $$bin/jitbench)";; \
	esac

# vet + race-enabled tests + a short fuzz run + the generated-code check.
test: vet unit fuzz proto-check

vet:
	$(GO) vet ./...
	@unformatted="$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'))"; \
	if [ -n "$$unformatted" ]; then echo >&2 "gofmt would change: $$unformatted"; exit 1; fi

# The HTML report test opens the report in a real headless Chromium; on a
# machine without it (CI's fresh one) it is installed from Debian's packages.
# The HTML check's screenshot is kept in out/artifacts (CI can upload it).
# The container tests (harness/containers, the container scenarios, and
# conformance --image) use the images `make images` builds first, outside
# any test's timeout (a cold build of the static binary takes minutes), and
# skip where no Docker engine answers. Ryuk, testcontainers' reaper, is off: its image would be pulled
# from a registry, and the tests remove what they create themselves.
# They run after the other packages, not beside them: containers load the
# two cores outside Go's view, and the in-process tests have deadlines.
UNIT_ENV := TESTCONTAINERS_RYUK_DISABLED=true JITBENCH_ARTIFACT_DIR=$(CURDIR)/out/artifacts
unit: chromium python
	@if docker info >/dev/null 2>&1; then $(MAKE) --no-print-directory images; \
	else echo "no Docker engine answers: the container tests and scenarios will skip"; fi
	$(UNIT_ENV) $(GO) test -race -count=1 $$($(GO) list ./... | grep -v '/harness/containers$$')
	$(UNIT_ENV) $(GO) test -race -count=1 ./harness/containers/

chromium:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium (Debian package) for the HTML report test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo >&2 "chromium is not installed and cannot be installed here: the HTML report test will skip"; fi

# The Python ledger service (fakes/pyledger), an external target in another
# language, needs grpcio and PyJWT under Debian's python3: installed from
# Debian's packages where missing (its test fails under CI without them).
PY_DEBS := python3-grpcio python3-jwt python3-cryptography
python:
	@if /usr/bin/python3 -c 'import grpc, jwt, cryptography' >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing $(PY_DEBS) (Debian packages) for the Python target's test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PY_DEBS) >/dev/null; \
	else echo >&2 "python3 with grpcio and PyJWT is missing and cannot be installed here: the Python target's test will skip"; fi

# Images jitbench-broker, jitbench-vault and jitbench-worker (tag :dev),
# FROM scratch with one static binary: nothing is pulled. Each is labelled
# with the hash of the binary and its Dockerfile (the container tests
# compare it to decide whether to build again); an image left untagged by
# a rebuild is removed.
IMAGES_DIR := out/images
IMAGE_TAG ?= dev
images:
	@mkdir -p $(IMAGES_DIR)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(IMAGES_DIR)/jitbench ./cmd/jitbench
	@for role in broker vault worker; do \
		image=jitbench-$$role:$(IMAGE_TAG); \
		hash=$$(cat $(IMAGES_DIR)/jitbench deploy/$$role.Dockerfile | sha256sum | cut -c1-16); \
		old=$$(docker image inspect -f '{{.Id}}' $$image 2>/dev/null); \
		echo "docker build $$image (content $$hash)"; \
		docker build --pull=false -q -f deploy/$$role.Dockerfile --label dev.jitbench.content=$$hash \
			-t $$image $(IMAGES_DIR) 2>&1 >/dev/null | grep -v -e DEPRECATED -e 'legacy builder' -e BuildKit -e buildx -e '^$$' >&2; \
		new=$$(docker image inspect -f '{{.Id}}' $$image 2>/dev/null) || exit 1; \
		if [ -n "$$old" ] && [ "$$old" != "$$new" ]; then docker image rm $$old >/dev/null 2>&1 || true; fi; \
	done

# Each fuzz target runs for FUZZTIME; go test allows one -fuzz per package.
# scripts/fuzz.sh reruns a run that ended on Go 1.26's fuzz deadline race
# without a failing input (go.dev/issue/75804); any finding fails.
FUZZ := GO="$(GO)" FUZZTIME="$(FUZZTIME)" bash scripts/fuzz.sh
fuzz:
	$(FUZZ) FuzzGrantVerify ./reference/token/
	$(FUZZ) FuzzClaimsDecode ./reference/token/
	$(FUZZ) FuzzGrant ./fakes/zoo/
	$(FUZZ) FuzzParseSpec ./fakes/proxy/
	$(FUZZ) FuzzParse ./reference/broker/policy/
	$(FUZZ) FuzzOpen ./reference/broker/store/ -fuzzminimizetime 20x
	$(FUZZ) FuzzRead ./reports/ -fuzzminimizetime 20x
	$(FUZZ) FuzzParse ./scenarios/
	$(FUZZ) FuzzParseConfig ./harness/conformance/
	$(FUZZ) FuzzParseKeyFile ./harness/conformance/
	$(FUZZ) FuzzInferSample ./harness/conformance/
	$(FUZZ) FuzzClaimTemplate ./fakes/

# The tour and four seed-catalog scenarios, then a 3 s open-loop load run
# against the in-process reference, ending with the HTML report's path.
demo:
	$(GO) run ./cmd/jitbench demo
	@mkdir -p out
	$(GO) run ./cmd/jitbench load --target inprocess --method /demo.v1.Vault/Read --rate 500/s --duration 3s \
		-o out/demo-result.json --html out/demo-report.html
	@echo "HTML report: $(CURDIR)/out/demo-report.html"

bench:
	GO="$(GO)" BENCHTIME="$(BENCHTIME)" bash scripts/bench.sh

# Protobuf generation. buf and both protoc plugins are pinned in tools/go.mod
# and run with `go tool -modfile`, so no protoc or plugin binary has to be
# installed and library users never inherit buf's dependencies.

PROTO_DIR := reference/api
BUF := $(GO) tool -modfile=tools/go.mod buf

# Scoped to the proto targets so other targets keep the caller's settings.
# -mod=readonly: generating must never rewrite tools/go.mod or go.sum behind
# the user's back (any other -mod from the caller is dropped for that reason).
# GOWORK=off: -modfile cannot be combined with a go.work workspace.
proto proto-check: export GOFLAGS := -mod=readonly $(filter-out -mod=%,$(GOFLAGS))
proto proto-check: export GOWORK := off

# Old outputs are removed first so that a deleted or renamed .proto does not
# leave a stale .pb.go behind; buf is skipped when no .proto is left, because
# it refuses to build an empty module.
proto:
	find $(PROTO_DIR) -type f -name '*.pb.go' -delete
	@if [ -n "$$(find $(PROTO_DIR) -type f -name '*.proto')" ]; then \
		echo "$(BUF) generate"; $(BUF) generate; \
	else \
		echo "proto: no .proto files under $(PROTO_DIR), nothing to generate"; \
	fi

proto-check: proto
	@git diff --exit-code --stat -- $(PROTO_DIR) || { \
		echo >&2 "proto-check: generated code in $(PROTO_DIR) is out of date; run 'make proto' and commit the result."; \
		exit 1; }
	@untracked="$$(git ls-files --others --exclude-standard -- '$(PROTO_DIR)/*.pb.go')"; \
	if [ -n "$$untracked" ]; then \
		echo >&2 "proto-check: untracked generated files:"; \
		echo >&2 "$$untracked"; \
		echo >&2 "proto-check: run 'make proto' and commit the result."; \
		exit 1; \
	fi
