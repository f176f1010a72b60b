#!/usr/bin/env bash
# End-to-end test of the C ABI (rust/freshcreds-ffi) from a real C program, tests/c/c_abi_e2e.c,
# against the simulator on 127.0.0.1, per platform:
#
#   scripts/test-c-abi.sh [TARGET...]        (default: native)
#
#   native                      host glibc library, gcc, run directly
#   x86_64-unknown-linux-musl   library by cargo zigbuild, program by musl-gcc, run natively
#                               (Debian's musl package provides /lib/ld-musl-x86_64.so.1)
#   x86_64-pc-windows-gnu       library and program by x86_64-w64-mingw32-gcc, run under wine64
#   aarch64-unknown-linux-musl  library by cargo zigbuild, program by zig cc, run under
#                               qemu-aarch64 with Debian's musl:arm64 loader; skipped (not failed)
#                               when qemu or the loader is missing and cannot be installed
#
# Environment:
#   FRESHCREDS_NATIVES_DIR  prebuilt C ABI libraries, <dir>/<platform-key>/<file>: keys linux-x86_64,
#                           linux-x86_64-musl, windows-x86_64, linux-aarch_64-musl; files
#                           libfreshcreds.so / freshcreds.dll. A library found there is not rebuilt.
#   CARGO_TARGET_DIR        default: target (the shared build directory)
#
# Musl libraries link musl dynamically (-C target-feature=-crt-static, set per target through
# CARGO_TARGET_<TRIPLE>_RUSTFLAGS); cargo zigbuild links them, because with -crt-static rustc asks
# for libgcc_s, which Debian has only for glibc. The Windows DLL must import only DLLs every
# Windows has (checked with objdump -p; rustc links libgcc and winpthread statically by itself).
#
# The simulator (target/release/freshcreds-sim) runs on the host for every target; its stdin is a
# fifo this script holds open, and a trap stops it. The test program only ever talks to
# 127.0.0.1: the agent is pinned to the IMDS source with the simulator's endpoint, and AWS_* and
# proxy variables are removed from its environment. Wine runs with WINEDEBUG=-all and a private
# prefix under target/c-abi/ (never $HOME's); the first run creates it and is timed separately.
#
# Run as root on a fresh Debian 12, installs what is missing (apt: gcc, musl-tools, mingw-w64,
# wine64, qemu-user, musl:arm64; rustup targets; cargo-zigbuild; zig from PyPI ziglang).
# Exit status: 0 if every requested target passed (or was skipped), 1 otherwise, 2 on bad usage.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
case $CARGO_TARGET_DIR in /*) ;; *) CARGO_TARGET_DIR=$ROOT/$CARGO_TARGET_DIR ;; esac
WORK=$CARGO_TARGET_DIR/c-abi
SOURCE=$ROOT/tests/c/c_abi_e2e.c
INCLUDE=$ROOT/rust/freshcreds-ffi/include
NATIVES_DIR=${FRESHCREDS_NATIVES_DIR:-}
IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1

say() { printf 'test-c-abi: %s\n' "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

usage() {
  sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

[ $# -eq 0 ] && set -- native
for t in "$@"; do
  case $t in
    native | x86_64-unknown-linux-musl | x86_64-pc-windows-gnu | aarch64-unknown-linux-musl) ;;
    -h | --help) usage ;;
    *) say "unknown target '$t'"; usage ;;
  esac
done

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi

# ---------------------------------------------------------------- tools, installed when missing
APT_UPDATED=0
apt_install() { # package...
  [ $IS_ROOT -eq 1 ] && command -v apt-get >/dev/null 2>&1 || return 1
  if [ $APT_UPDATED -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
    APT_UPDATED=1
  fi
  say "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

need_command() { # command package
  command -v "$1" >/dev/null 2>&1 && return 0
  apt_install "$2" || true
  command -v "$1" >/dev/null 2>&1 && return 0
  say "missing '$1' (Debian package $2; run this script as root to install it)"
  return 1
}

need_rust_target() { # triple
  rustup target list --installed 2>/dev/null | grep -qx "$1" && return 0
  say "adding rustup target $1"
  rustup target add "$1" >&2 && return 0
  say "missing rustup target $1 (rustup target add $1)"
  return 1
}

zig_available() { command -v zig >/dev/null 2>&1 || python3 -m ziglang version >/dev/null 2>&1; }

zig_cc() { # args... (the C compiler of cargo zigbuild: zig, or PyPI ziglang)
  if command -v zig >/dev/null 2>&1; then zig cc "$@"; else python3 -m ziglang cc "$@"; fi
}

need_zigbuild() {
  if ! zig_available; then
    if [ $IS_ROOT -eq 1 ]; then
      need_command python3 python3 && { python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip; }
      say "installing zig (PyPI ziglang)"
      python3 -m pip install -q ziglang >&2 || python3 -m pip install -q --break-system-packages ziglang >&2
    fi
    zig_available || { say "missing zig (pip install ziglang, or zig on PATH)"; return 1; }
  fi
  if ! cargo zigbuild --help >/dev/null 2>&1; then
    if [ $IS_ROOT -eq 1 ]; then
      say "installing cargo-zigbuild"
      cargo install --locked cargo-zigbuild >&2
    fi
    cargo zigbuild --help >/dev/null 2>&1 || { say "missing cargo-zigbuild (cargo install --locked cargo-zigbuild)"; return 1; }
  fi
}

# Debian's musl:arm64 gives /lib/ld-musl-aarch64.so.1 (qemu-aarch64 looks it up under /).
need_arm64_musl_loader() {
  [ -e /lib/ld-musl-aarch64.so.1 ] && return 0
  if [ $IS_ROOT -eq 1 ] && command -v dpkg >/dev/null 2>&1; then
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
      say "adding the arm64 dpkg architecture (for musl:arm64)"
      dpkg --add-architecture arm64 && APT_UPDATED=0
    fi
    apt_install musl:arm64 || true
  fi
  [ -e /lib/ld-musl-aarch64.so.1 ]
}

# ---------------------------------------------------------------- the simulator
SIM_PID=
SIM_FIFO=
SIM_HOLD=
SIM_PORT=
WINE_PREFIX_USED=
cleanup() {
  [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
  [ -n "$SIM_HOLD" ] && exec 9>&- 2>/dev/null
  [ -n "$SIM_FIFO" ] && rm -f "$SIM_FIFO"
  if [ -n "$WINE_PREFIX_USED" ] && command -v wineserver >/dev/null 2>&1; then
    WINEPREFIX=$WINE_PREFIX_USED wineserver -k >/dev/null 2>&1 || true
  fi
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

build_simulator() {
  local t0; t0=$(now)
  cargo build --release -p freshcreds-sim >&2 || return 1
  say "simulator built in $(since "$t0")"
}

start_simulator() {
  mkdir -p "$WORK"
  SIM_FIFO=$WORK/sim-stdin.$$
  rm -f "$SIM_FIFO"
  mkfifo "$SIM_FIFO" || return 1
  local out=$WORK/sim-listening.$$
  "$CARGO_TARGET_DIR/release/freshcreds-sim" <"$SIM_FIFO" >"$out" 2>"$WORK/sim-stderr.log" &
  SIM_PID=$!
  exec 9>"$SIM_FIFO" # holds the simulator's stdin open; closing it (or our exit) stops the simulator
  SIM_HOLD=1
  local i
  for i in $(seq 100); do
    [ -s "$out" ] && break
    kill -0 "$SIM_PID" 2>/dev/null || break
    sleep 0.1
  done
  SIM_PORT=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$out")
  rm -f "$out"
  if [ -z "$SIM_PORT" ]; then
    say "the simulator did not print its listening line; its stderr:"
    cat "$WORK/sim-stderr.log" >&2
    return 1
  fi
  say "simulator listening on http://127.0.0.1:$SIM_PORT (pid $SIM_PID)"
}

# One HTTP/1.1 request to the simulator over bash's /dev/tcp (no curl needed); prints the body.
sim_http() { # method path [header]
  local fd
  exec {fd}<>"/dev/tcp/127.0.0.1/$SIM_PORT" || return 1
  printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\nContent-Length: 0\r\n%s\r\n' \
    "$1" "$2" "$SIM_PORT" "${3:+$3$'\r\n'}" >&"$fd"
  sed '1,/^\r\{0,1\}$/d' <&"$fd"
  exec {fd}<&-
}

# The access key id the simulator's IMDS serves now, read the way an instance would (IMDSv2).
# Only the key id is kept; the secret and token in the document are discarded unread.
expected_access_key_id() {
  local token role
  token=$(sim_http PUT /latest/api/token "X-aws-ec2-metadata-token-ttl-seconds: 60") || return 1
  role=$(sim_http GET /latest/meta-data/iam/security-credentials/ "X-aws-ec2-metadata-token: $token" | head -n 1 | tr -d '\r')
  [ -n "$role" ] || return 1
  sim_http GET "/latest/meta-data/iam/security-credentials/$role" "X-aws-ec2-metadata-token: $token" |
    sed -n 's/^ *"AccessKeyId" *: *"\([A-Za-z0-9]*\)".*/\1/p'
}

