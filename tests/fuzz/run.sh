#!/usr/bin/env bash
# Serves the built worker with `wrangler dev` on 127.0.0.1 and runs one mode against it:
#
#   client  examples/client.py, the whole client flow (access tokens live 3 s, so it sees a real expiry)
#   quick   the client flow, then Schemathesis bounded for `make test` (examples, coverage, fuzzing)
#   full    the client flow, then Schemathesis with every phase (stateful too) for FUZZ_TIME seconds
#
# The server is isolated from everything else: a copy of build/ (a concurrent `make build` cannot
# reload it mid-run), a copy of wrangler.toml without the [build] step and with a per-IP limit
# high enough for a fuzzer, a fresh D1/KV directory with the migrations applied, a random signing
# key, cheap PBKDF2, a free port. All of it lives in one temporary directory, removed on exit, and
# wrangler dev is stopped on exit whatever happens. Exits non-zero on any failure or finding.
#
# Environment: FUZZ_SEED (replay a Schemathesis run), FUZZ_EXAMPLES (per operation and phase),
# FUZZ_TIME (seconds, full mode), FUZZ_PREFIX (default /api/v1/drf/auth), FUZZ_SCHEMA (a local
# OpenAPI file to use instead of the served one, e.g. to try a schema change without rebuilding),
# FUZZ_KEEP=1 (keep the temporary directory and its wrangler.log).
set -euo pipefail

MODE=${1:-}
case "$MODE" in
client | quick | full) ;;
*)
    echo "usage: $0 client|quick|full" >&2
    exit 2
    ;;
esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=$ROOT/tests/fuzz/.venv
PREFIX=${FUZZ_PREFIX:-/api/v1/drf/auth}
export PATH=$ROOT/node_modules/.bin:$PATH WRANGLER_SEND_METRICS=false

for needed in "$ROOT/build/worker/shim.mjs" "$VENV/bin/schemathesis"; do
    if [[ ! -e $needed ]]; then
        echo "missing $needed: run this through make (make client / fuzz-quick / fuzz)" >&2
        exit 2
    fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/edge-auth-fuzz.XXXXXX")
WRANGLER_PID=
STEP_PID=
LOG=$WORK/wrangler.log

# Runs one step in the background and waits for it, so that a signal is handled at once (bash runs
# traps only between foreground commands) and cleanup can stop the step too.
step() {
    "$@" &
    STEP_PID=$!
    local status=0
    wait "$STEP_PID" || status=$?
    STEP_PID=
    return "$status"
}

stop_server() {
    [[ -n $WRANGLER_PID ]] || return 0
    # wrangler dev runs workerd as children in its own process group: stop the whole group.
    kill -TERM -- "-$WRANGLER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 -- "-$WRANGLER_PID" 2>/dev/null || break
        sleep 0.2
    done
    # A wedged workerd can ignore SIGTERM; nothing of this group may outlive the run.
    kill -KILL -- "-$WRANGLER_PID" 2>/dev/null || true
    wait "$WRANGLER_PID" 2>/dev/null || true
    WRANGLER_PID=
}

