# BeTrace processor. `make run` and `make test` work on a fresh checkout with Node.js.

NPM ?= npm
NODE ?= node
STAMP := node_modules/.install-stamp

.PHONY: all install build run test bench demo check-rules clean

all: build

# Installs dependencies exactly as locked, once per change of the lock file.
$(STAMP): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $(STAMP)

install: $(STAMP)

build: $(STAMP)
	$(NPM) run --silent build

# Runs the processor on its embedded default: receivers on 127.0.0.1:4317/4318,
# the bundled rules, console exporter, admin on 127.0.0.1:8888.
run: build
	./bin/betrace serve

test: build
	$(NODE) scripts/run-tests.js

bench: build
	$(NODE) scripts/run-benchmarks.js

# Sends the demo's traces to a processor listening on 127.0.0.1:4317.
demo: build
	$(NODE) dist/demo/payment-demo.js

check-rules: build
	./bin/betrace check rules/*.yaml
	./bin/betrace test rules/*.yaml

clean:
	rm -rf dist dist-*
