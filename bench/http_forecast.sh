#!/usr/bin/env bash
# POST /v1/forecast under load on loopback: starts the release service, runs wrk, stops it.
# Needs wrk (Debian: apt-get install wrk). Usage: bench/http_forecast.sh [connections] [seconds] [draws]
# Every request has its own seed (a new computation); SAME=1 sends one identical request (answered
# from the service's cache after the first); FUNNELS=1 sends the default seed with a different
# funnel each time (the likely change and a baseline vary), as a PM's page does.
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-200}; secs=${2:-15}; draws=${3:-100000}; port=18081
cargo build --release --bin liftlab -q
FORECAST_BODY=$(python3 -c '
import json, sys, tomllib
req = tomllib.load(open("examples/forecast.toml", "rb"))
req["model"]["draws"] = int(sys.argv[1])
if sys.argv[3] == "1":  # the default seed; the answered rate and the likely change vary
    del req["model"]["seed"]
    req["model"]["nodes"][1]["baseline"] = "__BASELINE__"
    req["model"]["changes"][0]["likely"] = "__LIKELY__"
else:
    req["model"]["seed"] = 1 if sys.argv[2] == "1" else "__SEED__"
print(json.dumps(req).replace("\"__SEED__\"", "__SEED__").replace("\"__BASELINE__\"", "__BASELINE__")
      .replace("\"__LIKELY__\"", "__LIKELY__"))' "$draws" "${SAME:-0}" "${FUNNELS:-0}")
export FORECAST_BODY
db=$(mktemp -d)/bench.db
RUST_LOG=warn ./target/release/liftlab serve ${WORKERS:+--workers $WORKERS} --bind 127.0.0.1:$port --database "$db" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 100); do curl -sf 127.0.0.1:$port/healthz >/dev/null && break; sleep 0.05; done
wrk -t1 -c"$conns" -d3s -s bench/forecast.lua http://127.0.0.1:$port >/dev/null   # warm-up
wrk -t1 -c"$conns" -d"${secs}s" --timeout 10s --latency -s bench/forecast.lua http://127.0.0.1:$port
