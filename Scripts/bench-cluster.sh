#!/usr/bin/env bash
# Speed of several replicas on loopback (release build; wrk and nginx from Debian):
#   - recommendations/s and p99, feedback batches of 5/s and p99 (a unique Idempotency-Key each),
#     against one replica directly and against two replicas behind nginx (Scripts/cluster.sh);
#   - the time from `metarec publish` to every replica answering the new version on /v1/model
#     (idle, then under recommendation load);
#   - the single-process target: feedback batch of 5 with adaptation on SQLite, 4 concurrent
#     writers (wrk -t1 -c4), p99 (target <= 5 ms).
# Every figure is printed beside a /healthz rate measured in the same run just before it, with the
# same connections, so a busy machine shows as a low /healthz rate.
#
#   Scripts/bench-cluster.sh [sqlite|postgres] [SECONDS]    # default: sqlite, 5 s per figure
#
# Bundles: ml-100k (../shared/data/ml-100k, MAML with modulation, 5 and 4 epochs) when present,
# else the synthetic data; or MODEL=a.safetensors MODEL_B=b.safetensors. The load generator shares
# the 2 cores with the servers and nginx.
set -euo pipefail
cd "$(dirname "$0")/.."
store_kind=${1:-sqlite}
seconds=${2:-5}
users=200
case "$store_kind" in sqlite | postgres) ;; *) echo "usage: $0 [sqlite|postgres] [SECONDS]" >&2; exit 2 ;; esac
[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -ge 1 ] && [ "$seconds" -le 60 ] || { echo "SECONDS: 1 to 60" >&2; exit 2; }
if ! command -v wrk > /dev/null; then
    [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk > /dev/null || { echo "needs wrk (apt-get install -y wrk)"; exit 1; }
fi
metarec=${METAREC:-"$(swift build -c release --show-bin-path)/metarec"}
[ -x "$metarec" ] || { echo "bench-cluster.sh: build first: swift build -c release --product metarec" >&2; exit 1; }

work=$(mktemp -d /tmp/metarec-bench-cluster.XXXXXX)
chmod 711 "$work"
single_pid=""
cleanup() {
    [ -n "$single_pid" ] && kill -TERM "$single_pid" 2> /dev/null && wait "$single_pid" 2> /dev/null || true
    bash Scripts/cluster.sh stop --dir "$work/cluster" > /dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

model=${MODEL:-}
model_b=${MODEL_B:-}
if [ -z "$model" ]; then
    model=$work/a.safetensors
    model_b=$work/b.safetensors
    data=../shared/data/ml-100k
    if [ -d "$data" ]; then
        echo "== bundles: ml-100k, MAML with modulation (5 and 4 epochs)"
        source_args=(--data "$data")
    else
        echo "== bundles: synthetic data, MAML with modulation (5 and 4 epochs)"
        source_args=()
    fi
    "$metarec" train "${source_args[@]}" --method maml --modulation --partition modulation --epochs 5 --quiet --out "$model"
    "$metarec" train "${source_args[@]}" --method maml --modulation --partition modulation --epochs 4 --quiet --out "$model_b"
fi
[ -n "$model_b" ] || { echo "MODEL_B: a second bundle to publish" >&2; exit 2; }

bash Scripts/cluster.sh start --dir "$work/cluster" --replicas 2 --store "$store_kind" --model "$model" --metarec "$metarec"
# shellcheck disable=SC1091
. "$work/cluster/cluster.env"
token=$(cat "$TOKEN_FILE")
replica1="http://127.0.0.1:$(echo "$REPLICA_PORTS" | cut -d' ' -f1)"

# Users with stored state (one batch of 5 each), and the catalogue's item ids.
seed_users() {
    python3 - "$1" "$token" "$users" "$work/items" <<'PY'
import json, random, sys, urllib.request
base, token, users, items_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
items = [item["id"] for item in json.load(urllib.request.urlopen(base + "/v1/items?limit=1000"))["items"]]
open(items_file, "w").write("\n".join(items) + "\n")
random.seed(0)
rows = [{"user": f"u{u}", "item": i, "value": random.randint(1, 5)} for u in range(users) for i in random.sample(items, 5)]
for start in range(0, len(rows), 500):
    body = json.dumps({"feedback": rows[start:start + 500]}).encode()
    urllib.request.urlopen(urllib.request.Request(base + "/v1/feedback", data=body, method="POST",
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})).read()
PY
}
seed_users "$URL"

# Each wrk script ends with the same summary line: requests/s, p50 and p99 in ms, errors.
report='
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.0f %.2f %.2f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, e.connect + e.read + e.write + e.timeout + e.status))
end'
cat > "$work/healthz.lua" <<LUA
wrk.path = "/healthz"
$report
LUA
cat > "$work/recommend.lua" <<LUA
request = function()
  return wrk.format("GET", "/v1/users/u" .. math.random(0, $users - 1) .. "/recommendations?k=10")
