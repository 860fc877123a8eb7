#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: installs Debian's `postgresql` package
# when no server is installed, creates a cluster in a temporary folder on a free
# loopback port, runs the given command with ACCORD_TEST_POSTGRES set to its URL, then
# stops the cluster and removes it, whatever the command's outcome.
#
#   scripts/pg-test-cluster.sh cargo test -p accord-cli --test server_http
#
# Exits with the command's status. Never skips: if PostgreSQL cannot be installed or
# started, it fails loudly.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

find_bin() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

if ! PGBIN=$(find_bin); then
    echo "pg-test-cluster: no PostgreSQL server found; installing Debian's postgresql package" >&2
    if [ "$(id -u)" -ne 0 ]; then
        echo "pg-test-cluster: installing needs root (apt-get install postgresql)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends postgresql >&2
    PGBIN=$(find_bin) || { echo "pg-test-cluster: postgresql installed but initdb not found" >&2; exit 1; }
fi

# initdb refuses to run as root: run the cluster as the package's `postgres` user (or as
# ourselves when we are not root).
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home /nonexistent --shell /usr/sbin/nologin postgres
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi

free_port() {
    python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

DIR=$(mktemp -d /tmp/accord-pg.XXXXXX)
chmod 755 "$DIR"
[ "$(id -u)" -eq 0 ] && chown postgres "$DIR"
PORT=$(free_port)

cleanup() {
    as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

as_pg "$PGBIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log" >&2; exit 1; }
# Sized for tests and the load benchmark: enough connections for several servers' pools.
as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on" start >&2 \
    || { cat "$DIR/server.log" >&2; exit 1; }

export ACCORD_TEST_POSTGRES="postgres://postgres@127.0.0.1:$PORT/postgres"
echo "pg-test-cluster: PostgreSQL ($("$PGBIN/postgres" --version)) at $ACCORD_TEST_POSTGRES" >&2
set +e
"$@"
status=$?
set -e
exit $status
