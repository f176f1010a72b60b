#!/usr/bin/env bash
# Installs what the build needs when it is missing: Debian's gradle (4.4.1; the wrapper's Gradle 8
# needs a download this kind of machine cannot make), Maven (the Maven sample, and publishing under
# Gradle 4.4.1) and a Rust toolchain check.
set -euo pipefail
if ! command -v gradle >/dev/null 2>&1; then
  echo "freshcreds: installing Debian's gradle package" >&2
  export DEBIAN_FRONTEND=noninteractive
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq gradle >/dev/null
fi
if ! command -v mvn >/dev/null 2>&1; then
  echo "freshcreds: installing Debian's maven package" >&2
  export DEBIAN_FRONTEND=noninteractive
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq maven >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "freshcreds: cargo is missing; install Rust stable (https://rustup.rs) and retry" >&2
    exit 1
  fi
fi
