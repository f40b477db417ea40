#!/usr/bin/env bash
# The service against its own description: builds the release server, trains a tiny model,
# starts `metarec serve` on a free loopback port with a fresh store and a token file, and runs
# schemathesis (PyPI) over every operation in /openapi.yaml with the admin token. Any 5xx
# fails. The server is always stopped (trap). Called by .ci/run; takes about 2 minutes after
# the release build.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "== schemathesis (PyPI) in a virtual environment"
venv=.build/ci-schemathesis
if [ ! -x "$venv/bin/schemathesis" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q 'schemathesis>=4,<5'
fi

echo "== release server and a tiny model"
swift build -c release --product metarec
metarec="$(swift build -c release --show-bin-path)/metarec"
"$metarec" train --synthetic-users 300 --synthetic-items 150 --synthetic-interactions 15000 \
    --embedding-size 8 --hidden 16 --epochs 2 --modulation --partition modulation --quiet --out "$work/model.safetensors"

head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/token"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$metarec" serve --model "$work/model.safetensors" --store "sqlite:$work/store.sqlite" --host 127.0.0.1 --port "$port" \
    --token-file "$work/token" > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/healthz" > /dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; echo "the server did not start"; exit 1; }
    sleep 0.2
done

echo "== schemathesis against http://127.0.0.1:$port/openapi.yaml"
status=0
"$venv/bin/schemathesis" run "http://127.0.0.1:$port/openapi.yaml" \
    --header "Authorization: Bearer $(cat "$work/token")" \
    --checks not_a_server_error --max-examples "${SCHEMATHESIS_EXAMPLES:-40}" --workers 2 || status=$?
if grep -q '"status":5\|internal error' "$work/server.log"; then
    echo "the server logged an internal error:"; grep -n 'error' "$work/server.log" | head -20
    status=1
fi
exit $status
