#!/usr/bin/env bash
# Runs every test: cargo fmt --check and cargo clippy -D warnings (so style and lint failures show
# up here, not only in CI), then cargo test for the Rust workspace, then the Java unit and
# end-to-end tests (real SDK v1/v2 clients -> freshcreds over JNI -> the simulator on 127.0.0.1),
# -Xcheck:jni.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-tools.sh
if ! cargo fmt --all --check >/dev/null; then
  echo "freshcreds: cargo fmt --check failed; run: cargo fmt --all" >&2
  exit 1
fi
if ! cargo clippy -q --workspace --all-targets -- -D warnings; then
  echo "freshcreds: cargo clippy -D warnings failed (see above)" >&2
  exit 1
fi
echo "freshcreds: cargo fmt and clippy clean"
exec gradle --no-daemon --console=plain check "$@"
