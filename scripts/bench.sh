#!/usr/bin/env bash
# Reproduces the figures in BENCHMARKS.md on this machine: builds release binaries,
# starts `lrs serve` (embedded log + SQLite) on a fresh data directory, and runs
# lrs-bench against it over loopback. Every run is bounded in time and count.
#
#   scripts/bench.sh [quick]      quick: short durations and a small query store
#
# Environment: BENCH_PORT (default 18180), BENCH_DURATION (default 20s),
# BENCH_QUERY_STORE (statements loaded before the query runs, default 1000000).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-build-deps.sh

quick=${1:-}
port=${BENCH_PORT:-18180}
duration=${BENCH_DURATION:-20s}
store_size=${BENCH_QUERY_STORE:-1000000}
if [[ "$quick" == quick ]]; then duration=3s; store_size=20000; fi

cargo build --release --locked -p lrs -p lrs-bench >&2
bench=target/release/lrs-bench
data=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT

# Rate limiting off: the benchmark drives one credential as hard as it can.
LRS_DATA_DIR="$data" LRS_LISTEN="127.0.0.1:$port" LRS_BOOTSTRAP_CREDENTIAL=bench:bench-secret \
    LRS_RATE_LIMIT__PER_SECOND=0 LRS_LOG_LEVEL=warn target/release/lrs serve &
server=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break; sleep 0.1; done

export LRS_BENCH_URL="http://127.0.0.1:$port/xapi" LRS_BENCH_USER=bench LRS_BENCH_PASSWORD=bench-secret
echo "## machine"; echo; echo "$(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr), $(date -u +%F)"; echo
echo "## batch ingest"; $bench ingest --batch-size 100 --connections 16 --duration "$duration" --server-pid "$server" --run 1
echo "## single-statement ingest"; $bench ingest --batch-size 1 --connections 16 --duration "$duration" --server-pid "$server" --run 2
echo "## load $store_size statements for queries"; $bench load --statements "$store_size" --batch-size 500 --connections 4 --run 3 --server-pid "$server"
for kind in agent verb activity registration since progress activity-figures daily; do
    echo "## query: $kind"; $bench query --kind "$kind" --connections 16 --duration "$duration" --run 3 --server-pid "$server"
done
echo "## in-process validation"; $bench validate --statements 100000
echo "## in-process projection (replay into a fresh SQLite store)"; $bench project --statements 200000
