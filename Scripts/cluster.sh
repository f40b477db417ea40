#!/usr/bin/env bash
# Several `metarec serve` replicas on one store, behind nginx, on loopback.
#
#   Scripts/cluster.sh start [--replicas N] [--store sqlite|postgres|sqlite:PATH|postgres://...]
#                            [--model BUNDLE] [--port PORT] [--dir DIR] [--metarec BINARY] [--learn]
#   Scripts/cluster.sh status [--dir DIR]
#   Scripts/cluster.sh stop   [--dir DIR]
#   Scripts/cluster.sh replica I [--dir DIR]     # (re)start replica I (1..N) on its port, e.g. after kill -9
#   Scripts/cluster.sh learn [--dir DIR]         # (re)start the learner
#
# --store postgres (the default) starts a throw-away PostgreSQL 15 with Scripts/postgres.sh in DIR/pg;
# --store sqlite shares one SQLite file (WAL, busy timeout) between the replicas; a sqlite:PATH or
# postgres:// URL uses that store as it is.
# Without --model a tiny model is trained into DIR. nginx (Debian's; installed with apt-get when
# missing and we are root) balances the replicas with passive health checks: a replica that fails
# (refused connection, timeout, 502/503) is skipped for fail_timeout, and idempotent requests (and
# POSTs carrying an Idempotency-Key) are retried on the next replica. Everything lives in DIR
# (default /tmp/metarec-cluster): cluster.env, nginx.conf, logs, pid files, the admin token.
# --learn starts `metarec learn --store STORE` beside the replicas (one learner per store; extra
# options in LEARN_ARGS, e.g. LEARN_ARGS="--every-users 20"): it learns from the feedback the
# replicas store, publishes better starts through the store, and records its figures there (the
# dashboard at /admin and every replica's /metrics show them). Log: DIR/learn.log.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

command=${1:-}
[ $# -gt 0 ] && shift
replica_index=""
if [ "$command" = replica ]; then
    replica_index=${1:?usage: cluster.sh replica I [--dir DIR]}
    shift
fi
dir=${METAREC_CLUSTER_DIR:-/tmp/metarec-cluster}
replicas=2
store_arg=postgres
model=""
port=""
metarec=${METAREC:-}
learn=0
postgres_sh=${POSTGRES_SH:-$repo/Scripts/postgres.sh}
while [ $# -gt 0 ]; do
    case "$1" in
    --replicas) replicas=$2; shift 2 ;;
    --store) store_arg=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --metarec) metarec=$2; shift 2 ;;
    --learn) learn=1; shift ;;
    *) echo "cluster.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# True if PID is alive and its command line contains WORD (a pid file may outlive its process).
alive() {
    local pid=$1 word=$2
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$word"
}

load_env() {
    [ -f "$dir/cluster.env" ] || { echo "cluster.sh: no cluster in $dir (start one first)" >&2; exit 1; }
    # shellcheck disable=SC1091
    . "$dir/cluster.env"
}

# Starts replica I (1-based) in the background and waits for /healthz.
start_replica() {
    local i=$1 rport pid
    rport=$(echo "$REPLICA_PORTS" | cut -d' ' -f"$i")
    [ -n "$rport" ] || { echo "cluster.sh: no replica $i (1..$REPLICAS)" >&2; exit 2; }
    if [ -f "$dir/replica-$i.pid" ] && alive "$(cat "$dir/replica-$i.pid")" "serve"; then
        echo "replica $i is running (pid $(cat "$dir/replica-$i.pid"))" >&2
        return 0
    fi
    PGPASSWORD=${PGPASSWORD:-} nohup "$METAREC" serve --model "$MODEL" --store "$STORE" --host 127.0.0.1 --port "$rport" \
        --token-file "$dir/admin.token" --refresh-interval "${REFRESH_INTERVAL:-1}" >> "$dir/replica-$i.log" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$dir/replica-$i.pid"
    for _ in $(seq 1 150); do
        curl -fsS -m 1 "http://127.0.0.1:$rport/healthz" > /dev/null 2>&1 && { echo "replica $i: http://127.0.0.1:$rport (pid $pid)" >&2; return 0; }
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    tail -20 "$dir/replica-$i.log" >&2
    echo "cluster.sh: replica $i did not start" >&2
    return 1
}

