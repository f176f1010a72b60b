#!/usr/bin/env bash
# Builds every platform's library and tests each one here, natively or under emulation:
#
#   linux-x86_64         JVM smoke: this machine's JVM loads the glibc-2.17 library from the jar
#   linux-aarch_64       JVM smoke: Debian's arm64 JVM under qemu-user loads it from the jar, takes
#                        credentials from the simulator and signs STS calls the simulator verifies
#   linux-x86_64-musl    C ABI end-to-end test built with musl-gcc            (scripts/test-c-abi.sh)
#   linux-aarch_64-musl  C ABI end-to-end test under qemu-aarch64             (scripts/test-c-abi.sh)
#   windows-x86_64       C ABI end-to-end test built with mingw, run by wine  (scripts/test-c-abi.sh)
#   all glibc libraries  no symbol version above GLIBC_2.17                   (scripts/check-natives.py)
#   the jars             the all-platform jar <= 10 MiB, each classifier jar has its one library
#   freshcreds-doctor    the static musl binaries (x86_64 natively, aarch64 under qemu-aarch64) and
#                        the Windows one (under wine) run their checks against the simulator and
#                        make one signed STS call it verifies              (scripts/build-doctor.sh)
#
# Usage: scripts/test-platforms.sh            the whole matrix (about 15-20 minutes on 2 cores)
#        scripts/test-platforms.sh --smoke    what .ci/run runs: the aarch64 library, its symbol
#                                             check and the arm64 JVM smoke
# The simulator runs on 127.0.0.1 only; nothing here talks to any other address.
# Ends with one line 'platforms: N passed, N failed'.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=full
[ "${1:-}" = "--smoke" ] && mode=smoke
. scripts/ensure-tools.sh

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive
arm64_java=/usr/lib/jvm/java-17-openjdk-arm64/bin/java
if ! command -v qemu-aarch64 >/dev/null 2>&1 || [ ! -x "$arm64_java" ]; then
  echo "test-platforms: installing qemu-user and Debian's arm64 JVM (openjdk-17-jre-headless:arm64)" >&2
  as_root dpkg --add-architecture arm64
  as_root apt-get update -qq
  as_root apt-get install -y -qq qemu-user "openjdk-17-jre-headless:arm64" >/dev/null
fi

passed=0
failed=0
results=()
record() { # name status seconds
  if [ "$2" = 0 ]; then passed=$((passed + 1)); results+=("ok      $1 ($3 s)"); else failed=$((failed + 1)); results+=("FAILED  $1 ($3 s)"); fi
}

# The smoke builds into a directory of its own, so it never replaces a full build/natives.
natives=build/natives
[ "$mode" = smoke ] && natives=build/natives-smoke
if [ "$mode" = smoke ]; then
  keys=(linux-aarch_64)
  c_targets=()
else
  keys=(linux-x86_64 linux-aarch_64 linux-x86_64-musl linux-aarch_64-musl windows-x86_64)
  c_targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-pc-windows-gnu)
fi
t0=$(date +%s)
build_args=("${keys[@]}")
[ "$mode" = full ] && build_args=(--c-abi "${keys[@]}")
rm -rf "$natives"
if bash scripts/build-natives.sh --out "$natives" "${build_args[@]}"; then s=0; else s=$?; fi
record "build and check the libraries (${keys[*]})" "$s" $(( $(date +%s) - t0 ))
[ "$s" = 0 ] || { printf '%s\n' "${results[@]}"; echo "platforms: $passed passed, $failed failed"; exit 1; }

# The jars: gradle packs build/natives plus the host library.
t0=$(date +%s)
rm -f build/libs/freshcreds-*.jar   # no classifier jar of an earlier run may linger
gradle --no-daemon --console=plain -q -Pfreshcreds.natives="$natives" jar platformClasses
version=$(sed -n "s/^version = '\(.*\)'/\1/p" build.gradle)
all_jar=build/libs/freshcreds-$version.jar
s=0
# (listings go through a file: `unzip | grep -q` under pipefail fails when grep stops reading early)
listing=$(mktemp)
unzip -Z1 "$all_jar" > "$listing"
for key in "${keys[@]}"; do
  lib=$(ls "$natives/$key" | grep -v '\.sha256$' | grep freshcreds_jni)
  grep -qx "native/$key/$lib" "$listing" || { echo "test-platforms: $all_jar lacks native/$key/$lib" >&2; s=1; }
  grep -qx "native/$key/$lib.sha256" "$listing" || { echo "test-platforms: $all_jar lacks native/$key/$lib.sha256" >&2; s=1; }
