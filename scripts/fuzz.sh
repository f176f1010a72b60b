#!/usr/bin/env bash
# Fuzzes freshcreds-core's parsers and validators with cargo-fuzz (libFuzzer, nightly Rust).
#
#   scripts/fuzz.sh [--keep-corpus] [SECONDS_PER_TARGET] [TARGET...]   (default: 300 s, every target)
#   scripts/fuzz.sh --smoke                                            (about 10 s per target; CI)
#
# Targets (rust/fuzz/fuzz_targets/): imds_credentials_document, date_header_skew, profile_parse,
# agent_options, container_uri. Each starts from its kept corpus rust/fuzz/corpus/<target>/ and its
# dictionary rust/fuzz/dict/<target>.dict. New corpus entries go to the scratch directory
# target/fuzz/scratch-corpus/<target>/ (kept between runs, never committed); with --keep-corpus the
# ones that add edge coverage are merged into rust/fuzz/corpus/<target>/ afterwards (libFuzzer
# -merge=1 -use_counters=0; keep that corpus under 200 KB, shrink it with `cargo fuzz cmin`).
#
# Prints per target the executions libFuzzer reached (its final stats) and exits non-zero when any
# target crashed, leaving the input under target/fuzz/artifacts/<target>/ (replay it with
# `target/fuzz/x86_64-unknown-linux-gnu/release/<target> <file>`). Logs: target/fuzz/logs/.
# Builds use CARGO_TARGET_DIR=target/fuzz, apart from the workspace's own target directories
# (FRESHCREDS_FUZZ_TARGET_DIR moves the build elsewhere, e.g. a directory that outlives the clone:
# a cold build of the fuzz crate takes 10-20 minutes on 2 cores; logs and artifacts stay here).
# Installs nightly (minimal profile) and cargo-fuzz when they are missing. Where the kernel allows,
# the fuzzing runs in a fresh network namespace (unshare -n), so no target can reach any network.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

