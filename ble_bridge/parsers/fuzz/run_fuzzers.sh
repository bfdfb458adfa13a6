#!/usr/bin/env bash
# Bounded libFuzzer run of every GATT parser fuzzer, seeded from our test vectors.
#   run_fuzzers.sh FUZZ_BIN_DIR SEEDS_FILE RUNS
# Each fuzzer runs RUNS executions (-runs) with a fixed seed, so the run is repeatable and bounded.
# Prints one summary line per fuzzer and a total; fails if any fuzzer crashes, leaks or reports
# undefined behaviour.
set -euo pipefail

bin_dir=$1
seeds=$2
runs=${HT_FUZZ_RUNS:-$3}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

uuids=$(grep -v '^\s*#' "$seeds" | awk 'NF { print $1 }' | sort -u)
total=0
for uuid in $uuids; do
  fuzzer="$bin_dir/fuzz_gatt_$uuid"
  [[ -x "$fuzzer" ]] || { echo "missing fuzzer $fuzzer" >&2; exit 1; }
  corpus="$work/$uuid"
  mkdir -p "$corpus"
  i=0
  # One seed file per vector: "UUID hex bytes..." -> raw bytes.
  while read -r id hex; do
    [[ "$id" == "$uuid" ]] || continue
    esc=$(printf '%s' "$hex" | tr -d ' ' | sed 's/../\\x&/g')
    printf "$esc" > "$corpus/seed_$i"
    i=$((i + 1))
  done < <(grep -v '^\s*#' "$seeds")
  log="$work/$uuid.log"
  if ! "$fuzzer" -runs="$runs" -seed=1 -max_len=600 -timeout=10 -print_final_stats=1 "$corpus" >"$log" 2>&1; then
    cat "$log" >&2
    echo "fuzz_gatt_$uuid FAILED" >&2
    exit 1
  fi
  executed=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")
  coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  echo "fuzz_gatt_$uuid: $executed executions from $i seeds, $coverage"
  total=$((total + executed))
done
echo "gatt fuzzers: $total executions in total, no crash"