# ---------------------------------------------------------------- per target
platform_key() { # target
  case $1 in
    native)
      case $(uname -m) in x86_64 | amd64) echo linux-x86_64 ;; aarch64 | arm64) echo linux-aarch_64 ;; *) uname -m ;; esac ;;
    x86_64-unknown-linux-musl) echo linux-x86_64-musl ;;
    x86_64-pc-windows-gnu) echo windows-x86_64 ;;
    aarch64-unknown-linux-musl) echo linux-aarch_64-musl ;;
  esac
}

library_file() { case $1 in x86_64-pc-windows-gnu) echo freshcreds.dll ;; *) echo libfreshcreds.so ;; esac; }

# Checks that the target's tools exist (installing them as root). Status 3 = skip this target.
prepare_tools() { # target
  case $1 in
    native) need_command gcc gcc ;;
    x86_64-unknown-linux-musl)
      need_command musl-gcc musl-tools || return 1
      [ -e /lib/ld-musl-x86_64.so.1 ] || { say "missing /lib/ld-musl-x86_64.so.1 (Debian package musl)"; return 1; } ;;
    x86_64-pc-windows-gnu)
      need_command x86_64-w64-mingw32-gcc mingw-w64 || return 1
      need_command x86_64-w64-mingw32-objdump binutils-mingw-w64-x86-64 || return 1
      command -v wine64 >/dev/null 2>&1 || command -v wine >/dev/null 2>&1 || apt_install wine64 wine || true
      command -v wine64 >/dev/null 2>&1 || command -v wine >/dev/null 2>&1 ||
        { say "missing wine64 (Debian packages wine64 wine)"; return 1; } ;;
    aarch64-unknown-linux-musl)
      need_command qemu-aarch64 qemu-user || { say "skipping $1: qemu-aarch64 is not available"; return 3; }
      need_arm64_musl_loader || { say "skipping $1: no /lib/ld-musl-aarch64.so.1 (Debian package musl:arm64)"; return 3; } ;;
  esac
}

