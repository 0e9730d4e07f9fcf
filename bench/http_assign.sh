#!/usr/bin/env bash
# POST /v1/assign under load on loopback: starts the release service, runs wrk, stops the service.
# Needs wrk (Debian: apt-get install wrk). Usage: bench/http_assign.sh [connections] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-64}; secs=${2:-15}; port=18080
cargo build --release --bin liftlab -q
db=$(mktemp -d)/bench.db
RUST_LOG=warn ./target/release/liftlab serve ${WORKERS:+--workers $WORKERS} --bind 127.0.0.1:$port --database "$db" --spec examples/experiments.toml &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 100); do curl -sf 127.0.0.1:$port/healthz >/dev/null && break; sleep 0.05; done
wrk -t1 -c"$conns" -d3s -s bench/assign.lua http://127.0.0.1:$port >/dev/null   # warm-up
wrk -t1 -c"$conns" -d"${secs}s" --latency -s bench/assign.lua http://127.0.0.1:$port
