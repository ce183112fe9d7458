#!/usr/bin/env bash
# Benchmarks `artifact inspect` against pickletools.genops and picklescan on the same files,
# printing wall time and peak RSS for each. Builds the artifacts on first run (bench/out/).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "run scripts/test.sh first (it creates .venv)" >&2; exit 2; }
.venv/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
cargo build --release --quiet
.venv/bin/python bench/make_artifacts.py

measure() { # label, command...
  local label=$1 secs kib
  shift
  /usr/bin/time -o "$timing" -f "%e %M" "$@" >/dev/null 2>&1 || true
  read -r secs kib < "$timing"
  awk -v l="$label" -v s="$secs" -v k="$kib" 'BEGIN { printf "  %-32s %8.2f s %10.1f MiB\n", l, s, k / 1024 }'
}
timing=$(mktemp)
trap 'rm -f "$timing"' EXIT

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr)"
for f in bench/out/big_array.p5.pkl bench/out/text_pipeline.pkl; do
  echo "$f ($(stat -c %s "$f") bytes)"
  sync; cat "$f" > /dev/null  # warm the page cache for every tool alike
  measure "artifact inspect" target/release/artifact inspect "$f"
  measure "artifact inspect --format json" target/release/artifact inspect --format json "$f"
  measure "pickletools.genops" .venv/bin/python bench/genops.py "$f"
  measure "picklescan" .venv/bin/picklescan --path "$f"
done