# Builds (or finds in FRESHCREDS_NATIVES_DIR) the library; prints its path.
library_for() { # target
  local target=$1 file key
  file=$(library_file "$target")
  key=$(platform_key "$target")
  if [ -n "$NATIVES_DIR" ] && [ -f "$NATIVES_DIR/$key/$file" ]; then
    say "using the prebuilt $NATIVES_DIR/$key/$file"
    echo "$NATIVES_DIR/$key/$file"
    return 0
  fi
  local upper=${target//-/_}
  upper=${upper^^}
  case $target in
    native)
      cargo build --release -p freshcreds-ffi >&2 || return 1
      echo "$CARGO_TARGET_DIR/release/$file" ;;
    *-linux-musl)
      need_rust_target "$target" && need_zigbuild || return 1
      env "CARGO_TARGET_${upper}_RUSTFLAGS=-C target-feature=-crt-static" \
        cargo zigbuild --release -p freshcreds-ffi --target "$target" >&2 || return 1
      echo "$CARGO_TARGET_DIR/$target/release/$file" ;;
    x86_64-pc-windows-gnu)
      need_rust_target "$target" || return 1
      # No extra link flags: rustc's windows-gnu target already links libgcc (gcc_eh) and
      # winpthread statically; check_dll_imports verifies that nothing like libgcc_s_seh-1.dll
      # or libwinpthread-1.dll is imported.
      env "CARGO_TARGET_${upper}_LINKER=x86_64-w64-mingw32-gcc" \
        cargo build --release -p freshcreds-ffi --target "$target" >&2 || return 1
      echo "$CARGO_TARGET_DIR/$target/release/$file" ;;
  esac
}

