# Radiogram: `make run` runs the whole service locally, `make test` runs every test.
GO        ?= go
GOFLAGS   ?=
PORT      ?= 8080
# sam build uses arm64 (template.yaml); the parity test builds the same recipe
# for the host's architecture with LAMBDA_GOARCH=$(go env GOARCH).
LAMBDA_GOARCH ?= arm64
# staticcheck, pinned; `go run` fetches it once into the module cache.
STATICCHECK = $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
LAMBDA_BUILD = GOOS=linux GOARCH=$(LAMBDA_GOARCH) CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w'

.PHONY: run test tools lint unit parity bench build clean fuzz fuzz-smoke tagger-report tagger-train \
	build-IngestFunction build-ApiFunction build-PlannerFunction build-SenderFunction build-FeedbackFunction \
	build-InboundFunction

run: ## the whole service on 127.0.0.1:$(PORT) against a local moto_server
	@python3 infra/check_requirements.py
	RADIOGRAM_ALLOW_LOOPBACK=1 PORT=$(PORT) $(GO) run ./cmd/radiogram-local

test: lint ## lint, vet, template check, unit and integration tests (moto starts itself), a short fuzz
	$(GO) test -race -count=1 -timeout 12m ./...
	$(MAKE) fuzz-smoke

tools: ## fetch and build the pinned Go tools (staticcheck) into the module cache
	$(STATICCHECK) -version

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	python3 infra/check_requirements.py
	cfn-lint template.yaml

tagger-report: ## the tagger against every admin correction in the configured store (RADIOGRAM_ITEMS_TABLE, RADIOGRAM_ADMIN_TABLE, RADIOGRAM_AWS_ENDPOINT) and the labelled corpus
	$(GO) run ./cmd/radiogram-tagger-report

tagger-train: ## retrain the tagger's model on the corpus's tune split into infra/topics.json, then measure it
	$(GO) run ./cmd/radiogram-tagger-train
	$(GO) test -count=1 -run 'Quality|CrossValidation' -v ./internal/topics

unit: ## tests that need no moto_server
	$(GO) test -short -count=1 ./...

parity: ## the real bootstraps, built as sam build does, against the whole stack on moto
	$(GO) test -count=1 -v -run . ./functions/

bench: ## throughput benchmarks; figures are printed
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./internal/...

# Fuzz targets as <package>:<function>; go test -fuzz takes one per run.
FUZZTIME ?= 30s
FUZZ_TARGETS = \
	./internal/web/:FuzzSubscribe \
	./internal/web/:FuzzPreferences \
	./internal/httpapi/:FuzzTriggerSend \
	./internal/feedback/:FuzzParseSESEvent \
	./internal/feedback/:FuzzParseSESEventStrict \
	./internal/feedback/:FuzzVerifySNSMessage \
	./internal/tokens/:FuzzVerify \
	./internal/tokens/:FuzzTamper \
	./internal/feedparse/:FuzzParse \
	./internal/dynamo/:FuzzDecodeCursor

fuzz: ## run each fuzz target for FUZZTIME (default 30s), one after another
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "== $$fn ($$pkg) for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

# A bounded run for `make test`: a count, not a duration, since a duration
# can end mid-input with "context deadline exceeded" on a slow machine.
fuzz-smoke: ## every fuzz target for 500 inputs beyond its seeds
	$(MAKE) fuzz FUZZTIME=500x

build: ## Lambda binaries for arm64 in bin/<function>/bootstrap
	$(MAKE) build-IngestFunction ARTIFACTS_DIR=bin/ingest
	$(MAKE) build-ApiFunction ARTIFACTS_DIR=bin/api
	$(MAKE) build-PlannerFunction ARTIFACTS_DIR=bin/planner
	$(MAKE) build-SenderFunction ARTIFACTS_DIR=bin/sender
	$(MAKE) build-FeedbackFunction ARTIFACTS_DIR=bin/feedback
	$(MAKE) build-InboundFunction ARTIFACTS_DIR=bin/inbound

# SAM's makefile build method calls these with ARTIFACTS_DIR set.
build-IngestFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/ingest

build-ApiFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/api

build-PlannerFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/planner

build-SenderFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/sender

build-FeedbackFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/feedback

build-InboundFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/inbound

clean:
	rm -rf bin .aws-sam