ALL_TARGETS=(imds_credentials_document date_header_skew profile_parse agent_options container_uri)
seconds=300
keep_corpus=0
targets=()
for arg in "$@"; do
  case "$arg" in
    --smoke) seconds=10 ;;
    --keep-corpus) keep_corpus=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) echo "fuzz: unknown option $arg (try --help)" >&2; exit 2 ;;
    *)
      if [[ "$arg" =~ ^[0-9]+$ ]] && [ ${#targets[@]} -eq 0 ]; then
        seconds=$arg
      elif printf '%s\n' "${ALL_TARGETS[@]}" | grep -qx -- "$arg"; then
        targets+=("$arg")
      else
        echo "fuzz: unknown target '$arg'; targets: ${ALL_TARGETS[*]}" >&2
        exit 2
      fi
      ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")
[ "$seconds" -gt 0 ] || { echo "fuzz: SECONDS_PER_TARGET must be at least 1" >&2; exit 2; }
started=$(date +%s)

# Tools: cargo (see ensure-tools.sh), nightly, cargo-fuzz.
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v rustup >/dev/null 2>&1 || { echo "fuzz: rustup is missing; install Rust with rustup and retry" >&2; exit 1; }
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz: installing the nightly toolchain (minimal profile)" >&2
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi

export CARGO_TARGET_DIR="${FRESHCREDS_FUZZ_TARGET_DIR:-$root/target/fuzz}"
out="$root/target/fuzz"
fuzz_dir="rust/fuzz"
bin_dir="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release"
mkdir -p "$out/logs"

# One build of every target (release, debug assertions and overflow checks on, AddressSanitizer:
# cargo-fuzz's defaults); `cargo fuzz run` below then finds them fresh.
build_started=$(date +%s)
if ! cargo +nightly fuzz build --fuzz-dir "$fuzz_dir" --target-dir "$CARGO_TARGET_DIR" >"$out/logs/build.log" 2>&1; then
  tail -40 "$out/logs/build.log" >&2
  echo "fuzz: the build failed (log: target/fuzz/logs/build.log)" >&2
  exit 1
fi
echo "fuzz: built ${#ALL_TARGETS[@]} targets in $(( $(date +%s) - build_started )) s"

# A private network namespace when the kernel lets us make one; nothing here needs the network.
netns=()
if unshare -n true >/dev/null 2>&1; then
  netns=(unshare -n)
elif unshare -r -n true >/dev/null 2>&1; then
  netns=(unshare -r -n)
else
  echo "fuzz: note: cannot create a network namespace here; fuzzing without one" >&2
fi

crashed=()
summary=()
for t in "${targets[@]}"; do
  scratch="$out/scratch-corpus/$t"
  artifacts="$out/artifacts/$t"
  log="$out/logs/$t.log"
  mkdir -p "$scratch" "$artifacts"
  echo "fuzz: $t for ${seconds} s"
  status=0
  # New entries are written to the first corpus directory only: the scratch one.
  CARGO_NET_OFFLINE=true "${netns[@]}" cargo +nightly fuzz run --fuzz-dir "$fuzz_dir" --target-dir "$CARGO_TARGET_DIR" "$t" \
    "$scratch" "$fuzz_dir/corpus/$t" -- \
    -max_total_time="$seconds" -print_final_stats=1 -print_funcs=0 -timeout=10 -rss_limit_mb=2048 \
    -dict="$fuzz_dir/dict/$t.dict" -artifact_prefix="$artifacts/" >"$log" 2>&1 || status=$?
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  [ -n "$execs" ] || execs=$(grep -Eo '#[0-9]+[[:space:]]+DONE' "$log" | tail -1 | tr -dc '0-9')
  [ -n "$execs" ] || execs="?"
  if [ "$status" -ne 0 ]; then
    artifact=$(grep -o 'Test unit written to [^ ]*' "$log" | tail -1 | sed 's/^Test unit written to //')
    crashed+=("$t")
    summary+=("$(printf '%-26s %12s executions  CRASH %s' "$t" "$execs" "${artifact:-(no artifact; see $log)}")")
    echo "fuzz: $t CRASHED (exit $status) after $execs executions; log: ${log#"$root"/}" >&2
    grep -A3 -E "panicked at|ERROR: (AddressSanitizer|libFuzzer)" "$log" | head -20 >&2 || true
    if [ -n "${artifact:-}" ] && [ -f "$artifact" ]; then
      echo "fuzz: input ($(wc -c <"$artifact") bytes) ${artifact#"$root"/}, hex: $(od -An -v -tx1 "$artifact" | tr -d ' \n' | cut -c1-400)" >&2
    fi
  else
    summary+=("$(printf '%-26s %12s executions  ok' "$t" "$execs")")
  fi
  if [ "$keep_corpus" = 1 ]; then
    before=$(find "$fuzz_dir/corpus/$t" -type f | wc -l)
    # Edge coverage only (no hit counts): the fewest entries that keep every edge the run reached.
    "${netns[@]}" env ASAN_OPTIONS=detect_odr_violation=0 "$bin_dir/$t" -merge=1 -use_counters=0 -artifact_prefix="$artifacts/" \
      "$fuzz_dir/corpus/$t" "$scratch" >"$out/logs/$t.merge.log" 2>&1 \
      || echo "fuzz: merging the corpus of $t failed (log: target/fuzz/logs/$t.merge.log)" >&2
    echo "fuzz: kept $(( $(find "$fuzz_dir/corpus/$t" -type f | wc -l) - before )) new corpus entries in $fuzz_dir/corpus/$t"
  fi
done

echo "fuzz: summary (${seconds} s per target)"
printf '  %s\n' "${summary[@]}"
corpus_bytes=$(find "$fuzz_dir/corpus" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
echo "fuzz: kept corpus $corpus_bytes bytes in $(find "$fuzz_dir/corpus" -type f | wc -l) files; total $(( $(date +%s) - started )) s"
if [ "$corpus_bytes" -gt 204800 ]; then
  echo "fuzz: warning: the kept corpus is over 200 KB; shrink it (cargo +nightly fuzz cmin --fuzz-dir $fuzz_dir <target>)" >&2
fi
echo "fuzz: $(( ${#summary[@]} - ${#crashed[@]} )) passed, ${#crashed[@]} failed"
if [ ${#crashed[@]} -gt 0 ]; then
  echo "fuzz: ${#crashed[@]} target(s) crashed: ${crashed[*]}; inputs under target/fuzz/artifacts/" >&2
  exit 1
fi
