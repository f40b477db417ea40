#!/usr/bin/env bash
# Replays a ratings file through a running service's HTTP API, with `metarec learn` beside it, and
# prints the learner's prequential stream GAUC and MAE: the live counterpart of
# `metarec evaluate --streaming`'s online condition.
#
#   Scripts/learn-replay.sh --ratings FILE (--model BUNDLE | --url URL --token-file FILE)
#       [--user-features FILE] [--users FILE] [--rows-per-user N] [--dir DIR] [--metarec BINARY]
#       [-- LEARN OPTIONS...]
#
# FILE: one rating a line, "user item value timestamp" separated by tabs, commas, spaces or '::'
# (MovieLens u.data, ratings.dat, or a CSV with a header line). Users are fed in the order of
# their first rating, each user's first N rows (default 20) in time order as one
# POST /v1/feedback with an Idempotency-Key (a retry stores nothing twice). --user-features gives
# their features first (PUT /v1/users/ID): MovieLens u.user (id|age|gender|occupation|zip), or
# JSON lines {"id": ..., "features": {...}}. --users FILE keeps only the users it lists (one id a
# line), e.g. the protocol's new users.
# With --model, the script starts `metarec serve` and `metarec learn` on a fresh SQLite store in
# DIR (default: a new temporary folder) and stops them at the end; the learner's options follow
# `--` (for a comparison with evaluate --streaming: --support 10 --query 10 --hold-out-every 0).
# With --url, it feeds that service (a cluster's nginx) and reads the learner's figures from
# GET /v1/admin/learner; the learner must already run beside it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
ratings="" model="" url="" token_file="" user_features="" users="" rows=20 dir="" metarec=${METAREC:-}
learn_args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --ratings) ratings=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --url) url=$2; shift 2 ;;
    --token-file) token_file=$2; shift 2 ;;
    --user-features) user_features=$2; shift 2 ;;
    --users) users=$2; shift 2 ;;
    --rows-per-user) rows=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --metarec) metarec=$2; shift 2 ;;
    --) shift; learn_args=("$@"); break ;;
    *) echo "learn-replay.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[ -f "$ratings" ] || { echo "learn-replay.sh: --ratings FILE is required (a ratings file)" >&2; exit 2; }
[ -n "$model" ] || [ -n "$url" ] || { echo "learn-replay.sh: give --model BUNDLE (start a service) or --url URL" >&2; exit 2; }

serve_pid="" learn_pid=""
cleanup() {
    [ -n "$serve_pid" ] && kill -TERM "$serve_pid" 2> /dev/null || true
    [ -n "$learn_pid" ] && kill -TERM "$learn_pid" 2> /dev/null || true
    wait 2> /dev/null || true
}
trap cleanup EXIT

if [ -n "$model" ]; then
    [ -n "$metarec" ] || metarec="$(cd "$repo" && swift build --show-bin-path)/metarec"
    [ -x "$metarec" ] || { echo "learn-replay.sh: no metarec binary at $metarec (swift build --product metarec)" >&2; exit 1; }
    dir=${dir:-$(mktemp -d /tmp/metarec-replay.XXXXXX)}
    mkdir -p "$dir"
    store="sqlite:$dir/store.sqlite"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    token_file="$dir/admin.token"
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$token_file"
    "$metarec" serve --model "$model" --store "$store" --host 127.0.0.1 --port "$port" --token-file "$token_file" \
        > "$dir/serve.log" 2>&1 < /dev/null &
    serve_pid=$!
    url="http://127.0.0.1:$port"
    for _ in $(seq 1 300); do curl -fsS -m 1 "$url/healthz" > /dev/null 2>&1 && break; sleep 0.2; done
    curl -fsS -m 1 "$url/healthz" > /dev/null || { tail -20 "$dir/serve.log" >&2; exit 1; }
    "$metarec" learn --store "$store" --every-seconds 20 "${learn_args[@]}" > "$dir/learn.log" 2>&1 < /dev/null &
    learn_pid=$!
    echo "service $url, learner pid $learn_pid; logs in $dir" >&2
fi

