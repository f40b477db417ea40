#!/usr/bin/env bash
# Faults under load on a cluster of two `metarec serve` replicas behind nginx (Scripts/cluster.sh):
#
#   Scripts/faults.sh [sqlite|postgres]      # default sqlite: one SQLite file shared by the replicas
#
#  (a) kill -9: a replica is killed (then restarted) twice while Scripts/loadgen.py posts feedback
#      batches with Idempotency-Keys through nginx, retrying a batch with the same key on an error;
#      then the store is read directly (sqlite3 / psql): every acknowledged row stored exactly once.
#  (b) the store goes away under load: PostgreSQL is stopped (pg_ctl stop -m fast) and started
#      again; a SQLite file is locked by another process for longer than the busy timeout. Answers
#      must be 2xx or a JSON 503 (never a 500, no replica exits), and all 2xx again once it is back.
#  (c) `metarec publish` of a second bundle under load: no failed request, and every replica
#      answers the new version on /v1/model within the bound.
# Prints the counts; exits 1 if a check fails. FAULTS_KEEP=1 keeps the logs and the store;
# FAULTS_SQLITE_LOCK_SECONDS (default 12) sets how long the SQLite store stays locked in (b).
# About 75 s after the release build (CI calls it).
set -euo pipefail
cd "$(dirname "$0")/.."
store_kind=${1:-sqlite}
case "$store_kind" in sqlite | postgres) ;; *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;; esac
command -v sqlite3 > /dev/null || [ "$store_kind" != sqlite ] || {
    [ "$(id -u)" = 0 ] && { apt-get update -qq || true; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 > /dev/null; }
}
metarec=${METAREC:-"$(swift build -c release --show-bin-path)/metarec"}
[ -x "$metarec" ] || { echo "faults.sh: build first: swift build -c release --product metarec" >&2; exit 1; }

