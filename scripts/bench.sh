#!/usr/bin/env bash
# Benchmarks `artifact inspect` and `artifact check` against pickletools.genops and picklescan
# on the same files, printing wall time and peak RSS for each (median of several runs).
# Builds the artifacts on first run (bench/out/).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "run scripts/test.sh first (it creates .venv)" >&2; exit 2; }
.venv/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
cargo build --release --quiet
.venv/bin/python bench/make_artifacts.py

measure() { # runs label command...: median wall time and its peak RSS over `runs` runs
  local runs=$1 label=$2
  shift 2
  for _ in $(seq "$runs"); do
    sync  # dirty pages from the previous run would be flushed during this one
    /usr/bin/time -o "$timing" -f "%e %M %x" "$@" >/dev/null 2>&1 || true
    tail -n 1 "$timing"
  done | sort -n | awk -v l="$label" -v n="$runs" '
    { secs[NR] = $1; kib[NR] = $2; rc[NR] = $3 }
    END { m = int((n + 1) / 2); printf "  %-32s %8.3f s %10.1f MiB  (median of %d, exit %s)\n", l, secs[m], kib[m] / 1024, n, rc[m] }'
}
timing=$(mktemp)
trap 'rm -f "$timing"' EXIT

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr)"
for f in bench/out/big_array.p5.pkl bench/out/text_pipeline.pkl; do
  echo "$f ($(stat -c %s "$f") bytes)"
  sync; cat "$f" > /dev/null  # warm the page cache for every tool alike
  measure 7 "artifact inspect" target/release/artifact inspect "$f"
  measure 7 "artifact inspect --format json" target/release/artifact inspect --format json "$f"
  measure 1 "pickletools.genops" .venv/bin/python bench/genops.py "$f"
  measure 3 "picklescan" .venv/bin/picklescan --path "$f"
done
echo "bench/out/small ($(ls bench/out/small | wc -l) files, $(du -sh bench/out/small | cut -f1))"
measure 7 "artifact check (500 files)" target/release/artifact check --isolated bench/out/small
measure 1 "picklescan (500 files)" .venv/bin/picklescan --path bench/out/small
f=bench/out/big_pipeline.joblib
echo "$f ($(stat -c %s "$f") bytes): patch --set preprocessor__n_jobs=null"
sync; cat "$f" > /dev/null
rm -f bench/out/patched.joblib bench/out/copy.joblib bench/out/hand.joblib
measure 5 "cp" sh -c "cp $f bench/out/copy.joblib && rm bench/out/copy.joblib"
measure 5 "artifact patch" sh -c "target/release/artifact patch $f --set preprocessor__n_jobs=null -o bench/out/patched.joblib && rm bench/out/patched.joblib"
measure 1 "hand script (load, set, dump)" .venv/bin/python bench/hand_repair.py "$f" bench/out/hand.joblib
rm -f bench/out/hand.joblib
