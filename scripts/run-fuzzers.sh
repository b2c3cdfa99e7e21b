#!/usr/bin/env bash
# run-fuzzers.sh BUILD_DIR SECONDS: runs every libFuzzer target of BUILD_DIR (made by `make fuzz`)
# for SECONDS each under ASan+UBSan, on a corpus seeded from py-ipv8's golden packets
# (../shared/vectors/ipv8-vectors.json, or $RINGV8_VECTORS_DIR) and configs/. Any crash, leak or
# sanitizer report fails the run; the input that caused it is kept in BUILD_DIR/fuzz-artifacts.
# Prints executions per target and writes them to BUILD_DIR/fuzz-summary.json.
set -euo pipefail
build=${1:?usage: run-fuzzers.sh BUILD_DIR SECONDS}
seconds=${2:?usage: run-fuzzers.sh BUILD_DIR SECONDS}
root=$(cd "$(dirname "$0")/.." && pwd)

vectors=""
for candidate in "${RINGV8_VECTORS_DIR:-}" "$root/../shared/vectors" /work/shared/vectors; do
  if [ -n "$candidate" ] && [ -f "$candidate/ipv8-vectors.json" ]; then
    vectors="$candidate/ipv8-vectors.json"
    break
  fi
done
seeds="$build/fuzz-seeds"
rm -rf "$seeds"
mkdir -p "$seeds/packet" "$seeds/community" "$seeds/tracker" "$seeds/tunnel" "$build/fuzz-artifacts"
if [ -n "$vectors" ]; then
  "$build/fuzz/make_corpus" "$vectors" "$seeds" "$(dirname "$vectors")/tunnel-vectors.json"
else
  echo "run-fuzzers: ipv8-vectors.json not found (set RINGV8_VECTORS_DIR); starting from empty corpora" >&2
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
summary="{"
for target in packet community tracker config tunnel; do
  corpus="$build/fuzz-corpus/$target"
  mkdir -p "$corpus"
  if [ "$target" = config ]; then seed_dir="$root/configs"; else seed_dir="$seeds/$target"; fi
  log="$build/fuzz-$target.log"
  echo "== fuzz_$target: ${seconds} s"
  if ! "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$target-" \
      "$corpus" "$seed_dir" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "run-fuzzers: fuzz_$target FAILED; the input is in $build/fuzz-artifacts/" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  echo "   ${runs:-0} executions, coverage ${cov:-0} edges, corpus $(ls "$corpus" | wc -l) inputs"
  summary="$summary\"$target\": {\"executions\": ${runs:-0}, \"coverage\": ${cov:-0}, \"seconds\": $seconds},"
done
echo "${summary%,}}" >"$build/fuzz-summary.json"
echo "run-fuzzers: every target ran clean ($build/fuzz-summary.json)"
