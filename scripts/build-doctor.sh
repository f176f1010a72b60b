#!/usr/bin/env bash
# Builds the `freshcreds-doctor` binary for the platforms freshcreds ships, from one Linux x86_64
# machine, into
#
#   build/doctor/<platform-key>/freshcreds-doctor[.exe]          the stripped binary
#   build/doctor/<platform-key>/freshcreds-doctor[.exe].sha256   its SHA-256
#
#   * linux-x86_64, linux-aarch_64: statically linked musl executables (cargo-zigbuild; musl's
#     default crt-static). One file per architecture runs on Amazon Linux 2 and 2023, Ubuntu,
#     Alpine and distroless images alike: it needs no libc at all, which also suits a host where
#     the JVM (and so `java -jar freshcreds.jar doctor`) is not at hand.
#   * windows-x86_64: Debian's mingw-w64 as the linker, as for the JNI DLL.
#
# Usage: scripts/build-doctor.sh [KEY...]     (default: all three)
# Installs what it is missing (rustup targets, ziglang, cargo-zigbuild, mingw-w64). The binaries
# are run against the simulator by scripts/test-platforms.sh (the full matrix).
set -euo pipefail
cd "$(dirname "$0")/.."

out=build/doctor
keys=("$@")
[ ${#keys[@]} -gt 0 ] || keys=(linux-x86_64 linux-aarch_64 windows-x86_64)

triple_of() {
  case "$1" in
    linux-x86_64) echo x86_64-unknown-linux-musl ;;
    linux-aarch_64) echo aarch64-unknown-linux-musl ;;
    windows-x86_64) echo x86_64-pc-windows-gnu ;;
    *) echo "build-doctor: unknown platform key '$1' (known: linux-x86_64 linux-aarch_64 windows-x86_64)" >&2; exit 2 ;;
  esac
}

. scripts/ensure-tools.sh
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
for key in "${keys[@]}"; do
  triple=$(triple_of "$key")
  rustup target list --installed | grep -qx "$triple" || rustup target add "$triple" >&2
done
if ! command -v zig >/dev/null 2>&1 && ! python3 -c 'import ziglang' 2>/dev/null; then
  python3 -m pip install -q ziglang >&2
fi
command -v cargo-zigbuild >/dev/null 2>&1 || cargo install --locked -q cargo-zigbuild >&2
if [[ " ${keys[*]} " == *" windows-x86_64 "* ]] && ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
  as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq mingw-w64 >/dev/null
fi
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
target_dir=${CARGO_TARGET_DIR:-target}

for key in "${keys[@]}"; do
  triple=$(triple_of "$key")
  started=$(date +%s)
  case "$triple" in
    *-linux-musl) cargo zigbuild --release -p freshcreds-doctor --target "$triple" ;;
    *) cargo build --release -p freshcreds-doctor --target "$triple" ;;
  esac
  file=freshcreds-doctor
  case "$triple" in *windows*) file=freshcreds-doctor.exe ;; esac
  rm -rf "${out:?}/$key"
  mkdir -p "$out/$key"
  cp "$target_dir/$triple/release/$file" "$out/$key/$file"
  (cd "$out/$key" && sha256sum "$file" > "$file.sha256")
  # A static Linux binary has no interpreter and no needed libraries: it runs on any distribution.
  if [[ "$triple" == *-linux-musl ]] && readelf -ld "$out/$key/$file" | grep -qE 'INTERP|NEEDED'; then
    echo "build-doctor: $out/$key/$file is not statically linked" >&2
    exit 1
  fi
  echo "build-doctor: $key ($triple) built in $(( $(date +%s) - started )) s, $(stat -c %s "$out/$key/$file") bytes" >&2
done
