#!/usr/bin/env bash
# Runs every test: cargo test for the Rust workspace, then the Java unit and end-to-end tests
# (real SDK v1/v2 clients -> freshcreds over JNI -> the simulator on 127.0.0.1), -Xcheck:jni.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-tools.sh
exec gradle --no-daemon --console=plain check "$@"
