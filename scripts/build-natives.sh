#!/usr/bin/env bash
# Builds the JNI library (and, with --c-abi, the C ABI library) for every platform freshcreds ships,
# from one Linux x86_64 machine, into the layout `gradle jar` packs:
#
#   build/natives/<platform-key>/<library file>          the stripped library
#   build/natives/<platform-key>/<library file>.sha256   its SHA-256 (the loader checks it before loading)
#
# Platform keys follow aws-crt-java / os-maven-plugin: linux-x86_64, linux-aarch_64,
# linux-x86_64-musl, linux-aarch_64-musl, windows-x86_64 (the jar classifiers use the same names).
#
# How each target is linked, and why:
#   * linux-gnu (x86_64, aarch64): cargo-zigbuild with zig as the linker, against glibc 2.17
#     (`--target <triple>.2.17`). Zig carries the symbol tables of every glibc version, so the
#     library needs nothing newer than Amazon Linux 2 / RHEL 7 have; no sysroot or old distro needed.
#   * linux-musl (x86_64, aarch64): cargo-zigbuild too (zig ships musl), as a cdylib that links musl
#     dynamically (`-C target-feature=-crt-static`): a JVM on Alpine is itself dynamically linked
#     against musl, and a library with its own static libc inside would not share its malloc or threads.
#   * windows-x86_64: Debian's mingw-w64 as the linker (rustup's windows-gnu target is made for
#     it; rustc links libgcc and winpthread statically, so the DLL imports only Windows' own DLLs,
#     which check-natives.py verifies). zig links Windows too, but its DLL came out 12.7 MB to mingw's 8.8.
#
# Every glibc library is then checked from its dynamic symbol table: a symbol version above
# GLIBC_2.17 fails the build (scripts/check-natives.py, which also reports sizes).
#
# Usage: scripts/build-natives.sh [--c-abi] [--out DIR] [KEY...]     (default: all keys)
# Installs what it is missing (rustup targets, ziglang from PyPI, cargo-zigbuild, mingw-w64).
set -euo pipefail
cd "$(dirname "$0")/.."

out=build/natives
with_c_abi=0
keys=()
while [ $# -gt 0 ]; do
  case "$1" in
    --c-abi) with_c_abi=1 ;;
    --out) out="$2"; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    -*) echo "build-natives: unknown option $1" >&2; exit 2 ;;
    *) keys+=("$1") ;;
  esac
  shift
done
all_keys=(linux-x86_64 linux-aarch_64 linux-x86_64-musl linux-aarch_64-musl windows-x86_64)
[ ${#keys[@]} -gt 0 ] || keys=("${all_keys[@]}")

triple_of() {
  case "$1" in
    linux-x86_64) echo x86_64-unknown-linux-gnu ;;
    linux-aarch_64) echo aarch64-unknown-linux-gnu ;;
    linux-x86_64-musl) echo x86_64-unknown-linux-musl ;;
    linux-aarch_64-musl) echo aarch64-unknown-linux-musl ;;
    windows-x86_64) echo x86_64-pc-windows-gnu ;;
    *) echo "build-natives: unknown platform key '$1' (known: ${all_keys[*]})" >&2; exit 2 ;;
  esac
}

# ---------------------------------------------------------------- tools
. scripts/ensure-tools.sh
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "${apt_updated:-}" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root apt-get install -y -qq "$@" >/dev/null
}
needs_zig=0
needs_mingw=0
for key in "${keys[@]}"; do
  triple=$(triple_of "$key")
  case "$triple" in *windows*) needs_mingw=1 ;; *) needs_zig=1 ;; esac
  if ! rustup target list --installed | grep -qx "$triple"; then
    echo "build-natives: rustup target add $triple" >&2
    rustup target add "$triple" >&2
  fi
done
if [ "$needs_zig" = 1 ]; then
  if ! command -v zig >/dev/null 2>&1 && ! python3 -c 'import ziglang' 2>/dev/null; then
    echo "build-natives: installing zig (PyPI ziglang)" >&2
    python3 -m pip install -q ziglang >&2
  fi
  if ! command -v cargo-zigbuild >/dev/null 2>&1; then
    echo "build-natives: installing cargo-zigbuild" >&2
    cargo install --locked -q cargo-zigbuild >&2
  fi
fi
if [ "$needs_mingw" = 1 ] && ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
  echo "build-natives: installing Debian's mingw-w64" >&2
  apt_install mingw-w64
fi
command -v readelf >/dev/null 2>&1 || apt_install binutils

# ---------------------------------------------------------------- build
packages=(-p freshcreds-jni)
[ "$with_c_abi" = 1 ] && packages+=(-p freshcreds-ffi)
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C target-feature=-crt-static"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C target-feature=-crt-static"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
target_dir=${CARGO_TARGET_DIR:-target}

started_all=$(date +%s)
mkdir -p "$out"
for key in "${keys[@]}"; do
  triple=$(triple_of "$key")
  started=$(date +%s)
  case "$triple" in
    *-linux-gnu) cargo zigbuild --release "${packages[@]}" --target "$triple.2.17" ;;
    *-linux-musl) cargo zigbuild --release "${packages[@]}" --target "$triple" ;;
    *) cargo build --release "${packages[@]}" --target "$triple" ;;
  esac
  case "$triple" in
    *windows*) files=(freshcreds_jni.dll); [ "$with_c_abi" = 1 ] && files+=(freshcreds.dll) ;;
    *) files=(libfreshcreds_jni.so); [ "$with_c_abi" = 1 ] && files+=(libfreshcreds.so) ;;
  esac
  rm -rf "${out:?}/$key"
  mkdir -p "$out/$key"
  for f in "${files[@]}"; do
    cp "$target_dir/$triple/release/$f" "$out/$key/$f"
    (cd "$out/$key" && sha256sum "$f" > "$f.sha256")
  done
  echo "build-natives: $key ($triple) built in $(( $(date +%s) - started )) s" >&2
done
echo "build-natives: all ${#keys[@]} platform(s) built in $(( $(date +%s) - started_all )) s" >&2
python3 scripts/check-natives.py "$out" --json "$out/check.json"