done
grep -qx dev/freshcreds/version.properties "$listing" || { echo "test-platforms: $all_jar lacks its version.properties" >&2; s=1; }
jar_bytes=$(stat -c %s "$all_jar")
echo "test-platforms: $all_jar is $(python3 -c "print(f'{$jar_bytes/1048576:.2f}')") MiB"
# Reported, not enforced (like the 4 MiB per library in check-natives.py): BENCHMARKS.md records both.
if [ "$jar_bytes" -gt $((10 * 1024 * 1024)) ]; then echo "test-platforms: size goal MISSED: the all-platform jar is over 10 MiB" >&2; fi
for key in "${keys[@]}"; do
  cjar=build/libs/freshcreds-$version-$key.jar
  if [ ! -f "$cjar" ]; then echo "test-platforms: $cjar is missing" >&2; s=1; continue; fi
  unzip -Z1 "$cjar" > "$listing"
  listed=$(grep '^native/.*[^/]$' "$listing" | sort | tr '\n' ' ')
  echo "test-platforms: $cjar ($(stat -c %s "$cjar") bytes): $listed"
  if grep '^native/' "$listing" | grep -v "^native/$key/" | grep -q '[^/]$'; then
    echo "test-platforms: $cjar carries another platform's library" >&2; s=1
  fi
  grep -qx dev/freshcreds/version.properties "$listing" || { echo "test-platforms: $cjar lacks its version.properties" >&2; s=1; }
done
record "jars: version and every library in the all-platform jar, one library per classifier jar" "$s" $(( $(date +%s) - t0 ))

# The simulator, x86_64, on 127.0.0.1; every JVM and C test below talks to it.
sim_dir=$(mktemp -d)
mkfifo "$sim_dir/stdin"
cargo build --release -q -p freshcreds-sim
target/release/freshcreds-sim --port 0 < "$sim_dir/stdin" > "$sim_dir/out" 2> "$sim_dir/err" &
sim_pid=$!
exec 9> "$sim_dir/stdin"   # the simulator exits when this closes
trap 'exec 9>&-; kill $sim_pid 2>/dev/null || true; rm -rf "$sim_dir"' EXIT
for _ in $(seq 100); do grep -q listening "$sim_dir/out" 2>/dev/null && break; sleep 0.1; done
endpoint=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["base_url"])' "$sim_dir/out")
echo "test-platforms: simulator at $endpoint"

jvm_smoke() { # key java-launcher calls
  local t0 s
  t0=$(date +%s)
  if gradle --no-daemon --console=plain -q platformSmoke -Pfreshcreds.natives="$natives" -Pplatform.java="$2" -Pplatform.endpoint="$endpoint" \
      -Pplatform.key="$1" -Pplatform.calls="$3"; then s=0; else s=$?; fi
  record "JVM smoke $1 ($2)" "$s" $(( $(date +%s) - t0 ))
}

launcher=build/platform-smoke/java-arm64-qemu.sh
mkdir -p build/platform-smoke
cat > "$launcher" <<EOF
#!/bin/sh
# Debian's arm64 JVM under qemu-user (multiarch puts its loader and libraries where qemu finds them).
exec qemu-aarch64 $arm64_java "\$@"
EOF
chmod +x "$launcher"
jvm_smoke linux-aarch_64 "$PWD/$launcher" 3
if [ "$mode" = full ]; then
  jvm_smoke linux-x86_64 "$(command -v java)" 3
  for target in "${c_targets[@]}"; do
    t0=$(date +%s)
    if FRESHCREDS_NATIVES_DIR="$PWD/$natives" FRESHCREDS_SIM_ENDPOINT="$endpoint" bash scripts/test-c-abi.sh "$target"; then s=0; else s=$?; fi
    record "C ABI $target" "$s" $(( $(date +%s) - t0 ))
  done
fi

