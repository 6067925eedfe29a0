#!/usr/bin/env bash
# Measures signaling across the nodes of a cluster beside a single node, in one run:
# starts a PostgreSQL and a Redis of its own (Debian's, in a temporary directory, as
# their accounts when run as root), two release Parleys sharing them, and runs
# parley-load twice against the same two processes: first with every client on node 1
# (nothing crosses nodes), then with each meeting's clients spread over both (the
# figures split by how many times a message crossed between nodes). The CPU and
# memory figures are those of both nodes and Redis together, in both runs.
# Arguments go to parley-load both times, e.g.
#   scripts/cluster-load.sh --clients 2000 --room-size 4 --rate 20000
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo build --release -p server -p loadgen

work=$(mktemp -d)
chmod 755 "$work" # (the servers run as their own accounts)
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pg_port=${PARLEY_LOAD_PG_PORT:-3985}
redis_port=${PARLEY_LOAD_REDIS_PORT:-3986}
ports=(3987 3988)
pids=()
run_as() { # account command...
  local account=$1; shift
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid="$account" --regid="$account" --clear-groups -- "$@"
  else
    "$@"
  fi
}
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  run_as postgres "$pg_bin/pg_ctl" -D "$work/postgres/data" -m immediate stop >/dev/null 2>&1 || true
  [ -f "$work/redis/redis.pid" ] && kill "$(cat "$work/redis/redis.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/postgres" "$work/redis"
if [ "$(id -u)" = 0 ]; then
  chown postgres:postgres "$work/postgres"
  chown redis:redis "$work/redis"
fi
run_as postgres "$pg_bin/initdb" --auth=trust --no-sync -E UTF8 --locale=C -U parley -D "$work/postgres/data" >/dev/null
run_as postgres "$pg_bin/pg_ctl" -D "$work/postgres/data" -l "$work/postgres/log" -w \
  -o "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$work/postgres -c fsync=off" start >/dev/null
run_as redis redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes --dir "$work/redis" \
  --pidfile "$work/redis/redis.pid" --logfile "$work/redis/log" --save "" --appendonly no

for port in "${ports[@]}"; do
  target/release/parley --listen "127.0.0.1:$port" --sfu-listen off \
    --database-url "postgres://parley@127.0.0.1:$pg_port/postgres" --cluster "redis://127.0.0.1:$redis_port" \
    --max-connections-per-ip 100000 --max-new-meetings-per-hour 100000 --log warn &
  pids+=($!)
done
for port in "${ports[@]}"; do
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.1
  done
done
# The CPU and memory figures add up both nodes and Redis (the bus is part of the cost).
redis_pid=$(cat "$work/redis/redis.pid")
both_pids=$(IFS=,; echo "${pids[*]},$redis_pid")

echo "=== every client on node 1 (nothing crosses nodes) ==="
target/release/parley-load --url "http://127.0.0.1:${ports[0]}" --server-pid "$both_pids" "$@"
echo
echo "=== each meeting's clients spread over both nodes ==="
target/release/parley-load --url "http://127.0.0.1:${ports[0]},http://127.0.0.1:${ports[1]}" \
  --server-pid "$both_pids" "$@"
