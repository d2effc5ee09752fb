#!/usr/bin/env bash
# Installs the system packages the build needs, if missing: cmake (rdkafka builds its
# bundled librdkafka with it) and a C/C++ compiler. Idempotent; a no-op when present.
set -euo pipefail
missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "ensure-build-deps: installing ${missing[*]}" >&2
sudo=""
[[ "$(id -u)" == 0 ]] || sudo="sudo"
$sudo apt-get update -qq >&2 || true
$sudo apt-get install -y -qq "${missing[@]}" >&2
