#!/usr/bin/env bash
# The service against its own description, with every schemathesis check: builds the release
# server, trains two tiny models on the synthetic data (a rating model, and a click model with
# --implicit-threshold 4), and for each starts `metarec serve` on a free loopback port with a
# token file and runs schemathesis (PyPI, 4.x) over every operation of the served /openapi.yaml
# with the admin token and `--checks all` (settings in Scripts/schemathesis.toml). Fails on any
# failed check, and on an internal error in the server's log. The server is always stopped (trap).
# Called by .ci/run; about 2 to 3 minutes per model after the release build.
#
#   Scripts/ci-service.sh [STORE]
#
# STORE (or METAREC_SCHEMATHESIS_STORE) is the store location passed to `metarec serve --store`;
# default a fresh SQLite file per model. `{bundle}` in it is replaced by `rating` or `click`, so
# each model gets its own store (e.g. postgres://.../metarec_{bundle}); without it both runs
# use that one store, and the click model is published there (`metarec publish`) before its run.
# SCHEMATHESIS_EXAMPLES (default 100) is the number of cases per operation and phase. Two workers
# on Python 3.12 or later; one on older ones, whose ast.parse is not thread-safe (hypothesis calls it
# from every worker: "AST constructor recursion depth mismatch" on 3.11.7).
set -euo pipefail
cd "$(dirname "$0")/.."

store_location="${1:-${METAREC_SCHEMATHESIS_STORE:-}}"
examples="${SCHEMATHESIS_EXAMPLES:-100}"
work=$(mktemp -d)
server_pid=""
stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT

echo "== schemathesis (PyPI) in a virtual environment"
venv=.build/ci-schemathesis
if [ ! -x "$venv/bin/schemathesis" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q 'schemathesis>=4,<5'
fi
"$venv/bin/schemathesis" --version
workers=1
if "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then workers=2; fi

echo "== release server and two tiny models (rating; click, threshold 4)"
swift build -c release --product metarec
metarec="$(swift build -c release --show-bin-path)/metarec"
tiny=(--synthetic-users 300 --synthetic-items 150 --synthetic-interactions 15000
    --embedding-size 8 --hidden 16 --epochs 2 --modulation --partition modulation --quiet)
"$metarec" train "${tiny[@]}" --out "$work/rating.safetensors"
"$metarec" train "${tiny[@]}" --implicit-threshold 4 --out "$work/click.safetensors"

head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/token"
failed=()

# run_bundle NAME: serves $work/NAME.safetensors and runs schemathesis against it.
run_bundle() {
    local name=$1 store
    if [ -z "$store_location" ]; then
        store="sqlite:$work/$name.sqlite"
    else
        store="${store_location//\{bundle\}/$name}"
        if [ "$store" = "$store_location" ] && [ "$name" != rating ]; then
            # One store for both: the click model becomes the store's published version.
            "$metarec" publish "$work/$name.safetensors" --store "$store" --note "ci-service.sh: $name"
        fi
    fi
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$metarec" serve --model "$work/$name.safetensors" --store "$store" --host 127.0.0.1 --port "$port" \
        --token-file "$work/token" > "$work/$name.log" 2>&1 &
    server_pid=$!
    local up=""
    for _ in $(seq 1 150); do
        if curl -fsS "http://127.0.0.1:$port/healthz" > /dev/null 2>&1; then up=1; break; fi
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.2
    done
    if [ -z "$up" ]; then
        cat "$work/$name.log"; echo "the server did not start ($name model, store $store)"
        failed+=("$name: the server did not start"); stop_server; return
    fi
    echo "== schemathesis, $name model, store ${store%%:*}: http://127.0.0.1:$port/openapi.yaml"
    local status=0
    "$venv/bin/schemathesis" --config-file Scripts/schemathesis.toml run "http://127.0.0.1:$port/openapi.yaml" \
        --header "Authorization: Bearer $(cat "$work/token")" \
        --checks all --max-examples "$examples" --workers "$workers" --seed 18 \
        --generation-database none --no-color --output-truncate true || status=$?
    stop_server
    if [ "$status" != 0 ]; then failed+=("$name: schemathesis exited with $status"); fi
    if grep -n '"status":5\|internal error\|failed: ' "$work/$name.log"; then
        echo "the server logged an internal error ($name model)"
        failed+=("$name: an internal error in the server's log")
    fi
}

run_bundle rating
run_bundle click

if [ "${#failed[@]}" != 0 ]; then
    printf 'FAILED: %s\n' "${failed[@]}"
    exit 1
fi
echo "== schemathesis: every check passed on the rating and the click model"