# DLLs that every Windows (7 and later) has; anything else imported by freshcreds.dll fails the check.
WINDOWS_SYSTEM_DLLS='kernel32.dll advapi32.dll ntdll.dll ws2_32.dll userenv.dll bcrypt.dll bcryptprimitives.dll
msvcrt.dll ucrtbase.dll secur32.dll crypt32.dll ncrypt.dll ole32.dll oleaut32.dll shell32.dll user32.dll iphlpapi.dll
synchronization.dll powrprof.dll'
case_lower() { tr '[:upper:]' '[:lower:]'; }

check_dll_imports() { # dll
  local imports bad=""
  imports=$(x86_64-w64-mingw32-objdump -p "$1" | sed -n 's/^[[:space:]]*DLL Name: //p' | case_lower | sort -u)
  local d
  for d in $imports; do
    case $d in api-ms-win-*) continue ;; esac
    case " $(echo $WINDOWS_SYSTEM_DLLS) " in *" $d "*) ;; *) bad="$bad $d" ;; esac
  done
  say "freshcreds.dll imports: $(echo $imports)"
  if [ -n "$bad" ]; then
    say "freshcreds.dll imports DLLs a plain Windows lacks:$bad"
    return 1
  fi
}

# Compiles the test program next to a copy of the library; prints the program's path.
compile_program() { # target library
  local target=$1 lib=$2 dir=$WORK/$1
  mkdir -p "$dir"
  cp -f "$lib" "$dir/"
  local flags=(-std=c99 -O1 -Wall -Wextra -Wpedantic -Werror -I "$INCLUDE")
  case $target in
    native)
      gcc "${flags[@]}" "$SOURCE" -o "$dir/c_abi_e2e" -L "$dir" -lfreshcreds -Wl,-rpath,'$ORIGIN' || return 1
      echo "$dir/c_abi_e2e" ;;
    x86_64-unknown-linux-musl)
      musl-gcc "${flags[@]}" "$SOURCE" -o "$dir/c_abi_e2e" -L "$dir" -lfreshcreds -Wl,-rpath,'$ORIGIN' || return 1
      echo "$dir/c_abi_e2e" ;;
    aarch64-unknown-linux-musl)
      zig_cc -target aarch64-linux-musl "${flags[@]}" "$SOURCE" -o "$dir/c_abi_e2e" -L "$dir" -lfreshcreds \
        -Wl,-rpath,'$ORIGIN' -Wl,--dynamic-linker=/lib/ld-musl-aarch64.so.1 || return 1
      echo "$dir/c_abi_e2e" ;;
    x86_64-pc-windows-gnu)
      # Links against the DLL directly (GNU ld reads its exports); the DLL sits next to the .exe.
      x86_64-w64-mingw32-gcc "${flags[@]}" "$SOURCE" -o "$dir/c_abi_e2e.exe" "$dir/freshcreds.dll" -static-libgcc || return 1
      echo "$dir/c_abi_e2e.exe" ;;
  esac
}

