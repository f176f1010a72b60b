#!/bin/sh
# Runs every benchmark row against the simulator on 127.0.0.1 and writes BENCHMARKS.md and bench/chart.png.
#   bench/run.sh                      # all rows (about 12 minutes on 2 cores)
#   bench/run.sh "hot cold"           # only some sections: hot refresh control load cold footprint
# Results accumulate in build/bench/results.json; a partial run replaces only the sections it ran.
set -eu
cd "$(dirname "$0")/.."
GRADLE=${GRADLE:-gradle}
if [ $# -gt 0 ]; then
    "$GRADLE" --no-daemon bench "-Pbench.sections=$1"
else
    rm -f build/bench/results.json
    "$GRADLE" --no-daemon bench
fi
if ! python3 -c 'import matplotlib' 2>/dev/null; then
    echo "bench/run.sh: matplotlib missing; installing it with pip" >&2
    python3 -m pip install --quiet matplotlib
fi
python3 bench/report.py build/bench/results.json BENCHMARKS.md bench/chart.png
echo "wrote BENCHMARKS.md and bench/chart.png"
