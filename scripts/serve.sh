#!/usr/bin/env bash
# Starts the LRS on the embedded default: embedded event log + SQLite under ./lrs-data,
# HTTP on 127.0.0.1:8080. Extra arguments go to `lrs serve`; LRS_* variables configure it
# (LRS_LISTEN, LRS_DATA_DIR, LRS_BOOTSTRAP_CREDENTIAL=key:secret, …).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-build-deps.sh
exec cargo run --release --locked --bin lrs -- serve "$@"