start=$(date +%s.%N)
fed=$(python3 - "$url" "$token_file" "$ratings" "$rows" "$user_features" "$users" <<'PYTHON'
import json, re, sys, urllib.request, urllib.error
url, token_file, path, rows, features_path, users_path = sys.argv[1:7]
token = open(token_file).read().strip()
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

def call(method, route, body, extra=None):
    data = json.dumps(body).encode()
    for attempt in range(5):
        request = urllib.request.Request(url + route, data=data, method=method, headers={**headers, **(extra or {})})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            if error.code < 500:
                sys.exit(f"{method} {route}: {error.code} {error.read().decode()}")
        except OSError:
            pass
    sys.exit(f"{method} {route}: no answer after 5 tries")

by_user = {}
with open(path) as source:
    for number, line in enumerate(source, 1):
        fields = [f for f in re.split(r"::|[\t,;]| +", line.strip()) if f != ""]
        if len(fields) < 4:
            continue
        user, item, value, stamp = fields[:4]
        try:
            value, stamp = float(value), float(stamp)
        except ValueError:
            if number == 1:
                continue  # a header line
            sys.exit(f"{path}:{number}: value and timestamp must be numbers")
        by_user.setdefault(user, []).append((stamp, item, value))
keep = None
if users_path:
    keep = {line.strip() for line in open(users_path) if line.strip()}
order = sorted((u for u in by_user if keep is None or u in keep), key=lambda u: (min(r[0] for r in by_user[u]), u))
if features_path:
    for line in open(features_path, encoding="latin-1"):
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            entry = json.loads(line)
            user, features = str(entry["id"]), entry.get("features", {})
        else:  # MovieLens u.user: id|age|gender|occupation|zip
            parts = line.split("|")
            user, features = parts[0], {"age": int(parts[1]), "gender": parts[2], "occupation": parts[3]}
        if user in by_user and (keep is None or user in keep):
            call("PUT", "/v1/users/" + user, {"features": features})
def in_time(row):  # time order, ties by item (numerically when the ids are numbers)
    stamp, item, _ = row
    return (stamp, 0, int(item), "") if item.isdigit() else (stamp, 1, 0, item)
# A click model reads raw ratings as `rating` (compared with its threshold), a rating model as `value`.
with urllib.request.urlopen(url + "/v1/model") as answer:
    field = "rating" if json.load(answer).get("objective") == "click" else "value"
for user in order:
    first = sorted(by_user[user], key=in_time)[: int(rows)]
    batch = [{"user": user, "item": item, field: value, "timestamp": stamp} for stamp, item, value in first]
    call("POST", "/v1/feedback", {"feedback": batch}, {"Idempotency-Key": "learn-replay-" + user})
print(len(order))
PYTHON
)
fed_seconds=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")
echo "fed $fed users in ${fed_seconds} s" >&2

# Waits until the learner has read everything: its latest report in the store (one per check, at
# least every --every-seconds while users arrive) has read through the log's head.
auth="Authorization: Bearer $(cat "$token_file")"
head=$(curl -fsS -m 10 -H "$auth" "$url/v1/admin/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"]["feedback"])')
for _ in $(seq 1 3600); do
    through=$(curl -fsS -m 10 -H "$auth" "$url/v1/admin/learner?limit=1" \
        | python3 -c 'import json,sys; r=json.load(sys.stdin)["reports"]; print(r[-1]["through"] if r else 0)')
    [ "$through" -ge "$head" ] && break
    [ -n "$learn_pid" ] && ! kill -0 "$learn_pid" 2> /dev/null && { tail -5 "$dir/learn.log" >&2; exit 1; }
    sleep 2
done
echo "the learner read through sequence $through of $head in $(python3 -c "import time; print(f'{time.time() - $start:.1f}')") s" >&2
curl -fsS -m 10 -H "$auth" "$url/v1/admin/learner?limit=1" | python3 -c '
import json, sys
r = json.load(sys.stdin)["reports"][-1]
f = lambda v, d=4: "n/a" if v is None else "%.*f" % (d, v)
print("learner: prequential stream GAUC %s, MAE %s over %d users (%d held back); %s users/s, one meta-update %s ms"
      % (f(r.get("streamGAUC")), f(r.get("streamMAE")), r["usersLearned"] + r["usersHeldBack"], r["usersHeldBack"],
         f(r.get("usersPerSecond"), 1), f(None if r.get("metaUpdateSeconds") is None else r["metaUpdateSeconds"] * 1e3, 2)))'
if [ -n "$learn_pid" ]; then
    # Its own learner: SIGTERM stops it as Ctrl-C does; its last line is the run's summary.
    kill -TERM "$learn_pid" 2> /dev/null || true
    wait "$learn_pid" 2> /dev/null || true
    learn_pid=""
    grep '^learned ' "$dir/learn.log" | tail -1
fi
