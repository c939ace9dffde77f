#!/usr/bin/env bash
# Serves the built worker with `wrangler dev` on 127.0.0.1 and runs one mode against it:
#
#   client  examples/client.py, the whole client flow (access tokens live 3 s, so it sees a real expiry),
#           mailed links included: client_flow.py reads the mails from wrangler dev's log
#   quick   the client flow, then Schemathesis bounded for `make test` (examples, coverage, fuzzing)
#   full    the client flow, then Schemathesis with every phase (stateful too) for FUZZ_TIME seconds
#
# The server comes from tests/harness/local-worker.mjs, shared with the benchmarks: a copy of
# build/, a copy of wrangler.toml without the [build] step and with per-IP limits high enough for a
# fuzzer, a fresh D1/KV directory with the migrations applied, a random signing key, a free port,
# all in one temporary directory removed on exit, and wrangler dev (with workerd) stopped on exit
# whatever happens. Here: cheap PBKDF2 and no per-account back-off. Exits non-zero on any failure
# or finding.
#
# Environment: FUZZ_SEED (replay a Schemathesis run), FUZZ_EXAMPLES (per operation and phase),
# FUZZ_TIME (seconds, full mode), FUZZ_PREFIX (default /api/v1/drf/auth), FUZZ_SCHEMA (a local
# OpenAPI file to use instead of the served one, e.g. to try a schema change without rebuilding),
# FUZZ_KEEP=1 (keep the temporary directory and its wrangler.log).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=$ROOT/tests/fuzz/.venv
PREFIX=${FUZZ_PREFIX:-/api/v1/drf/auth}

# The second stage, run by the harness once the worker serves LOCAL_WORKER_ORIGIN.
against_server() {
    local mode=$1 base=$LOCAL_WORKER_ORIGIN$PREFIX
    echo "== examples/client.py (through tests/fuzz/client_flow.py, mails from wrangler dev's log)"
    "$VENV/bin/python" "$ROOT/tests/fuzz/client_flow.py" "$base"
    [[ $mode == client ]] && return 0

    # Schemathesis loads the document the worker serves under the prefix; its `servers` entry
    # names that prefix, so the operations are called there. hooks.py authenticates as a fresh user.
    # One worker: with two threads, Hypothesis failed describing strategies in 2 of 3 runs (its
    # lambda-source cache and CPython 3.11's AST recursion check are not safe across threads).
    local args=(--checks all --request-timeout 30 --workers 1)
    if [[ $mode == quick ]]; then
        args+=(--phases examples,coverage,fuzzing --max-examples "${FUZZ_EXAMPLES:-100}")
    else
        args+=(--phases examples,coverage,fuzzing,stateful --max-examples "${FUZZ_EXAMPLES:-200}" --max-time "${FUZZ_TIME:-600}")
    fi
    local schema=$base/openapi.json
    if [[ -n ${FUZZ_SCHEMA:-} ]]; then
        schema=$(cd "$(dirname "$FUZZ_SCHEMA")" && pwd)/$(basename "$FUZZ_SCHEMA")
        args+=(--url "$base")
    fi
    if [[ -n ${FUZZ_SEED:-} ]]; then
        args+=(--seed "$FUZZ_SEED")
    fi
    echo "== schemathesis ($mode)"
    # Run from the harness's directory: whatever Schemathesis writes to its working directory goes with it.
    cd "$LOCAL_WORKER_DIR"
    schemathesis() {
        FUZZ_BASE_URL=$base SCHEMATHESIS_HOOKS=$ROOT/tests/fuzz/hooks.py \
            "$VENV/bin/schemathesis" --config-file "$ROOT/tests/fuzz/schemathesis.toml" run "$schema" "${args[@]}"
    }
    local status=0
    schemathesis 2>&1 | tee "$LOCAL_WORKER_DIR/schemathesis.out" || status=$?
    # Hypothesis can fail while it describes a strategy's lambdas (its lambda_sources cache, and
    # CPython 3.11's "AST constructor recursion depth mismatch"; no request involved): Schemathesis
    # reports it as a runtime error of the run. Only then, and only without a fixed seed, run once more.
    if ((status != 0)) && [[ -z ${FUZZ_SEED:-} ]] &&
        grep -qE "AST constructor recursion depth mismatch|hypothesis/internal/lambda_sources.py" \
            "$LOCAL_WORKER_DIR/schemathesis.out" &&
        ! grep -q "^Failures:" "$LOCAL_WORKER_DIR/schemathesis.out"; then
        echo "== schemathesis: Hypothesis failed describing a strategy (no API failure reported); once more"
        status=0
        schemathesis || status=$?
    fi
    return "$status"
}

if [[ ${1:-} == --against-server ]]; then
    against_server "${2:?}"
    exit
fi

MODE=${1:-}
case "$MODE" in
client | quick | full) ;;
*)
    echo "usage: $0 client|quick|full" >&2
    exit 2
    ;;
esac

for needed in "$ROOT/build/worker/shim.mjs" "$VENV/bin/schemathesis"; do
    if [[ ! -e $needed ]]; then
        echo "missing $needed: run this through make (make client / fuzz-quick / fuzz)" >&2
        exit 2
    fi
done

# The per-account back-off is the black-box suite's to test: here it would block the one fuzzed user.
# A throwaway DJANGO_SYNC_SECRET serves sync/events/ (404 without one), where every request the
# fuzzer makes must be refused for its signature (401), a missing one included.
SYNC_SECRET=$(node -e 'console.log(require("crypto").randomBytes(24).toString("hex"))')
# The introspection client (id and secret with characters form-urlencoding changes) is hooks.py's
# for `token/introspect/`.
export FUZZ_INTROSPECTION_CLIENT_ID="fuzz:introspection"
FUZZ_INTROSPECTION_CLIENT_SECRET="fuzz+$(node -e "process.stdout.write(require('crypto').randomBytes(24).toString('base64url'))")"
export FUZZ_INTROSPECTION_CLIENT_SECRET
HARNESS=(--var PBKDF2_ITERATIONS:1000 --var LOGIN_BACKOFF_THRESHOLD:1000000 --var "DJANGO_SYNC_SECRET:$SYNC_SECRET"
    --var "INTROSPECTION_CLIENT_ID:$FUZZ_INTROSPECTION_CLIENT_ID"
    --var "INTROSPECTION_CLIENT_SECRET:$FUZZ_INTROSPECTION_CLIENT_SECRET" --ip-limit 1000000)
if [[ $MODE == client ]]; then
    HARNESS+=(--var ACCESS_TOKEN_LIFETIME_SECS:3)
fi
if [[ ${FUZZ_KEEP:-} == 1 ]]; then
    HARNESS+=(--keep)
fi
exec node "$ROOT/tests/harness/local-worker.mjs" run "${HARNESS[@]}" -- "$0" --against-server "$MODE"