work=$(mktemp -d /tmp/metarec-faults.XXXXXX)
chmod 711 "$work"
cluster_dir="$work/cluster"
failures=0
lock_pid=""
cleanup() {
    status=$?
    [ -n "$lock_pid" ] && kill "$lock_pid" 2> /dev/null || true
    bash Scripts/cluster.sh stop --dir "$cluster_dir" > /dev/null 2>&1 || true
    if [ "$status" != 0 ] || [ "$failures" != 0 ]; then
        for log in "$cluster_dir"/replica-*.log "$cluster_dir"/nginx-error.log; do
            [ -f "$log" ] && { echo "--- last lines of $log"; tail -15 "$log"; }
        done
    fi
    if [ -n "${FAULTS_KEEP:-}" ]; then echo "kept $work (FAULTS_KEEP)"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

echo "== two bundles (tiny synthetic models; B is trained longer)"
train() {
    "$metarec" train --synthetic-users 300 --synthetic-items 150 --synthetic-interactions 15000 \
        --embedding-size 8 --hidden 16 --epochs "$1" --modulation --partition modulation --quiet --out "$2" \
        > "$2.log" 2>&1 || { cat "$2.log"; exit 1; }
}
train 2 "$work/a.safetensors" &
train 3 "$work/b.safetensors"
wait
version_b=$(sha256sum "$work/b.safetensors" | cut -c1-64)

echo "== cluster: 2 replicas, store $store_kind"
REFRESH_INTERVAL=1 bash Scripts/cluster.sh start --dir "$cluster_dir" --replicas 2 --store "$store_kind" \
    --model "$work/a.safetensors" --metarec "$metarec"
# shellcheck disable=SC1091
. "$cluster_dir/cluster.env"

# SQL on the store itself; the feedback table's user column is "user" in SQLite, user_id in PostgreSQL.
if [ "$STORE_KIND" = sqlite ]; then
    user_column=user
    sql() { sqlite3 -batch -noheader -separator '|' "${STORE#sqlite:}" "$1"; }
else
    user_column=user_id
    sql() { psql "$STORE" -X -q -tA -F '|' -c "$1"; }
fi
replica_pid() { cat "$cluster_dir/replica-$1.pid"; }
replica_url() { echo "http://127.0.0.1:$(echo "$REPLICA_PORTS" | cut -d' ' -f"$1")"; }
replicas_alive() {
    local i
    for i in $(seq 1 "$REPLICAS"); do kill -0 "$(replica_pid "$i")" 2> /dev/null || return 1; done
}
# A replica waits up to 10 s for an unreachable store before its 503: the client waits 25 s.
loadgen() { python3 Scripts/loadgen.py --url "$URL" --token-file "$TOKEN_FILE" --timeout 25 "$@"; }

# Every acknowledged batch of run $1 (ledger $2) stored exactly once, with an adapted state per user.
check_ledger() {
    local run=$1 ledger=$2
    sql "SELECT $user_column, item, count(*) FROM feedback WHERE $user_column LIKE '$run-%' GROUP BY $user_column, item" > "$work/$run.stored"
    sql "SELECT $user_column FROM adapted_state WHERE $user_column LIKE '$run-%'" > "$work/$run.states"
    sql "SELECT key FROM idempotency WHERE key LIKE '$run-%'" > "$work/$run.keys"
    python3 - "$ledger" "$work/$run.stored" "$work/$run.states" "$work/$run.keys" <<'PY'
import json, sys
acked = [json.loads(line) for line in open(sys.argv[1])] if open(sys.argv[1]).read() else []
stored = {}
for line in open(sys.argv[2]):
    user, item, count = line.rstrip("\n").rsplit("|", 2)
    stored[(user, item)] = int(count)
states = set(open(sys.argv[3]).read().split())
keys = set(open(sys.argv[4]).read().split())
acked_rows = {(batch["user"], item) for batch in acked for item in batch["items"]}
missing = sum(1 for row in acked_rows if stored.get(row, 0) == 0)
duplicates = sum(stored.get(row, 0) - 1 for row in acked_rows if stored.get(row, 0) > 1)
unacked = sum(count for row, count in stored.items() if row not in acked_rows)
users = {batch["user"] for batch in acked}
print(f"   acknowledged batches {len(acked)} ({sum(b['replayed'] for b in acked)} answered as replays), rows {len(acked_rows)}; "
      f"stored rows {sum(stored.values())}; missing {missing}; duplicates {duplicates}; stored but never acknowledged {unacked}")
print(f"   users with an adapted state {len(users & states)} of {len(users)}; idempotency keys stored {len(keys)}, "
      f"acknowledged keys missing {sum(1 for b in acked if b['key'] not in keys)}")
sys.exit(0 if acked and missing == 0 and duplicates == 0 and users <= states else 1)
PY
}

# Counts by kind and status of events file $1 in windows [.., $2), [$2, $3), [$3 + grace, ..).
by_window() {
    python3 - "$@" <<'PY'
import sys
events, down, up, grace = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
windows = {"before": {}, "during": {}, "after": {}, "recovering": {}}
for line in open(events):
    start, seconds, kind, status, attempt = line.strip().split(",")
    start = float(start)
    window = "before" if start < down else "during" if start < up else "recovering" if start < up + grace else "after"
    counts = windows[window].setdefault(kind, {})
    counts[status] = counts.get(status, 0) + 1
for name in ("before", "during", "recovering", "after"):
    text = "; ".join(f"{kind} " + ", ".join(f"{s}: {n}" for s, n in sorted(c.items())) for kind, c in sorted(windows[name].items()))
    print(f"   {name:10s} {text or '-'}")
bad_after = sum(n for c in windows["after"].values() for s, n in c.items() if not s.startswith("2"))
five_hundred = sum(n for w in windows.values() for c in w.values() for s, n in c.items() if s == "500")
other = sum(n for w in windows.values() for c in w.values() for s, n in c.items() if not (s.startswith("2") or s == "503"))
print(f"   500s {five_hundred}; answers neither 2xx nor 503 {other}; failures after the store came back (+{grace:g} s) {bad_after}")
sys.exit(0 if five_hundred == 0 and other == 0 and bad_after == 0 and sum(sum(c.values()) for c in windows["after"].values()) > 0 else 1)
PY
}

echo "== (a) kill -9 a replica while feedback batches are posted through nginx"
(sleep 4; kill -9 "$(replica_pid 1)"; echo "   killed replica 1 (kill -9) at +4 s"
    sleep 3; bash Scripts/cluster.sh replica 1 --dir "$cluster_dir" 2> /dev/null; echo "   replica 1 restarted"
    sleep 3; kill -9 "$(replica_pid 2)"; echo "   killed replica 2 (kill -9)"
    sleep 3; bash Scripts/cluster.sh replica 2 --dir "$cluster_dir" 2> /dev/null; echo "   replica 2 back") &
killer=$!
loadgen --run fa --threads 4 --seconds 18 --requests 12000 --mix feedback=3,recommend=1 --retries 40 \
    --ledger "$work/fa.ledger" --events "$work/fa.events" | sed 's/^/   loadgen: /'
wait "$killer"
check_ledger fa "$work/fa.ledger" || fail "(a) an acknowledged row is missing or stored twice"
replicas_alive || fail "(a) a replica is not running after the restarts"

echo "== (b) the store goes away under load, then comes back"
loadgen --run fb --threads 4 --seconds 30 --requests 30000 --mix feedback=1,recommend=1 --retries 40 \
    --ledger "$work/fb.ledger" --events "$work/fb.events" > "$work/fb.summary" &
load=$!
sleep 4
down=$(date +%s.%N)
if [ "$STORE_KIND" = sqlite ]; then
    # No server to stop: another process holds the write lock for 12 s (FAULTS_SQLITE_LOCK_SECONDS),
    # past the replicas' 10 s busy timeout, so writes that waited 10 s must answer 503.
    lock_seconds=${FAULTS_SQLITE_LOCK_SECONDS:-12}
    (echo ".timeout 5000"; echo ".bail on"; echo "BEGIN EXCLUSIVE;"; echo "SELECT 'locked';"; sleep "$lock_seconds"; echo "COMMIT;") \
        | sqlite3 "${STORE#sqlite:}" | sed 's/^/   sqlite3: /' &
    lock_pid=$!
    echo "   SQLite write lock held by another process for $lock_seconds s (the replicas wait 10 s for it)"
    wait "$lock_pid" || true
    lock_pid=""
else
    pg_dir="$cluster_dir/pg"
    pg_port=$(echo "$STORE" | sed -E 's|.*:([0-9]+)/.*|\1|')
    su postgres -s /bin/sh -c "$(pg_config --bindir)/pg_ctl -D $pg_dir/data -m fast -w stop" > /dev/null
    echo "   PostgreSQL stopped (pg_ctl stop -m fast); starting it again in 6 s"
    sleep 6
    bash "${POSTGRES_SH:-Scripts/postgres.sh}" start "$pg_dir" "$pg_port" > /dev/null 2>&1
fi
up=$(date +%s.%N)
echo "   store back after $(python3 -c "print(round($up - $down, 1))") s"
wait "$load" || true
sed 's/^/   loadgen: /' "$work/fb.summary"
by_window "$work/fb.events" "$down" "$up" 5 || fail "(b) a 500, an answer other than 2xx/503, or failures after the store came back"
replicas_alive || fail "(b) a replica exited"
check_ledger fb "$work/fb.ledger" || fail "(b) an acknowledged row is missing or stored twice"

echo "== (c) publish a second bundle under load"
loadgen --run fc --threads 4 --seconds 15 --requests 20000 --mix feedback=1,recommend=2 --retries 40 \
    --ledger "$work/fc.ledger" --events "$work/fc.events" > "$work/fc.summary" &
load=$!
sleep 3
publish_start=$(date +%s.%N)
"$metarec" publish "$work/b.safetensors" --store "$STORE" --note "faults.sh" | sed 's/^/   publish: /'
published=$(date +%s.%N)
python3 - "$version_b" "$publish_start" "$published" $(for i in $(seq 1 "$REPLICAS"); do replica_url "$i"; done) <<'PY' || fail "(c) a replica did not answer the new version within 20 s"
import json, sys, time, urllib.request
version, start, published, urls = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
seen = {}
deadline = time.time() + 20
while len(seen) < len(urls) and time.time() < deadline:
    for url in urls:
        if url in seen: continue
        try:
            answer = json.load(urllib.request.urlopen(url + "/v1/model", timeout=2))["version"]
        except Exception:
            continue
        if version.startswith(answer) or answer.startswith(version):
            seen[url] = time.time()
    time.sleep(0.05)
for url in urls:
    print(f"   {url}: " + (f"new version after {seen[url] - start:.2f} s" if url in seen else "still the old version"))
if len(seen) == len(urls):
    print(f"   every replica on {version[:12]} {max(seen.values()) - start:.2f} s after 'metarec publish' started "
          f"({max(seen.values()) - published:.2f} s after it returned)")
sys.exit(0 if len(seen) == len(urls) else 1)
PY
wait "$load" || true
sed 's/^/   loadgen: /' "$work/fc.summary"
python3 - "$work/fc.events" <<'PY' || fail "(c) requests failed during the publish"
import sys
counts = {}
for line in open(sys.argv[1]):
    status = line.split(",")[3]
    counts[status] = counts.get(status, 0) + 1
failed = sum(n for s, n in counts.items() if not s.startswith("2"))
print(f"   requests {sum(counts.values())}, failed {failed} (" + ", ".join(f"{s}: {n}" for s, n in sorted(counts.items())) + ")")
sys.exit(1 if failed else 0)
PY
check_ledger fc "$work/fc.ledger" || fail "(c) an acknowledged row is missing or stored twice"

echo "== faults: $failures failed check(s) in $SECONDS s"
[ "$failures" = 0 ]