cleanup() {
    local status=$?
    if [[ -n $STEP_PID ]]; then
        kill -TERM "$STEP_PID" 2>/dev/null || true
        wait "$STEP_PID" 2>/dev/null || true
    fi
    stop_server
    if [[ $status -ne 0 && -s $LOG ]]; then
        echo "---- last lines of wrangler dev's log ($LOG) ----" >&2
        tail -n 30 "$LOG" >&2 || true
    fi
    if [[ ${FUZZ_KEEP:-} == 1 ]]; then
        echo "kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The worker as built, copied so that a rebuild elsewhere does not reload it under the test.
cp -R "$ROOT/build" "$WORK/build"

# wrangler.toml, rewritten for a local run: absolute paths (the copy lives in $WORK), no build
# step, per-IP limits no fuzzer reaches. A rewrite that cannot apply stops the run here.
python3 - "$ROOT" "$WORK" <<'EOF'
import re
import sys

root, work = sys.argv[1], sys.argv[2]
text = open(f"{root}/wrangler.toml", encoding="utf-8").read()
rewrites = [  # pattern, replacement, how many matches are fine
    (r'(?m)^main = ".*"$', f'main = "{work}/build/worker/shim.mjs"', {1}),
    (r'(?m)^migrations_dir = ".*"$', f'migrations_dir = "{root}/migrations"', {1}),
    (r"(?ms)^\[build\]\n.*?(?=^\[)", "", {0, 1}),
    (r"simple = \{ limit = \d+", "simple = { limit = 1000000", range(1, 100)),
]
for pattern, replacement, allowed in rewrites:
    text, count = re.subn(pattern, replacement, text)
    if count not in allowed:
        sys.exit(f"tests/fuzz/run.sh: cannot rewrite wrangler.toml ({pattern!r} matched {count} times)")
open(f"{work}/wrangler.toml", "w", encoding="utf-8").write(text)
EOF

# A throwaway signing key, read by wrangler dev from the .dev.vars next to its configuration.
(
    umask 077
    printf 'JWT_SIGNING_KEY="%s"\n' "$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')" >"$WORK/.dev.vars"
)

wrangler d1 migrations apply DB --local --persist-to "$WORK/state" -c "$WORK/wrangler.toml" >"$WORK/migrations.log" 2>&1 ||
    {
        cat "$WORK/migrations.log" >&2
        exit 1
    }

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The per-account back-off is the black-box suite's to test: here it would block the one fuzzed user.
VARS=(--var PBKDF2_ITERATIONS:1000 --var LOGIN_BACKOFF_THRESHOLD:1000000)
if [[ $MODE == client ]]; then
    VARS+=(--var ACCESS_TOKEN_LIFETIME_SECS:3)
fi

set -m # its own process group, so that stop_server reaches workerd too
wrangler dev -c "$WORK/wrangler.toml" --persist-to "$WORK/state" --ip 127.0.0.1 --port "$PORT" \
    --inspector-port 0 --show-interactive-dev-session=false "${VARS[@]}" </dev/null >"$LOG" 2>&1 &
WRANGLER_PID=$!
set +m

ORIGIN=http://127.0.0.1:$PORT
BASE=$ORIGIN$PREFIX

# Ready when /healthz?deep=1 says D1 and KV answer; bounded, and early out if wrangler dev died.
python3 - "$ORIGIN/healthz?deep=1" "$WRANGLER_PID" <<'EOF'
import json
import os
import sys
import time
import urllib.error
import urllib.request

url, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("wrangler dev exited before serving")
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            if json.load(response).get("status") == "ok":
                sys.exit(0)
    except urllib.error.HTTPError as error:  # the worker answers, but not 200: e.g. 503 misconfigured
        sys.exit(f"{url}: {error.code} {error.read()[:300]!r}")
    except OSError:  # not listening yet
        pass
    time.sleep(0.25)
sys.exit(f"{url} did not answer `ok` within 120 s")
EOF
echo "wrangler dev serving $BASE (state in $WORK)"

echo "== examples/client.py"
step "$VENV/bin/python" "$ROOT/examples/client.py" "$BASE"
[[ $MODE == client ]] && exit 0

# Schemathesis loads the document the worker serves under the prefix; its `servers` entry names
# that prefix, so the operations are called there. hooks.py authenticates as a fresh user.
ARGS=(--checks all --request-timeout 30 --workers 2)
if [[ $MODE == quick ]]; then
    ARGS+=(--phases examples,coverage,fuzzing --max-examples "${FUZZ_EXAMPLES:-100}")
else
    ARGS+=(--phases examples,coverage,fuzzing,stateful --max-examples "${FUZZ_EXAMPLES:-200}" --max-time "${FUZZ_TIME:-600}")
fi
SCHEMA=$BASE/openapi.json
if [[ -n ${FUZZ_SCHEMA:-} ]]; then
    SCHEMA=$(cd "$(dirname "$FUZZ_SCHEMA")" && pwd)/$(basename "$FUZZ_SCHEMA")
    ARGS+=(--url "$BASE")
fi
if [[ -n ${FUZZ_SEED:-} ]]; then
    ARGS+=(--seed "$FUZZ_SEED")
fi
echo "== schemathesis ($MODE)"
# Run from $WORK: whatever Schemathesis writes to its working directory goes with it.
cd "$WORK"
schemathesis() {
    FUZZ_BASE_URL=$BASE SCHEMATHESIS_HOOKS=$ROOT/tests/fuzz/hooks.py \
        step "$VENV/bin/schemathesis" --config-file "$ROOT/tests/fuzz/schemathesis.toml" run "$SCHEMA" "${ARGS[@]}"
}
status=0
schemathesis 2>&1 | tee "$WORK/schemathesis.out" || status=$?
# CPython 3.11 can raise "SystemError: AST constructor recursion depth mismatch" inside Hypothesis
# while it describes a strategy (a CPython bug fixed in 3.12, no request involved): Schemathesis
# reports it as a runtime error of the run. Only then, and only without a fixed seed, run once more.
if ((status != 0)) && [[ -z ${FUZZ_SEED:-} ]] &&
    grep -q "AST constructor recursion depth mismatch" "$WORK/schemathesis.out" &&
    ! grep -q "^Failures:" "$WORK/schemathesis.out"; then
    echo "== schemathesis: CPython's AST recursion bug stopped the run (no API failure reported); once more"
    status=0
    schemathesis || status=$?
fi
exit "$status"
