#!/usr/bin/env bash
# Runs the demo: the simulator plus a sample app making signed STS calls through SDK v1 and v2
# across several credential rotations in compressed time.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-tools.sh
exec gradle --no-daemon --console=plain -q demo "$@"