# The doctor binaries: a healthy simulator (chronyd on Amazon Time Sync under a temporary root for
# Linux) must give pass on the IMDS and STS checks, an exit code equal to the worst check, and
# exactly one STS call the simulator verified.
sts_ok() { python3 -c 'import json,sys,urllib.request; o=urllib.request.build_opener(urllib.request.ProxyHandler({})); print(json.load(o.open(sys.argv[1]+"/_sim/stats",timeout=5))["sts_ok"])' "$endpoint"; }
doctor_run() { # key command...
  local key=$1 t0 s root out code before after
  shift
  t0=$(date +%s)
  root=$(mktemp -d)
  mkdir -p "$root/proc/412" "$root/etc"
  echo chronyd > "$root/proc/412/comm"
  echo "server 169.254.169.123 prefer iburst" > "$root/etc/chrony.conf"
  out=$root/report.json
  before=$(sts_ok)
  local root_args=(--root "$root")
  [ "$key" = windows-x86_64 ] && root_args=()
  env -i PATH="$PATH" HOME="$root" WINEDEBUG=-all WINEPREFIX="${WINEPREFIX:-$root/wine}" WINEARCH=win64 \
    WINEDLLOVERRIDES='mscoree,mshtml=' AWS_REGION=us-east-1 \
    AWS_EC2_METADATA_SERVICE_ENDPOINT="$endpoint" "$@" --json "${root_args[@]}" --sts-endpoint "$endpoint" > "$out" 2> "$root/err" \
    && code=0 || code=$?
  after=$(sts_ok)
  if python3 - "$out" "$code" "$((after - before))" <<'PY'; then s=0; else s=1; fi
import json, sys
report = json.load(open(sys.argv[1]))
status = {c["id"]: c["status"] for c in report["checks"]}
worst = max(["pass", "warn", "fail"].index(v) for v in status.values())
bad = [f"{i}={status.get(i)}" for i in ("imds.token", "imds.role", "imds.credentials", "credentials", "sts.call") if status.get(i) != "pass"]
if int(sys.argv[2]) != worst: bad.append(f"exit {sys.argv[2]} but worst {worst}")
if sys.argv[3] != "1": bad.append(f"{sys.argv[3]} STS calls verified, not 1")
print("test-platforms: doctor " + ("; ".join(bad) or "ok: " + ", ".join(f"{k}={v}" for k, v in status.items())))
sys.exit(1 if bad else 0)
PY
  [ "$s" = 0 ] || cat "$out" "$root/err" >&2
  rm -rf "$root"
  record "doctor $key" "$s" $(( $(date +%s) - t0 ))
}
if [ "$mode" = full ]; then
  t0=$(date +%s)
  if bash scripts/build-doctor.sh; then s=0; else s=$?; fi
  record "build the doctor binaries (static musl x86_64 and aarch64, Windows)" "$s" $(( $(date +%s) - t0 ))
  if [ "$s" = 0 ]; then
    doctor_run linux-x86_64 build/doctor/linux-x86_64/freshcreds-doctor
    doctor_run linux-aarch_64 qemu-aarch64 build/doctor/linux-aarch_64/freshcreds-doctor
    find_wine() { command -v wine64 || { [ -x /usr/lib/wine/wine64 ] && echo /usr/lib/wine/wine64; } || command -v wine || true; }
    wine=$(find_wine)
    if [ -z "$wine" ]; then
      echo "test-platforms: installing Debian's wine64 for the Windows doctor" >&2
      as_root apt-get install -y -qq wine64 wine >/dev/null || true
      wine=$(find_wine)
    fi
    if [ -n "$wine" ]; then
      . scripts/wine.sh
      wine_prefix=$(mktemp -d)
      wine_setup "$wine_prefix/wine" build/doctor/windows-x86_64
      doctor_run windows-x86_64 "$WINE" build/doctor/windows-x86_64/freshcreds-doctor.exe
      wineserver -k >/dev/null 2>&1 || true
      rm -rf "$wine_prefix" build/doctor/windows-x86_64/bcryptprimitives.dll
    else
      record "doctor windows-x86_64 (wine64 missing)" 1 0
    fi
  fi
fi

[ "$mode" = full ] && python3 bench/platform_sizes.py BENCHMARKS.md "$natives" && echo "test-platforms: BENCHMARKS.md platform table updated"
printf '%s\n' "${results[@]}"
echo "platforms: $passed passed, $failed failed"
[ "$failed" = 0 ]