write_nginx_conf() {
    local servers="" p
    for p in $REPLICA_PORTS; do
        # Passive health checks: 2 failures within 5 s take a replica out of rotation for 5 s.
        servers+="        server 127.0.0.1:$p max_fails=2 fail_timeout=5s;"$'\n'
    done
    mkdir -p "$dir/nginx"
    local user_line=""
    [ "$(id -u)" = 0 ] && user_line="user nobody nogroup;"
    cat > "$dir/nginx.conf" <<CONF
# Written by Scripts/cluster.sh; nginx -c $dir/nginx.conf
$user_line
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/nginx/body;
    proxy_temp_path $dir/nginx/proxy;
    fastcgi_temp_path $dir/nginx/fastcgi;
    uwsgi_temp_path $dir/nginx/uwsgi;
    scgi_temp_path $dir/nginx/scgi;
    client_max_body_size 2m;
    client_body_buffer_size 1m;
    upstream metarec {
$servers        keepalive 64;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host \$host;
        proxy_set_header X-Forwarded-For \$remote_addr;
        proxy_connect_timeout 1s;
        proxy_read_timeout 30s;
        # nginx's own failures (no replica left, all refused) answer like the service: JSON 503.
        error_page 502 504 = @unavailable;
        recursive_error_pages on;   # also from @idempotent, itself reached through error_page

        # GET, HEAD, PUT, DELETE...: retried on the next replica after an error, a timeout, 502 or 503
        # (a POST or PATCH only when the first replica never received it), within 5 s of the
        # request's start: a replica that waited its 10 s for an unreachable store answers 503 at
        # once rather than making the client wait another 10 s on the next one (same store).
        location / {
            proxy_pass http://metarec;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 3;
            proxy_next_upstream_timeout 5s;
        }
        # A feedback POST with an Idempotency-Key may be sent again: the store answers a retry
        # with the first answer and stores nothing twice.
        # (nginx passes a POST without a key to the next replica only when the first refused it.)
        location = /v1/feedback {
            error_page 418 = @idempotent;
            error_page 502 504 = @unavailable;
            if (\$http_idempotency_key) { return 418; }
            proxy_pass http://metarec;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 3;
            proxy_next_upstream_timeout 5s;
        }
        location @idempotent {
            proxy_pass http://metarec;
            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
            proxy_next_upstream_tries 3;
            proxy_next_upstream_timeout 5s;
        }
        location @unavailable {
            default_type application/json;
            add_header Retry-After 1 always;
            return 503 '{"error":"no replica answered; try again shortly (a feedback batch with the same Idempotency-Key)"}';
        }
        location = /cluster/nginx {
            default_type text/plain;
            return 200 'nginx in front of $REPLICAS replicas\n';
        }
    }
}
CONF
}

ensure_nginx() {
    command -v nginx > /dev/null 2>&1 && return 0
    [ -x /usr/sbin/nginx ] && { PATH=$PATH:/usr/sbin; return 0; }
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null 2>&1; then
        echo "== installing nginx (apt-get)" >&2
        apt-get update -qq >&2 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >&2 \
            || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >&2
        # Debian starts the packaged service on :80; this script runs its own nginx.
        command -v systemctl > /dev/null 2>&1 && systemctl disable --now nginx > /dev/null 2>&1 || true
        PATH=$PATH:/usr/sbin
    else
        echo "cluster.sh: needs nginx (apt-get install -y nginx-light, as root)" >&2
        exit 1
    fi
}

