#!/usr/bin/env bash
# Regenerates licenses/THIRD-PARTY-LICENSES.txt, the third-party licence report that every jar
# carries as META-INF/THIRD-PARTY-LICENSES.txt: each crate linked into freshcreds-jni or
# freshcreds-ffi (normal dependencies only, for the targets in licenses/about.toml) with its licence
# expression, and the licence texts cargo-about finds in the crates' sources.
#
# cargo-about reads the whole workspace (it takes one root, and the simulator is a workspace
# member); scripts/check-licenses.py --render-from keeps the crates of the two shipped libraries and
# writes the text. cargo-about fails when a licence is not in `accepted` of licenses/about.toml;
# scripts/check-licenses.py (which CI runs, without cargo-about) checks the same allow-list and that
# the committed report is up to date.
#
# Usage: scripts/licenses.sh        (run after changing dependencies; commit the report)
# Installs cargo-about when missing (cargo install, about 2.5 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."

about_version=0.9.3
if ! cargo about --version 2>/dev/null | grep -qx "cargo-about $about_version"; then
  echo "licenses: installing cargo-about $about_version" >&2
  # Since 0.9 the binary needs the `cli` feature; without it `cargo install` installs nothing.
  cargo install cargo-about --locked --features cli --version "$about_version" >&2
fi

cargo fetch --locked >&2   # every crate's source on disk, so cargo-about can run --frozen (offline)
json=$(mktemp)
trap 'rm -f "$json"' EXIT
started=$(date +%s)
cargo about generate --frozen --fail -c licenses/about.toml -m Cargo.toml --format json -o "$json"
python3 scripts/check-licenses.py --render-from "$json" --generator "$(cargo about --version)"
echo "licenses: cargo-about took $(( $(date +%s) - started )) s" >&2
python3 scripts/check-licenses.py
