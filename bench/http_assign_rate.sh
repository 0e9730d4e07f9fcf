#!/usr/bin/env bash
# POST /v1/assign at a fixed offered rate (open loop) on loopback, with oha (cargo install oha):
# starts the release service, sends RATE requests/s for SECONDS, prints oha's latency summary.
# Usage: bench/http_assign_rate.sh [rate] [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-20000}; secs=${2:-15}; conns=${3:-32}; port=18081
cargo build --release --bin liftlab -q
db=$(mktemp -d)/bench.db
RUST_LOG=warn ./target/release/liftlab serve ${WORKERS:+--workers $WORKERS} --bind 127.0.0.1:$port --database "$db" --spec examples/experiments.toml 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 100); do curl -sf 127.0.0.1:$port/healthz >/dev/null && break; sleep 0.05; done
body='{"unit_id": "+15550001234", "attributes": {"country": "US"}}'
oha --no-tui -z 3s -c "$conns" -m POST -T application/json -d "$body" http://127.0.0.1:$port/v1/assign >/dev/null
oha --no-tui -z "${secs}s" -q "$rate" --latency-correction -c "$conns" -m POST -T application/json -d "$body" \
    http://127.0.0.1:$port/v1/assign