end
$report
LUA
# feedback_lua KEYED: batches of 5 for the seeded users; KEYED=true adds a unique Idempotency-Key.
feedback_lua() {
    cat <<LUA
local keyed = $1
local items = {}
for line in io.lines("$work/items") do items[#items + 1] = line end
local counter, prefix = 0, ""
init = function(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  prefix = string.format("wrk-%d-%08x", os.time(), math.random(0, 0x7fffffff))
end
request = function()
  counter = counter + 1
  local user = "u" .. math.random(0, $users - 1)
  local rows = {}
  for i = 1, 5 do
    rows[i] = string.format('{"user":"%s","item":"%s","value":%d}', user, items[math.random(1, #items)], math.random(1, 5))
  end
  local headers = {["Authorization"] = "Bearer $token", ["Content-Type"] = "application/json"}
  if keyed then headers["Idempotency-Key"] = prefix .. "-" .. counter end
  return wrk.format("POST", "/v1/feedback", headers, '{"feedback":[' .. table.concat(rows, ",") .. ']}')
end
$report
LUA
}
feedback_lua true > "$work/feedback.lua"
feedback_lua false > "$work/feedback-nokey.lua"

# run LABEL URL SCRIPT CONNECTIONS: one wrk run, printed beside a /healthz run with the same connections.
run() {
    local label=$1 url=$2 script=$3 connections=$4 health figure
    health=$(wrk -t1 -c"$connections" -d"${seconds}s" -s "$work/healthz.lua" "$url" | awk '/^RESULT/ {print $2}')
    figure=$(wrk -t1 -c"$connections" -d"${seconds}s" -s "$work/$script" "$url" | awk '/^RESULT/')
    set -- ${figure:-RESULT - - - wrk-failed}
    printf '   %-58s %7s req/s  p50 %6s ms  p99 %7s ms  errors %s   (/healthz same run: %s req/s)\n' \
        "$label" "$2" "$3" "$4" "$5" "$health"
}

echo "== wrk -t1, ${seconds} s per figure; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
run "recommendations k=10, one replica (direct), c16" "$replica1" recommend.lua 16
run "recommendations k=10, two replicas behind nginx, c16" "$URL" recommend.lua 16
run "feedback batch of 5 + key, one replica (direct), c4" "$replica1" feedback.lua 4
run "feedback batch of 5 + key, two replicas behind nginx, c4" "$URL" feedback.lua 4
run "feedback batch of 5 + key, two replicas behind nginx, c8" "$URL" feedback.lua 8

echo "== publish: time until every replica answers the new version on /v1/model"
publish_time() {
    local bundle=$1 version
    version=$(sha256sum "$bundle" | cut -c1-64)
    python3 - "$metarec" "$bundle" "$STORE" "$version" $(for p in $REPLICA_PORTS; do echo "http://127.0.0.1:$p"; done) <<'PY'
import json, subprocess, sys, time, urllib.request
metarec, bundle, store, version, urls = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
start = time.time()
subprocess.run([metarec, "publish", bundle, "--store", store, "--note", "bench-cluster"], check=True, stdout=subprocess.DEVNULL)
returned = time.time()
seen = {}
while len(seen) < len(urls) and time.time() < start + 30:
    for url in urls:
        if url not in seen:
            try:
                answer = json.load(urllib.request.urlopen(url + "/v1/model", timeout=2))["version"]
                if version.startswith(answer) or answer.startswith(version): seen[url] = time.time()
            except Exception:
                pass
    time.sleep(0.02)
if len(seen) < len(urls):
    print("not every replica within 30 s"); sys.exit(1)
print(f"{max(seen.values()) - start:.2f} s after publish started ({returned - start:.2f} s in the publish command)")
PY
}
echo "   idle, to bundle B:        $(publish_time "$model_b")"
wrk -t1 -c16 -d"$((seconds + 6))s" -s "$work/recommend.lua" "$URL" > "$work/publish-load.txt" &
wrk_pid=$!
sleep 2
echo "   under load, back to A:    $(publish_time "$model")"
wait "$wrk_pid" || true
set -- $(awk '/^RESULT/' "$work/publish-load.txt") RESULT - - - -
echo "   (the recommendation load through nginx meanwhile: $2 req/s, p99 $4 ms, errors $5; refresh interval ${REFRESH_INTERVAL} s)"

bash Scripts/cluster.sh stop --dir "$work/cluster" > /dev/null

echo "== one process on SQLite: feedback batch of 5 with adaptation, 4 concurrent writers (target p99 <= 5 ms)"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$metarec" serve --model "$model" --store "sqlite:$work/single.sqlite" --port "$port" --token-file "$TOKEN_FILE" > "$work/single.log" 2>&1 &
single_pid=$!
single="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -fsS "$single/healthz" > /dev/null 2>&1 && break; sleep 0.2; done
seed_users "$single"
run "feedback batch of 5 + key, one process, c4" "$single" feedback.lua 4
run "feedback batch of 5, no key, one process, c4" "$single" feedback-nokey.lua 4
echo "== load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
