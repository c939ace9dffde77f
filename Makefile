# edge-auth — every command a developer or CI needs. Tools are installed into .tools/ (git-ignored)
# at the versions pinned here and in Cargo.lock, so `make dev` / `make test` work on a fresh clone.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PORT ?= 8787
TOOLS := $(CURDIR)/.tools
WORKER_BUILD_VERSION := 0.8.7
# wasm-bindgen-cli must match the wasm-bindgen library exactly: read it from Cargo.lock.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ { getline; gsub(/"/, "", $$3); print $$3 }' Cargo.lock)
WASM_TARGET := wasm32-unknown-unknown

export PATH := $(TOOLS)/bin:$(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
# worker-build would download these from GitHub; point it at local ones instead.
export WASM_BINDGEN_BIN := $(TOOLS)/bin/wasm-bindgen
export ESBUILD_BIN := $(CURDIR)/node_modules/.bin/esbuild
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER := $(TOOLS)/bin/wasm-bindgen-test-runner
export WRANGLER_SEND_METRICS := false

STAMPS := $(TOOLS)/stamps
WASM_TARGET_STAMP := $(STAMPS)/rust-$(WASM_TARGET)
WORKER_BUILD_STAMP := $(STAMPS)/worker-build-$(WORKER_BUILD_VERSION)
WASM_BINDGEN_STAMP := $(STAMPS)/wasm-bindgen-$(WASM_BINDGEN_VERSION)
NODE_STAMP := node_modules/.installed

.PHONY: help setup build dev demo test lint unit wasm-test release blackbox interop companion coexist client fuzz-quick browser fuzz deploy-check bench profile fmt clean

# Every target carries a `## description`; help prints them and fails on a .PHONY target without one.
help: ## this list: every target, one line each
	@awk -F ':.*## ' '/^\.PHONY:/ { n = split($$0, names, " "); for (i = 2; i <= n; i++) phony[names[i]] = 1 } \
	  /^[a-z][a-z-]*:.*## / { printf "  make %-13s %s\n", $$1, $$2; documented[$$1] = 1 } \
	  END { for (t in phony) if (!(t in documented)) { printf "  make %-13s (undocumented: add a ## comment)\n", t; bad = 1 } exit bad }' $(MAKEFILE_LIST)

setup: $(WASM_TARGET_STAMP) $(WORKER_BUILD_STAMP) $(WASM_BINDGEN_STAMP) $(NODE_STAMP) ## install the pinned tools into .tools/ and node_modules/ (what is missing)

$(WASM_TARGET_STAMP):
	rustup target add $(WASM_TARGET)
	rustup component add clippy rustfmt
	@mkdir -p $(STAMPS) && touch $@

$(WORKER_BUILD_STAMP):
	cargo install worker-build --version $(WORKER_BUILD_VERSION) --locked --root $(TOOLS)
	@mkdir -p $(STAMPS) && touch $@

# No --locked: wasm-bindgen-cli's own lockfile pins a yanked crate.
$(WASM_BINDGEN_STAMP):
	cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --root $(TOOLS)
	@mkdir -p $(STAMPS) && touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# The release worker: build/worker/shim.mjs + the wasm module, without the custom sections
# wasm-bindgen adds (scripts/strip-wasm-names.mjs: -1.4 KB of the gzipped upload), and its static
# assets in build/assets/ (wrangler.toml's [assets]), which build.rs writes during the cargo build:
# Django's common-password list and the OpenAPI document, kept out of the wasm (-49 KB of its gzip).
build: setup ## build the release worker into build/ (worker-build --release, then its wasm stripped; static assets in build/assets/)
	worker-build --release
	node scripts/strip-wasm-names.mjs build/index_bg.wasm

.dev.vars:
	@umask 077 && printf 'JWT_SIGNING_KEY="%s"\nMFA_ENCRYPTION_KEY="%s"\n' \
	  "$$(node -e "process.stdout.write(require('crypto').randomBytes(48).toString('base64url'))")" \
	  "$$(node -e "process.stdout.write(require('crypto').randomBytes(32).toString('base64url'))")" > $@
	@echo "wrote .dev.vars with a random development signing key and TOTP sealing key"

# Settings for running beside Django (README, "Running beside Django") and introspection, taken
# from the environment when set, e.g. `DJANGO_SYNC_URL=http://127.0.0.1:8000/edge-auth/ DJANGO_SYNC_SECRET=… make dev`.
DEV_PASSTHROUGH := DJANGO_SYNC_URL DJANGO_SYNC_SECRET SYNC_RETRY_MAX_DELAY_SECS INTROSPECTION_CLIENT_ID INTROSPECTION_CLIENT_SECRET
DEV_VARS_FROM_ENV = $(foreach name,$(DEV_PASSTHROUGH),$(if $(value $(name)),--var '$(name):$(value $(name))'))

dev: build .dev.vars ## build and serve the worker on 127.0.0.1:$PORT (default 8787; local D1/KV/Queue, migrations applied)
	wrangler d1 migrations apply DB --local
	wrangler dev --ip 127.0.0.1 --port $(PORT) $(DEV_VARS_FROM_ENV)

# The demo page (examples/web/): built by the project's esbuild into examples/web/dist/ and served
# by examples/web/serve.mjs (node:http, no dependency) on http://localhost:3000, the origin
# wrangler.toml's ALLOWED_ORIGINS (and so WebAuthn's origins, RP ID `localhost`) allow. Run it beside
# `make dev`; open it at localhost, not 127.0.0.1. API=… names another worker prefix (`?api=` too).
API ?= http://127.0.0.1:$(PORT)/api/v1/auth/
demo: $(NODE_STAMP) ## build examples/web/ and serve it on http://localhost:3000, beside `make dev` (API=… another worker prefix)
	API='$(API)' node examples/web/build.mjs
	DEMO_PORT=3000 node examples/web/serve.mjs

test: lint unit wasm-test release blackbox interop companion coexist client fuzz-quick browser deploy-check ## every check: lint unit wasm-test release blackbox interop companion coexist client fuzz-quick browser deploy-check

lint: setup ## cargo fmt --check and clippy (host + wasm32), warnings as errors
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --all-targets --target $(WASM_TARGET) -- -D warnings

unit: ## native unit tests (cargo test)
	cargo test

# The crypto, randomness and clock paths compiled to wasm32 and run under node.
wasm-test: setup ## crypto (hashers, tokens, passkey signatures, sealed TOTP secrets), randomness and clock tests on wasm32 under node
	cargo test --target $(WASM_TARGET) --test wasm

release: build ## the release build (same as build)

blackbox: setup ## the Miniflare black-box suite (tests/blackbox/) against build/ and build/assets/
	node --test --test-concurrency=1 --test-timeout=300000 tests/blackbox/

# The real Django + simplejwt + dj-rest-auth (pinned in tests/interop/requirements.txt) against the built worker.
INTEROP_VENV := tests/interop/.venv
$(INTEROP_VENV)/.installed: tests/interop/requirements.txt
	python3 -m venv $(INTEROP_VENV)
	$(INTEROP_VENV)/bin/pip install -q --disable-pip-version-check -r $<
	@touch $@

interop: setup build $(INTEROP_VENV)/.installed ## real Django + simplejwt + dj-rest-auth against the built worker (tests/interop/)
	node --test --test-concurrency=1 --test-timeout=300000 tests/interop/interop.test.mjs tests/interop/recovery.test.mjs

# The Django companion app's own tests (integrations/django/), on the pinned Django stack of
# tests/interop/requirements.txt, once on a spec-like user model and once on Django's auth.User.
companion: ## the Django companion app's tests (integrations/django/runtests.sh, its own venv)
	integrations/django/runtests.sh integrations/django/.venv

# The worker under `wrangler dev` with its local Queue beside a real Django: the reference project
# tests/coexist/django_project/ served by runserver, with the companion app installed from
# integrations/django (the test creates tests/coexist/.venv from tests/coexist/requirements.txt and
# reinstalls the companion when it changes). PROTOCOL.md's lazy migration, events, outage, introspection.
coexist: setup build ## the worker beside a real Django with the companion app: users, revocations, outage, signed events (tests/coexist/)
	node --test --test-concurrency=1 --test-timeout=600000 tests/coexist/coexist.test.mjs

# examples/client.py and Schemathesis (pinned in tests/fuzz/requirements.txt) against the built worker
# under `wrangler dev`, by tests/fuzz/run.sh through tests/harness/local-worker.mjs (a copy of the
# build, throwaway state, key and port; stopped on exit).
FUZZ_VENV := tests/fuzz/.venv
$(FUZZ_VENV)/.installed: tests/fuzz/requirements.txt
	@python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Schemathesis needs Python 3.11+"; exit 1; }
	python3 -m venv $(FUZZ_VENV)
	$(FUZZ_VENV)/bin/pip install -q --disable-pip-version-check -r $<
	@touch $@

client: setup build $(FUZZ_VENV)/.installed ## examples/client.py against the worker under wrangler dev
	tests/fuzz/run.sh client

fuzz-quick: setup build $(FUZZ_VENV)/.installed ## the client flow, then Schemathesis bounded (~1 min; FUZZ_SEED, FUZZ_EXAMPLES)
	tests/fuzz/run.sh quick

fuzz: setup build $(FUZZ_VENV)/.installed ## Schemathesis, every check and phase, for FUZZ_TIME seconds (default 600)
	tests/fuzz/run.sh full

# The demo page in Debian's Chromium (installed when missing: CI runs as root on a fresh machine),
# headless, through playwright-core (a pinned devDependency that never downloads a browser), with
# Chrome's virtual WebAuthn authenticator, against the built worker under `wrangler dev`
# (tests/harness/local-worker.mjs) and the page on http://localhost:3000 (tests/browser/).
# Screenshots of each step: tests/browser/artifacts/. The page's TypeScript is type-checked first
# (esbuild only strips the types).
browser: setup build ## the demo page type-checked, then in headless Chromium with a virtual passkey authenticator against wrangler dev (tests/browser/)
	tsc -p examples/web
	command -v chromium >/dev/null || { $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update && \
	  DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y chromium chromium-driver; }
	CHROMIUM="$$(command -v chromium)" node --test --test-concurrency=1 --test-timeout=300000 tests/browser/

# What `wrangler deploy` would upload (the bundle and build/assets/), built and bundled without
# deploying (works offline), and the migrations `wrangler d1 migrations apply DB --remote` would
# run, applied to a throwaway local D1.
deploy-check: setup ## wrangler deploy --dry-run and the migrations on a throwaway D1, offline
	out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && \
	  wrangler deploy --dry-run --outdir "$$out/bundle" && \
	  wrangler d1 migrations apply DB --local --persist-to "$$out/state"

# Benchmarks print numbers; they are not tests and enforce nothing. bench/run.mjs: PBKDF2 against
# its floor and OpenSSL (in node and in workerd), wasm size, cold start, and req/s, p50/p99 and
# workerd CPU per request of me/, token/refresh/ and login/ under `wrangler dev` on loopback, and
# the worker's own CPU per request in a bare workerd with storage replayed (bench/own_cpu.mjs);
# bench/prune.mjs: rows per active user after a simulated week of refreshes with and without the
# scheduled prune, and its CPU per batch;
# JSON in bench/results/, from which bench/readme.mjs rewrites the README's figures. bench/wasm is
# the harness it times (the floor, the hash paths).
bench: build ## benchmarks (enforce nothing): JSON in bench/results/, README figures regenerated
	cargo build --release --target $(WASM_TARGET) -p edge-auth-bench-wasm
	node bench/login_timing.mjs
	node bench/recovery_timing.mjs
	node bench/prune.mjs
	node bench/run.mjs
	node bench/readme.mjs

# bench/profile.mjs: the 401, me/ and token/refresh/ replayed in a bare workerd under the V8 profiler,
# from a release build with wasm function names (target/profiling/; build/ stays stripped).
profile: setup ## CPU profiles of the 401, me/ and token/refresh/: bench/results/profiles/, top functions printed
	node bench/profile.mjs

fmt: ## cargo fmt --all
	cargo fmt --all

clean: ## remove build/, target/ and .wrangler/
	rm -rf build target .wrangler