# `metarec learn` beside the replicas: it follows the store and publishes new versions through it.
start_learner() {
    if [ -f "$dir/learn.pid" ] && alive "$(cat "$dir/learn.pid")" learn; then
        echo "learner is running (pid $(cat "$dir/learn.pid"))" >&2
        return 0
    fi
    # shellcheck disable=SC2086
    PGPASSWORD=${PGPASSWORD:-} nohup "$METAREC" learn --store "$STORE" ${LEARN_ARGS:-} >> "$dir/learn.log" 2>&1 < /dev/null &
    echo $! > "$dir/learn.pid"
    sleep 1
    alive "$(cat "$dir/learn.pid")" learn || { tail -5 "$dir/learn.log" >&2; echo "cluster.sh: the learner did not start" >&2; return 1; }
    echo "learner: pid $(cat "$dir/learn.pid") (log $dir/learn.log)" >&2
}

start() {
    if [ -f "$dir/cluster.env" ]; then
        echo "cluster.sh: $dir already holds a cluster (cluster.sh stop --dir $dir first)" >&2
        exit 1
    fi
    [[ "$replicas" =~ ^[0-9]+$ ]] && [ "$replicas" -ge 1 ] && [ "$replicas" -le 16 ] \
        || { echo "cluster.sh: --replicas must be 1 to 16" >&2; exit 2; }
    ensure_nginx
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    # nginx's workers (nobody) and PostgreSQL (postgres) must reach their files below DIR.
    [ "$(id -u)" = 0 ] && chmod 711 "$dir"
    if [ -z "$metarec" ]; then
        metarec="$(cd "$repo" && swift build -c release --show-bin-path)/metarec"
    fi
    [ -x "$metarec" ] || { echo "cluster.sh: no metarec binary at $metarec (swift build -c release --product metarec)" >&2; exit 1; }

    local store
    case "$store_arg" in
    sqlite) store="sqlite:$dir/store.sqlite" ;;
    postgres)
        [ -f "$postgres_sh" ] || { echo "cluster.sh: --store postgres needs Scripts/postgres.sh (the PostgreSQL store's branch)" >&2; exit 1; }
        store=$(bash "$postgres_sh" start "$dir/pg" "$(free_port)")
        echo "PG_DIR=$dir/pg" > "$dir/pg.env"
        ;;
    sqlite:* | postgres://* | postgresql://*) store=$store_arg ;;
    *) echo "cluster.sh: --store: expected sqlite, postgres, sqlite:PATH or postgres://..." >&2; exit 2 ;;
    esac

    if [ -z "$model" ]; then
        model="$dir/model.safetensors"
        echo "== training a tiny model into $model" >&2
        "$metarec" train --synthetic-users 300 --synthetic-items 150 --synthetic-interactions 15000 \
            --embedding-size 8 --hidden 16 --epochs 2 --modulation --partition modulation --quiet --out "$model" \
            > "$dir/train.log" 2>&1 || { cat "$dir/train.log" >&2; exit 1; }
    fi
    model=$(cd "$(dirname "$model")" && pwd)/$(basename "$model")
    [ -f "$dir/admin.token" ] || { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/admin.token"; chmod 600 "$dir/admin.token"; }

    local ports="" i
    for i in $(seq 1 "$replicas"); do ports+="$(free_port) "; done
    NGINX_PORT=${port:-$(free_port)}
    cat > "$dir/cluster.env" <<ENV
METAREC='$metarec'
MODEL='$model'
STORE='$store'
STORE_KIND='${store%%:*}'
REPLICAS=$replicas
REPLICA_PORTS='${ports% }'
NGINX_PORT=$NGINX_PORT
URL='http://127.0.0.1:$NGINX_PORT'
TOKEN_FILE='$dir/admin.token'
REFRESH_INTERVAL=${REFRESH_INTERVAL:-1}
LEARN_ARGS='${LEARN_ARGS:-}'
ENV
    load_env
    # The first replica creates the store's tables; the others start beside it.
    start_replica 1
    local pids=""
    for i in $(seq 2 "$replicas"); do start_replica "$i" & pids+="$! "; done
    for i in $pids; do wait "$i" || { echo "cluster.sh: a replica did not start; stopping" >&2; stop; exit 1; }; done
    write_nginx_conf
    nginx -t -q -c "$dir/nginx.conf" 2> "$dir/nginx-test.log" || { cat "$dir/nginx-test.log" >&2; exit 1; }
    nginx -c "$dir/nginx.conf"
    for _ in $(seq 1 50); do curl -fsS -m 1 "$URL/healthz" > /dev/null 2>&1 && break; sleep 0.1; done
    [ "$learn" = 1 ] && start_learner
    echo "cluster: $URL ($REPLICAS replicas on ${REPLICA_PORTS// /, }; store $STORE)"
    echo "admin token: $TOKEN_FILE"
    echo "stop with: $0 stop --dir $dir"
}

