#!/usr/bin/env bash
# Service speed on loopback (release build; wrk from Debian): recommendations for users with
# stored state (requests/s, p50/p99) beside the same server's /healthz in the same run (the
# share of what the HTTP layer allows), questions, a feedback batch of 5 (durable write +
# re-adaptation, p50/p99), a new item added and ranked, resident memory, and stored bytes per user.
#
#   Scripts/bench-service.sh MODEL.safetensors [USERS]
#
# METAREC=path/to/metarec runs another build. The load generator shares the 2 cores with the
# server; its own CPU use is in the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1
users=${2:-200}
command -v wrk > /dev/null || { echo "needs wrk (apt-get install -y wrk)"; exit 1; }
metarec="${METAREC:-$(swift build -c release --show-bin-path)/metarec}"
work=$(mktemp -d)
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

echo bench-token > "$work/token"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$metarec" serve --model "$model" --store "sqlite:$work/store.sqlite" --port "$port" --token-file "$work/token" > "$work/server.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$port"
until curl -fsS "$base/healthz" > /dev/null 2>&1; do sleep 0.2; done
auth="Authorization: Bearer bench-token"

# Item ids of the catalogue, to rate.
curl -fsS "$base/v1/items?limit=1000" | python3 -c 'import json,sys; print("\n".join(i["id"] for i in json.load(sys.stdin)["items"]))' > "$work/items"
python3 - "$work/items" "$users" > "$work/seed.json" <<'PY'
import json, random, sys
items = open(sys.argv[1]).read().split()
random.seed(0)
rows = [{"user": f"u{u}", "item": i, "value": random.randint(1, 5)} for u in range(int(sys.argv[2])) for i in random.sample(items, 5)]
print(json.dumps({"feedback": rows}))
PY
# Users with stored state: one batch of 5 each, in chunks the server accepts.
python3 - "$work/seed.json" "$base" <<'PY'
import json, sys, urllib.request
rows = json.load(open(sys.argv[1]))["feedback"]
for start in range(0, len(rows), 500):
    body = json.dumps({"feedback": rows[start:start + 500]}).encode()
    request = urllib.request.Request(sys.argv[2] + "/v1/feedback", data=body, method="POST",
                                     headers={"Authorization": "Bearer bench-token", "Content-Type": "application/json"})
    urllib.request.urlopen(request).read()
PY

cat > "$work/recommend.lua" <<LUA
local users = $users
request = function()
  return wrk.format("GET", "/v1/users/u" .. math.random(0, users - 1) .. "/recommendations?k=10")
end
LUA
cat > "$work/feedback.lua" <<LUA
local items = {}
for line in io.lines("$work/items") do items[#items + 1] = line end
local users = $users
request = function()
  local user = "u" .. math.random(0, users - 1)
  local rows = {}
  for i = 1, 5 do
    rows[i] = string.format('{"user":"%s","item":"%s","value":%d}', user, items[math.random(1, #items)], math.random(1, 5))
  end
  return wrk.format("POST", "/v1/feedback", {["Authorization"] = "Bearer bench-token", ["Content-Type"] = "application/json"},
                    '{"feedback":[' .. table.concat(rows, ",") .. ']}')
end
LUA

cat > "$work/questions.lua" <<LUA
local users = $users
request = function()
  return wrk.format("GET", "/v1/users/u" .. math.random(0, users - 1) .. "/questions?k=10")
end
LUA

echo "== uptime before: $(uptime)"
echo "== recommendations (k=10) for $users users with stored state: wrk -t1 -c16 -d10s"
wrk -t1 -c16 -d10s --latency -s "$work/recommend.lua" "$base" | tee "$work/recommend.out" | grep -E 'Requests/sec|50%|99%|Non-2xx' || true
echo "== /healthz, same server, same run: wrk -t1 -c16 -d10s"
wrk -t1 -c16 -d10s --latency "$base/healthz" | tee "$work/healthz.out" | grep -E 'Requests/sec|50%|99%|Non-2xx' || true
python3 - "$work/recommend.out" "$work/healthz.out" <<'PY'
import re, sys
rate = lambda path: float(re.search(r"Requests/sec:\s*([0-9.]+)", open(path).read()).group(1))
print("recommendations / healthz: %.1f %%" % (100 * rate(sys.argv[1]) / rate(sys.argv[2])))
PY
echo "== questions (k=10) for the same users: wrk -t1 -c16 -d10s"
wrk -t1 -c16 -d10s --latency -s "$work/questions.lua" "$base" | grep -E 'Requests/sec|50%|99%|Non-2xx' || true
echo "== feedback batches of 5 (durable write + re-adaptation): wrk -t1 -c4 -d10s"
wrk -t1 -c4 -d10s --latency -s "$work/feedback.lua" "$base" | grep -E 'Requests/sec|50%|99%|Non-2xx' || true

echo "== a new item added, then ranked"
python3 - "$base" <<'PY'
import json, sys, time, urllib.request
base = sys.argv[1]
model = json.load(urllib.request.urlopen(base + "/v1/model"))
features = {}
for field in model["itemFields"]:
    if field["kind"] == "multiCategorical": features[field["name"]] = ["Drama"]
times = []
for n in range(20):
    body = json.dumps({"id": f"bench-new-{n}", "title": "New", "features": features}).encode()
    start = time.perf_counter()
    urllib.request.urlopen(urllib.request.Request(base + "/v1/items", data=body, method="POST",
        headers={"Authorization": "Bearer bench-token", "Content-Type": "application/json"})).read()
    added = time.perf_counter()
    ranked = json.load(urllib.request.urlopen(base + f"/v1/users/u0/recommendations?k=1&candidates=bench-new-{n}"))
    done = time.perf_counter()
    assert ranked["items"][0]["id"] == f"bench-new-{n}"
    times.append(((added - start) * 1000, (done - added) * 1000))
times.sort(key=lambda t: t[0] + t[1])
print("add p50 %.1f ms, then ranked in p50 %.1f ms (20 items)" % (times[10][0], times[10][1]))
PY

echo "== uptime after: $(uptime)"
echo "== server resident memory: $(awk '/VmRSS/ {print $2 / 1024 " MiB"}' /proc/$server_pid/status)"
echo "== stored bytes per user (adapted state row: user id, model version, sequence, floats)"
python3 - "$work/store.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
row = db.execute("select count(*), avg(length(user) + length(model_version) + 8 + length(state)), avg(length(state)) from adapted_state").fetchone()
feedback = db.execute("select count(*), count(distinct user) from feedback").fetchone()
print("%d users: %.0f bytes of adapted state each (%.0f of floats); feedback log %d rows" % (row[0], row[1], row[2], feedback[0]))
PY
