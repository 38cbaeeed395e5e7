# The README's two commands are `make run` and `make test`.
GO ?= go
DATA ?= ./data

.PHONY: build run test lint bench

build:
	CGO_ENABLED=0 $(GO) build -o cloister ./cmd/cloister

# Start the server (as root: sandboxes need namespaces and cgroups).
run: build
	./cloister server --data-dir $(DATA)

# The whole test suite, as CI runs it.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./internal/...
