#!/usr/bin/env bash
# A throw-away PostgreSQL 15 server on loopback for tests and benchmarks.
#
#   Scripts/postgres.sh start DIR PORT   # initdb into DIR (if new), start on 127.0.0.1:PORT,
#                                        # print the store URL (postgres://metarec@127.0.0.1:PORT/metarec)
#   Scripts/postgres.sh stop DIR         # stop the server started in DIR (nothing if none)
#
# Trust authentication on loopback only: a test server, never a production one. As root (CI),
# initdb and pg_ctl run as the `postgres` user, which refuses nothing here but initdb refuses
# root. Installs Debian's postgresql-15 when its programs are missing. Only the URL goes to
# stdout; progress goes to stderr.
set -euo pipefail

usage() {
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 2
}

bindir() {
    local dir=""
    if command -v pg_config >/dev/null 2>&1; then dir=$(pg_config --bindir); fi
    if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
        [ -x /usr/lib/postgresql/15/bin/initdb ] && dir=/usr/lib/postgresql/15/bin
    fi
    if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "== installing postgresql-15 (apt-get)" >&2
            apt-get update -qq >&2 || true
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >&2
            dir=$(pg_config --bindir)
        else
            echo "postgres.sh: PostgreSQL 15 is not installed (apt-get install postgresql-15, as root)" >&2
            exit 1
        fi
    fi
    echo "$dir"
}

# Runs a PostgreSQL program as the postgres user when we are root (initdb refuses root).
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        local quoted=""
        for arg in "$@"; do quoted+=" $(printf '%q' "$arg")"; done
        su postgres -s /bin/sh -c "$quoted"
    else
        "$@"
    fi
}

start() {
    local dir=$1 port=$2 bin
    [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1024 ] && [ "$port" -le 65535 ] || {
        echo "postgres.sh: PORT must be 1024 to 65535, not '$port'" >&2
        exit 2
    }
    bin=$(bindir)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$dir"
        if ! su postgres -s /bin/sh -c "test -w $(printf '%q' "$dir")"; then
            echo "postgres.sh: the postgres user cannot write $dir (a parent folder is closed to it); use a folder under /tmp" >&2
            exit 1
        fi
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        echo "== initdb in $dir/data" >&2
        as_owner "$bin/initdb" -D "$dir/data" -A trust -U metarec -E UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1 || {
            cat "$dir/initdb.log" >&2
            exit 1
        }
    fi
    echo "== starting PostgreSQL on 127.0.0.1:$port" >&2
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >&2 || {
        tail -20 "$dir/server.log" >&2 || true
        exit 1
    }
    if ! "$bin/psql" -h 127.0.0.1 -p "$port" -U metarec -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'metarec'" | grep -q 1; then
        "$bin/createdb" -h 127.0.0.1 -p "$port" -U metarec metarec >&2
    fi
    echo "postgres://metarec@127.0.0.1:$port/metarec?sslmode=disable"
}

stop() {
    local dir=$1 bin
    [ -f "$dir/data/postmaster.pid" ] || return 0
    bin=$(bindir)
    as_owner "$bin/pg_ctl" -D "$(cd "$dir" && pwd)/data" -m fast -w stop >&2 || true
}

case "${1:-}" in
start) [ $# -eq 3 ] || usage; start "$2" "$3" ;;
stop) [ $# -eq 2 ] || usage; stop "$2" ;;
*) usage ;;
esac
