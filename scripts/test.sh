#!/usr/bin/env bash
# The whole test suite: README's test command, and what CI (.ci/run) runs.
# Installs or starts everything the tests need, idempotently:
#   - build dependencies (cmake for the bundled librdkafka),
#   - PostgreSQL on 127.0.0.1:5432 (tests create and drop their own databases),
#   - a Kafka-protocol broker (tansu, built once and cached) on a free loopback port.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/ensure-build-deps.sh

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    echo "test.sh: starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 >/dev/null || { echo "test.sh: PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }

bash scripts/tansu.sh install
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
TANSU_WATCH_PID=$$ bash scripts/tansu.sh start "$port"
trap 'bash scripts/tansu.sh stop "$port" >/dev/null 2>&1 || true' EXIT
export LRS_TEST_KAFKA_BROKERS="127.0.0.1:$port"
echo "test.sh: Kafka-protocol broker (tansu) on $LRS_TEST_KAFKA_BROKERS" >&2

cargo build --locked --workspace --all-targets
cargo test --locked --workspace --all-targets -- --test-threads="${LRS_TEST_THREADS:-4}"