status() {
    load_env
    local i rport pid state version
    echo "cluster: $URL (store $STORE; admin token $TOKEN_FILE)"
    if [ -f "$dir/nginx.pid" ] && alive "$(cat "$dir/nginx.pid")" nginx; then
        echo "nginx: pid $(cat "$dir/nginx.pid"); /healthz through it: $(curl -s -o /dev/null -m 2 -w '%{http_code}' "$URL/healthz")"
    else
        echo "nginx: not running"
    fi
    for i in $(seq 1 "$REPLICAS"); do
        rport=$(echo "$REPLICA_PORTS" | cut -d' ' -f"$i")
        pid=$(cat "$dir/replica-$i.pid" 2> /dev/null || true)
        if alive "$pid" serve; then state="pid $pid"; else state="not running"; fi
        version=$(curl -s -m 2 "http://127.0.0.1:$rport/v1/model" | python3 -c 'import json,sys
try: print(json.load(sys.stdin)["version"][:16])
except Exception: print("-")' 2> /dev/null || true)
        echo "replica $i: http://127.0.0.1:$rport $state; /healthz $(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$rport/healthz"); model $version"
    done
    if [ -f "$dir/learn.pid" ] && alive "$(cat "$dir/learn.pid")" learn; then
        echo "learner: pid $(cat "$dir/learn.pid"); last: $(tail -1 "$dir/learn.log" 2> /dev/null)"
    fi
}

stop() {
    [ -f "$dir/cluster.env" ] || { echo "cluster.sh: no cluster in $dir" >&2; return 0; }
    load_env
    local i pid
    if [ -f "$dir/learn.pid" ] && alive "$(cat "$dir/learn.pid")" learn; then
        # SIGTERM: the learner stops as on Ctrl-C, releases its lock and prints its summary line.
        pid=$(cat "$dir/learn.pid")
        kill -TERM "$pid" || true
        for _ in $(seq 1 100); do alive "$pid" learn || break; sleep 0.1; done
        rm -f "$dir/learn.pid"
    fi
    if [ -f "$dir/nginx.pid" ] && alive "$(cat "$dir/nginx.pid")" nginx; then
        nginx -c "$dir/nginx.conf" -s quit 2> /dev/null || kill -TERM "$(cat "$dir/nginx.pid")" || true
    fi
    for i in $(seq 1 "$REPLICAS"); do
        pid=$(cat "$dir/replica-$i.pid" 2> /dev/null || true)
        alive "$pid" serve && kill -TERM "$pid" || true
    done
    for i in $(seq 1 "$REPLICAS"); do
        pid=$(cat "$dir/replica-$i.pid" 2> /dev/null || true)
        for _ in $(seq 1 100); do alive "$pid" serve || break; sleep 0.1; done
        alive "$pid" serve && { echo "replica $i did not stop in 10 s: kill -9" >&2; kill -KILL "$pid" || true; }
        rm -f "$dir/replica-$i.pid"
    done
    if [ -f "$dir/pg.env" ]; then
        # shellcheck disable=SC1091
        . "$dir/pg.env"
        bash "$postgres_sh" stop "$PG_DIR" || true
    fi
    rm -f "$dir/cluster.env"
    echo "cluster in $dir stopped (logs and store kept in $dir)"
}

case "$command" in
start) start ;;
status) status ;;
stop) stop ;;
replica) load_env; start_replica "$replica_index" ;;
learn) load_env; start_learner ;;
*) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
