#!/usr/bin/env bash
# Test Kafka broker for the LRS: tansu (a Kafka-wire-compatible broker written in Rust).
# Apache Kafka itself is not available in the test environment.
#
#   scripts/tansu.sh install                   build tansu once into ~/.cache/lrs-test-tools
#   scripts/tansu.sh start <port> [storage]    start a broker on 127.0.0.1:<port> in the background
#   scripts/tansu.sh stop <port>               stop it
#   scripts/tansu.sh status <port>             exit 0 if it is running
#
# storage defaults to memory://tansu/ (lost on stop). For a broker that keeps its data
# across restarts use sqlite:///absolute/path/tansu.db (or sqlite://relative.db, relative to
# the current directory).
#
# Environment:
#   LRS_TEST_TOOLS       tool cache (default ~/.cache/lrs-test-tools)
#   TANSU_RUN_DIR        pid and log files (default ${TMPDIR:-/tmp}/lrs-tansu)
#   TANSU_START_TIMEOUT  seconds to wait for the port (default 60)
#   TANSU_WATCH_PID      if set, the broker is stopped as soon as that process exits
#                        (tests pass their own pid so a crashed test run leaves nothing behind)
#   RUST_LOG             tansu log filter (default warn)
set -euo pipefail

TANSU_VERSION=0.6.0
TANSU_FEATURES=dynostore,libsql
TANSU_ROOT="${LRS_TEST_TOOLS:-$HOME/.cache/lrs-test-tools}/tansu-${TANSU_VERSION}-dynostore-libsql"
TANSU_BIN="$TANSU_ROOT/bin/tansu"
RUN_DIR="${TANSU_RUN_DIR:-${TMPDIR:-/tmp}/lrs-tansu}"
SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"

die() {
    echo "tansu.sh: $*" >&2
    exit 1
}

usage() {
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$SCRIPT"
    exit 2
}

pid_file() { echo "$RUN_DIR/tansu-$1.pid"; }
log_file() { echo "$RUN_DIR/tansu-$1.log"; }

# Is something accepting TCP connections on 127.0.0.1:<port>?
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

running_pid() {
    local file pid
    file="$(pid_file "$1")"
    [[ -f "$file" ]] || return 1
    pid="$(cat "$file")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

check_port() {
    [[ "${1:-}" =~ ^[0-9]+$ ]] && (( $1 > 0 && $1 < 65536 )) || die "invalid port: '${1:-}'"
}

cmd_install() {
    if ! command -v cmake >/dev/null 2>&1; then
        # rdkafka's bundled librdkafka build needs it.
        echo "tansu.sh: installing cmake" >&2
        local sudo=""
        [[ "$(id -u)" == 0 ]] || sudo="sudo"
        $sudo apt-get install -y cmake >&2 || die "could not install cmake (apt-get install -y cmake)"
    fi
    [[ -x "$TANSU_BIN" ]] && return 0

    # Serialise concurrent installs (two test runs starting at once).
    mkdir -p "$TANSU_ROOT"
    exec 9>"$TANSU_ROOT.install.lock"
    flock 9
    [[ -x "$TANSU_BIN" ]] && return 0
    echo "tansu.sh: building tansu $TANSU_VERSION into $TANSU_ROOT (takes ~10 minutes, once)" >&2
    cargo install tansu --version "$TANSU_VERSION" --locked --features "$TANSU_FEATURES" --root "$TANSU_ROOT" >&2
    [[ -x "$TANSU_BIN" ]] || die "cargo install finished but $TANSU_BIN is missing"
}

cmd_start() {
    local port="${1:-}" storage="${2:-memory://tansu/}"
    check_port "$port"
    [[ -x "$TANSU_BIN" ]] || die "tansu is not installed at $TANSU_BIN: run '$SCRIPT install'"
    mkdir -p "$RUN_DIR"

    local pid
    if pid="$(running_pid "$port")"; then
        die "a tansu broker is already running on port $port (pid $pid); stop it first"
    fi
    port_open "$port" && die "port $port is already in use by another process"

    # tansu resolves sqlite:///a/b.db relative to its working directory (and reads a .env
    # file from there): run it from / so an absolute path means what it says, and make
    # relative sqlite paths absolute first.
    if [[ "$storage" == sqlite://* && "$storage" != sqlite:///* ]]; then
        storage="sqlite://$PWD/${storage#sqlite://}"
    fi

    local log
    log="$(log_file "$port")"
    (
        cd /
        RUST_LOG="${RUST_LOG:-warn}" exec "$TANSU_BIN" broker \
            --listener-url "tcp://127.0.0.1:$port" \
            --advertised-listener-url "tcp://127.0.0.1:$port" \
            --storage-engine "$storage"
    ) </dev/null >"$log" 2>&1 &
    pid=$!
    echo "$pid" >"$(pid_file "$port")"

    local timeout="${TANSU_START_TIMEOUT:-60}" waited=0
    until port_open "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "tansu.sh: tansu exited during startup; last log lines ($log):" >&2
            tail -n 20 "$log" >&2 || true
            rm -f "$(pid_file "$port")"
            exit 1
        fi
        if (( waited >= timeout * 10 )); then
            kill "$pid" 2>/dev/null || true
            rm -f "$(pid_file "$port")"
            die "tansu did not accept connections on port $port within ${timeout}s (log: $log)"
        fi
        sleep 0.1
        waited=$((waited + 1))
    done

    if [[ -n "${TANSU_WATCH_PID:-}" ]]; then
        # Detached from the caller's stdout/stderr so nobody waits on its pipes.
        # It only stops the broker it started (the pid file may name a newer one by then).
        local watch="while kill -0 $TANSU_WATCH_PID 2>/dev/null; do sleep 1; done
            [[ \"\$(cat '$(pid_file "$port")' 2>/dev/null)\" == $pid ]] && '$SCRIPT' stop $port"
        nohup bash -c "$watch" </dev/null >/dev/null 2>&1 &
    fi
    echo "tansu.sh: broker running on 127.0.0.1:$port (pid $pid, storage $storage, log $log)" >&2
}

cmd_stop() {
    local port="${1:-}" pid
    check_port "$port"
    if ! pid="$(running_pid "$port")"; then
        rm -f "$(pid_file "$port")"
        return 0
    fi
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "tansu.sh: tansu (pid $pid) ignored SIGTERM; killing it" >&2
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$(pid_file "$port")"
}

cmd_status() {
    local port="${1:-}" pid
    check_port "$port"
    pid="$(running_pid "$port")" || { echo "not running"; exit 1; }
    echo "running (pid $pid)"
}

case "${1:-}" in
    install) cmd_install ;;
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    status) shift; cmd_status "$@" ;;
    *) usage ;;
esac