# The test program's environment: no AWS_* or proxy variables, the simulator's endpoint and key.
clean_env=()
for v in $(compgen -e); do
  case $v in AWS_* | http_proxy | https_proxy | HTTP_PROXY | HTTPS_PROXY | ALL_PROXY | all_proxy | NO_PROXY | no_proxy) clean_env+=(-u "$v") ;; esac
done

. scripts/wine.sh

run_program() { # target program
  local target=$1 program=$2 key=$3
  local vars=(FRESHCREDS_SIM_ENDPOINT="http://127.0.0.1:$SIM_PORT" FRESHCREDS_EXPECTED_ACCESS_KEY_ID="$key")
  case $target in
    native | x86_64-unknown-linux-musl) env "${clean_env[@]}" "${vars[@]}" "$program" ;;
    aarch64-unknown-linux-musl) env "${clean_env[@]}" "${vars[@]}" qemu-aarch64 -L / "$program" ;;
    x86_64-pc-windows-gnu)
      (cd "$(dirname "$program")" && env "${clean_env[@]}" "${vars[@]}" WINEPATH= "$WINE" "$(basename "$program")") | tr -d '\r' ;;
  esac
}

declare -a SUMMARY=()
OVERALL=0

test_target() { # target
  local target=$1 t0 tb tr lib program key log rc counts
  t0=$(now)
  say "=== $target"
  prepare_tools "$target"
  rc=$?
  if [ $rc -eq 3 ]; then
    SUMMARY+=("SKIP  $target: tools missing (see above)  $(since "$t0")")
    return 0
  elif [ $rc -ne 0 ]; then
    SUMMARY+=("FAIL  $target: tools missing (see above)  $(since "$t0")")
    return 1
  fi
  tb=$(now)
  lib=$(library_for "$target") && [ -f "$lib" ] || {
    SUMMARY+=("FAIL  $target: library build failed  $(since "$t0")")
    return 1
  }
  local build_time; build_time=$(since "$tb")
  say "library $(ls -l "$lib" | awk '{print $5}') bytes: $lib (${build_time})"
  if [ "$target" = x86_64-pc-windows-gnu ]; then
    check_dll_imports "$lib" || { SUMMARY+=("FAIL  $target: DLL imports non-system DLLs  $(since "$t0")"); return 1; }
  fi
  program=$(compile_program "$target" "$lib") || {
    SUMMARY+=("FAIL  $target: C program did not compile  $(since "$t0")")
    return 1
  }
  if [ "$target" = x86_64-pc-windows-gnu ]; then
    wine_setup "$WORK/wineprefix" "$(dirname "$program")" || { SUMMARY+=("FAIL  $target: Wine setup failed  $(since "$t0")"); return 1; }
    WINE_PREFIX_USED=$WINEPREFIX
  fi
  key=$(expected_access_key_id)
  [ -n "$key" ] || say "could not read the access key id from the simulator; that comparison is skipped"
  log=$WORK/$target/output.txt
  tr=$(now)
  run_program "$target" "$program" "$key" | tee "$log"
  rc=${PIPESTATUS[0]}
  local run_time; run_time=$(since "$tr")
  counts=$(tail -n 1 "$log")
  if [ $rc -eq 0 ] && printf '%s\n' "$counts" | grep -qE '^[0-9]+ passed, 0 failed$'; then
    SUMMARY+=("PASS  $target: $counts  (total $(since "$t0"): library $build_time, run $run_time)")
    return 0
  fi
  printf '%s\n' "$counts" | grep -qE '^[0-9]+ passed, [0-9]+ failed$' || counts="no summary line"
  SUMMARY+=("FAIL  $target: exit status $rc, $counts  (total $(since "$t0"): library $build_time, run $run_time)")
  return 1
}

T_ALL=$(now)
say "building the simulator"
build_simulator && start_simulator || { say "the simulator could not be started"; exit 1; }
for target in "$@"; do
  test_target "$target" || OVERALL=1
done
echo
echo "C ABI end-to-end summary:"
printf '  %s\n' "${SUMMARY[@]}"
echo "  all targets in $(since "$T_ALL")"
exit $OVERALL
